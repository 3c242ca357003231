-- Who talked to an address or a DNS name.
-- Question: which processes exchanged traffic with this address, or with addresses resolved from this name?
-- @param target VARCHAR  an IP address, or a DNS name (case-insensitive)
SELECT
    ts, uid, pid, exe, process_key, attribution_method,
    orig_h, orig_p, resp_h, resp_p, proto, conn_state, orig_bytes, resp_bytes, dns_name
FROM flow_details
WHERE resp_h = $target OR orig_h = $target OR lower(dns_name) = lower($target)
ORDER BY ts, uid;
