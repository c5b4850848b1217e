-- The RPG leaderboard of sql/018 (top rows ranked alone, `me` by the rows ahead) against the direct
-- computation it replaced (rank() over every character in scope), on data with many ties: every
-- sort, one server and all, the top and `me`.
BEGIN;
SELECT plan(12);

SELECT setseed(0.7);
INSERT INTO mikros_rpg_characters (discord_id, server_id, character_name, character_class, level, xp, created_at)
SELECT (700000000000000000 + (i % 160))::text, (800000000000000000 + i % 3)::text, 'H' || i, 'MAGE',
       1 + (random() * 5)::int, (random() * 4)::int * 100, '2026-01-01'::timestamptz + (i % 40) * interval '1 hour'
  FROM generate_series(1, 400) i
ON CONFLICT DO NOTHING;

CREATE TEMP TABLE expected AS
SELECT s.sort_by, sc.server, c.discord_id, c.server_id,
       CASE s.sort_by WHEN 'xp' THEN rank() OVER (PARTITION BY s.sort_by, sc.server ORDER BY c.xp DESC)
                      WHEN 'created_at' THEN rank() OVER (PARTITION BY s.sort_by, sc.server ORDER BY c.created_at)
                      ELSE rank() OVER (PARTITION BY s.sort_by, sc.server ORDER BY c.level DESC, c.xp DESC) END AS rk
  FROM (VALUES ('level'), ('xp'), ('created_at')) s(sort_by)
 CROSS JOIN (VALUES ('800000000000000001'), (NULL)) sc(server)
  JOIN mikros_rpg_characters c ON (sc.server IS NULL AND c.discord_id LIKE '7000000000000%')
                                 OR c.server_id = sc.server;

CREATE FUNCTION pg_temp.top(srv text, sort text) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT e->>'discord_id' || '/' || (e->>'server_id') || '#' || (e->>'rank')
      FROM jsonb_array_elements(mikros_rpg_leaderboard_json(srv, 25, sort, NULL)->'data') e
$$;
CREATE FUNCTION pg_temp.want(srv text, sort text) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT discord_id || '/' || server_id || '#' || rk FROM expected
     WHERE sort_by = sort AND server IS NOT DISTINCT FROM srv ORDER BY rk, discord_id, server_id LIMIT 25
$$;

-- the global scope holds other tests' characters too: compare it where it is only ours
DELETE FROM mikros_rpg_characters WHERE discord_id NOT LIKE '7000000000000%';

SELECT results_eq($$SELECT * FROM pg_temp.top('800000000000000001', 'level')$$,
                  $$SELECT * FROM pg_temp.want('800000000000000001', 'level')$$, 'one server by level');
SELECT results_eq($$SELECT * FROM pg_temp.top('800000000000000001', 'xp')$$,
                  $$SELECT * FROM pg_temp.want('800000000000000001', 'xp')$$, 'one server by xp');
SELECT results_eq($$SELECT * FROM pg_temp.top('800000000000000001', 'created_at')$$,
                  $$SELECT * FROM pg_temp.want('800000000000000001', 'created_at')$$, 'one server by created_at');
SELECT results_eq($$SELECT * FROM pg_temp.top(NULL, 'level')$$, $$SELECT * FROM pg_temp.want(NULL, 'level')$$,
                  'every server by level');
SELECT results_eq($$SELECT * FROM pg_temp.top(NULL, 'xp')$$, $$SELECT * FROM pg_temp.want(NULL, 'xp')$$,
                  'every server by xp');
SELECT results_eq($$SELECT * FROM pg_temp.top(NULL, 'created_at')$$, $$SELECT * FROM pg_temp.want(NULL, 'created_at')$$,
                  'every server by created_at');

-- me: the player's best row and its rank, for a player far down each board
SELECT is((mikros_rpg_leaderboard_json(NULL, 5, s, '700000000000000149')->'me'->>'rank')::bigint,
          (SELECT min(rk) FROM expected WHERE sort_by = s AND server IS NULL AND discord_id = '700000000000000149'),
          'me on every server by ' || s)
  FROM (VALUES ('level'), ('xp'), ('created_at')) v(s);
-- player …149 plays on servers …000 and …002 only (i = 149, 309)
SELECT ok(mikros_rpg_leaderboard_json('800000000000000001', 5, 'xp', '700000000000000149')->>'me' IS NULL,
          'me is null in a server where the player has no character');
SELECT is((mikros_rpg_leaderboard_json('800000000000000001', 5, 'level', NULL)->>'total_players')::bigint,
          (SELECT count(*) FROM mikros_rpg_characters WHERE server_id = '800000000000000001'), 'total_players of a server');
SELECT is((mikros_rpg_leaderboard_json(NULL, 5, 'level', NULL)->>'total_players')::bigint,
          (SELECT count(DISTINCT discord_id) FROM mikros_rpg_characters), 'total_players of every server');

SELECT * FROM finish();
ROLLBACK;
