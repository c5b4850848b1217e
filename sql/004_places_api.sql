-- 004_places_api: what the places handlers call. Each endpoint is one round trip: the JSON is
-- built here, the C side adds only what SQL does badly (territory, PNG, gzip).

CREATE FUNCTION places_ts(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

CREATE FUNCTION places_mode_json(m game_modes) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', m.id, 'slug', m.slug, 'name', m.name, 'description', m.description,
                              'rules', m.rules, 'scoring_rules', m.scoring_rules, 'icon_url', m.icon_url,
                              'is_active', m.is_active)
$$;

CREATE FUNCTION places_modes_json() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('modes', coalesce(jsonb_agg(places_mode_json(m) ORDER BY m.rotation_order), '[]'))::text
    FROM game_modes m
$$;

-- The current mode with its week; width and height ride along for the canvas object.
CREATE FUNCTION places_current_json() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', c.id, 'slug', c.slug, 'name', c.name, 'description', c.description, 'rules', c.rules,
        'scoring_rules', c.scoring_rules, 'icon_url', c.icon_url, 'week_number', c.week_number, 'year', c.year,
        'week_started_at', places_ts(c.week_started_at), 'week_resets_at', places_ts(c.week_resets_at),
        'time_remaining_ms', greatest(0, floor(extract(epoch FROM c.week_resets_at - now()) * 1000))::bigint,
        'width', s.width, 'height', s.height)::text
    FROM get_current_game_mode() c, places_settings s
$$;

CREATE FUNCTION places_archive_summary(a canvas_archives, base text) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', a.id, 'week_number', a.week_number, 'year', a.year,
        'started_at', places_ts(a.started_at), 'ended_at', places_ts(a.ended_at),
        'image_url', base || '/api/archives/' || a.id || '/image.png',
        'thumbnail_url', base || '/api/archives/' || a.id || '/thumbnail.png',
        'video_url', a.video_url, 'total_pixels_placed', a.total_pixels_placed,
        'unique_contributors', a.unique_contributors,
        'game_mode_name', m.name, 'game_mode_slug', m.slug, 'game_mode_icon', m.icon_url,
        'winner_user_id', a.winner_user_id, 'winner_agent_id', a.winner_agent_id,
        'stats', jsonb_build_object('top_contributors', coalesce(a.stats->'top_contributors', '[]'),
                                    'top_agents', coalesce(a.stats->'top_agents', '[]')))
    FROM game_modes m WHERE m.id = a.game_mode_id
$$;

-- Newest first; an unknown mode slug filters everything out (an empty list, not an error).
CREATE FUNCTION places_archives_json(p_page int, p_limit int, p_mode text, p_year int, p_base text)
RETURNS text LANGUAGE sql STABLE AS $$
    WITH f AS (
        SELECT a.* FROM canvas_archives a JOIN game_modes m ON m.id = a.game_mode_id
        WHERE (p_mode IS NULL OR m.slug = p_mode) AND (p_year IS NULL OR a.year = p_year)),
    page AS (
        SELECT places_archive_summary(f, p_base) AS j FROM f
        ORDER BY f.ended_at DESC, f.id DESC LIMIT p_limit OFFSET (p_page - 1)::bigint * p_limit)
    SELECT jsonb_build_object(
        'archives', coalesce((SELECT jsonb_agg(j) FROM page), '[]'),
        'pagination', jsonb_build_object('page', p_page, 'limit', p_limit, 'total', t.total,
                                         'total_pages', ceil(t.total::numeric / p_limit)::int))::text
    FROM (SELECT count(*) AS total FROM f) t
$$;

CREATE FUNCTION places_archive_json(p_id uuid, p_base text) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT (places_archive_summary(a, p_base) - 'game_mode_name' - 'game_mode_slug' - 'game_mode_icon'
            - 'stats' || jsonb_build_object(
        'game_mode', jsonb_build_object('name', m.name, 'slug', m.slug, 'description', m.description),
        'stats', jsonb_build_object(
            'top_contributors', coalesce(a.stats->'top_contributors', '[]'),
            'top_agents', coalesce(a.stats->'top_agents', '[]'),
            'top_factions', coalesce(a.stats->'top_factions', '[]')),
        'leaderboard', jsonb_build_object(
            'users', coalesce((SELECT rankings FROM archived_leaderboards WHERE archive_id = a.id AND type = 'users'), '[]'),
            'agents', coalesce((SELECT rankings FROM archived_leaderboards WHERE archive_id = a.id AND type = 'agents'), '[]'),
            'factions', coalesce((SELECT rankings FROM archived_leaderboards WHERE archive_id = a.id AND type = 'factions'), '[]')),
        'width', a.width, 'height', a.height))::text
    FROM canvas_archives a JOIN game_modes m ON m.id = a.game_mode_id WHERE a.id = p_id
