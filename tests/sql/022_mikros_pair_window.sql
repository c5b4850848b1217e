-- avg-gameplay-time's kept window (sql/022_mikros_pair_window.sql): whatever the kept window and
-- whatever was ingested since, the figures of the 30 days ending at any second equal a direct
-- computation over the raw sessions, also while a move catches up; moving the window keeps totals
-- equal to a direct sum; an app that changes genre takes its pairs along.
BEGIN;
SELECT plan(10);

TRUNCATE mikros_sessions, mikros_session_content, mikros_daily_content,
         mikros_users, mikros_key_days, mikros_key_day_prev, mikros_key_hours,
         mikros_key_durations, mikros_pair_seconds, mikros_pair_lengths;
UPDATE mikros_pair_window SET upto = '2026-11-20Z', last_id = 0;

INSERT INTO mikros_apps (app_id, name, genre, content_genre, gameplay_type)
SELECT 'pw-' || i, 'Pairs ' || i, 'PW-G' || (i % 3), 'PW-C', 'PW-T' FROM generate_series(0, 5) i;

CREATE FUNCTION pg_temp.ingest(b integer, n integer, since timestamptz, span_days integer) RETURNS void
LANGUAGE sql AS $$
    SELECT mikros_ingest_sessions(jsonb_agg(jsonb_build_object(
               'app_id', 'pw-' || ((g * 5 + b) % 6), 'user_id', 'u' || ((g * 11 + b * 3) % 23),
               'started_at', since + ((g * 7919 + b * 104729) % (span_days * 86400)) * interval '1 second',
               'duration_seconds', 60 + (g * 53 + b) % 1800)))
      FROM generate_series(1, n) g
$$;

-- The figures a direct computation gives for the 30 days ending at b.
CREATE FUNCTION pg_temp.direct(want text, b timestamptz) RETURNS json LANGUAGE sql AS $$
    SELECT json_build_object('average', round(avg(t) / 60.0, 1),
                             'median', round((percentile_cont(0.5) WITHIN GROUP (ORDER BY t / 60.0))::numeric, 1),
                             'size', count(*))
      FROM (SELECT sum(s.duration_seconds) AS t FROM mikros_sessions s JOIN mikros_apps a USING (app_id)
             WHERE s.started_at >= b - interval '30 days' AND s.started_at < b AND (want IS NULL OR a.genre = want)
             GROUP BY s.app_id, s.user_id) p
$$;
CREATE FUNCTION pg_temp.kept(genre text, b timestamptz) RETURNS json LANGUAGE sql AS $$
    SELECT json_build_object('average', (j->>'average_minutes')::numeric, 'median', (j->>'median_minutes')::numeric,
                             'size', (j->>'sample_size')::bigint)
      FROM mikros_avg_gameplay_json(genre, b, b - interval '30 days', b, b, b) j
$$;
CREATE FUNCTION pg_temp.mismatches(ends timestamptz[]) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM unnest(ends) b, unnest(ARRAY[NULL, 'PW-G0', 'PW-G1', 'PW-G2']) g
     WHERE pg_temp.kept(g, b)::text <> pg_temp.direct(g, b)::text
$$;

SELECT pg_temp.ingest(1, 400, '2026-10-01Z', 60);
-- nothing kept yet: the window ending at any second is computed from every session
SELECT is(pg_temp.mismatches(ARRAY['2026-11-20Z', '2026-11-05T13:14:15Z', '2026-12-01T00:00:01Z']::timestamptz[]),
          0::bigint, 'before the window is moved, every end and genre equals a direct computation');

-- far behind (400 sessions, catching up 300 at a time): a part is taken in, the end stays
UPDATE mikros_pair_window SET last_id = (SELECT min(id) - 1 FROM mikros_sessions);
SELECT mikros_pair_refresh('2026-11-20T06:30:00Z', 300);
SELECT ok((SELECT upto = '2026-11-20Z' AND last_id = (SELECT min(id) + 299 FROM mikros_sessions) FROM mikros_pair_window),
          'a move far behind takes in the next sessions and keeps its end');
SELECT is(pg_temp.mismatches(ARRAY['2026-11-20Z', '2026-11-19T23:00:00Z', '2026-11-21T10:00:00Z']::timestamptz[]),
          0::bigint, 'half caught up, every end and genre equals a direct computation');
SELECT ok(mikros_pair_refresh('2026-11-20T06:30:00Z') > 0, 'moving the window changes pairs');
SELECT set_eq('SELECT app_id, user_id, seconds FROM mikros_pair_seconds',
              $$SELECT app_id, user_id, sum(duration_seconds)::bigint FROM mikros_sessions
                 WHERE started_at >= '2026-10-21T06:30:00Z' AND started_at < '2026-11-20T06:30:00Z' GROUP BY 1, 2$$,
              'the kept totals equal a direct sum');

-- Late sessions inside the kept window, and new ones after it.
SELECT pg_temp.ingest(2, 150, '2026-10-25Z', 10);
SELECT pg_temp.ingest(3, 150, '2026-11-19Z', 12);
SELECT is(pg_temp.mismatches(ARRAY['2026-11-20T06:30:00Z', '2026-11-20T06:31:07Z', '2026-11-27T23:59:59Z',
                                   '2026-11-12T01:00:00Z']::timestamptz[]),
          0::bigint, 'with sessions ingested since, every end and genre still equals a direct computation');
SELECT ok((pg_temp.kept(NULL, '2026-11-27T23:59:59Z')->>'size')::bigint > 50, 'over many pairs');

SELECT ok(mikros_pair_refresh('2026-11-28Z') > 0, 'the window moves again');
SELECT is(pg_temp.mismatches(ARRAY['2026-11-28Z', '2026-11-29T10:00:00Z']::timestamptz[]), 0::bigint,
          'and answers as a direct computation');

UPDATE mikros_apps SET genre = 'PW-G0' WHERE app_id = 'pw-1';
SELECT is(pg_temp.mismatches(ARRAY['2026-11-28Z', '2026-11-28T00:00:01Z']::timestamptz[]), 0::bigint,
          'an app that changes genre takes its pairs along');

SELECT * FROM finish();
ROLLBACK;
