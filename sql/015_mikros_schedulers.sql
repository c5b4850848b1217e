-- 015_mikros_schedulers: the scheduling sync (spec 000 §27–29, CONTRACT 7.2). A server's scheduler
-- configs are jobs of the built-in engine (bot_type 'mikros', one per kind and server: the unique index
-- of 014), made or changed by mikros_sync_job(), which both sync-config routes use. A trigger asks the
-- engine for a run now and answers the id that run will have (run_requested_id). The two kinds added
-- here write what they find: a server's monthly figures (a report row and an outbox entry) and the
-- active promotions not yet pushed to the server.

ALTER TABLE scheduler_jobs ADD COLUMN run_requested_id uuid;

-- Makes or updates the server's job of a kind; next_run is Unix seconds (computed in C by the
-- engine's own arithmetic, src/scheduler/schedule.c), ignored when disabled. Intervals restart.
CREATE FUNCTION mikros_sync_job(server text, kind text, is_enabled boolean, stype text,
                                sconfig jsonb, next_run bigint) RETURNS uuid
LANGUAGE sql AS $$
    INSERT INTO scheduler_jobs AS j (name, description, bot_type, job_kind, enabled, schedule_type,
                                     schedule_config, bot_config, next_run_at, anchor_at)
    VALUES ('mikros ' || kind || ' ' || server,
            CASE kind WHEN 'game_reset' THEN 'Opens a new word_unscramble session at the server''s reset time'
                      WHEN 'monthly_report' THEN 'Writes the server''s figures for the last month and queues them'
                      ELSE 'Records the active promotions not yet pushed to the server' END,
            'mikros', 'mikros.' || kind, is_enabled, stype, sconfig,
            jsonb_build_object('server_id', server), CASE WHEN is_enabled THEN to_timestamp(next_run) END, now())
    ON CONFLICT (job_kind, (bot_config->>'server_id')) WHERE bot_type = 'mikros' DO UPDATE SET
        enabled = EXCLUDED.enabled, schedule_type = EXCLUDED.schedule_type,
        schedule_config = EXCLUDED.schedule_config, next_run_at = EXCLUDED.next_run_at,
        anchor_at = EXCLUDED.anchor_at, updated_at = now()
    RETURNING j.id
$$;

CREATE TABLE mikros_monthly_reports (
    server_id   text NOT NULL,
    month       date NOT NULL CHECK (extract(day FROM month) = 1),
    figures     jsonb NOT NULL,
    written_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (server_id, month)
);

-- The server's figures for the calendar month (UTC) before the one now is in.
CREATE FUNCTION mikros_monthly_figures(server text) RETURNS jsonb LANGUAGE sql STABLE AS $$
    WITH m AS (SELECT (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month') AT TIME ZONE 'UTC' AS lo,
                      date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hi),
    acts AS (SELECT a.discord_id, a.xp_gained FROM mikros_rpg_actions a, m
              WHERE a.server_id = server AND a.happened_at >= m.lo AND a.happened_at < m.hi),
    top AS (SELECT discord_id, sum(xp_gained) AS xp, count(*) AS n FROM acts GROUP BY discord_id
             ORDER BY sum(xp_gained) DESC, discord_id LIMIT 3)
    SELECT jsonb_build_object(
        'server_id', server,
        'month', to_char(m.lo AT TIME ZONE 'UTC', 'YYYY-MM'),
        'new_characters', (SELECT count(*) FROM mikros_rpg_characters c
                            WHERE c.server_id = server AND c.created_at >= m.lo AND c.created_at < m.hi),
        'active_players', (SELECT count(DISTINCT discord_id) FROM acts),
        'actions', (SELECT count(*) FROM acts),
        'xp_gained', (SELECT coalesce(sum(xp_gained), 0) FROM acts),
        'top_players', (SELECT coalesce(jsonb_agg(jsonb_build_object('discord_id', discord_id, 'xp_gained', xp,
                                                                     'actions', n) ORDER BY xp DESC, discord_id), '[]')
                          FROM top),
        'game_sessions', (SELECT count(*) FROM mikros_game_sessions s
                           WHERE s.server_id = server AND s.started_at >= m.lo AND s.started_at < m.hi),
        'leaderboard_saves', (SELECT count(*) FROM mikros_board_saves b
                               WHERE b.server_id = server AND b.saved_at >= m.lo AND b.saved_at < m.hi),
        'promotions_pushed', (SELECT count(*) FROM mikros_promotion_pushes p
                               WHERE p.server_id = server AND p.pushed_at >= m.lo AND p.pushed_at < m.hi))
    FROM m
$$;

-- Found by a server's promotion_check: active (no deadline or a future one) and not pushed there.
CREATE TABLE mikros_promotion_due (
    server_id  text NOT NULL,
    game_id    bigint NOT NULL REFERENCES mikros_promotions ON DELETE CASCADE,
    found_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (server_id, game_id)
);
