-- 011_mikros_analytics: the figures of the MIKROS analytics GETs (CONTRACT 7.2), each computed from
-- the feed's rows (sql/009_mikros_feed.sql), never invented.
--
-- A window is [w_start, w_end), exact to the second. The C side (src/api/mikros/window.c) splits it
-- into the whole UTC days inside it, [whole_from, whole_to), read from the daily rollups, and the two
-- edges, read from the raw rows. A window with no whole day inside has whole_from = whole_to = w_end,
-- so the raw rows cover all of it. Distinct players are counted over the union of both parts, so a
-- player seen on a rollup day and on an edge counts once.

-- (current − previous) / previous × 100, one decimal; NULL without a baseline (those rows are left out).
CREATE FUNCTION mikros_growth(cur numeric, prev numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN prev > 0 THEN round((cur - prev) * 100 / prev, 1) END
$$;

-- part of whole, ×100, one decimal (0 when whole is 0).
CREATE FUNCTION mikros_share(part numeric, whole numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN whole > 0 THEN round(part * 100 / whole, 1) ELSE 0 END
$$;

-- Sessions and seconds per (app, player) inside a window.
CREATE FUNCTION mikros_window_app_users(w_start timestamptz, whole_from timestamptz, whole_to timestamptz,
                                        w_end timestamptz)
RETURNS TABLE (app_id text, user_id text, sessions bigint, seconds bigint) LANGUAGE sql STABLE AS $$
    SELECT u.app_id, u.user_id, sum(u.sessions)::bigint, sum(u.seconds)::bigint FROM (
        SELECT d.app_id, d.user_id, d.sessions::bigint AS sessions, d.seconds
          FROM mikros_daily_app_users d
         WHERE d.day >= (whole_from AT TIME ZONE 'UTC')::date AND d.day < (whole_to AT TIME ZONE 'UTC')::date
        UNION ALL
        SELECT s.app_id, s.user_id, 1, s.duration_seconds
          FROM mikros_sessions s
         WHERE s.started_at >= w_start AND s.started_at < w_end
           AND (s.started_at < whole_from OR s.started_at >= whole_to)
    ) u GROUP BY u.app_id, u.user_id
$$;

-- Playtime seconds per content inside a window.
CREATE FUNCTION mikros_window_content(w_start timestamptz, whole_from timestamptz, whole_to timestamptz,
                                      w_end timestamptz)
RETURNS TABLE (app_id text, content_id text, playtime bigint) LANGUAGE sql STABLE AS $$
    SELECT c.app_id, c.content_id, sum(c.playtime)::bigint FROM (
        SELECT d.app_id, d.content_id, d.playtime_seconds AS playtime
          FROM mikros_daily_content d
         WHERE d.day >= (whole_from AT TIME ZONE 'UTC')::date AND d.day < (whole_to AT TIME ZONE 'UTC')::date
        UNION ALL
        SELECT s.app_id, s.content_id, s.playtime_seconds
          FROM mikros_session_content s
         WHERE s.started_at >= w_start AND s.started_at < w_end
           AND (s.started_at < whole_from OR s.started_at >= whole_to)
    ) c GROUP BY c.app_id, c.content_id
$$;

-- Distinct players per content inside a window.
CREATE FUNCTION mikros_window_content_players(w_start timestamptz, whole_from timestamptz, whole_to timestamptz,
                                              w_end timestamptz)
RETURNS TABLE (app_id text, content_id text, players bigint) LANGUAGE sql STABLE AS $$
    SELECT c.app_id, c.content_id, count(DISTINCT c.user_id) FROM (
        SELECT d.app_id, d.content_id, d.user_id
          FROM mikros_daily_content_users d
         WHERE d.day >= (whole_from AT TIME ZONE 'UTC')::date AND d.day < (whole_to AT TIME ZONE 'UTC')::date
        UNION ALL
        SELECT s.app_id, s.content_id, s.user_id
          FROM mikros_session_content s
         WHERE s.started_at >= w_start AND s.started_at < w_end
           AND (s.started_at < whole_from OR s.started_at >= whole_to)
    ) c GROUP BY c.app_id, c.content_id
$$;

-- An app's value of a dimension: 'genre', 'content_genre' or 'gameplay_type'.
CREATE FUNCTION mikros_dimension(a mikros_apps, dim text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE dim WHEN 'genre' THEN a.genre WHEN 'content_genre' THEN a.content_genre ELSE a.gameplay_type END
$$;

-- Per value of a dimension inside a window: distinct players and sessions.
CREATE FUNCTION mikros_dimension_figures(dim text, w_start timestamptz, whole_from timestamptz,
                                         whole_to timestamptz, w_end timestamptz)
RETURNS TABLE (name text, players bigint, sessions bigint) LANGUAGE sql STABLE AS $$
    SELECT mikros_dimension(a, dim), count(DISTINCT w.user_id), sum(w.sessions)::bigint
      FROM mikros_window_app_users(w_start, whole_from, whole_to, w_end) w
      JOIN mikros_apps a ON a.app_id = w.app_id
     GROUP BY 1
$$;

-- trending-genres, -content-genres, -gameplay-types: the data array. measure 'players' or 'sessions';
-- the current window is c_*, the previous one p_*. Ranked by growth, highest first (ties share a rank).
CREATE FUNCTION mikros_trending_json(dim text, measure text, lim integer, value_key text, current_key text,
                                     previous_key text,
                                     c_start timestamptz, c_from timestamptz, c_to timestamptz, c_end timestamptz,
                                     p_start timestamptz, p_from timestamptz, p_to timestamptz, p_end timestamptz)
RETURNS json LANGUAGE sql STABLE AS $$
    WITH cur AS (
        SELECT name, CASE measure WHEN 'sessions' THEN sessions ELSE players END AS n
          FROM mikros_dimension_figures(dim, c_start, c_from, c_to, c_end)
    ), prev AS (
        SELECT name, CASE measure WHEN 'sessions' THEN sessions ELSE players END AS n
          FROM mikros_dimension_figures(dim, p_start, p_from, p_to, p_end)
    ), grown AS (
        SELECT cur.name, cur.n AS c, prev.n AS p, mikros_growth(cur.n, prev.n) AS growth
          FROM cur JOIN prev USING (name) WHERE prev.n > 0
    ), ranked AS (
        SELECT *, rank() OVER (ORDER BY growth DESC) AS rk FROM grown ORDER BY rk, name LIMIT lim
    )
    SELECT COALESCE(json_agg(CASE WHEN previous_key IS NULL
                                  THEN json_build_object(value_key, name, 'growth_percentage', growth,
                                                         current_key, c, 'rank', rk)
                                  ELSE json_build_object(value_key, name, 'growth_percentage', growth,
                                                         current_key, c, previous_key, p, 'rank', rk) END
                             ORDER BY rk, name), '[]')
      FROM ranked
$$;

-- popular-genres (with market_share), -content-genres (sessions), -gameplay-types: the data array.
CREATE FUNCTION mikros_popular_json(dim text, lim integer, value_key text, figure_key text, with_share boolean,
                                    w_start timestamptz, w_from timestamptz, w_to timestamptz, w_end timestamptz)
RETURNS json LANGUAGE sql STABLE AS $$
    WITH figures AS (
        SELECT name, CASE figure_key WHEN 'total_engagement' THEN sessions ELSE players END AS n
          FROM mikros_dimension_figures(dim, w_start, w_from, w_to, w_end)
    ), everyone AS (
        SELECT count(DISTINCT user_id) AS n FROM mikros_window_app_users(w_start, w_from, w_to, w_end)
         WHERE with_share
    ), ranked AS (
        SELECT *, rank() OVER (ORDER BY n DESC) AS rk FROM figures ORDER BY rk, name LIMIT lim
    )
    SELECT COALESCE(json_agg(CASE WHEN with_share
                                  THEN json_build_object(value_key, name, figure_key, n,
                                                         'market_share', mikros_share(n, (SELECT n FROM everyone)),
                                                         'rank', rk)
                                  ELSE json_build_object(value_key, name, figure_key, n, 'rank', rk) END
                             ORDER BY rk, name), '[]')
      FROM ranked
$$;

-- trending-content: playtime growth against the previous window (ties by playtime), optionally one
-- content_type; usage_percentage is the share of all content playtime in the current window.
CREATE FUNCTION mikros_trending_content_json(lim integer, ctype text,
                                             c_start timestamptz, c_from timestamptz, c_to timestamptz,
                                             c_end timestamptz, p_start timestamptz, p_from timestamptz,
                                             p_to timestamptz, p_end timestamptz)
RETURNS json LANGUAGE sql STABLE AS $$
    WITH cur AS (SELECT * FROM mikros_window_content(c_start, c_from, c_to, c_end)),
    total AS (SELECT sum(playtime) AS n FROM cur),
    prev AS (SELECT * FROM mikros_window_content(p_start, p_from, p_to, p_end)),
    grown AS (
        SELECT k.app_id, k.content_id, k.content_name, k.content_type, a.name AS game_name, cur.playtime,
               mikros_growth(cur.playtime, prev.playtime) AS growth
          FROM cur JOIN prev USING (app_id, content_id)
          JOIN mikros_contents k USING (app_id, content_id)
          JOIN mikros_apps a ON a.app_id = cur.app_id
         WHERE prev.playtime > 0 AND (ctype = 'all' OR k.content_type = ctype)
    ), ranked AS (
        SELECT *, rank() OVER (ORDER BY growth DESC, playtime DESC) AS rk FROM grown
         ORDER BY rk, app_id, content_id LIMIT lim
    )
    SELECT COALESCE(json_agg(json_build_object(
               'content_id', content_id, 'content_name', content_name, 'content_type', content_type,
               'game_id', app_id, 'game_name', game_name, 'growth_percentage', growth,
               'usage_percentage', mikros_share(playtime, (SELECT n FROM total)),
               'playtime_hours', round(playtime / 3600.0, 1), 'rank', rk) ORDER BY rk, app_id, content_id), '[]')
      FROM ranked
$$;

-- popular-content: by total playtime (minutes, one decimal), with distinct players.
CREATE FUNCTION mikros_popular_content_json(lim integer, w_start timestamptz, w_from timestamptz,
                                            w_to timestamptz, w_end timestamptz)
RETURNS json LANGUAGE sql STABLE AS $$
    WITH ranked AS (
        SELECT c.app_id, c.content_id, c.playtime, rank() OVER (ORDER BY c.playtime DESC) AS rk
          FROM mikros_window_content(w_start, w_from, w_to, w_end) c
         ORDER BY rk, c.app_id, c.content_id LIMIT lim
    )
    SELECT COALESCE(json_agg(json_build_object(
               'content_id', r.content_id, 'content_name', k.content_name, 'content_type', k.content_type,
               'game_id', r.app_id, 'total_playtime', round(r.playtime / 60.0, 1),
               'unique_players', COALESCE(p.players, 0), 'rank', r.rk) ORDER BY r.rk, r.app_id, r.content_id), '[]')
      FROM ranked r
      JOIN mikros_contents k USING (app_id, content_id)
      LEFT JOIN mikros_window_content_players(w_start, w_from, w_to, w_end) p USING (app_id, content_id)
$$;

CREATE FUNCTION mikros_total_apps_json(as_of timestamptz) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object('total_apps', count(*), 'active_apps', count(*) FILTER (WHERE active),
                             'inactive_apps', count(*) FILTER (WHERE NOT active), 'timestamp', mikros_ts(as_of))
      FROM mikros_apps
$$;

CREATE FUNCTION mikros_total_contributors_json(as_of timestamptz) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object('total_contributors', count(*),
                             'developers', count(*) FILTER (WHERE role = 'developer'),
                             'testers', count(*) FILTER (WHERE role = 'tester'),
                             'players', count(*) FILTER (WHERE role = 'player'), 'timestamp', mikros_ts(as_of))
      FROM mikros_contributors
$$;

-- Distinct players ever, and those whose last session started within 30 and 7 days of as_of.
CREATE FUNCTION mikros_total_users_json(as_of timestamptz) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object('total_users', count(*),
                             'active_last_30d', count(*) FILTER (WHERE last_seen >= as_of - interval '30 days'),
                             'active_last_7d', count(*) FILTER (WHERE last_seen >= as_of - interval '7 days'),
                             'timestamp', mikros_ts(as_of))
      FROM mikros_users
$$;

-- average and exact median (the middle value, or the mean of the two middle ones) of minutes,
-- one decimal each; null when there is nothing to average.
CREATE FUNCTION mikros_average_json(minutes numeric[], genre text, as_of timestamptz) RETURNS json
LANGUAGE sql IMMUTABLE AS $$
    SELECT json_build_object(
               'average_minutes', round(avg(m), 1),
               'median_minutes', round((percentile_cont(0.5) WITHIN GROUP (ORDER BY m))::numeric, 1),
               'genre', genre, 'sample_size', count(m), 'timestamp', mikros_ts(as_of))
      FROM unnest(minutes) AS m
$$;

-- avg-gameplay-time: minutes played per (app, player) inside the window, optionally one genre.
CREATE FUNCTION mikros_avg_gameplay_json(genre text, as_of timestamptz, w_start timestamptz, w_from timestamptz,
                                         w_to timestamptz, w_end timestamptz)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT mikros_average_json(COALESCE(array_agg(w.seconds / 60.0), '{}'), mikros_avg_gameplay_json.genre, as_of)
      FROM mikros_window_app_users(w_start, w_from, w_to, w_end) w
      JOIN mikros_apps a ON a.app_id = w.app_id
     WHERE mikros_avg_gameplay_json.genre IS NULL OR a.genre = mikros_avg_gameplay_json.genre
$$;

-- avg-session-time: the length of each session that started inside the window (raw rows: a median
-- needs every value), optionally one genre.
CREATE FUNCTION mikros_avg_session_json(genre text, as_of timestamptz, w_start timestamptz, w_end timestamptz)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT mikros_average_json(COALESCE(array_agg(s.duration_seconds / 60.0), '{}'), mikros_avg_session_json.genre, as_of)
      FROM mikros_sessions s
      JOIN mikros_apps a ON a.app_id = s.app_id
     WHERE s.started_at >= w_start AND s.started_at < w_end AND (mikros_avg_session_json.genre IS NULL OR a.genre = mikros_avg_session_json.genre)
$$;
