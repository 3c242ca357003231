-- Attribution: which process instance opened each flow of session $session, by what evidence.
-- Parameters: $session (session_id), $skew_ns (how far a socket event may sit from its flow).
-- Evidence, strongest first:
--   socket-event     the sensor saw a process open this 5-tuple (connect/accept/send/content filter)
--   packet-metadata  the capture named the process of the flow's packets (pcapng process blocks)
--   port-owner       a process listened on the flow's local port when the flow began
-- (then attribution-nat.sql joins flows translated by NAT to the flow the process opened.)
INSERT INTO attributions
WITH session_flows AS (
    -- only what the rules below read: the CTE is materialised once
    SELECT uid, flow_no, ip_proto, orig_h, orig_p, resp_h, resp_p, start_t, end_t FROM flows WHERE session_id = $session
),
-- The network namespaces the session's interfaces are in (Linux sensor). Every namespace has its
-- own loopback: a loopback flow can only be a socket's of the same namespace. Other addresses
-- cross namespaces unchanged over a veth (a container's flow seen on the host's side).
capture_netns AS (
    SELECT DISTINCT netns FROM interfaces WHERE session_id = $session AND netns IS NOT NULL
),
socket_opens AS (
    SELECT * FROM socket_events
    WHERE session_id = $session AND event = 'open' AND origin <> 'listen'
),
-- A socket event matches a flow on protocol and both endpoints, in either orientation; a wildcard
-- local address (an unconnected send) matches any. Snapshot sockets existed before the flow.
socket_candidates AS (
    SELECT
        f.uid,
        s.process_key,
        s.flow_id,
        (s.local_port = f.orig_p AND (s.local_addr = f.orig_h OR s.local_addr IN ('0.0.0.0', '::'))) AS opened_by_originator,
        abs(s.t - f.start_t) AS skew_ns,
        s.netns,
        s.origin,
        s.netns IN (SELECT netns FROM capture_netns) AS in_capture_netns
    FROM session_flows f
    JOIN socket_opens s
      ON s.protocol = f.ip_proto
     AND (
            (s.local_port = f.orig_p AND s.remote_addr = f.resp_h AND s.remote_port = f.resp_p
                AND (s.local_addr = f.orig_h OR s.local_addr IN ('0.0.0.0', '::')))
         OR (s.local_port = f.resp_p AND s.remote_addr = f.orig_h AND s.remote_port = f.orig_p
                AND (s.local_addr = f.resp_h OR s.local_addr IN ('0.0.0.0', '::')))
         )
     AND (
            s.t BETWEEN f.start_t - $skew_ns AND f.end_t + $skew_ns
         OR (s.origin = 'snapshot' AND s.t <= f.end_t)
         )
     AND (
            s.netns IS NULL
         OR NOT (f.orig_h LIKE '127.%' OR f.orig_h = '::1')
         OR NOT EXISTS (SELECT 1 FROM capture_netns)
         OR s.netns IN (SELECT netns FROM capture_netns)
         )
),
best_socket AS (
    SELECT * FROM socket_candidates
    -- A socket of the interface's own namespace first: on a veth the other end is another host as
    -- far as this interface goes (a client in another namespace reaching a server here is inbound
    -- to the server); then the side that opened the flow (both ends on one host: loopback).
    QUALIFY row_number() OVER (PARTITION BY uid ORDER BY in_capture_netns DESC NULLS LAST, opened_by_originator DESC, skew_ns, flow_id) = 1
),
-- Read from packet_rows, not the packets view: only the few packets that name a process are
-- joined to their flow (the view joins every packet first: 0.4 s at 2,000,000 packets).
session_packet_processes AS (
    SELECT p.packet_no, p.flow_no, coalesce(k.process_key, pk.value) AS process_key
    FROM packet_rows p
    JOIN sessions s ON s.session_no = p.session_no AND s.session_id = $session
    JOIN packet_strings pk ON pk.session_no = p.session_no AND pk.kind = 'process' AND pk.no = p.process_no
    LEFT JOIN process_keys k ON k.session_id = $session AND k.key = pk.value
    WHERE p.process_no >= 0
),
packet_processes AS (
    SELECT f.uid, p.process_key, min(p.packet_no) AS first_packet
    FROM session_packet_processes p
    JOIN session_flows f ON f.flow_no = p.flow_no
    GROUP BY ALL
),
-- Several processes' packets in one flow (a socket handed over, a proxy): the process of the
-- flow's first packet opened it.
best_packet_process AS (
    SELECT * FROM packet_processes
    QUALIFY row_number() OVER (PARTITION BY uid ORDER BY first_packet) = 1
),
-- A capture's process block knows only pid and name (epb_processid_threadid only the pid); when
-- Endpoint Security saw a process with that pid, running an executable of that name, alive when
-- the flow began, it is that process.
packet_process_instances AS (
    SELECT b.uid, coalesce(es.process_key, b.process_key) AS process_key
    FROM best_packet_process b
    JOIN session_flows f USING (uid)
    JOIN processes pb ON pb.session_id = $session AND pb.process_key = b.process_key
    LEFT JOIN processes es
      ON es.session_id = $session AND es.origin <> 'pcapng' AND es.pid = pb.pid
     AND (pb.path IS NULL OR starts_with(regexp_extract(es.path, '[^/]*$'), regexp_extract(pb.path, '[^/]*$')))
     AND coalesce(es.exec_t, es.first_seen_t) <= f.start_t + $skew_ns
     AND coalesce(es.exit_t, f.start_t) >= f.start_t - $skew_ns
    QUALIFY row_number() OVER (PARTITION BY b.uid ORDER BY coalesce(es.exec_t, es.first_seen_t) DESC NULLS LAST, es.process_key) = 1
),
listeners AS (
    SELECT * FROM socket_events
    WHERE session_id = $session AND event = 'open' AND origin = 'listen'
),
best_listener AS (
    SELECT f.uid, l.process_key, l.flow_id
    FROM session_flows f
    JOIN listeners l
      ON l.protocol = f.ip_proto AND l.local_port = f.resp_p
     AND (l.local_addr = f.resp_h OR l.local_addr IN ('0.0.0.0', '::'))
     AND l.t <= f.start_t + $skew_ns
     -- a port is owned inside one namespace: another namespace's listener on it is another host's
     AND (l.netns IS NULL OR NOT EXISTS (SELECT 1 FROM capture_netns) OR l.netns IN (SELECT netns FROM capture_netns))
    QUALIFY row_number() OVER (PARTITION BY f.uid ORDER BY l.t DESC, l.flow_id) = 1
),
losses_during AS (
    SELECT DISTINCT f.uid
    FROM session_flows f
    JOIN losses l ON l.session_id = $session AND l.t BETWEEN f.start_t - $skew_ns AND f.end_t + $skew_ns
),
evidence AS (
    SELECT
        -- a live sensor watched sockets even when none was opened: its silence is evidence
        (SELECT count(*) FROM socket_events WHERE session_id = $session) > 0
            OR (SELECT sensor FROM sessions WHERE session_id = $session) SIMILAR TO 'netprov-(linux|macos) .*' AS has_sockets,
        EXISTS (SELECT 1 FROM session_packet_processes) AS has_packet_processes
),
decided AS (
    SELECT
        f.uid,
        CASE
            WHEN s.process_key IS NOT NULL THEN s.process_key
            WHEN pp.process_key IS NOT NULL THEN pp.process_key
            WHEN l.process_key IS NOT NULL THEN l.process_key
        END AS raw_key,
        CASE
            WHEN s.process_key IS NOT NULL THEN 'socket-event'
            WHEN pp.process_key IS NOT NULL THEN 'packet-metadata'
            WHEN l.process_key IS NOT NULL THEN 'port-owner'
        END AS method,
        CASE
            WHEN s.process_key IS NOT NULL THEN CASE WHEN s.skew_ns <= 100000000 THEN 1.0 ELSE 0.9 END
            WHEN pp.process_key IS NOT NULL THEN 0.9
            WHEN l.process_key IS NOT NULL THEN 0.6
        END AS confidence,
        CASE
            WHEN coalesce(s.process_key, pp.process_key, l.process_key) IS NOT NULL THEN NULL
            WHEN s.uid IS NOT NULL THEN 'process-unknown: the socket event names no process'
            WHEN ld.uid IS NOT NULL THEN 'loss-during-flow: the sensor lost events around this flow'
            WHEN NOT e.has_sockets AND NOT e.has_packet_processes THEN 'no-process-data: the session holds no socket events or per-packet processes'
            ELSE 'no-socket-event: no sensor event matches this flow'
        END AS reason,
        coalesce(s.flow_id, l.flow_id) AS socket_flow_id,
        s.netns,
        CASE WHEN s.process_key IS NOT NULL THEN s.origin WHEN pp.process_key IS NULL AND l.process_key IS NOT NULL THEN 'listen' END AS socket_origin
    FROM session_flows f
    CROSS JOIN evidence e
    LEFT JOIN best_socket s USING (uid)
    LEFT JOIN packet_process_instances pp USING (uid)
    LEFT JOIN best_listener l USING (uid)
    LEFT JOIN losses_during ld USING (uid)
)
SELECT
    $session,
    d.uid,
    coalesce(k.process_key, d.raw_key),
    d.method,
    d.confidence,
    d.reason,
    d.socket_flow_id,
    d.netns,
    NULL AS nat_of,
    d.socket_origin
FROM decided d
LEFT JOIN process_keys k ON k.session_id = $session AND k.key = d.raw_key;
