-- 023_mikros_feed_rollups: what the feed writes now that the analytics read the chains (sql/021) and
-- the kept (app, player) window (sql/022). Two rollups of sql/009 lose their readers and go: the
-- (day, app, player) one, and the (day, content, player) one, whose only figure was popular-content's
-- unique_players — that is now counted from the raw plays of the ranked contents alone (a few
-- hundred rows each), through an index by content.

DROP FUNCTION mikros_window_app_users(timestamptz, timestamptz, timestamptz, timestamptz);
DROP TABLE mikros_daily_app_users;
DROP FUNCTION mikros_window_content_players(timestamptz, timestamptz, timestamptz, timestamptz);
DROP TABLE mikros_daily_content_users;
CREATE INDEX mikros_session_content_by_content ON mikros_session_content (app_id, content_id, started_at)
    INCLUDE (user_id);

-- sql/009's ingestion as the analytics now read it: the raw rows, the content rollup, the players'
-- numbers (given on first sight), and the chains of sql/021 (mikros_chain_sessions).
CREATE OR REPLACE FUNCTION mikros_ingest_sessions(batch jsonb, OUT accepted integer, OUT unknown_app text)
LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
    users text[];
BEGIN
    accepted := 0;
    SELECT s.app_id INTO unknown_app
      FROM ROWS FROM (jsonb_to_recordset(batch) AS (app_id text)) WITH ORDINALITY AS s(app_id, ord)
     WHERE NOT EXISTS (SELECT 1 FROM mikros_apps a WHERE a.app_id = s.app_id)
     ORDER BY s.ord
     LIMIT 1;
    IF FOUND THEN
        RETURN;
    END IF;

    WITH src AS MATERIALIZED (
        SELECT nextval(pg_get_serial_sequence('mikros_sessions', 'id')) AS id,
               s.app_id, s.user_id, s.started_at, s.duration_seconds, s.content,
               mikros_utc_day(s.started_at) AS day
          FROM jsonb_to_recordset(batch) AS s(app_id text, user_id text, started_at timestamptz,
                                              duration_seconds integer, content jsonb)
    ), plays AS MATERIALIZED (
        SELECT src.id AS session_id, src.app_id, src.user_id, src.started_at, src.day,
               c.content_id, c.content_name, c.content_type, c.playtime_seconds
          FROM src
         CROSS JOIN LATERAL jsonb_to_recordset(COALESCE(src.content, '[]'::jsonb))
               AS c(content_id text, content_name text, content_type text, playtime_seconds integer)
    ), raw_sessions AS (
        INSERT INTO mikros_sessions (id, app_id, user_id, started_at, duration_seconds)
        OVERRIDING SYSTEM VALUE
        SELECT id, app_id, user_id, started_at, duration_seconds FROM src
    ), contents AS (
        INSERT INTO mikros_contents (app_id, content_id, content_name, content_type)
        SELECT DISTINCT ON (app_id, content_id) app_id, content_id, content_name, content_type
          FROM plays
         ORDER BY app_id, content_id, session_id DESC
        ON CONFLICT (app_id, content_id) DO UPDATE
           SET content_name = EXCLUDED.content_name, content_type = EXCLUDED.content_type
         WHERE (mikros_contents.content_name, mikros_contents.content_type)
               IS DISTINCT FROM (EXCLUDED.content_name, EXCLUDED.content_type)
    ), raw_plays AS (
        INSERT INTO mikros_session_content (session_id, app_id, content_id, user_id, started_at, playtime_seconds)
        SELECT session_id, app_id, content_id, user_id, started_at, playtime_seconds FROM plays
    ), daily_content AS (
        INSERT INTO mikros_daily_content AS t (day, app_id, content_id, plays, playtime_seconds)
        SELECT day, app_id, content_id, count(*), sum(playtime_seconds)
          FROM plays GROUP BY day, app_id, content_id ORDER BY day, app_id, content_id
        ON CONFLICT (day, app_id, content_id) DO UPDATE
           SET plays = t.plays + EXCLUDED.plays,
               playtime_seconds = t.playtime_seconds + EXCLUDED.playtime_seconds
    ), users AS (
        INSERT INTO mikros_users (user_id)
        SELECT DISTINCT user_id FROM src ORDER BY user_id
        ON CONFLICT (user_id) DO NOTHING
    )
    SELECT count(*), array_agg(id), array_agg(DISTINCT user_id) INTO accepted, ids, users FROM src;
    PERFORM mikros_chain_sessions(ids, users);
END
$$;

-- popular-content: by total playtime (minutes, one decimal), with the distinct players of each.
CREATE OR REPLACE FUNCTION mikros_popular_content_json(lim integer, w_start timestamptz, w_from timestamptz,
                                                       w_to timestamptz, w_end timestamptz)
RETURNS json LANGUAGE sql STABLE AS $$
    WITH ranked AS MATERIALIZED (
        SELECT c.app_id, c.content_id, c.playtime, rank() OVER (ORDER BY c.playtime DESC) AS rk
          FROM mikros_window_content(w_start, w_from, w_to, w_end) c
         ORDER BY rk, c.app_id, c.content_id LIMIT lim
    )
    SELECT COALESCE(json_agg(json_build_object(
               'content_id', r.content_id, 'content_name', k.content_name, 'content_type', k.content_type,
               'game_id', r.app_id, 'total_playtime', round(r.playtime / 60.0, 1),
               'unique_players', p.players, 'rank', r.rk) ORDER BY r.rk, r.app_id, r.content_id), '[]')
      FROM ranked r
      JOIN mikros_contents k USING (app_id, content_id)
     CROSS JOIN LATERAL (SELECT count(DISTINCT s.user_id) AS players FROM mikros_session_content s
                          WHERE s.app_id = r.app_id AND s.content_id = r.content_id
                            AND s.started_at >= w_start AND s.started_at < w_end) p
$$;
