-- archive_and_reset_week (sql/003_places.sql): the archive row and its stats, the three leaderboard
-- snapshots, agent_weekly_stats and objectives, closing and opening weeks, the rotation, GHMOD, and
-- all-or-nothing when something fails halfway. Then update_agent_stats.
BEGIN;
SELECT plan(67);

-- ---- a week to archive -------------------------------------------------------------------------

DELETE FROM canvas_cells;
DELETE FROM territory_snapshot;
DELETE FROM week_placer_stats WHERE week_id = (SELECT id FROM weeks WHERE closed_at IS NULL);
-- The open week as if it had just started (so that every week below shares one ISO label, even if
-- the migration ran on the other side of a Monday).
UPDATE weeks SET game_mode_id = (SELECT id FROM game_modes WHERE slug = 'classic'), started_at = now() - interval '1 second',
                 resets_at = places_next_reset(now()), week_number = extract(week FROM now() AT TIME ZONE 'UTC'),
                 year = extract(isoyear FROM now() AT TIME ZONE 'UTC')
WHERE closed_at IS NULL;
-- One placer places many pixels at once below: no mode has a cooldown in this file (the cooldown has
-- its own tests, 008_places_cooldown.sql).
UPDATE game_modes SET rules = rules || '{"cooldown_ms": 0}';

INSERT INTO places_users (id, username, faction_id) VALUES
    ('00000000-0000-0000-0000-00000000a001', 'u1', 'red'),
    ('00000000-0000-0000-0000-00000000a002', 'u2', 'green');
INSERT INTO agents (id, name, display_name, faction_id) VALUES
    ('00000000-0000-0000-0000-00000000b001', 'a1', 'Agent One', 'red'),
    ('00000000-0000-0000-0000-00000000b002', 'a2', 'Agent Two', 'blue'),
    ('00000000-0000-0000-0000-00000000b003', 'a3', 'Agent Three', NULL),
    ('00000000-0000-0000-0000-00000000b004', 'a4', NULL, NULL);

