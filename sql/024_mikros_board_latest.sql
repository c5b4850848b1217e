-- 024_mikros_board_latest: the community and spelling leaderboards (sql/013) answered without reading
-- every save of the period. A player's figures in a period are those of their newest save inside it;
-- saves are stamped when guildhall receives them, so that newest save is the player's newest save of
-- all whenever that one falls inside the period, and otherwise they have none there. So each
-- player's newest entry is kept per (board, server, game type) and per (board, server) ('all'), and
-- a period is a range of that table (the all_time board of 100k saves read 1M entries before). Saves
-- changed or entries deleted afterwards (nothing in guildhall does either) recompute their players.

CREATE TABLE mikros_board_latest (
    board         text NOT NULL,
    server_id     text NOT NULL,
    kind          text NOT NULL,   -- the save's game_type, or 'all'
    discord_id    text NOT NULL,
    saved_at      timestamptz NOT NULL,
    save_id       uuid NOT NULL,
    username      text NOT NULL,
    score         bigint NOT NULL,
    wins          bigint NOT NULL,
    first_solves  bigint NOT NULL,
    PRIMARY KEY (board, server_id, kind, discord_id)
);
CREATE INDEX mikros_board_latest_period ON mikros_board_latest (board, server_id, kind, saved_at);

-- Newer means what mikros_board_json ordered by: a later saved_at, then the smaller save id.
CREATE FUNCTION mikros_board_keep_latest() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO mikros_board_latest AS t (board, server_id, kind, discord_id, saved_at, save_id, username,
                                          score, wins, first_solves)
    SELECT DISTINCT ON (s.board, s.server_id, k.kind, e.discord_id)
           s.board, s.server_id, k.kind, e.discord_id, s.saved_at, s.id, e.username, e.score, e.wins,
           e.first_solves
      FROM added e JOIN mikros_board_saves s ON s.id = e.save_id
     CROSS JOIN LATERAL (VALUES ('all'), (s.game_type)) AS k(kind)
     WHERE k.kind IS NOT NULL
     ORDER BY s.board, s.server_id, k.kind, e.discord_id, s.saved_at DESC, s.id
    ON CONFLICT (board, server_id, kind, discord_id) DO UPDATE
       SET saved_at = EXCLUDED.saved_at, save_id = EXCLUDED.save_id, username = EXCLUDED.username,
           score = EXCLUDED.score, wins = EXCLUDED.wins, first_solves = EXCLUDED.first_solves
     WHERE EXCLUDED.saved_at > t.saved_at OR (EXCLUDED.saved_at = t.saved_at AND EXCLUDED.save_id < t.save_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER mikros_board_keep_latest AFTER INSERT ON mikros_board_entries
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION mikros_board_keep_latest();

-- The newest entries of these players (NULL: everyone) on every board, recomputed from the saves that
-- remain: after a save is changed or entries deleted, and for what this database held before.
CREATE FUNCTION mikros_board_recompute(players text[]) RETURNS void LANGUAGE sql AS $$
    DELETE FROM mikros_board_latest WHERE players IS NULL OR discord_id = ANY (players);
    INSERT INTO mikros_board_latest (board, server_id, kind, discord_id, saved_at, save_id, username, score,
                                     wins, first_solves)
    SELECT DISTINCT ON (s.board, s.server_id, k.kind, e.discord_id)
           s.board, s.server_id, k.kind, e.discord_id, s.saved_at, s.id, e.username, e.score, e.wins,
           e.first_solves
      FROM mikros_board_entries e JOIN mikros_board_saves s ON s.id = e.save_id
     CROSS JOIN LATERAL (VALUES ('all'), (s.game_type)) AS k(kind)
     WHERE k.kind IS NOT NULL AND (players IS NULL OR e.discord_id = ANY (players))
     ORDER BY s.board, s.server_id, k.kind, e.discord_id, s.saved_at DESC, s.id;
$$;
SELECT mikros_board_recompute(NULL);

CREATE FUNCTION mikros_board_saves_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mikros_board_recompute(array_agg(DISTINCT e.discord_id))
       FROM after s JOIN mikros_board_entries e ON e.save_id = s.id HAVING count(*) > 0;
    RETURN NULL;
END
$$;
CREATE TRIGGER mikros_board_saves_changed AFTER UPDATE ON mikros_board_saves
    REFERENCING NEW TABLE AS after FOR EACH STATEMENT EXECUTE FUNCTION mikros_board_saves_changed();

CREATE FUNCTION mikros_board_entries_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mikros_board_recompute(array_agg(DISTINCT discord_id)) FROM gone HAVING count(*) > 0;
    RETURN NULL;
END
$$;
CREATE TRIGGER mikros_board_entries_gone AFTER DELETE ON mikros_board_entries
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION mikros_board_entries_gone();

CREATE OR REPLACE FUNCTION mikros_board_json(which text, server text, kind text, period text, lim integer,
                                             score_key text, wins_key text)
RETURNS json LANGUAGE sql STABLE AS $$
    WITH ranked AS (
        SELECT l.*, rank() OVER (ORDER BY l.score DESC) AS rk FROM mikros_board_latest l
         WHERE l.board = which AND l.server_id = server AND l.kind = mikros_board_json.kind
           AND l.saved_at >= mikros_period_start(period)
    )
    SELECT json_build_object(
        'leaderboard', (SELECT COALESCE(json_agg(json_build_object('rank', rk, 'discord_id', discord_id,
                                                                   'username', username, score_key, score,
                                                                   wins_key, wins, 'first_solves', first_solves)
                                                 ORDER BY rk, discord_id), '[]')
                          FROM (SELECT * FROM ranked ORDER BY rk, discord_id LIMIT lim) t),
        'total_players', (SELECT count(*) FROM ranked))
$$;
