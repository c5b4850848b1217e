-- The player chains of sql/021_mikros_player_chains.sql: after overlapping, out-of-order batches every
-- distinct-player and session figure of many windows (edges at any second) equals a direct count over
-- the raw rows; the chains kept batch by batch equal a rebuild from the raw rows; an app that changes
-- genre moves its players; the session-length median is exact.
BEGIN;
SELECT plan(12);

TRUNCATE mikros_sessions, mikros_session_content, mikros_daily_content,
         mikros_users, mikros_key_days, mikros_key_day_prev, mikros_key_hours,
         mikros_key_durations;

INSERT INTO mikros_apps (app_id, name, genre, content_genre, gameplay_type)
SELECT 'ch-' || i, 'Chain ' || i, 'CH-G' || (i % 3), 'CH-C' || (i % 2), 'CH-T' || (i % 4)
  FROM generate_series(0, 7) i;

-- Six batches over 2026-11-01 .. 2026-11-21; the later ones go back in time, so chains are spliced.
CREATE TEMP TABLE chain_batches AS
SELECT b, jsonb_agg(jsonb_build_object(
           'app_id', 'ch-' || ((g * 7 + b) % 8), 'user_id', 'p' || ((g * 13 + b * 5) % 37),
           'started_at', '2026-11-01T00:00:00Z'::timestamptz
                         + ((g * 7919 + b * 104729) % (20 * 86400)) * interval '1 second',
           'duration_seconds', 30 + (g * 37) % 900)) AS batch
  FROM generate_series(1, 6) b, generate_series(1, 150) g GROUP BY b;
SELECT mikros_ingest_sessions(batch) FROM chain_batches ORDER BY b;

-- Windows of 1 to 15 days whose edges fall at every kind of second.
CREATE TEMP TABLE chain_windows AS
SELECT w, a, a + (86400 + (w * 35317) % (14 * 86400)) * interval '1 second' AS b
  FROM (SELECT w, '2026-10-31T12:00:00Z'::timestamptz + ((w * 15485863) % (21 * 86400)) * interval '1 second' AS a
          FROM generate_series(1, 60) w) x;

CREATE FUNCTION pg_temp.direct_players() RETURNS TABLE (w integer, key integer, players bigint) LANGUAGE sql AS $$
    SELECT cw.w, ak.key, count(DISTINCT s.user_id)
      FROM chain_windows cw JOIN mikros_sessions s ON s.started_at >= cw.a AND s.started_at < cw.b
      JOIN mikros_app_keys ak ON ak.app_id = s.app_id JOIN mikros_keys k ON k.key = ak.key AND k.with_players
     GROUP BY 1, 2
$$;
CREATE FUNCTION pg_temp.chain_players() RETURNS TABLE (w integer, key integer, players bigint) LANGUAGE sql AS $$
    SELECT cw.w, p.key, p.players
      FROM chain_windows cw, mikros_key_players(ARRAY(SELECT key FROM mikros_keys WHERE with_players), cw.a, cw.b) p
     WHERE p.players > 0
$$;

SELECT set_eq('SELECT * FROM pg_temp.chain_players()', 'SELECT * FROM pg_temp.direct_players()',
              'distinct players per key and window equal a direct count');
SELECT set_eq(
    $$SELECT cw.w, s.key, s.sessions FROM chain_windows cw,
             mikros_key_sessions(ARRAY(SELECT key FROM mikros_keys), cw.a, cw.b) s WHERE s.sessions > 0$$,
    $$SELECT cw.w, ak.key, count(*) FROM chain_windows cw
        JOIN mikros_sessions s ON s.started_at >= cw.a AND s.started_at < cw.b
        JOIN mikros_app_keys ak ON ak.app_id = s.app_id GROUP BY 1, 2$$,
    'sessions per key and window equal a direct count');
SELECT ok((SELECT count(DISTINCT players) FROM pg_temp.chain_players()) > 20, 'the windows see varied figures');