-- a3 places 120 first, then u1 120 (a tie: a3's last pixel came first), a1 7, a2 7, and u2 2, one of
-- them over a3's cell (0,10).
SELECT lives_ok($$SELECT count(place_pixel(NULL, '00000000-0000-0000-0000-00000000b003', g, 10, 1)) FROM generate_series(0, 119) g$$,
                'a3 places 120');
SELECT lives_ok($$SELECT count(place_pixel('00000000-0000-0000-0000-00000000a001', NULL, g, 11, 2)) FROM generate_series(0, 119) g$$,
                'u1 places 120');
SELECT lives_ok($$SELECT count(place_pixel(NULL, '00000000-0000-0000-0000-00000000b001', g, 12, 3)) FROM generate_series(0, 6) g$$,
                'a1 places 7');
SELECT lives_ok($$SELECT count(place_pixel(NULL, '00000000-0000-0000-0000-00000000b002', g, 13, 4)) FROM generate_series(0, 6) g$$,
                'a2 places 7');
SELECT lives_ok($$SELECT place_pixel('00000000-0000-0000-0000-00000000a002', NULL, 0, 10, 5),
                         place_pixel('00000000-0000-0000-0000-00000000a002', NULL, 0, 14, 5)$$, 'u2 places 2');
-- As C would write it just before the reset (the figures need not match the cells here).
INSERT INTO territory_snapshot (placer_type, placer_id, largest_territory) VALUES
    ('agent', '00000000-0000-0000-0000-00000000b003', 100), ('agent', '00000000-0000-0000-0000-00000000b001', 7),
    ('agent', '00000000-0000-0000-0000-00000000b002', 150), ('user', '00000000-0000-0000-0000-00000000a001', 120);

CREATE TEMP TABLE t_old AS SELECT * FROM weeks WHERE closed_at IS NULL;

-- ---- the reset ---------------------------------------------------------------------------------

SELECT lives_ok($$CREATE TEMP TABLE t_arch AS
                  SELECT archive_and_reset_week('\x1f8b0800000000000003030000000000000000'::bytea, 'speed-run') AS id$$,
                'archive_and_reset_week(canvas, ''speed-run'')');
SELECT is((SELECT pg_typeof(id)::text FROM t_arch), 'uuid', 'returns the archive''s uuid');

SELECT results_eq($$SELECT a.week_id, a.week_number, a.year, a.started_at, m.slug, a.width, a.height, a.canvas_gzip
                    FROM canvas_archives a JOIN game_modes m ON m.id = a.game_mode_id WHERE a.id = (SELECT id FROM t_arch)$$,
                  $$SELECT id, week_number, year, started_at, 'classic', 500, 500,
                           '\x1f8b0800000000000003030000000000000000'::bytea FROM t_old$$,
                  'the archive: the closed week, its mode, the canvas size and bytes');
SELECT is((SELECT ended_at FROM canvas_archives WHERE id = (SELECT id FROM t_arch)), now(), 'ended now');
SELECT results_eq($$SELECT total_pixels_placed, unique_contributors FROM canvas_archives WHERE id = (SELECT id FROM t_arch)$$,
                  $$VALUES (256::bigint, 5)$$, '256 pixels by 5 placers');
SELECT results_eq($$SELECT winner_user_id, winner_agent_id FROM canvas_archives WHERE id = (SELECT id FROM t_arch)$$,
                  $$VALUES (NULL::uuid, '00000000-0000-0000-0000-00000000b003'::uuid)$$,
                  'the winner: a3 and u1 tie at 120, a3''s last pixel came first');
SELECT is((SELECT stats->'top_contributors' FROM canvas_archives WHERE id = (SELECT id FROM t_arch)),
          '[{"user_id": "00000000-0000-0000-0000-00000000a001", "username": "u1", "pixels_placed": 120},
            {"user_id": "00000000-0000-0000-0000-00000000a002", "username": "u2", "pixels_placed": 2}]'::jsonb,
          'stats.top_contributors');
SELECT is((SELECT stats->'top_agents' FROM canvas_archives WHERE id = (SELECT id FROM t_arch)),
          '[{"agent_id": "00000000-0000-0000-0000-00000000b003", "name": "a3", "pixels_placed": 120},
            {"agent_id": "00000000-0000-0000-0000-00000000b001", "name": "a1", "pixels_placed": 7},
            {"agent_id": "00000000-0000-0000-0000-00000000b002", "name": "a2", "pixels_placed": 7}]'::jsonb,
          'stats.top_agents (a1 before a2: same count, earlier last pixel)');
SELECT is((SELECT stats->'top_factions' FROM canvas_archives WHERE id = (SELECT id FROM t_arch)),
          '[{"faction_id": "red", "territory_count": 127}, {"faction_id": "blue", "territory_count": 7},
            {"faction_id": "green", "territory_count": 2}]'::jsonb,
          'stats.top_factions: cells owned by members (u1 120 + a1 7 for red)');

SELECT results_eq($$SELECT type FROM archived_leaderboards WHERE archive_id = (SELECT id FROM t_arch) ORDER BY type$$,
                  ARRAY['agents', 'factions', 'users'], 'three leaderboard snapshots');
SELECT is((SELECT rankings FROM archived_leaderboards WHERE archive_id = (SELECT id FROM t_arch) AND type = 'users'),
          '[{"rank": 1, "user_id": "00000000-0000-0000-0000-00000000a001", "username": "u1", "pixels_placed": 120,
             "largest_territory": 120, "overall_rank": 1},
            {"rank": 2, "user_id": "00000000-0000-0000-0000-00000000a002", "username": "u2", "pixels_placed": 2,
             "largest_territory": 0, "overall_rank": 5}]'::jsonb, 'users leaderboard, view rows by rank');
