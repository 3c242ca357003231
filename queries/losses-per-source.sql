-- Losses per source.
-- Question: what did the sensors and importers lose, where, and why?
SELECT
    session_id, source,
    sum(count) AS lost,
    count(*) AS reports,
    session_timestamp(any_value(s.start_ns), min(l.t)) AS first_reported,
    session_timestamp(any_value(s.start_ns), max(l.t)) AS last_reported,
    string_agg(DISTINCT reason, '; ' ORDER BY reason) AS reasons
FROM losses l
JOIN sessions s USING (session_id)
GROUP BY session_id, source
ORDER BY session_id, lost DESC, source;
