-- Attribution through NAT: a flow no socket opened, that is another flow translated. A container's
-- connection leaves its namespace over a veth (seen on the host's side with the container's
-- address, and attributed there by its socket) and the host's MASQUERADE rewrites its source
-- (seen on the uplink as the host's own flow, which no socket of the host opened). NAT rewrites
-- addresses and ports, never a TCP initial sequence number: two SYNs with the same ISN, one
-- second apart at most, on different interfaces, sharing their responder (source NAT) or their
-- originator (destination NAT), are one connection seen on both sides of the translation.
-- The translated flow gets the process, method 'nat', and `nat_of` names the flow it came from.
-- Parameters: $session.
UPDATE attributions AS a
SET process_key = joined.process_key, method = 'nat', confidence = 0.9, reason = NULL,
    socket_flow_id = joined.socket_flow_id, netns = joined.netns, nat_of = joined.inner_uid, socket_origin = 'connect'
FROM (
    WITH syns AS (
        -- each flow's first SYN without ACK: its initial sequence number
        SELECT p.flow_no, p.interface_id, p.seq, p.t
        FROM packet_rows p JOIN sessions s USING (session_no)
        WHERE s.session_id = $session AND p.protocol = 6 AND p.tcp_flags >= 0 AND p.tcp_flags & 18 = 2 AND p.flow_no >= 0
        QUALIFY row_number() OVER (PARTITION BY p.flow_no ORDER BY p.packet_no) = 1
    ),
    flow_syns AS (
        SELECT f.uid, f.orig_h, f.orig_p, f.resp_h, f.resp_p, y.interface_id, y.seq, y.t
        FROM syns y JOIN flows f ON f.session_id = $session AND f.flow_no = y.flow_no
    ),
    -- Flows with no process, or only the peer that accepted them in another namespace (a server
    -- the translated connection reached): the process that opened them is on the other side of the NAT.
    unattributed AS (
        SELECT o.* FROM flow_syns o
        JOIN attributions oa ON oa.session_id = $session AND oa.uid = o.uid
        WHERE oa.process_key IS NULL
           OR (oa.socket_origin = 'accept' AND oa.netns NOT IN (SELECT netns FROM interfaces WHERE session_id = $session AND netns IS NOT NULL))
    ),
    attributed AS (
        SELECT i.*, ia.process_key, ia.socket_flow_id, ia.netns FROM flow_syns i
        -- opened by a connect: the side a source NAT translates
        JOIN attributions ia ON ia.session_id = $session AND ia.uid = i.uid AND ia.process_key IS NOT NULL AND ia.socket_origin = 'connect'
    ),
    translations AS (
        SELECT o.uid AS outer_uid, i.uid AS inner_uid, i.process_key, i.socket_flow_id, i.netns
        FROM unattributed o
        JOIN attributed i
          ON i.seq = o.seq AND i.interface_id <> o.interface_id AND abs(i.t - o.t) <= 1000000000
         AND ((i.resp_h = o.resp_h AND i.resp_p = o.resp_p) OR (i.orig_h = o.orig_h AND i.orig_p = o.orig_p))
        -- one translation only: two candidates would be a coincidence of ISNs, and no evidence
        QUALIFY count(*) OVER (PARTITION BY o.uid) = 1
    )
    SELECT * FROM translations
) AS joined
WHERE a.session_id = $session AND a.uid = joined.outer_uid;