-- The rows kept batch by batch are the rows a rebuild from the raw sessions makes.
CREATE TEMP TABLE kept_days AS SELECT * FROM mikros_key_days;
CREATE TEMP TABLE kept_prev AS SELECT * FROM mikros_key_day_prev WHERE players <> 0;
CREATE TEMP TABLE kept_durations AS SELECT * FROM mikros_key_durations;
SELECT mikros_rebuild_keys(ARRAY(SELECT key FROM mikros_keys));
SELECT set_eq('SELECT * FROM kept_days', 'SELECT * FROM mikros_key_days', 'the chains equal a rebuild');
SELECT set_eq('SELECT * FROM kept_prev', 'SELECT * FROM mikros_key_day_prev', 'the previous-day counts too');
SELECT set_eq('SELECT * FROM kept_durations', 'SELECT * FROM mikros_key_durations', 'and the session lengths');

-- A session the feed may send from up to five minutes ahead counts only once its second has come.
SELECT mikros_ingest_sessions('[{"app_id":"ch-1","user_id":"late","started_at":"2026-11-15T10:00:00Z",
                                 "duration_seconds":5}]');
SELECT is((SELECT players FROM mikros_key_players(ARRAY[mikros_all_key()], '2026-11-08T10:00:00Z',
                                                  '2026-11-15T10:00:00Z'))
          - (SELECT count(DISTINCT user_id) FROM mikros_sessions
              WHERE started_at >= '2026-11-08T10:00:00Z' AND started_at < '2026-11-15T10:00:00Z'),
          0::bigint, 'a window ending the second before a session leaves it out');

-- An app that changes genre takes its sessions along.
UPDATE mikros_apps SET genre = 'CH-G9', content_genre = 'CH-C9' WHERE app_id = 'ch-4';
SELECT set_eq('SELECT * FROM pg_temp.chain_players()', 'SELECT * FROM pg_temp.direct_players()',
              'after a genre change the players still equal a direct count');
SELECT ok((SELECT players FROM mikros_key_players(ARRAY(SELECT key FROM mikros_keys WHERE value = 'CH-G9'),
                                                  '2026-10-01Z', '2026-12-01Z')) > 0, 'the new genre has them');
CREATE TEMP TABLE moved AS
SELECT 'day' AS t, key, uid, day, first_at, last_at, prev_day, prev_last_at, NULL::bigint AS n FROM mikros_key_days
UNION ALL SELECT 'prev', key, NULL, day, NULL, NULL, prev_day, NULL, players FROM mikros_key_day_prev WHERE players <> 0
UNION ALL SELECT 'hour', key, NULL, NULL, hour, NULL, NULL, NULL, sessions FROM mikros_key_hours WHERE sessions <> 0
UNION ALL SELECT 'length', key, duration_seconds, day, NULL, NULL, NULL, NULL, sessions FROM mikros_key_durations
 WHERE sessions <> 0;
SELECT mikros_rebuild_keys(ARRAY(SELECT key FROM mikros_keys));
SELECT set_eq('SELECT * FROM moved', $$
SELECT 'day' AS t, key, uid, day, first_at, last_at, prev_day, prev_last_at, NULL::bigint AS n FROM mikros_key_days
UNION ALL SELECT 'prev', key, NULL, day, NULL, NULL, prev_day, NULL, players FROM mikros_key_day_prev WHERE players <> 0
UNION ALL SELECT 'hour', key, NULL, NULL, hour, NULL, NULL, NULL, sessions FROM mikros_key_hours WHERE sessions <> 0
UNION ALL SELECT 'length', key, duration_seconds, day, NULL, NULL, NULL, NULL, sessions FROM mikros_key_durations
 WHERE sessions <> 0$$, 'the moved app leaves every rollup as a rebuild from the raw rows would');

-- The exact median of session lengths, over whole days and both edges.
SELECT is((mikros_avg_session_json('CH-G1', now(), '2026-11-03T07:30:00Z', '2026-11-12T19:45:01Z')
               ->>'median_minutes')::numeric,
          (SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY s.duration_seconds / 60.0))::numeric, 1)
             FROM mikros_sessions s JOIN mikros_apps a USING (app_id)
            WHERE a.genre = 'CH-G1'
              AND s.started_at >= '2026-11-03T07:30:00Z' AND s.started_at < '2026-11-12T19:45:01Z'),
          'the session-length median is exact');
SELECT is((mikros_total_users_json(now())->>'total_users')::bigint,
          (SELECT count(DISTINCT user_id) FROM mikros_sessions),
          'total users counts every player once');

SELECT * FROM finish();
ROLLBACK;
