-- Views that answer the common questions directly. Wall-clock times are TIMESTAMP_NS (UTC).

-- TCP flag bits as letters, in tcpdump's order of significance: FIN SYN RST PSH ACK URG ECE CWR.
-- The wall-clock time of session time `t`; NULL past DuckDB's TIMESTAMP_NS range (1677-2262),
-- which a session can pass (pcapng times reach 2554): start_ns + t stays exact there.
CREATE OR REPLACE MACRO session_timestamp(start_ns, t) AS make_timestamp_ns(try_cast(start_ns + t AS BIGINT));

CREATE OR REPLACE MACRO tcp_flag_letters(bits) AS
    concat(
        CASE WHEN bits & 1 <> 0 THEN 'F' ELSE '' END, CASE WHEN bits & 2 <> 0 THEN 'S' ELSE '' END,
        CASE WHEN bits & 4 <> 0 THEN 'R' ELSE '' END, CASE WHEN bits & 8 <> 0 THEN 'P' ELSE '' END,
        CASE WHEN bits & 16 <> 0 THEN 'A' ELSE '' END, CASE WHEN bits & 32 <> 0 THEN 'U' ELSE '' END,
        CASE WHEN bits & 64 <> 0 THEN 'E' ELSE '' END, CASE WHEN bits & 128 <> 0 THEN 'C' ELSE '' END
    );

-- Every packet with its session, addresses (from its flow), flow uid and text fields.
CREATE OR REPLACE VIEW packets AS
WITH flow_sides AS (
    SELECT
        session_id, flow_no, uid, orig_h, resp_h,
        (length(coalesce(history, '')) - length(replace(coalesce(history, ''), '^', ''))) % 2 = 1 AS flipped
    FROM flows
)
SELECT
    s.session_id,
    p.packet_no,
    p.t::BIGINT AS t,
    p.interface_id,
    ['unknown', 'in', 'out'][p.direction + 1] AS direction,
    p.orig_len,
    p.cap_len,
    NULLIF(p.ip_version, 0) AS ip_version,
    -- a role flip adds one '^' to the history: with an odd count the first sender is now the responder
    CASE WHEN p.from_first_sender = 2 THEN NULL WHEN (p.from_first_sender = 1) <> f.flipped THEN f.orig_h ELSE f.resp_h END AS src,
    CASE WHEN p.from_first_sender = 2 THEN NULL WHEN (p.from_first_sender = 1) <> f.flipped THEN f.resp_h ELSE f.orig_h END AS dst,
    NULLIF(p.protocol, -1) AS protocol,
    NULLIF(p.src_port, -1) AS src_port,
    NULLIF(p.dst_port, -1) AS dst_port,
    CASE WHEN p.tcp_flags >= 0 THEN tcp_flag_letters(p.tcp_flags) END AS tcp_flags,
    CASE WHEN p.tcp_flags >= 0 THEN p.seq END AS seq,
    CASE WHEN p.tcp_flags >= 0 AND p.tcp_flags & 16 <> 0 THEN p.ack END AS ack,
    NULLIF(p.ip_len, -1) AS ip_len,
    NULLIF(p.payload_len, -1) AS payload_len,
    f.uid AS flow_uid,
    CASE WHEN p.from_first_sender = 2 THEN NULL ELSE (p.from_first_sender = 1) <> f.flipped END AS is_orig,
    coalesce(k.process_key, pk.value) AS process_key,
    pr.value AS problem
