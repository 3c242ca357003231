-- Everything a process talked to.
-- Question: which destinations did this process reach, how often, and how many bytes went each way?
-- @param process_key VARCHAR  the process instance (processes.process_key)
SELECT
    resp_h, resp_p, proto,
    min(dns_name) AS dns_name,
    count(*) AS flows,
    sum(coalesce(orig_bytes, 0)) AS bytes_out,
    sum(coalesce(resp_bytes, 0)) AS bytes_in,
    min(ts) AS first_seen,
    max(ts) AS last_seen
FROM flow_details
WHERE process_key = $process_key
GROUP BY resp_h, resp_p, proto
ORDER BY flows DESC, resp_h, resp_p, proto;
