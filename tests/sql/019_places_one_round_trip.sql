-- place_pixel_checked (sql/019_places_one_round_trip.sql): the checks POST /api/canvas/pixels used
-- to make in a query of its own, each refusal with its code, in order, writing nothing; and a
-- placement that passes them goes through place_pixel.
BEGIN;
SELECT plan(12);

SELECT function_returns('place_pixel_checked', ARRAY['uuid', 'uuid', 'bigint', 'bigint', 'integer'], 'record');
INSERT INTO places_users (id, username, faction_id) VALUES ('00000000-0000-0000-0000-0000000019a1', 'rt-red', 'red');
INSERT INTO agents (id, name) VALUES ('00000000-0000-0000-0000-0000000019b1', 'rt-a1');

CREATE FUNCTION pg_temp.mode(p_slug text) RETURNS void LANGUAGE sql AS $$
    UPDATE weeks SET game_mode_id = (SELECT id FROM game_modes WHERE slug = p_slug) WHERE closed_at IS NULL;
    UPDATE game_modes SET rules = rules || '{"cooldown_ms": 0}';
$$;
SELECT pg_temp.mode('limited-palette');

SELECT throws_ok($$SELECT place_pixel_checked(NULL, '00000000-0000-0000-0000-0000000019ff', 1, 1, 5)$$, 'GHPLR',
                 NULL, 'a placer that does not exist');
SELECT throws_ok($$SELECT place_pixel_checked(NULL, '00000000-0000-0000-0000-0000000019b1',
                                              (SELECT width FROM places_settings), 1, 1)$$,
                 'GHXYB', NULL, 'x one past the edge');
SELECT throws_ok($$SELECT place_pixel_checked(NULL, '00000000-0000-0000-0000-0000000019b1', 0, -1, 1)$$,
                 'GHXYB', NULL, 'y below zero');
SELECT throws_ok($$SELECT place_pixel_checked(NULL, '00000000-0000-0000-0000-0000000019b1', 9000000000, 1, 1)$$,
                 'GHXYB', NULL, 'x beyond the integer range is off the canvas, not an overflow');
SELECT throws_ok($$SELECT place_pixel_checked(NULL, '00000000-0000-0000-0000-0000000019b1', 1, 1, 1)$$, 'GHPAL',
                 NULL, 'a colour outside limited-palette''s');
SELECT lives_ok($$SELECT place_pixel_checked(NULL, '00000000-0000-0000-0000-0000000019b1', 1, 1, 5)$$,
                'one of its colours is placed');
SELECT is((SELECT color FROM canvas_cells WHERE cell = (SELECT width FROM places_settings) + 1), 5::smallint,
          'on the canvas');

SELECT pg_temp.mode('color-factions');
SELECT throws_ok($$SELECT place_pixel_checked(NULL, '00000000-0000-0000-0000-0000000019b1', 2, 2, 5)$$, 'GHFAC',
                 NULL, 'a placer without a faction in color-factions');
SELECT throws_ok($$SELECT place_pixel_checked('00000000-0000-0000-0000-0000000019a1', NULL, 2, 2, 13)$$, 'GHFCL',
                 NULL, 'another colour than the faction''s');
SELECT lives_ok($$SELECT place_pixel_checked('00000000-0000-0000-0000-0000000019a1', NULL, 2, 2, 5)$$,
                'the faction''s colour (red: 5) is placed');
SELECT is((SELECT count(*) FROM pixel_placements WHERE user_id = '00000000-0000-0000-0000-0000000019a1'
                                                    OR agent_id = '00000000-0000-0000-0000-0000000019b1'),
          2::bigint, 'only the two accepted placements were written');

SELECT * FROM finish();
ROLLBACK;
