-- bench/mikros's data set, loaded set-based on an empty stack (psql -v apps=… -v sessions=…
-- -v players=… -v characters=… -v saves=…): apps over 14 genres, sessions over the last 90 days
-- (denser towards now, so the trending figures have growth to find), a third of them with one content
-- play, and the rollups computed from those raw rows exactly as mikros_ingest_sessions() keeps them;
-- RPG characters over 100 servers; leaderboard saves of one server over 60 days, 10 players each.
\set ON_ERROR_STOP 1
SELECT setseed(0.42);

INSERT INTO mikros_apps (app_id, name, genre, content_genre, gameplay_type)
SELECT 'bench-' || i, 'Bench app ' || i,
       (ARRAY['Action', 'Adventure', 'Puzzle', 'Strategy', 'RPG', 'Simulation', 'Sports', 'Racing', 'Horror',
              'Platformer', 'Shooter', 'Survival', 'Sandbox', 'Rhythm'])[1 + i % 14],
       (ARRAY['Co-op', 'Story', 'Competitive', 'Open world', 'Roguelike', 'Party', 'Creative', 'Idle', 'Social',
              'Tactics'])[1 + i % 10],
       (ARRAY['Casual', 'Hardcore', 'Mid-core', 'Hyper-casual', 'Competitive', 'Relaxing'])[1 + i % 6]
  FROM generate_series(1, :apps) i;
INSERT INTO mikros_contents (app_id, content_id, content_name, content_type)
SELECT 'bench-' || a, 'c' || k, 'Content ' || k,
       (ARRAY['level', 'boss', 'character', 'item', 'campaign', 'other'])[1 + (a + k) % 6]
  FROM generate_series(1, :apps) a, generate_series(1, 5) k;

INSERT INTO mikros_sessions (app_id, user_id, started_at, duration_seconds)
SELECT 'bench-' || (1 + floor(random() * :apps))::int, 'p' || floor(random() * :players)::int,
       now() - interval '90 days' * sqrt(random()), 60 + floor(random() * 3540)::int
  FROM generate_series(1, :sessions);
INSERT INTO mikros_session_content (session_id, app_id, content_id, user_id, started_at, playtime_seconds)
SELECT id, app_id, 'c' || (1 + id % 5), user_id, started_at, duration_seconds / 2
  FROM mikros_sessions WHERE id % 3 = 0;

INSERT INTO mikros_daily_content (day, app_id, content_id, plays, playtime_seconds)
SELECT (started_at AT TIME ZONE 'UTC')::date, app_id, content_id, count(*), sum(playtime_seconds)
  FROM mikros_session_content GROUP BY 1, 2, 3;
INSERT INTO mikros_users (user_id) SELECT DISTINCT user_id FROM mikros_sessions ORDER BY 1;
SELECT mikros_rebuild_keys(ARRAY(SELECT key FROM mikros_keys));
SELECT mikros_pair_refresh(now(), catch_up => 9223372036854775807);
INSERT INTO mikros_contributors (user_id, role)
SELECT 'p' || i, (ARRAY['developer', 'tester', 'player'])[1 + i % 3] FROM generate_series(1, :players / 20) i;

INSERT INTO mikros_rpg_characters (discord_id, server_id, character_name, character_class, level, xp, created_at)
SELECT (300000000000000000 + i)::text, (900000000000000000 + i % 100)::text, 'Hero' || i,
       (ARRAY['WARRIOR', 'MAGE', 'ROGUE', 'RANGER', 'CLERIC'])[1 + i % 5],
       1 + floor(random() * 60)::int, floor(random() * 100000)::bigint, now() - interval '1 day' * random() * 365
  FROM generate_series(1, :characters) i;

INSERT INTO mikros_board_saves (board, server_id, game_type, saved_at)
SELECT 'community', '910000000000000000', 'word_unscramble', now() - interval '60 days' * random()
  FROM generate_series(1, :saves);
INSERT INTO mikros_board_entries (save_id, discord_id, username, score, wins, first_solves)
SELECT s.id, (300000000000000000 + p)::text, 'Player' || p, floor(random() * 1000)::int,
       floor(random() * 50)::int, floor(random() * 20)::int
  FROM mikros_board_saves s
 CROSS JOIN LATERAL (SELECT DISTINCT 1 + floor(random() * 5000)::int + 0 * length(s.id::text) AS p
                       FROM generate_series(1, 10)) players;

-- as autovacuum leaves a table that is mostly old rows: visible to index-only scans
VACUUM ANALYZE;