SELECT is((SELECT rankings->0 FROM archived_leaderboards WHERE archive_id = (SELECT id FROM t_arch) AND type = 'agents'),
          '{"rank": 1, "agent_id": "00000000-0000-0000-0000-00000000b003", "agent_name": "a3",
            "agent_display_name": "Agent Three", "avatar_url": null, "pixels_placed": 120, "largest_territory": 100,
            "overall_rank": 1, "agent_rank": 1}'::jsonb, 'agents leaderboard: the spec''s row');
SELECT results_eq($$SELECT e->>'agent_name', (e->>'rank')::int, (e->>'overall_rank')::int
                    FROM archived_leaderboards, jsonb_array_elements(rankings) WITH ORDINALITY AS r(e, i)
                    WHERE archive_id = (SELECT id FROM t_arch) AND type = 'agents' ORDER BY i$$,
                  $$VALUES ('a3', 1, 1), ('a1', 2, 3), ('a2', 2, 3)$$, 'agents ranked with ties');
SELECT is((SELECT rankings FROM archived_leaderboards WHERE archive_id = (SELECT id FROM t_arch) AND type = 'factions'),
          '[{"rank": 1, "faction_id": "red", "territory_count": 127, "pixels_placed": 127},
            {"rank": 2, "faction_id": "blue", "territory_count": 7, "pixels_placed": 7},
            {"rank": 3, "faction_id": "green", "territory_count": 2, "pixels_placed": 2}]'::jsonb,
          'factions leaderboard');

SELECT results_eq($$SELECT a.name, s.year, s.week_number, s.game_mode_slug, s.pixels_placed, s.overall_rank, s.agent_rank,
                           s.largest_territory, s.objectives_completed
                    FROM agent_weekly_stats s JOIN agents a ON a.id = s.agent_id
                    WHERE s.archive_id = (SELECT id FROM t_arch) ORDER BY a.name$$,
                  $$SELECT n, (SELECT year FROM t_old), (SELECT week_number FROM t_old), 'classic', p, o, r, t, obj
                    FROM (VALUES ('a1', 7, 3, 2, 7, '{}'::text[]), ('a2', 7, 3, 2, 150, '{territory_king}'),
                                 ('a3', 120, 1, 1, 100, '{top_placer,hundred_club}')) v(n, p, o, r, t, obj)$$,
                  'agent_weekly_stats for every agent that placed, with objectives');

SELECT results_eq($$SELECT closed_at, archive_id FROM weeks WHERE id = (SELECT id FROM t_old)$$,
                  $$SELECT now(), id FROM t_arch$$, 'the old week is closed and points at its archive');
SELECT is((SELECT count(*) FROM weeks WHERE closed_at IS NULL), 1::bigint, 'one open week');
SELECT isnt((SELECT id FROM weeks WHERE closed_at IS NULL), (SELECT id FROM t_old), 'a new one');
SELECT is((SELECT slug FROM get_current_game_mode()), 'speed-run', 'in the requested mode');
SELECT results_eq($$SELECT started_at, resets_at, week_number, year FROM weeks WHERE closed_at IS NULL$$,
                  $$SELECT now(), places_next_reset(now()), extract(week FROM now() AT TIME ZONE 'UTC')::int,
                           extract(isoyear FROM now() AT TIME ZONE 'UTC')::int$$,
                  'started now, resets at the next reset instant, ISO week of now');
SELECT ok((SELECT week_resets_at > now() AND extract(isodow FROM week_resets_at AT TIME ZONE 'UTC') = 6
                  AND (week_resets_at AT TIME ZONE 'UTC')::time = '14:00' FROM get_current_game_mode()),
          'resets in the future, on a Saturday at 14:00 UTC');
