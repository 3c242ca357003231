-- DNS name to flows to processes.
-- Question: which names matching a pattern were resolved, which flows went to their addresses, from which processes?
-- @param pattern VARCHAR = %  a name, or a LIKE pattern (% any run of characters); case-insensitive
WITH answers AS (
    SELECT session_id, t, query, answer
    FROM dns_answers
    WHERE query ILIKE $pattern
)
SELECT DISTINCT
    a.query, a.answer, d.ts, d.uid, d.pid, d.exe, d.process_key, d.orig_p, d.resp_p, d.proto, d.orig_bytes, d.resp_bytes
FROM answers a
LEFT JOIN flow_details d
    ON d.session_id = a.session_id AND d.resp_h = a.answer AND d.start_t >= a.t
ORDER BY a.query, a.answer, d.ts NULLS FIRST, d.uid;
