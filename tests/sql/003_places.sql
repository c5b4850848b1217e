-- places (sql/003_places.sql): the schema of docs/places-design.md, the seeded modes and week,
-- places_next_reset, place_pixel (cells, stats, placements, the agents' pixel budget) and the three live
-- leaderboard views (rank() ties, overall_rank across users and agents, factions by cells owned).
BEGIN;
SELECT plan(111);

-- ---- schema ------------------------------------------------------------------------------------

SELECT has_table(t) FROM unnest(ARRAY['game_modes', 'factions', 'places_users', 'agents', 'weeks',
    'pixel_placements', 'canvas_cells', 'week_placer_stats', 'territory_snapshot', 'canvas_archives',
    'archived_leaderboards', 'agent_weekly_stats', 'stats_snapshots', 'places_settings']) AS t;
SELECT has_view(v) FROM unnest(ARRAY['v_current_week_leaderboard', 'v_current_week_leaderboard_users',
                                     'v_current_week_leaderboard_factions']) AS v;

SELECT has_function('get_current_game_mode', ARRAY[]::text[]);
SELECT function_returns('place_pixel', ARRAY['uuid', 'uuid', 'integer', 'integer', 'integer'], 'record');
SELECT function_returns('archive_and_reset_week', ARRAY['bytea', 'text'], 'uuid');
SELECT function_returns('places_next_reset', ARRAY['timestamp with time zone'], 'timestamp with time zone');
SELECT function_returns('snapshot_stats', ARRAY[]::text[], 'json');
SELECT function_returns('update_agent_stats', ARRAY['uuid', 'integer', 'integer'], 'boolean');
SELECT function_lang_is('archive_and_reset_week', ARRAY['bytea', 'text'], 'plpgsql');

-- Column lists in order, as the C side and the design read them.
CREATE TEMP TABLE cols AS
SELECT table_name::text AS t, array_agg(column_name::text ORDER BY ordinal_position) AS c
FROM information_schema.columns WHERE table_schema = 'public' GROUP BY table_name;
SELECT is((SELECT c FROM cols WHERE t = 'game_modes'),
          ARRAY['id', 'slug', 'name', 'description', 'rules', 'scoring_rules', 'icon_url', 'is_active', 'rotation_order'],
          'game_modes columns');
SELECT is((SELECT c FROM cols WHERE t = 'weeks'),
          ARRAY['id', 'week_number', 'year', 'started_at', 'resets_at', 'game_mode_id', 'closed_at', 'archive_id'],
          'weeks columns');
SELECT is((SELECT c FROM cols WHERE t = 'canvas_archives'),
          ARRAY['id', 'week_id', 'week_number', 'year', 'started_at', 'ended_at', 'game_mode_id', 'width', 'height',
                'canvas_gzip', 'image_png', 'thumbnail_png', 'video_url', 'total_pixels_placed',
                'unique_contributors', 'winner_user_id', 'winner_agent_id', 'stats'],
          'canvas_archives columns');
SELECT is((SELECT c FROM cols WHERE t = 'agent_weekly_stats'),
          ARRAY['agent_id', 'year', 'week_number', 'archive_id', 'game_mode_slug', 'pixels_placed', 'overall_rank',
                'agent_rank', 'largest_territory', 'objectives_completed'],
          'agent_weekly_stats columns');
SELECT is((SELECT c FROM cols WHERE t = 'places_settings'),
          ARRAY['id', 'width', 'height', 'reset_dow', 'reset_time', 'base_cooldown_ms'], 'places_settings columns');
SELECT is((SELECT c FROM cols WHERE t = 'v_current_week_leaderboard'),
          ARRAY['rank', 'agent_id', 'agent_name', 'agent_display_name', 'avatar_url', 'pixels_placed',
                'largest_territory', 'overall_rank', 'agent_rank'],
          'agents leaderboard columns (the spec''s row)');
SELECT is((SELECT c FROM cols WHERE t = 'v_current_week_leaderboard_users'),
          ARRAY['rank', 'user_id', 'username', 'pixels_placed', 'largest_territory', 'overall_rank'],
          'users leaderboard columns');
SELECT is((SELECT c FROM cols WHERE t = 'v_current_week_leaderboard_factions'),
          ARRAY['rank', 'faction_id', 'territory_count', 'pixels_placed'], 'factions leaderboard columns');
SELECT is(ARRAY(SELECT unnest(proargnames) FROM pg_proc WHERE proname = 'get_current_game_mode'),
          ARRAY['id', 'slug', 'name', 'description', 'rules', 'scoring_rules', 'icon_url', 'week_number', 'year',
                'week_started_at', 'week_resets_at'], 'get_current_game_mode returns the spec''s columns');

SELECT col_is_pk('canvas_cells', 'cell');
SELECT col_is_pk('week_placer_stats', ARRAY['week_id', 'placer_type', 'placer_id']);
SELECT col_is_pk('territory_snapshot', ARRAY['placer_type', 'placer_id']);
SELECT col_is_pk('archived_leaderboards', ARRAY['archive_id', 'type']);
SELECT col_is_pk('agent_weekly_stats', ARRAY['agent_id', 'year', 'week_number']);
SELECT col_is_unique('game_modes', 'slug');
SELECT col_is_unique('game_modes', 'rotation_order');
SELECT col_is_unique('canvas_archives', 'week_id');
SELECT has_index('pixel_placements', 'pixel_placements_week', ARRAY['week_id', 'agent_id']);
SELECT has_column('api_keys', 'subject_type');
SELECT col_type_is('api_keys', 'subject_id', 'uuid');
SELECT throws_ok($$INSERT INTO api_keys (id, secret_hash, scopes, subject_type, subject_id)
                   VALUES ('0123456789ab', decode(repeat('00', 32), 'hex'), '{places_agent}', 'robot', gen_random_uuid())$$,
                 '23514', NULL, 'a key''s subject is a user or an agent');

-- ---- seeds -------------------------------------------------------------------------------------

SELECT results_eq('SELECT slug FROM game_modes ORDER BY rotation_order',
    ARRAY['classic', 'color-factions', 'territory-wars', 'speed-run', 'limited-palette', 'collaboration',
          'pixel-budget', 'chaos'], 'the eight modes of CONTRACT 7.1, in rotation order');
SELECT results_eq($$SELECT (rules->>'cooldown_ms')::int FROM game_modes ORDER BY rotation_order$$,
    ARRAY[30000, 30000, 30000, 15000, 30000, 30000, 30000, 7500],
    'cooldown_ms is 30000 times the multiplier (speed-run 0.5, chaos 0.25)');
SELECT is((SELECT rules FROM game_modes WHERE slug = 'classic'), '{"cooldown_ms":30000}'::jsonb, 'classic: no flags');
SELECT is((SELECT rules->'factions' FROM game_modes WHERE slug = 'color-factions'), 'true'::jsonb, 'color-factions flag');
SELECT is((SELECT rules->'territory_scoring' FROM game_modes WHERE slug = 'territory-wars'), 'true'::jsonb,
          'territory-wars flag');
SELECT is((SELECT rules->'palette' FROM game_modes WHERE slug = 'limited-palette'), '[0,5,10,15]'::jsonb,
          'limited-palette: colours 0, 5, 10, 15');
SELECT is((SELECT rules->'pixel_budget' FROM game_modes WHERE slug = 'pixel-budget'), '500'::jsonb,
          'pixel-budget: 500 pixels a week');
SELECT is((SELECT rules->'collaboration' FROM game_modes WHERE slug = 'collaboration'), 'true'::jsonb,
          'collaboration flag');
SELECT is((SELECT scoring_rules FROM game_modes WHERE slug = 'territory-wars'),
          '{"pixel_points":1,"territory_multiplier":5}'::jsonb, 'territory-wars scoring as the spec''s example');
SELECT is((SELECT count(*) FROM game_modes WHERE scoring_rules = '{"pixel_points":1}' AND slug <> 'territory-wars'),
          7::bigint, 'the other modes score one point a pixel');
SELECT is((SELECT count(*) FROM game_modes WHERE is_active AND icon_url IS NULL AND name <> '' AND description <> ''),
          8::bigint, 'all active, named, described, no icon');
SELECT is((SELECT name FROM game_modes WHERE slug = 'territory-wars'), 'Territory Wars', 'names as the spec');
SELECT results_eq('SELECT id, color FROM factions ORDER BY id',
                  $$VALUES ('blue', 13), ('green', 10), ('red', 5)$$, 'factions red, blue, green with palette colours');
SELECT results_eq('SELECT width, height, reset_dow, reset_time, base_cooldown_ms FROM places_settings',
                  $$VALUES (500, 500, 6, '14:00'::time, 30000)$$, 'one settings row with the defaults');
SELECT throws_ok('INSERT INTO places_settings (id) VALUES (2)', '23514', NULL, 'places_settings holds one row');

-- ---- weeks -------------------------------------------------------------------------------------

SELECT is((SELECT count(*) FROM weeks WHERE closed_at IS NULL), 1::bigint, 'exactly one open week');
SELECT throws_ok($$INSERT INTO weeks (week_number, year, started_at, resets_at, game_mode_id)
                   SELECT 1, 2026, now(), now() + interval '1 day', id FROM game_modes WHERE slug = 'chaos'$$,
                 '23505', NULL, 'a second open week is refused');
SELECT is((SELECT count(*) FROM get_current_game_mode()), 1::bigint, 'get_current_game_mode returns one row');
SELECT ok((SELECT week_resets_at > now() FROM get_current_game_mode()), 'the week resets in the future');
SELECT is((SELECT extract(isodow FROM week_resets_at AT TIME ZONE 'UTC')::int FROM get_current_game_mode()), 6,
          'on a Saturday');
SELECT is((SELECT (week_resets_at AT TIME ZONE 'UTC')::time FROM get_current_game_mode()), '14:00'::time,
          'at 14:00 UTC');
SELECT ok((SELECT week_resets_at - week_started_at <= interval '7 days' FROM get_current_game_mode()),
          'at most a week after it started');
SELECT is((SELECT (week_number, year) FROM get_current_game_mode()),
          (SELECT (extract(week FROM started_at AT TIME ZONE 'UTC')::int, extract(isoyear FROM started_at AT TIME ZONE 'UTC')::int)
           FROM weeks WHERE closed_at IS NULL), 'week_number/year: the ISO week of started_at');
SELECT is((SELECT g.slug FROM get_current_game_mode() g),
          (SELECT m.slug FROM weeks w JOIN game_modes m ON m.id = w.game_mode_id WHERE w.closed_at IS NULL),
          'the mode is the open week''s');

-- Friday 2026-01-30; Saturday 2026-01-31.
SELECT is(places_next_reset('2026-01-30 10:00:00Z'), '2026-01-31 14:00:00Z'::timestamptz, 'from a Friday: that Saturday');
SELECT is(places_next_reset('2026-01-31 13:59:00Z'), '2026-01-31 14:00:00Z'::timestamptz, 'Saturday 13:59: the same day');
SELECT is(places_next_reset('2026-01-31 14:00:00Z'), '2026-02-07 14:00:00Z'::timestamptz,
          'exactly Saturday 14:00: strictly after, so next week');
SELECT is(places_next_reset('2026-02-01 00:00:00Z'), '2026-02-07 14:00:00Z'::timestamptz, 'from a Sunday');
SELECT is(places_next_reset('2026-12-31 20:00:00Z'), '2027-01-02 14:00:00Z'::timestamptz, 'across a year');
SET LOCAL TimeZone = 'Pacific/Auckland';
SELECT is(places_next_reset('2026-01-31 13:59:00Z'), '2026-01-31 14:00:00Z'::timestamptz,
          'independent of the session time zone');
RESET TimeZone;
UPDATE places_settings SET reset_dow = 1, reset_time = '00:00';
SELECT is(places_next_reset('2026-01-31 13:59:00Z'), '2026-02-02 00:00:00Z'::timestamptz, 'follows places_settings');
UPDATE places_settings SET reset_dow = 6, reset_time = '14:00';

-- ---- place_pixel -------------------------------------------------------------------------------

-- Start from an empty open week whatever ran before.
DELETE FROM canvas_cells;
DELETE FROM territory_snapshot;
DELETE FROM week_placer_stats WHERE week_id = (SELECT id FROM weeks WHERE closed_at IS NULL);
UPDATE weeks SET game_mode_id = (SELECT id FROM game_modes WHERE slug = 'classic') WHERE closed_at IS NULL;
-- One placer places many pixels at once below: no mode has a cooldown in this file (the cooldown has
-- its own tests, 008_places_cooldown.sql).
UPDATE game_modes SET rules = rules || '{"cooldown_ms": 0}';

INSERT INTO places_users (id, username, faction_id) VALUES
    ('00000000-0000-0000-0000-00000000a001', 'u1', 'red'),
    ('00000000-0000-0000-0000-00000000a002', 'u2', 'green'),
    ('00000000-0000-0000-0000-00000000a003', 'u3', NULL);
INSERT INTO agents (id, name, display_name, avatar_url, faction_id) VALUES
    ('00000000-0000-0000-0000-00000000b001', 'a1', 'Agent One', 'https://example.org/a1.png', 'red'),
    ('00000000-0000-0000-0000-00000000b002', 'a2', 'Agent Two', NULL, 'blue'),
    ('00000000-0000-0000-0000-00000000b003', 'a3', NULL, NULL, NULL),
    ('00000000-0000-0000-0000-00000000b009', 'a9', NULL, NULL, NULL);

SELECT is((SELECT count(*) FROM v_current_week_leaderboard), 0::bigint, 'no agents ranked in an empty week');
SELECT results_eq('SELECT rank, faction_id, territory_count, pixels_placed FROM v_current_week_leaderboard_factions',
                  $$VALUES (1, 'blue', 0::bigint, 0::bigint), (1, 'green', 0, 0), (1, 'red', 0, 0)$$,
                  'every faction is listed, even with nothing');

CREATE TEMP TABLE t_at AS
SELECT placed_at AS at FROM place_pixel(NULL, '00000000-0000-0000-0000-00000000b001', 3, 1, 5);
SELECT results_eq('SELECT cell, color::int, user_id, agent_id, placed_at FROM canvas_cells',
                  $$SELECT 503, 5, NULL::uuid, '00000000-0000-0000-0000-00000000b001'::uuid, at FROM t_at$$,
                  'place_pixel paints cell y*width+x, owned by the agent, at the returned time');
SELECT results_eq($$SELECT placer_type, placer_id, pixels_placed, last_pixel_at FROM week_placer_stats s
                    JOIN weeks w ON w.id = s.week_id AND w.closed_at IS NULL$$,
                  $$SELECT 'agent', '00000000-0000-0000-0000-00000000b001'::uuid, 1, at FROM t_at$$,
                  'and counts it in the placer''s week stats');
SELECT results_eq($$SELECT user_id, agent_id, x, y, color::int, placed_at FROM pixel_placements p
                    JOIN weeks w ON w.id = p.week_id AND w.closed_at IS NULL$$,
                  $$SELECT NULL::uuid, '00000000-0000-0000-0000-00000000b001'::uuid, 3, 1, 5, at FROM t_at$$,
                  'and keeps the placement in the open week');
SELECT ok((SELECT at >= (SELECT started_at FROM weeks WHERE closed_at IS NULL) FROM t_at), 'placed_at is in the week');

SELECT lives_ok($$SELECT place_pixel('00000000-0000-0000-0000-00000000a001', NULL, 3, 1, 7)$$, 'a user paints over it');
SELECT results_eq('SELECT cell, color::int, user_id, agent_id FROM canvas_cells',
                  $$VALUES (503, 7, '00000000-0000-0000-0000-00000000a001'::uuid, NULL::uuid)$$,
                  'the new owner replaces the old one: one row per cell');
SELECT is((SELECT count(*) FROM pixel_placements p JOIN weeks w ON w.id = p.week_id AND w.closed_at IS NULL),
          2::bigint, 'both placements are kept');
SELECT is((SELECT pixels_placed FROM week_placer_stats WHERE placer_id = '00000000-0000-0000-0000-00000000b001'), 1,
          'the painted-over agent keeps its count');

SELECT throws_ok('SELECT place_pixel(NULL, NULL, 0, 0, 1)', '22023', NULL, 'neither user nor agent');
SELECT throws_ok($$SELECT place_pixel('00000000-0000-0000-0000-00000000a001', '00000000-0000-0000-0000-00000000b001', 0, 0, 1)$$,
                 '22023', NULL, 'both user and agent');
SELECT throws_ok($$SELECT place_pixel(NULL, '00000000-0000-0000-0000-00000000b001', 500, 0, 1)$$, '22023', NULL,
                 'x outside the canvas');
SELECT throws_ok($$SELECT place_pixel(NULL, '00000000-0000-0000-0000-00000000b001', 0, -1, 1)$$, '22023', NULL,
                 'y outside the canvas');
SELECT throws_ok($$SELECT place_pixel(NULL, '00000000-0000-0000-0000-00000000b001', 0, 0, 16)$$, '22023', NULL,
                 'colour outside the palette');
SELECT throws_ok($$SELECT place_pixel(NULL, '00000000-0000-0000-0000-0000000000ff', 0, 0, 1)$$, '23503', NULL,
                 'an unknown agent');

-- ---- the leaderboards --------------------------------------------------------------------------

DELETE FROM canvas_cells;
DELETE FROM week_placer_stats WHERE week_id = (SELECT id FROM weeks WHERE closed_at IS NULL);
DELETE FROM pixel_placements WHERE week_id = (SELECT id FROM weeks WHERE closed_at IS NULL);

-- u1 5 pixels (red), u2 4 on one cell (green), a1 3 (red), a2 3 (blue, one over u1's), u3 2, a3 1.
SELECT lives_ok($$
    SELECT count(place_pixel(p.u, p.a, p.x, p.y, 5)) FROM (VALUES
        (1, '00000000-0000-0000-0000-00000000a001'::uuid, NULL::uuid, 0, 0), (2, '00000000-0000-0000-0000-00000000a001', NULL, 1, 0),
        (3, '00000000-0000-0000-0000-00000000a001', NULL, 2, 0), (4, '00000000-0000-0000-0000-00000000a001', NULL, 3, 0),
        (5, '00000000-0000-0000-0000-00000000a001', NULL, 4, 0),
        (6, NULL, '00000000-0000-0000-0000-00000000b001', 0, 1), (7, NULL, '00000000-0000-0000-0000-00000000b001', 1, 1),
        (8, NULL, '00000000-0000-0000-0000-00000000b001', 2, 1),
        (9, NULL, '00000000-0000-0000-0000-00000000b002', 0, 2), (10, NULL, '00000000-0000-0000-0000-00000000b002', 1, 2),
        (11, NULL, '00000000-0000-0000-0000-00000000b002', 0, 0),
        (12, '00000000-0000-0000-0000-00000000a002', NULL, 9, 9), (13, '00000000-0000-0000-0000-00000000a002', NULL, 9, 9),
        (14, '00000000-0000-0000-0000-00000000a002', NULL, 9, 9), (15, '00000000-0000-0000-0000-00000000a002', NULL, 9, 9),
        (16, '00000000-0000-0000-0000-00000000a003', NULL, 5, 5), (17, '00000000-0000-0000-0000-00000000a003', NULL, 6, 5),
        (18, NULL, '00000000-0000-0000-0000-00000000b003', 7, 7)) AS p(n, u, a, x, y)
$$, 'eighteen placements');
INSERT INTO territory_snapshot (placer_type, placer_id, largest_territory) VALUES
    ('agent', '00000000-0000-0000-0000-00000000b001', 3), ('user', '00000000-0000-0000-0000-00000000a001', 4);

SELECT results_eq($$SELECT rank, agent_name, agent_display_name, avatar_url, pixels_placed, largest_territory,
                           overall_rank, agent_rank FROM v_current_week_leaderboard$$,
    $$VALUES (1, 'a1', 'Agent One', 'https://example.org/a1.png', 3, 3, 3, 1),
             (1, 'a2', 'Agent Two', NULL, 3, 0, 3, 1),
             (3, 'a3', NULL, NULL, 1, 0, 6, 3)$$,
    'agents: a tie shares rank 1, the next rank is 3; overall_rank counts the users above them');
SELECT is((SELECT count(*) FROM v_current_week_leaderboard WHERE rank <> agent_rank), 0::bigint, 'rank = agent_rank');
SELECT results_eq($$SELECT rank, username, pixels_placed, largest_territory, overall_rank FROM v_current_week_leaderboard_users$$,
    $$VALUES (1, 'u1', 5, 4, 1), (2, 'u2', 4, 0, 2), (3, 'u3', 2, 0, 5)$$,
    'users: ranked among users; overall_rank among everyone (a1 and a2 share 3, so u3 is 5th)');
SELECT results_eq('SELECT rank, faction_id, territory_count, pixels_placed FROM v_current_week_leaderboard_factions',
    $$VALUES (1, 'red', 7::bigint, 8::bigint), (2, 'blue', 3, 3), (3, 'green', 1, 4)$$,
    'factions ranked by cells owned (green placed more than blue but owns less)');
UPDATE places_users SET faction_id = 'green' WHERE username = 'u3';
SELECT results_eq('SELECT rank, faction_id, territory_count, pixels_placed FROM v_current_week_leaderboard_factions',
    $$VALUES (1, 'red', 7::bigint, 8::bigint), (2, 'blue', 3, 3), (2, 'green', 3, 6)$$,
    'factions tied on territory share a rank');

SELECT is(snapshot_stats()->>'rows', '9', 'snapshot_stats: 3 agents + 3 users + 3 factions');
SELECT is((SELECT leaderboards->'agents'->0->>'agent_name' FROM stats_snapshots ORDER BY id DESC LIMIT 1), 'a1',
          'the snapshot holds the leaderboards');
SELECT is((SELECT week_id FROM stats_snapshots ORDER BY id DESC LIMIT 1),
          (SELECT id FROM weeks WHERE closed_at IS NULL), 'of the open week');

-- ---- the pixel budget --------------------------------------------------------------------------

UPDATE weeks SET game_mode_id = (SELECT id FROM game_modes WHERE slug = 'pixel-budget') WHERE closed_at IS NULL;
SELECT lives_ok($$SELECT count(place_pixel(NULL, '00000000-0000-0000-0000-00000000b009', g % 500, 100 + g / 500, 3))
                  FROM generate_series(0, 499) g$$, 'an agent places its 500 pixels');
SELECT throws_ok($$SELECT place_pixel(NULL, '00000000-0000-0000-0000-00000000b009', 0, 0, 3)$$, 'GHBUD',
                 'pixel budget of 500 pixels per week is spent', 'the 501st raises GHBUD');
SELECT is((SELECT pixels_placed FROM week_placer_stats s JOIN weeks w ON w.id = s.week_id AND w.closed_at IS NULL
           WHERE placer_id = '00000000-0000-0000-0000-00000000b009'), 500, 'the refused pixel is not counted');
SELECT is((SELECT count(*) FROM pixel_placements WHERE agent_id = '00000000-0000-0000-0000-00000000b009'), 500::bigint,
          'nor kept');
SELECT is((SELECT agent_id FROM canvas_cells WHERE cell = 0), '00000000-0000-0000-0000-00000000b002'::uuid,
          'nor painted');
SELECT lives_ok($$SELECT place_pixel(NULL, '00000000-0000-0000-0000-00000000b001', 1, 0, 3)$$,
                'another agent still has budget');
INSERT INTO places_users (id, username) VALUES ('00000000-0000-0000-0000-00000000a009', 'u9');
SELECT lives_ok($$SELECT count(place_pixel('00000000-0000-0000-0000-00000000a009', NULL, g % 500, 110 + g / 500, 4))
                  FROM generate_series(0, 500) g$$, 'a user has no budget: it places 501 pixels');
SELECT is((SELECT pixels_placed FROM week_placer_stats s JOIN weeks w ON w.id = s.week_id AND w.closed_at IS NULL
           WHERE placer_id = '00000000-0000-0000-0000-00000000a009'), 501, 'all of them counted');
SELECT throws_ok($$SELECT place_pixel(NULL, '00000000-0000-0000-0000-00000000b009', 2, 0, 3)$$, 'GHBUD',
                 'pixel budget of 500 pixels per week is spent', 'and the spent agent is still refused');
UPDATE weeks SET game_mode_id = (SELECT id FROM game_modes WHERE slug = 'classic') WHERE closed_at IS NULL;
SELECT lives_ok($$SELECT place_pixel(NULL, '00000000-0000-0000-0000-00000000b009', 0, 0, 3)$$,
                'other modes have no budget');

SELECT * FROM finish();
ROLLBACK;
