-- Views that answer the common questions directly. Wall-clock times are TIMESTAMP_NS (UTC).

-- Each DNS answer with the name that was asked: the join key from an address back to a name.
CREATE OR REPLACE VIEW dns_answers AS
SELECT session_id, t, flow_uid, client, server, query, unnest(answers) AS answer, unnest(ttls) AS ttl
FROM dns
WHERE is_response AND query IS NOT NULL;

-- Each process with its chain of ancestors, nearest first, as "pid path" text.
CREATE OR REPLACE VIEW process_lineage AS
WITH RECURSIVE chain(session_id, process_key, ancestor_key, depth) AS (
    SELECT session_id, process_key, parent_key, 1
    FROM processes
    WHERE parent_key IS NOT NULL
    UNION ALL
    SELECT c.session_id, c.process_key, p.parent_key, c.depth + 1
    FROM chain c
    JOIN processes p ON p.session_id = c.session_id AND p.process_key = c.ancestor_key
    WHERE p.parent_key IS NOT NULL AND c.depth < 64
),
ancestors AS (
    SELECT c.session_id, c.process_key, c.depth, a.process_key AS ancestor_key, a.pid, a.path
    FROM chain c
    JOIN processes a ON a.session_id = c.session_id AND a.process_key = c.ancestor_key
)
SELECT
    session_id,
    process_key,
    list(ancestor_key ORDER BY depth) AS ancestor_keys,
    string_agg(pid || ' ' || coalesce(path, '?'), ' < ' ORDER BY depth) AS ancestry
FROM ancestors
GROUP BY session_id, process_key;

-- The product's answer: every flow with the process that opened it, its ancestry and DNS name.
CREATE OR REPLACE VIEW flow_details AS
SELECT
    f.session_id,
    f.uid,
    make_timestamp_ns(s.start_ns + f.start_t) AS ts,
    f.start_t,
    f.orig_h, f.orig_p, f.resp_h, f.resp_p, f.proto, f.duration, f.orig_bytes, f.resp_bytes, f.conn_state,
    f.missed_bytes, f.history, f.orig_pkts, f.orig_ip_bytes, f.resp_pkts, f.resp_ip_bytes, f.ip_proto, f.community_id,
    a.process_key,
    p.pid,
    p.path AS exe,
    p.argv,
    p.uid AS user_id,
    p.signing_id,
    a.method AS attribution_method,
    a.confidence AS attribution_confidence,
    a.reason AS unattributed_reason,
    lin.ancestry,
    n.query AS dns_name
FROM flows f
JOIN sessions s USING (session_id)
LEFT JOIN attributions a USING (session_id, uid)
LEFT JOIN processes p ON p.session_id = f.session_id AND p.process_key = a.process_key
LEFT JOIN process_lineage lin ON lin.session_id = f.session_id AND lin.process_key = a.process_key
ASOF LEFT JOIN dns_answers n
    ON n.session_id = f.session_id AND n.answer = f.resp_h AND n.t <= f.start_t;
