-- Rare destinations.
-- Question: which destinations did only one process contact, only a few times (first contact first)?
-- @param max_flows BIGINT = 3  at most this many flows to the destination in the session
WITH per_destination AS (
    SELECT
        session_id, resp_h, resp_p, proto,
        count(DISTINCT process_key) AS processes,
        count(*) AS flows,
        min(ts) AS first_seen,
        min(process_key) AS process_key,
        min(exe) AS exe,
        min(dns_name) AS dns_name
    FROM flow_details
    WHERE process_key IS NOT NULL
    GROUP BY session_id, resp_h, resp_p, proto
)
SELECT first_seen, resp_h, resp_p, proto, dns_name, process_key, exe, flows
FROM per_destination
WHERE processes = 1 AND flows <= $max_flows
ORDER BY first_seen, resp_h, resp_p;
