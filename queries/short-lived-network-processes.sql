-- Short-lived processes that used the network.
-- Question: which processes lived only briefly (exec or first sight to exit) and still opened flows?
-- @param max_lifetime_s DOUBLE = 10  at most this long between start and exit
WITH lifetimes AS (
    SELECT
        session_id, process_key, pid, path, argv,
        (exit_t - coalesce(exec_t, first_seen_t)) / 1e9 AS lifetime_s
    FROM processes
    WHERE exit_t IS NOT NULL
)
SELECT
    l.process_key, l.pid, l.path, l.argv, round(l.lifetime_s, 6) AS lifetime_s,
    count(*) AS flows,
    string_agg(DISTINCT d.resp_h || ':' || d.resp_p, ' ' ORDER BY d.resp_h || ':' || d.resp_p) AS destinations
FROM lifetimes l
JOIN flow_details d USING (session_id, process_key)
WHERE l.lifetime_s <= $max_lifetime_s
GROUP BY l.session_id, l.process_key, l.pid, l.path, l.argv, l.lifetime_s
ORDER BY lifetime_s, process_key;
