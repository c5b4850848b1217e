-- 013_mikros_leaderboards: the community-game and spelling leaderboards the bot saves (spec 000
-- §23–26, CONTRACT 7.2). Every save is kept with the time guildhall received it, one row per player
-- in it, so a period (daily, weekly from Monday, monthly, all_time; UTC) is answered with each
-- player's figures from the newest save of the period that holds the player. Spelling rows keep
-- total_points in score and total_solves in wins.

CREATE TABLE mikros_board_saves (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    board       text NOT NULL CHECK (board IN ('community', 'spelling')),
    server_id   text NOT NULL,
    game_type   text,
    session_id  text,
    updated_at  timestamptz,
    saved_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mikros_board_saves_period ON mikros_board_saves (board, server_id, saved_at DESC);

CREATE TABLE mikros_board_entries (
    save_id       uuid NOT NULL REFERENCES mikros_board_saves ON DELETE CASCADE,
    discord_id    text NOT NULL,
    username      text NOT NULL,
    score         bigint NOT NULL CHECK (score >= 0),
    wins          bigint NOT NULL CHECK (wins >= 0),
    first_solves  bigint NOT NULL CHECK (first_solves >= 0),
    PRIMARY KEY (save_id, discord_id)
);

-- The first instant of a period that ends now (UTC).
CREATE FUNCTION mikros_period_start(period text) RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT CASE period
           WHEN 'daily' THEN date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
           WHEN 'weekly' THEN date_trunc('week', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
           WHEN 'monthly' THEN date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
           ELSE '-infinity'::timestamptz END
$$;

-- One board's ranking: rank() by score (points), highest first; the top lim and the players in all.
-- score_key and wins_key name the figures as the board's spec does.
CREATE FUNCTION mikros_board_json(which text, server text, kind text, period text, lim integer,
                                  score_key text, wins_key text)
RETURNS json LANGUAGE sql STABLE AS $$
    WITH saves AS (
        SELECT id, saved_at FROM mikros_board_saves
         WHERE board = which AND server_id = server AND (kind = 'all' OR game_type = kind)
           AND saved_at >= mikros_period_start(period)
    ), latest AS (
        SELECT DISTINCT ON (e.discord_id) e.*
          FROM mikros_board_entries e JOIN saves s ON s.id = e.save_id
         ORDER BY e.discord_id, s.saved_at DESC, s.id
    ), ranked AS (
        SELECT *, rank() OVER (ORDER BY score DESC) AS rk FROM latest
    )
    SELECT json_build_object(
        'leaderboard', (SELECT COALESCE(json_agg(json_build_object('rank', rk, 'discord_id', discord_id,
                                                                   'username', username, score_key, score,
                                                                   wins_key, wins, 'first_solves', first_solves)
                                                 ORDER BY rk, discord_id), '[]')
                          FROM (SELECT * FROM ranked ORDER BY rk, discord_id LIMIT lim) t),
        'total_players', (SELECT count(*) FROM ranked))
$$;
