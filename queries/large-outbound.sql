-- Large outbound transfers.
-- Question: which flows sent far more than they received (possible exfiltration)?
-- @param min_bytes BIGINT = 1000000  at least this many payload bytes sent by the originator
-- @param min_ratio DOUBLE = 10  bytes out over bytes in, at least
SELECT
    ts, uid, pid, exe, process_key, orig_h, orig_p, resp_h, resp_p, proto, dns_name,
    orig_bytes AS bytes_out,
    resp_bytes AS bytes_in,
    round(orig_bytes / greatest(coalesce(resp_bytes, 0), 1), 1) AS ratio
FROM flow_details
WHERE orig_bytes >= $min_bytes AND orig_bytes >= $min_ratio * greatest(coalesce(resp_bytes, 0), 1)
ORDER BY bytes_out DESC, uid;
