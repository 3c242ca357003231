-- Listening sockets and inbound connections per process.
-- Question: which processes listened on which ports, and how many connections came in to each?
WITH listening AS (
    SELECT session_id, process_key, protocol, local_addr, local_port, min(t) AS since_t
    FROM socket_events
    WHERE origin = 'listen'
    GROUP BY session_id, process_key, protocol, local_addr, local_port
),
inbound AS (
    SELECT d.session_id, d.process_key, d.ip_proto AS protocol, d.resp_p AS local_port,
           count(*) AS inbound_flows, count(DISTINCT d.orig_h) AS clients
    FROM flow_details d
    JOIN attributions a USING (session_id, uid)
    LEFT JOIN socket_events s ON s.session_id = d.session_id AND s.flow_id = a.socket_flow_id AND s.event = 'open'
    WHERE a.method = 'port-owner' OR s.origin = 'accept'
    GROUP BY d.session_id, d.process_key, d.ip_proto, d.resp_p
)
SELECT
    coalesce(l.process_key, i.process_key) AS process_key,
    p.pid, p.path,
    coalesce(l.protocol, i.protocol) AS protocol,
    l.local_addr,
    coalesce(l.local_port, i.local_port) AS local_port,
    l.local_port IS NOT NULL AS listening,
    coalesce(i.inbound_flows, 0) AS inbound_flows,
    coalesce(i.clients, 0) AS clients
FROM listening l
FULL OUTER JOIN inbound i
    ON i.session_id = l.session_id AND i.process_key = l.process_key AND i.protocol = l.protocol AND i.local_port = l.local_port
LEFT JOIN processes p
    ON p.session_id = coalesce(l.session_id, i.session_id) AND p.process_key = coalesce(l.process_key, i.process_key)
ORDER BY process_key, local_port, protocol;
