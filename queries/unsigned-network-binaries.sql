-- Binaries without a signing id that used the network (macOS).
-- Question: which macOS processes without a code signing identity opened flows?
-- macOS process keys have the form pid.pidversion; elsewhere there is no signing id to miss.
SELECT
    p.process_key, p.pid, p.path, p.argv, p.team_id, p.cdhash,
    count(*) AS flows,
    string_agg(DISTINCT d.resp_h || ':' || d.resp_p, ' ' ORDER BY d.resp_h || ':' || d.resp_p) AS destinations
FROM processes p
JOIN flow_details d ON d.session_id = p.session_id AND d.process_key = p.process_key
WHERE p.signing_id IS NULL AND regexp_full_match(p.process_key, '[0-9]+\.[0-9]+')
GROUP BY p.session_id, p.process_key, p.pid, p.path, p.argv, p.team_id, p.cdhash
ORDER BY flows DESC, p.process_key;
