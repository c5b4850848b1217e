-- The MIKROS feed's ingestion (sql/009_mikros_feed.sql, sql/021) and the analytics' window functions
-- (sql/011_mikros_analytics.sql): a batch and its rollups commit or roll back together; after
-- overlapping batches every rollup equals a direct computation over the raw rows; a window counts
-- the session at its first second and not the one a second before it; growth and the median.
BEGIN;
SELECT plan(16);

INSERT INTO mikros_apps (app_id, name, genre, content_genre, gameplay_type)
VALUES ('t-a1', 'A1', 'Action', 'Co-op', 'Casual'), ('t-a2', 'A2', 'Puzzle', 'Story', 'Casual');

-- An unknown app anywhere in the batch: nothing is written, the app is named.
SELECT is((SELECT unknown_app FROM mikros_ingest_sessions(
    '[{"app_id":"t-a1","user_id":"u1","started_at":"2026-11-01T10:00:00Z","duration_seconds":60},
      {"app_id":"t-nope","user_id":"u1","started_at":"2026-11-01T10:00:00Z","duration_seconds":60}]')),
    't-nope', 'the unknown app is named');
SELECT is((SELECT count(*) FROM mikros_sessions WHERE app_id = 't-a1'), 0::bigint, 'no raw row');
SELECT is((SELECT count(*) FROM mikros_key_hours WHERE key = mikros_genre_key('Action')), 0::bigint, 'no rollup');

-- A statement that fails after the rows were written rolls the rollups back with them.
SAVEPOINT broken;
SELECT throws_ok($$SELECT mikros_ingest_sessions(
    '[{"app_id":"t-a1","user_id":"u1","started_at":"2026-11-01T10:00:00Z","duration_seconds":-5}]')$$,
    '23514', NULL, 'a bad row fails the whole batch');
ROLLBACK TO SAVEPOINT broken;
SELECT is((SELECT count(*) FROM mikros_key_hours WHERE key = mikros_genre_key('Action')), 0::bigint,
          'and leaves no rollup');

-- Overlapping batches: the same (day, app, user) and content in several of them.
SELECT mikros_ingest_sessions(jsonb_agg(jsonb_build_object(
           'app_id', CASE WHEN g % 3 = 0 THEN 't-a2' ELSE 't-a1' END, 'user_id', 'u' || (g % 7),
           'started_at', '2026-11-01T00:00:00Z'::timestamptz + (g * interval '97 minutes'),
           'duration_seconds', 30 + g,
           'content', CASE WHEN g % 2 = 0 THEN jsonb_build_array(jsonb_build_object(
               'content_id', 'c' || (g % 4), 'content_name', 'C', 'content_type', 'level', 'playtime_seconds', g))
               ELSE '[]'::jsonb END)))
  FROM generate_series(0, 2) b, generate_series(b * 40, b * 40 + 59) g GROUP BY b;

SELECT is((SELECT count(*) FROM mikros_sessions WHERE app_id IN ('t-a1', 't-a2')), 180::bigint, 'every session kept');
SELECT set_eq(
    $$SELECT key, hour, sessions FROM mikros_key_hours
       WHERE key IN (SELECT key FROM mikros_app_keys WHERE app_id LIKE 't-%') AND key <> mikros_all_key()$$,
    $$SELECT ak.key, mikros_hour(s.started_at), count(*) FROM mikros_sessions s JOIN mikros_app_keys ak USING (app_id)
       WHERE s.app_id LIKE 't-%' AND ak.key <> mikros_all_key() GROUP BY 1, 2$$,
    'sessions per key and hour equal the raw sessions');
SELECT set_eq(
    $$SELECT day, app_id, content_id, plays::bigint, playtime_seconds FROM mikros_daily_content WHERE app_id LIKE 't-%'$$,
    $$SELECT (started_at AT TIME ZONE 'UTC')::date, app_id, content_id, count(*), sum(playtime_seconds)::bigint
        FROM mikros_session_content WHERE app_id LIKE 't-%' GROUP BY 1, 2, 3$$,
    'daily content equals the raw plays');
SELECT set_eq(
    $$SELECT x->>'game_id' AS app_id, x->>'content_id' AS content_id, (x->>'unique_players')::bigint AS players
        FROM json_array_elements(mikros_popular_content_json(50, '2026-10-20Z', '2026-10-20Z', '2026-11-20Z',
                                                             '2026-11-20Z')) x
       WHERE x->>'game_id' LIKE 't-%'$$,
    $$SELECT app_id, content_id, count(DISTINCT user_id) FROM mikros_session_content WHERE app_id LIKE 't-%'
       GROUP BY 1, 2$$,
    'popular content counts the distinct players of each content');
SELECT set_eq(
    $$SELECT user_id FROM mikros_users WHERE user_id IN (SELECT user_id FROM mikros_sessions WHERE app_id LIKE 't-%')$$,
    $$SELECT DISTINCT user_id FROM mikros_sessions WHERE app_id LIKE 't-%'$$,
    'every player is numbered once');

-- Windows: a mix of rollup days and raw edges gives the same figures as the raw rows alone.
SELECT set_eq(
    $$SELECT app_id, content_id, playtime FROM mikros_window_content(
        '2026-11-02 07:13:00Z', '2026-11-03Z', '2026-11-05Z', '2026-11-05 16:00:00Z') WHERE app_id LIKE 't-%'$$,
    $$SELECT app_id, content_id, sum(playtime_seconds)::bigint FROM mikros_session_content
       WHERE app_id LIKE 't-%' AND started_at >= '2026-11-02 07:13:00Z' AND started_at < '2026-11-05 16:00:00Z'
       GROUP BY 1, 2$$,
    'a window of whole days and edges equals the raw rows');
INSERT INTO mikros_apps (app_id, name, genre, content_genre, gameplay_type) VALUES ('t-edge', 'E', 'Edge', 'E', 'E');
SELECT mikros_ingest_sessions('[{"app_id":"t-edge","user_id":"u","started_at":"2026-11-10T06:00:00Z","duration_seconds":9,
                                 "content":[{"content_id":"in","content_name":"In","content_type":"level",
                                             "playtime_seconds":5}]},
                                {"app_id":"t-edge","user_id":"u","started_at":"2026-11-10T05:59:59Z","duration_seconds":9,
                                 "content":[{"content_id":"out","content_name":"Out","content_type":"level",
                                             "playtime_seconds":5}]}]');
SELECT is((SELECT array_agg(content_id) FROM mikros_window_content('2026-11-10 06:00:00Z', '2026-11-11Z', '2026-11-12Z',
                                                                   '2026-11-12 01:00:00Z') WHERE app_id = 't-edge'),
          ARRAY['in'], 'the window starts at its first second');

SELECT is(mikros_growth(185000, 129200), 43.2, 'growth, one decimal');
SELECT is(mikros_growth(5, 10), -50.0, 'negative growth');
SELECT is(mikros_growth(5, 0), NULL, 'no baseline');
SELECT is((mikros_average_json(ARRAY[1, 2, 3, 10]::numeric[], NULL, now())->>'median_minutes')::numeric, 2.5,
          'the median of an even count is the mean of the two middle values');

SELECT * FROM finish();
ROLLBACK;