SELECT is((SELECT count(*) FROM canvas_cells), 0::bigint, 'the canvas is cleared');
SELECT is((SELECT count(*) FROM territory_snapshot), 0::bigint, 'territory_snapshot is cleared');
SELECT is((SELECT count(*) FROM v_current_week_leaderboard), 0::bigint, 'the live agents leaderboard starts empty');
SELECT is((SELECT sum(territory_count) FROM v_current_week_leaderboard_factions), 0::numeric, 'factions at zero');
SELECT is((SELECT count(*) FROM week_placer_stats WHERE week_id = (SELECT id FROM t_old)), 5::bigint,
          'the old week''s stats stay as history');

-- ---- rotation ----------------------------------------------------------------------------------

-- Week 2 (speed-run): u1 2 pixels, a1 1.
SELECT lives_ok($$SELECT place_pixel('00000000-0000-0000-0000-00000000a001', NULL, 1, 1, 1),
                         place_pixel('00000000-0000-0000-0000-00000000a001', NULL, 2, 1, 1),
                         place_pixel(NULL, '00000000-0000-0000-0000-00000000b001', 3, 1, 1)$$, 'week 2 placements');
SELECT is((SELECT count(*) FROM pixel_placements WHERE week_id = (SELECT id FROM weeks WHERE closed_at IS NULL)),
          3::bigint, 'placements after the reset go to the new week');
CREATE TEMP TABLE t_arch2 AS SELECT archive_and_reset_week('\x00', NULL) AS id;
SELECT is((SELECT slug FROM get_current_game_mode()), 'limited-palette', 'NULL slug: the mode after speed-run');
SELECT results_eq($$SELECT total_pixels_placed, unique_contributors, winner_user_id, winner_agent_id
                    FROM canvas_archives WHERE id = (SELECT id FROM t_arch2)$$,
                  $$VALUES (3::bigint, 2, '00000000-0000-0000-0000-00000000a001'::uuid, NULL::uuid)$$,
                  'a user can win');
SELECT is((SELECT m.slug FROM canvas_archives a JOIN game_modes m ON m.id = a.game_mode_id WHERE a.id = (SELECT id FROM t_arch2)),
          'speed-run', 'the archive keeps the week''s mode');
SELECT results_eq($$SELECT a.name, s.archive_id, s.pixels_placed FROM agent_weekly_stats s JOIN agents a ON a.id = s.agent_id
                    WHERE (s.year, s.week_number) = (SELECT year, week_number FROM weeks WHERE id = (SELECT week_id FROM canvas_archives WHERE id = (SELECT id FROM t_arch2)))
                    ORDER BY a.name$$,
                  $$VALUES ('a1', (SELECT id FROM t_arch2), 1), ('a2', (SELECT id FROM t_arch), 7), ('a3', (SELECT id FROM t_arch), 120)$$,
                  'two weeks with one ISO label (a forced reset): the later week replaces only its placers'' rows');

UPDATE weeks SET game_mode_id = (SELECT id FROM game_modes WHERE slug = 'chaos') WHERE closed_at IS NULL;
SELECT lives_ok($$SELECT archive_and_reset_week('\x00', NULL)$$, 'reset after chaos');
SELECT is((SELECT slug FROM get_current_game_mode()), 'classic', 'the rotation wraps from chaos to classic');

CREATE TEMP TABLE t_empty AS SELECT id FROM weeks WHERE closed_at IS NULL;
UPDATE game_modes SET is_active = false WHERE slug = 'color-factions';
SELECT lives_ok($$SELECT archive_and_reset_week('\x00', NULL)$$, 'reset an empty week');
SELECT is((SELECT slug FROM get_current_game_mode()), 'territory-wars', 'inactive modes are skipped');
SELECT results_eq($$SELECT total_pixels_placed, unique_contributors, winner_user_id, winner_agent_id,
                           stats->'top_contributors', stats->'top_agents', jsonb_array_length(stats->'top_factions')
                    FROM canvas_archives WHERE week_id = (SELECT id FROM t_empty)$$,
                  $$VALUES (0::bigint, 0, NULL::uuid, NULL::uuid, '[]'::jsonb, '[]'::jsonb, 3)$$,
                  'an empty week archives with zeros, no winner and empty lists');