$$;

CREATE FUNCTION places_archived_leaderboard_json(p_id uuid, p_type text) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('archive_id', a.id, 'type', p_type, 'week_number', a.week_number, 'year', a.year,
        'rankings', coalesce((SELECT rankings FROM archived_leaderboards WHERE archive_id = a.id AND type = p_type), '[]'))::text
    FROM canvas_archives a WHERE a.id = p_id
$$;

-- The live leaderboard, from the views; largest_territory comes from territory_snapshot, which
-- places_set_territory() refreshed just before (see src/api/places/leaderboard.c).
CREATE FUNCTION places_leaderboard_json(p_type text, p_limit int) RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_rows jsonb;
BEGIN
    IF p_type = 'agents' THEN
        SELECT coalesce(jsonb_agg(to_jsonb(v) ORDER BY v.rank, v.agent_id), '[]') INTO v_rows
        FROM (SELECT * FROM v_current_week_leaderboard ORDER BY rank, agent_id LIMIT p_limit) v;
    ELSIF p_type = 'users' THEN
        SELECT coalesce(jsonb_agg(to_jsonb(v) ORDER BY v.rank, v.user_id), '[]') INTO v_rows
        FROM (SELECT * FROM v_current_week_leaderboard_users ORDER BY rank, user_id LIMIT p_limit) v;
    ELSE
        SELECT coalesce(jsonb_agg(to_jsonb(v) ORDER BY v.rank, v.faction_id), '[]') INTO v_rows
        FROM (SELECT * FROM v_current_week_leaderboard_factions ORDER BY rank, faction_id LIMIT p_limit) v;
    END IF;
    RETURN (SELECT jsonb_build_object('type', p_type, 'week_number', c.week_number, 'year', c.year,
                                      'game_mode', c.slug, 'rankings', v_rows,
                                      'generated_at', places_ts(now()))::text
            FROM get_current_game_mode() c);
END $$;

-- The ownership grid for the territory computation: owners numbered 1..n (owner i = element i of
-- the third column, ["user"|"agent", uuid]); cells and owner numbers as two parallel int arrays.
-- One pass numbers the owners; work_mem keeps its sorts of 250,000 cells in memory.
CREATE FUNCTION places_ownership(OUT cells int[], OUT owners int[], OUT owner_ids jsonb)
LANGUAGE sql STABLE SET work_mem = '64MB' AS $$
    WITH o AS (
        SELECT cell, user_id IS NOT NULL AS is_user, coalesce(user_id, agent_id) AS pid,
               dense_rank() OVER (ORDER BY user_id IS NULL, coalesce(user_id, agent_id))::int AS n
        FROM canvas_cells)
    SELECT array_agg(cell ORDER BY cell), array_agg(n ORDER BY cell),
           (SELECT coalesce(jsonb_agg(jsonb_build_array(CASE WHEN is_user THEN 'user' ELSE 'agent' END, pid)
                                      ORDER BY n), '[]')
            FROM (SELECT DISTINCT n, is_user, pid FROM o) k)
    FROM o
$$;

-- Concurrent rebuilds (two workers missing the leaderboard cache, or a reset) take turns.
CREATE FUNCTION places_set_territory(p_kinds text[], p_ids uuid[], p_sizes int[]) RETURNS void
LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(1886151012);
    DELETE FROM territory_snapshot;
    INSERT INTO territory_snapshot (placer_type, placer_id, largest_territory)
    SELECT * FROM unnest(p_kinds, p_ids, p_sizes);
$$;

-- Agent history: the last p_weeks archived weeks plus the current one, newest first.
CREATE FUNCTION places_agent_stats_json(p_agent uuid, p_weeks int) RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_agent agents;
    v_history jsonb;
    v_current record;
    v_streak int := 0;
    v_pixels_trend text := 'stable';
    v_rank_trend text := 'stable';
    v_weeks jsonb;
