-- The process chain of one flow.
-- Question: which process opened this flow, and who started it, up to the oldest ancestor known?
-- @param uid VARCHAR  the flow (flows.uid)
WITH RECURSIVE chain(session_id, process_key, depth) AS (
    SELECT session_id, process_key, 0
    FROM attributions
    WHERE uid = $uid AND process_key IS NOT NULL
    UNION ALL
    SELECT p.session_id, p.parent_key, chain.depth + 1
    FROM chain
    JOIN processes p ON p.session_id = chain.session_id AND p.process_key = chain.process_key
    WHERE p.parent_key IS NOT NULL AND chain.depth < 64
)
SELECT
    chain.depth, chain.process_key, p.pid, p.ppid, p.uid, p.path, p.argv, p.signing_id, p.origin,
    session_timestamp(s.start_ns, coalesce(p.exec_t, p.first_seen_t)) AS started,
    session_timestamp(s.start_ns, p.exit_t) AS exited
FROM chain
JOIN sessions s USING (session_id)
LEFT JOIN processes p ON p.session_id = chain.session_id AND p.process_key = chain.process_key
ORDER BY chain.depth;