SELECT is((SELECT rankings FROM archived_leaderboards a JOIN canvas_archives c ON c.id = a.archive_id
           WHERE c.week_id = (SELECT id FROM t_empty) AND type = 'agents'), '[]'::jsonb, 'and an empty agents leaderboard');

-- ---- validation and all-or-nothing -------------------------------------------------------------

SELECT lives_ok($$SELECT place_pixel(NULL, '00000000-0000-0000-0000-00000000b002', g, 0, 6) FROM generate_series(0, 9) g$$,
                'ten cells painted');
INSERT INTO territory_snapshot VALUES ('agent', '00000000-0000-0000-0000-00000000b002', 10);
CREATE TEMP TABLE t_before AS
SELECT (SELECT id FROM weeks WHERE closed_at IS NULL) AS week,
       (SELECT count(*) FROM weeks) AS weeks,
       (SELECT count(*) FROM canvas_archives) AS archives,
       (SELECT count(*) FROM archived_leaderboards) AS boards,
       (SELECT md5(string_agg(s::text, ',' ORDER BY agent_id, year, week_number)) FROM agent_weekly_stats s) AS aws,
       (SELECT count(*) FROM canvas_cells) AS cells,
       (SELECT count(*) FROM territory_snapshot) AS territory;
CREATE FUNCTION pg_temp.unchanged() RETURNS boolean LANGUAGE sql AS $$
    SELECT (SELECT id FROM weeks WHERE closed_at IS NULL) = b.week
       AND (SELECT count(*) FROM weeks) = b.weeks
       AND (SELECT count(*) FROM canvas_archives) = b.archives
       AND (SELECT count(*) FROM archived_leaderboards) = b.boards
       AND (SELECT md5(string_agg(s::text, ',' ORDER BY agent_id, year, week_number)) FROM agent_weekly_stats s) = b.aws
       AND (SELECT count(*) FROM canvas_cells) = b.cells AND b.cells = 10
       AND (SELECT count(*) FROM territory_snapshot) = b.territory AND b.territory = 1
    FROM t_before b
$$;

SELECT throws_ok($$SELECT archive_and_reset_week('\x00', 'no-such-mode')$$, 'GHMOD',
                 'unknown or inactive game mode: no-such-mode', 'an unknown slug raises GHMOD');
SELECT ok(pg_temp.unchanged(), 'and changes nothing');
SELECT throws_ok($$SELECT archive_and_reset_week('\x00', 'color-factions')$$, 'GHMOD', NULL, 'so does an inactive one');
SELECT ok(pg_temp.unchanged(), 'and changes nothing');

-- A failure after the archive, its leaderboards and the agent stats were written: opening the next
-- week raises.
CREATE FUNCTION pg_temp.refuse_week() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'simulated failure' USING ERRCODE = 'XX001';
END $$;
CREATE TRIGGER refuse_week BEFORE INSERT ON weeks FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse_week();
SELECT throws_ok($$SELECT archive_and_reset_week('\x00', 'chaos')$$, 'XX001', 'simulated failure',
                 'a failure while opening the next week aborts the reset');
SELECT ok(pg_temp.unchanged(), 'the week is still open, the canvas and territory still there, no archive, no stats');
SELECT is((SELECT count(*) FROM canvas_archives WHERE week_id = (SELECT week FROM t_before)), 0::bigint,
          'no archive row for the week');
DROP TRIGGER refuse_week ON weeks;

-- A failure at the archive row itself.
ALTER TABLE canvas_archives ADD CONSTRAINT t_refuse CHECK (total_pixels_placed < 0) NOT VALID;
SELECT throws_ok($$SELECT archive_and_reset_week('\x00', 'chaos')$$, '23514', NULL, 'a rejected archive row aborts the reset');
SELECT ok(pg_temp.unchanged(), 'and changes nothing');
ALTER TABLE canvas_archives DROP CONSTRAINT t_refuse;

