-- A timeline of one time window.
-- Question: what happened between two moments: process starts and exits, flows, DNS answers, losses?
-- @param from VARCHAR  start of the window, a UTC timestamp (2024-05-01 10:00:00)
-- @param until VARCHAR  end of the window, a UTC timestamp
WITH window_ns AS (
    SELECT
        session_id, start_ns,
        -- in µs then ns as HUGEINT, as start_ns is: epoch_ns ends in 2262, a session's clock in 2554
        epoch_us($from::TIMESTAMP)::HUGEINT * 1000 - start_ns AS from_t,
        epoch_us($until::TIMESTAMP)::HUGEINT * 1000 - start_ns AS until_t
    FROM sessions
),
events AS (
    SELECT session_id, coalesce(exec_t, first_seen_t) AS t, 'process start' AS what, process_key AS subject, path AS detail
    FROM processes
    UNION ALL
    SELECT session_id, exit_t, 'process exit', process_key, 'status ' || coalesce(exit_status::VARCHAR, '?')
    FROM processes WHERE exit_t IS NOT NULL
    UNION ALL
    SELECT session_id, start_t, 'flow', uid,
           proto || ' ' || orig_h || ':' || orig_p || ' -> ' || resp_h || ':' || resp_p || coalesce(' by ' || exe, '') || coalesce(' (' || dns_name || ')', '')
    FROM flow_details
    UNION ALL
    SELECT session_id, t, 'dns answer', query, answer
    FROM dns_answers
    UNION ALL
    SELECT session_id, t, 'loss', source, count || ' lost: ' || reason
    FROM losses
)
SELECT session_timestamp(w.start_ns, e.t) AS ts, e.what, e.subject, e.detail
FROM events e
JOIN window_ns w USING (session_id)
WHERE e.t BETWEEN w.from_t AND w.until_t
ORDER BY ts, e.what, e.subject, e.detail;