BEGIN
    SELECT * INTO v_agent FROM agents WHERE id = p_agent;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT c.*, s.pixels_placed, v.overall_rank, v.agent_rank, v.largest_territory
    INTO v_current
    FROM get_current_game_mode() c
    LEFT JOIN weeks w ON w.closed_at IS NULL
    LEFT JOIN week_placer_stats s ON s.week_id = w.id AND s.placer_type = 'agent' AND s.placer_id = p_agent
    LEFT JOIN v_current_week_leaderboard v ON v.agent_id = p_agent;

    WITH hist AS (
        SELECT week_number, year, game_mode_slug AS game_mode, pixels_placed, overall_rank, agent_rank,
               largest_territory, coalesce(objectives_completed, '{}') AS objectives_completed
        FROM agent_weekly_stats WHERE agent_id = p_agent
          -- the open week is live (below), even if update-agent-stats stored a row for it
          AND NOT (archive_id IS NULL AND (year, week_number) = (v_current.year, v_current.week_number))
        UNION ALL
        SELECT v_current.week_number, v_current.year, v_current.slug, v_current.pixels_placed,
               v_current.overall_rank, v_current.agent_rank, v_current.largest_territory, '{}'::text[]
        WHERE v_current.pixels_placed IS NOT NULL),
    recent AS (SELECT * FROM hist ORDER BY year DESC, week_number DESC LIMIT p_weeks)
    SELECT coalesce(jsonb_agg(to_jsonb(recent) ORDER BY year DESC, week_number DESC), '[]') INTO v_weeks FROM recent;

    -- consecutive weeks with pixels, counting back from the current week
    WITH RECURSIVE w(year, week_number, n) AS (
        SELECT v_current.year, v_current.week_number, 0
        UNION ALL
        SELECT extract(isoyear FROM d)::int, extract(week FROM d)::int, w.n + 1
        FROM w, LATERAL (SELECT to_date(w.year || '-' || w.week_number, 'IYYY-IW') - 7 AS d) p
        WHERE w.n < 520 AND EXISTS (
            SELECT 1 FROM agent_weekly_stats a WHERE w.n > 0 AND a.agent_id = p_agent AND a.year = w.year
              AND a.week_number = w.week_number AND a.pixels_placed > 0
            UNION ALL
            SELECT 1 WHERE w.n = 0 AND coalesce(v_current.pixels_placed, 0) > 0))
    SELECT count(*) - 1 INTO v_streak FROM w;
    v_streak := greatest(v_streak, 0);

    -- trends over the weeks shown: compare the newer half with the older half
    IF jsonb_array_length(v_weeks) >= 2 THEN
        SELECT CASE WHEN newer > older * 1.1 THEN 'increasing' WHEN newer < older * 0.9 THEN 'decreasing'
                    ELSE 'stable' END,
               CASE WHEN rnewer IS NULL OR rolder IS NULL THEN 'stable'
                    WHEN rnewer < rolder THEN 'improving' WHEN rnewer > rolder THEN 'declining' ELSE 'stable' END
        INTO v_pixels_trend, v_rank_trend
        FROM (SELECT avg((e->>'pixels_placed')::numeric) FILTER (WHERE i <= n / 2) AS newer,
                     avg((e->>'pixels_placed')::numeric) FILTER (WHERE i > n / 2) AS older,
                     avg((e->>'agent_rank')::numeric) FILTER (WHERE i <= n / 2) AS rnewer,
                     avg((e->>'agent_rank')::numeric) FILTER (WHERE i > n / 2) AS rolder
              FROM jsonb_array_elements(v_weeks) WITH ORDINALITY AS t(e, i),
                   (SELECT jsonb_array_length(v_weeks) AS n) c) x;
    END IF;

    RETURN jsonb_build_object(
        'agent_id', v_agent.id, 'agent_name', v_agent.name,
        'lifetime_stats', (SELECT jsonb_build_object(
            'total_pixels', coalesce(sum(pixels_placed), 0) + coalesce(v_current.pixels_placed, 0),
            'weeks_participated', count(*) FILTER (WHERE pixels_placed > 0)
                                  + (coalesce(v_current.pixels_placed, 0) > 0)::int,
            'best_rank', least(min(agent_rank), v_current.agent_rank),
            'average_rank', round(avg(agent_rank)::numeric, 1))
            FROM agent_weekly_stats WHERE agent_id = p_agent
              AND NOT (archive_id IS NULL AND (year, week_number) = (v_current.year, v_current.week_number))),
        'weekly_history', v_weeks,
        'trends', jsonb_build_object('pixels_trend', v_pixels_trend, 'rank_trend', v_rank_trend,
                                     'participation_streak', v_streak))::text;
END $$;

CREATE FUNCTION places_agent_current_json(p_agent uuid) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'agent_id', a.id, 'week_number', c.week_number, 'year', c.year,
        'pixels_placed', coalesce(s.pixels_placed, 0), 'overall_rank', v.overall_rank, 'agent_rank', v.agent_rank,
        'largest_territory', coalesce(v.largest_territory, 0), 'objectives_completed', '[]'::jsonb,
        'last_pixel_at', places_ts(s.last_pixel_at))::text
    FROM agents a
    CROSS JOIN get_current_game_mode() c
    JOIN weeks w ON w.closed_at IS NULL
    LEFT JOIN week_placer_stats s ON s.week_id = w.id AND s.placer_type = 'agent' AND s.placer_id = a.id
    LEFT JOIN v_current_week_leaderboard v ON v.agent_id = a.id
    WHERE a.id = p_agent
$$;