SELECT lives_ok($$SELECT archive_and_reset_week('\x00', 'chaos')$$, 'with the fault gone the reset goes through');
SELECT is((SELECT slug FROM get_current_game_mode()), 'chaos', 'into chaos');

-- ---- update_agent_stats ------------------------------------------------------------------------

CREATE TEMP TABLE t_label AS SELECT week_number AS w, year AS y FROM t_old;
SELECT throws_ok($$SELECT update_agent_stats('00000000-0000-0000-0000-0000000000ff', 1, 2026)$$, 'GHNFD', NULL,
                 'an unknown agent raises GHNFD');
UPDATE agent_weekly_stats SET pixels_placed = 0, agent_rank = 99, objectives_completed = '{}'
WHERE agent_id = '00000000-0000-0000-0000-00000000b003';
UPDATE week_placer_stats SET pixels_placed = 3 WHERE week_id = (SELECT id FROM t_old)
   AND placer_id = '00000000-0000-0000-0000-00000000b003';
SELECT is(update_agent_stats('00000000-0000-0000-0000-00000000b003', (SELECT w FROM t_label), (SELECT y FROM t_label)),
          true, 'recomputing a3''s week writes a row');
SELECT results_eq($$SELECT archive_id, game_mode_slug, pixels_placed, overall_rank, agent_rank, largest_territory,
                           objectives_completed FROM agent_weekly_stats WHERE agent_id = '00000000-0000-0000-0000-00000000b003'$$,
                  $$SELECT id, 'classic', 120, 1, 1, 100, '{top_placer,hundred_club}'::text[] FROM t_arch$$,
                  'from the placements of the archived week it placed in');
SELECT is((SELECT pixels_placed FROM week_placer_stats WHERE week_id = (SELECT id FROM t_old)
           AND placer_id = '00000000-0000-0000-0000-00000000b003'), 120, 'the week stats are repaired too');
SELECT is(update_agent_stats('00000000-0000-0000-0000-00000000b002', (SELECT w FROM t_label), (SELECT y FROM t_label)),
          true, 'a2');
SELECT results_eq($$SELECT pixels_placed, largest_territory, objectives_completed FROM agent_weekly_stats
                    WHERE agent_id = '00000000-0000-0000-0000-00000000b002'$$,
                  $$VALUES (10, 10, '{top_placer,territory_king}'::text[])$$,
                  'the latest archived week it placed in, keeping that archive''s territory and title');
SELECT is(update_agent_stats('00000000-0000-0000-0000-00000000b004', (SELECT w FROM t_label), (SELECT y FROM t_label)),
          false, 'an agent that placed nothing that week: false');
SELECT is((SELECT count(*) FROM agent_weekly_stats WHERE agent_id = '00000000-0000-0000-0000-00000000b004'), 0::bigint,
          'and no row');
SELECT is(update_agent_stats('00000000-0000-0000-0000-00000000b003', 1, 1999), false, 'a week that never was: false');
SELECT lives_ok($$SELECT place_pixel(NULL, '00000000-0000-0000-0000-00000000b004', 4, 4, 4)$$, 'a4 places in the open week');
SELECT is(update_agent_stats('00000000-0000-0000-0000-00000000b004',
                             (SELECT week_number FROM weeks WHERE closed_at IS NULL), (SELECT year FROM weeks WHERE closed_at IS NULL)),
          true, 'the open week can be recomputed');
SELECT results_eq($$SELECT archive_id, game_mode_slug, pixels_placed, agent_rank FROM agent_weekly_stats
                    WHERE agent_id = '00000000-0000-0000-0000-00000000b004'$$,
                  $$VALUES (NULL::uuid, 'chaos', 1, 1)$$, 'with no archive yet');

SELECT * FROM finish();
ROLLBACK;