FROM packet_rows p
JOIN sessions s USING (session_no)
LEFT JOIN flow_sides f ON f.session_id = s.session_id AND f.flow_no = p.flow_no
LEFT JOIN packet_strings pk ON pk.session_no = p.session_no AND pk.kind = 'process' AND pk.no = p.process_no
LEFT JOIN packet_strings pr ON pr.session_no = p.session_no AND pr.kind = 'problem' AND pr.no = p.problem_no
LEFT JOIN process_keys k ON k.session_id = s.session_id AND k.key = pk.value;

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
-- flow_details_of(shown): the same for the flows whose uids are in the list `shown` only (NULL:
-- every flow), for an output that shows a few: its name lookups then run over those alone (the
-- first 50 of 77,592 flows: 0.66 s through the view, joined by uid).
CREATE OR REPLACE MACRO flow_details_of(shown) AS TABLE
-- The name a flow's responder was answered for before the flow began: the last answer the flow's
-- own process received (its query to a local stub resolver — systemd-resolved on 127.0.0.53,
-- mDNSResponder — answered on loopback), else the last upstream answer that followed its query
-- to the stub, else the last answer anyone received (the stub's upstream query, another
-- process's). Many names share one CDN address: only the process's own answer says which it
-- asked for. The ASOF joins sort what they carry: only the keys go through
-- them (all of a flow's columns made one outgrow DuckDB's memory limit at ~2M flows), and the
-- name joins back by uid.
WITH flow_keys AS (
    SELECT f.session_id, f.uid, f.resp_h, f.start_t, a.process_key
    FROM flows f LEFT JOIN attributions a USING (session_id, uid)
    WHERE shown IS NULL OR list_contains(shown, f.uid)
),
answers_to_processes AS (
    SELECT n.session_id, n.t, n.answer, n.query, a.process_key
    FROM dns_answers n JOIN attributions a ON a.session_id = n.session_id AND a.uid = n.flow_uid
    WHERE a.process_key IS NOT NULL
),
own_names AS (
    SELECT f.session_id, f.uid, n.query
    FROM flow_keys f
    ASOF JOIN answers_to_processes n
        ON n.session_id = f.session_id AND n.process_key = f.process_key AND n.answer = f.resp_h AND n.t <= f.start_t
),
-- Without the loopback capture, a process's query to the stub is known from its socket event
-- alone (a UDP send or TCP connect to port 53 on a loopback address): the stub's upstream query
-- that followed it within 5 s names what it asked for, and that query's answers are the process's.
stub_queries AS (
    SELECT session_id, process_key, t
    FROM socket_events
    WHERE event = 'open' AND protocol IN (6, 17) AND remote_port = 53 AND process_key IS NOT NULL
      AND (remote_addr LIKE '127.%' OR remote_addr = '::1')
),
dns_queries AS (
    SELECT session_id, t, query FROM dns WHERE NOT is_response AND query IS NOT NULL
),
-- the name asked: the first query seen after the process's (the stub's upstream one, or its own on loopback)
stub_asked AS (
    SELECT q.session_id, q.process_key, q.t, d.query
    FROM stub_queries q
    ASOF JOIN dns_queries d ON d.session_id = q.session_id AND d.t >= q.t
    WHERE d.t - q.t <= 5000000000
),
answers_after_stub_queries AS (
    SELECT DISTINCT n.session_id, n.t, n.answer, n.query, a.process_key
    FROM dns_answers n
    JOIN stub_asked a ON a.session_id = n.session_id AND n.query = a.query AND n.t BETWEEN a.t AND a.t + 5000000000
),
stub_names AS (
    SELECT f.session_id, f.uid, n.query
    FROM flow_keys f
    ASOF JOIN answers_after_stub_queries n
        ON n.session_id = f.session_id AND n.process_key = f.process_key AND n.answer = f.resp_h AND n.t <= f.start_t
),
any_names AS (
    SELECT f.session_id, f.uid, n.query
    FROM flow_keys f
    ASOF LEFT JOIN dns_answers n
        ON n.session_id = f.session_id AND n.answer = f.resp_h AND n.t <= f.start_t
),
flow_names AS (
    SELECT session_id, uid, coalesce(o.query, st.query, n.query) AS query
    FROM any_names n LEFT JOIN own_names o USING (session_id, uid) LEFT JOIN stub_names st USING (session_id, uid)
)
SELECT
    f.session_id,
    f.uid,
    session_timestamp(s.start_ns, f.start_t) AS ts,
    f.start_t,
    f.orig_h, f.orig_p, f.resp_h, f.resp_p, f.proto, f.duration, f.orig_bytes, f.resp_bytes, f.conn_state,
    f.missed_bytes, f.history, f.orig_pkts, f.orig_ip_bytes, f.resp_pkts, f.resp_ip_bytes, f.ip_proto, f.community_id,
    f.tunnel_parents, f.orig_l2_addr, f.resp_l2_addr, f.service, f.server_name, f.alpn, f.http_host,
    a.process_key,
    p.pid,
    p.path AS exe,
    p.argv,
    p.uid AS user_id,
    p.signing_id,
    a.method AS attribution_method,
    a.confidence AS attribution_confidence,
    a.reason AS unattributed_reason,
    a.nat_of,
    lin.ancestry,
    n.query AS dns_name,
    a.netns,
    p.cgroup_path,
    p.container_runtime,
    p.container_id,
    p.pod_uid,
    p.systemd_unit
FROM flows f
JOIN sessions s USING (session_id)
LEFT JOIN attributions a USING (session_id, uid)
LEFT JOIN processes p ON p.session_id = f.session_id AND p.process_key = a.process_key
LEFT JOIN process_lineage lin ON lin.session_id = f.session_id AND lin.process_key = a.process_key
LEFT JOIN flow_names n USING (session_id, uid)
WHERE shown IS NULL OR list_contains(shown, f.uid);

CREATE OR REPLACE VIEW flow_details AS SELECT * FROM flow_details_of(NULL);
