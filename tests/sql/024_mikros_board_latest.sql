-- The leaderboards' newest entries (sql/024_mikros_board_latest.sql): after saves arriving out of
-- order, several in one statement, over two game types, two servers and both boards, every board
-- (period × game type) equals the direct computation over every save of the period: each player's
-- entry from their newest save there, ranked by score; also after saves are changed and deleted.
BEGIN;
SELECT plan(4);

CREATE TEMP TABLE t_saves AS
SELECT gen_random_uuid() AS id, (ARRAY['community', 'spelling'])[1 + g % 2] AS board,
       'srv-' || (g / 2 % 2) AS server_id, (ARRAY['word_unscramble', 'other_game', NULL])[1 + g % 3] AS game_type,
       now() - ((g * 13) % 120) * interval '8 hours' - interval '1 minute' AS saved_at, g
  FROM generate_series(1, 120) g;
-- one statement for the first half of the saves and their entries, one save at a time after
INSERT INTO mikros_board_saves (id, board, server_id, game_type, saved_at)
SELECT id, board, server_id, game_type, saved_at FROM t_saves;
INSERT INTO mikros_board_entries (save_id, discord_id, username, score, wins, first_solves)
SELECT s.id, 'p' || ((s.g * 3 + p) % 40), 'Player ' || p, (s.g * 31 + p * 17) % 500, p, s.g % 4
  FROM t_saves s, generate_series(1, 4) p WHERE s.g <= 60;
CREATE FUNCTION pg_temp.save_one(save uuid, g integer) RETURNS void LANGUAGE sql AS $$
    INSERT INTO mikros_board_entries (save_id, discord_id, username, score, wins, first_solves)
    SELECT save, 'p' || ((g * 3 + p) % 40), 'Player ' || p, (g * 31 + p * 17) % 500, p, g % 4
      FROM generate_series(1, 4) p
$$;
SELECT pg_temp.save_one(id, g) FROM t_saves WHERE g > 60 ORDER BY saved_at DESC;

-- What sql/013 answered: over every save of the period.
CREATE FUNCTION pg_temp.direct(which text, server text, kind text, period text) RETURNS json LANGUAGE sql AS $$
    WITH saves AS (
        SELECT id, saved_at FROM mikros_board_saves
         WHERE board = which AND server_id = server AND (kind = 'all' OR game_type = kind)
           AND saved_at >= mikros_period_start(period)
    ), latest AS (
        SELECT DISTINCT ON (e.discord_id) e.* FROM mikros_board_entries e JOIN saves s ON s.id = e.save_id
         ORDER BY e.discord_id, s.saved_at DESC, s.id
    ), ranked AS (SELECT *, rank() OVER (ORDER BY score DESC) AS rk FROM latest)
    SELECT json_build_object(
        'leaderboard', (SELECT COALESCE(json_agg(json_build_object('rank', rk, 'discord_id', discord_id,
                                                                   'username', username, 'score', score,
                                                                   'wins', wins, 'first_solves', first_solves)
                                                 ORDER BY rk, discord_id), '[]')
                          FROM (SELECT * FROM ranked ORDER BY rk, discord_id LIMIT 5) t),
        'total_players', (SELECT count(*) FROM ranked))
$$;
CREATE TEMP TABLE t_boards AS
SELECT b, s, k, p FROM unnest(ARRAY['community', 'spelling']) b, unnest(ARRAY['srv-0', 'srv-1']) s,
       unnest(ARRAY['all', 'word_unscramble', 'other_game']) k, unnest(ARRAY['daily', 'weekly', 'monthly', 'all_time']) p;

SELECT is((SELECT count(*) FROM t_boards
            WHERE mikros_board_json(b, s, k, p, 5, 'score', 'wins')::text <> pg_temp.direct(b, s, k, p)::text),
          0::bigint, 'every board equals the computation over every save of its period');
SELECT ok((SELECT count(DISTINCT (pg_temp.direct(b, s, k, p)->>'total_players')) FROM t_boards) > 3,
          'the boards differ from one another');
SELECT is((SELECT count(*) FROM mikros_board_latest WHERE kind = 'all'),
          (SELECT count(DISTINCT (s.board, s.server_id, e.discord_id)) FROM mikros_board_entries e
             JOIN mikros_board_saves s ON s.id = e.save_id),
          'one newest entry per player and board');

-- a save moved back in time, and another deleted, leave what the saves that remain say
UPDATE mikros_board_saves SET saved_at = saved_at - interval '30 days' WHERE id IN (SELECT id FROM t_saves WHERE g % 7 = 0);
DELETE FROM mikros_board_saves WHERE id IN (SELECT id FROM t_saves WHERE g % 11 = 0);
SELECT is((SELECT count(*) FROM t_boards
            WHERE mikros_board_json(b, s, k, p, 5, 'score', 'wins')::text <> pg_temp.direct(b, s, k, p)::text),
          0::bigint, 'after saves are moved and deleted too');

SELECT * FROM finish();
ROLLBACK;
