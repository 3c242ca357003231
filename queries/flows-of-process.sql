-- Flows of a process and its descendants.
-- Question: which flows did this process, or any process it started (children, grandchildren, ...), open?
-- @param process_key VARCHAR  the process instance (processes.process_key)
WITH RECURSIVE family(session_id, process_key, depth) AS (
    SELECT session_id, process_key, 0
    FROM processes
    WHERE process_key = $process_key
    UNION ALL
    SELECT child.session_id, child.process_key, family.depth + 1
    FROM family
    JOIN processes child ON child.session_id = family.session_id AND child.parent_key = family.process_key
    WHERE family.depth < 64
)
SELECT
    d.ts, d.uid, family.depth, d.pid, d.exe, d.process_key,
    d.orig_h, d.orig_p, d.resp_h, d.resp_p, d.proto, d.conn_state, d.orig_bytes, d.resp_bytes, d.dns_name
FROM family
JOIN flow_details d USING (session_id, process_key)
ORDER BY d.ts, d.uid;
