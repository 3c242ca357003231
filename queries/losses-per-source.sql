-- Losses per source.
-- Question: what did the sensors and importers lose, where, and why?
SELECT
    session_id, source,
    sum(count) AS lost,
    count(*) AS reports,
    make_timestamp_ns(min(s.start_ns + l.t)) AS first_reported,
    make_timestamp_ns(max(s.start_ns + l.t)) AS last_reported,
    string_agg(DISTINCT reason, '; ' ORDER BY reason) AS reasons
FROM losses l
JOIN sessions s USING (session_id)
GROUP BY session_id, source
ORDER BY session_id, lost DESC, source;
