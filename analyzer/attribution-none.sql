-- Attribution of a session that holds no evidence of processes at all — no socket event, no live
-- sensor watching sockets, no packet naming its process, no loss (a plain capture): every flow is
-- unattributed for that reason, as attribution.sql concludes of such a session. One INSERT,
-- without planning and running those rules (77,592 flows: ~80 ms -> ~20 ms); the loader chooses
-- it (loader.ts), and test/analyzer/attribution.test.ts holds the two to the same rows.
-- Parameters: $session (session_id).
INSERT INTO attributions
SELECT $session, uid, NULL, NULL, NULL,
       'no-process-data: the session holds no socket events or per-packet processes',
       NULL, NULL, NULL, NULL
FROM flows
WHERE session_id = $session;
