-- Beaconing.
-- Question: which process connects to one destination again and again at regular intervals?
-- @param min_connections BIGINT = 5  connections needed before a rhythm counts
-- @param max_jitter DOUBLE = 0.1  standard deviation of the intervals over their mean, at most
WITH connection_starts AS (
    SELECT
        session_id, process_key, exe, resp_h, resp_p, proto, start_t,
        start_t - lag(start_t) OVER (PARTITION BY session_id, process_key, resp_h, resp_p, proto ORDER BY start_t) AS interval_ns
    FROM flow_details
),
rhythms AS (
    SELECT
        session_id, process_key, resp_h, resp_p, proto,
        min(exe) AS exe,
        count(*) + 1 AS connections,
        avg(interval_ns) / 1e9 AS mean_interval_s,
        stddev_pop(interval_ns) / 1e9 AS stddev_interval_s
    FROM connection_starts
    WHERE interval_ns IS NOT NULL
    GROUP BY session_id, process_key, resp_h, resp_p, proto
)
SELECT
    process_key, exe, resp_h, resp_p, proto, connections,
    round(mean_interval_s, 3) AS mean_interval_s,
    round(stddev_interval_s / nullif(mean_interval_s, 0), 4) AS jitter
FROM rhythms
WHERE connections >= $min_connections AND stddev_interval_s / nullif(mean_interval_s, 0) <= $max_jitter
ORDER BY jitter, connections DESC, process_key, resp_h;
