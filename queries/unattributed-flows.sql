-- Flows that could not be attributed.
-- Question: which flows have no process, and why (no socket event, loss, no process data)?
SELECT
    ts, uid, orig_h, orig_p, resp_h, resp_p, proto, conn_state, orig_bytes, resp_bytes, dns_name,
    split_part(unattributed_reason, ':', 1) AS reason,
    unattributed_reason AS explanation
FROM flow_details
WHERE process_key IS NULL
ORDER BY reason, ts, uid;
