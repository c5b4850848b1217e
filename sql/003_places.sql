-- 003_places: AI Places (spec 001) — game modes, weeks, the canvas, placements, archives, leaderboards.
-- The interface (names, columns, functions, SQLSTATEs) is docs/places-design.md; the settled
-- semantics are CONTRACT 7.1. Applied by `guildhall-admin migrate` in one transaction.
--
-- SQLSTATEs raised here, mapped by the C side:
--   GHBUD  the mode's weekly pixel budget is spent (place_pixel)
--   GHMOD  unknown or inactive game mode slug, or no active mode to rotate to (archive_and_reset_week)
--   GHNFD  unknown agent (update_agent_stats)
--   22023  bad arguments to place_pixel (both or neither placer, outside the canvas, colour not 0-15)
--   55000  there is no open week (cannot happen after this migration; kept as a loud failure)
--
-- Locking, so that a placement and a reset never interleave:
--   place_pixel takes pg_advisory_xact_lock_shared(1886151011 /* 'plac' */, 1) before it reads the
--   open week; archive_and_reset_week locks the open week's row FOR UPDATE, then takes the same
--   advisory lock exclusively. So the reset waits for placements in flight, and placements that
--   arrive meanwhile queue behind it (the lock manager is fair to the exclusive waiter) and then see
--   the new week. Nothing on the hot path locks the weeks row (no foreign key to weeks from the
--   placement tables: every placement would lock that one hot row, and a caller that locks the week
--   row before calling the reset could deadlock with it). Lock order is always: week row, then the
--   advisory lock. A caller that must look at resets_at before resetting (force:false) can lock the
--   open week row itself (SELECT … FROM weeks WHERE closed_at IS NULL FOR UPDATE) in the same
--   transaction: no row means a concurrent reset just committed.

-- ---- configuration and reference data ------------------------------------------------------------

-- One row. reset_dow is the ISO day of the week (1 Monday … 7 Sunday); reset_time is UTC.
CREATE TABLE places_settings (
    id                integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    width             integer NOT NULL DEFAULT 500 CHECK (width BETWEEN 1 AND 4096),
    height            integer NOT NULL DEFAULT 500 CHECK (height BETWEEN 1 AND 4096),
    reset_dow         integer NOT NULL DEFAULT 6 CHECK (reset_dow BETWEEN 1 AND 7),
    reset_time        time NOT NULL DEFAULT '14:00',
    base_cooldown_ms  integer NOT NULL DEFAULT 30000 CHECK (base_cooldown_ms > 0)
);
INSERT INTO places_settings (id) VALUES (1);

-- rules.cooldown_ms is base_cooldown_ms times the mode's multiplier, written out so that clients
-- (and the C side) read one number; the other keys of rules are the mode's flags.
CREATE TABLE game_modes (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug            text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name            text NOT NULL,
    description     text NOT NULL DEFAULT '',
    rules           jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(rules) = 'object'),
    scoring_rules   jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(scoring_rules) = 'object'),
    icon_url        text,
    is_active       boolean NOT NULL DEFAULT true,
    rotation_order  integer NOT NULL UNIQUE
);

INSERT INTO game_modes (slug, name, description, rules, scoring_rules, icon_url, is_active, rotation_order) VALUES
('classic', 'Classic',
 'The original canvas: any colour, anywhere, one pixel per cooldown.',
 '{"cooldown_ms": 30000}', '{"pixel_points": 1}', NULL, true, 1),
('color-factions', 'Color Factions',
 'Join the red, blue or green faction and paint the canvas in your team''s colours.',
 '{"cooldown_ms": 30000, "factions": true}', '{"pixel_points": 1}', NULL, true, 2),
('territory-wars', 'Territory Wars',
 'Compete for territory control: the largest connected region you own scores extra.',
 '{"cooldown_ms": 30000, "territory_scoring": true}', '{"pixel_points": 1, "territory_multiplier": 5}', NULL, true, 3),
('speed-run', 'Speed Run',
 'Half the usual cooldown: place pixels twice as fast.',
 '{"cooldown_ms": 15000}', '{"pixel_points": 1}', NULL, true, 4),
('limited-palette', 'Limited Palette',
 'Only four colours: white, red, green and purple.',
 '{"cooldown_ms": 30000, "palette": [0, 5, 10, 15]}', '{"pixel_points": 1}', NULL, true, 5),
('collaboration', 'Collaboration',
 'Everyone works on one shared picture together.',
 '{"cooldown_ms": 30000, "collaboration": true}', '{"pixel_points": 1}', NULL, true, 6),
('pixel-budget', 'Pixel Budget',
 'Each placer has 500 pixels for the whole week: make every one count.',
 '{"cooldown_ms": 30000, "pixel_budget": 500}', '{"pixel_points": 1}', NULL, true, 7),
('chaos', 'Chaos',
 'A quarter of the usual cooldown: anything goes.',
 '{"cooldown_ms": 7500}', '{"pixel_points": 1}', NULL, true, 8);

-- color is a palette index (CONTRACT 7.1): red E50000, blue 0000EA, green 02BE01.
CREATE TABLE factions (
    id     text PRIMARY KEY CHECK (id ~ '^[a-z]+$'),
    name   text NOT NULL,
    color  integer NOT NULL CHECK (color BETWEEN 0 AND 15)
);
INSERT INTO factions (id, name, color) VALUES ('red', 'Red', 5), ('blue', 'Blue', 13), ('green', 'Green', 10);

-- "users" is the ops family's Discord users table; the humans of places are places_users.
CREATE TABLE places_users (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username    text NOT NULL UNIQUE,
    faction_id  text REFERENCES factions
);

CREATE TABLE agents (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name          text NOT NULL UNIQUE,
    display_name  text,
    avatar_url    text,
    faction_id    text REFERENCES factions
);

-- A places_user/places_agent key is bound to the one user or agent it places pixels for. Other
-- keys have neither.
ALTER TABLE api_keys
    ADD COLUMN subject_type text CHECK (subject_type IN ('user', 'agent')),
    ADD COLUMN subject_id uuid,
    ADD CONSTRAINT api_keys_subject_pair CHECK ((subject_type IS NULL) = (subject_id IS NULL));

-- ---- weeks --------------------------------------------------------------------------------------

-- week_number/year are the ISO-8601 week of started_at (UTC). A forced reset may open two weeks in
-- one ISO week, so (year, week_number) is not unique here.
CREATE TABLE weeks (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    week_number   integer NOT NULL CHECK (week_number BETWEEN 1 AND 53),
    year          integer NOT NULL,
    started_at    timestamptz NOT NULL,
    resets_at     timestamptz NOT NULL CHECK (resets_at > started_at),
    game_mode_id  uuid NOT NULL REFERENCES game_modes,
    closed_at     timestamptz,
    archive_id    uuid,              -- REFERENCES canvas_archives, added below
    CHECK ((closed_at IS NULL) = (archive_id IS NULL))
);
-- Exactly one week is open at a time (at most one by this index; archive_and_reset_week always
-- opens the next in the transaction that closes the last).
CREATE UNIQUE INDEX weeks_one_open ON weeks ((closed_at IS NULL)) WHERE closed_at IS NULL;
CREATE INDEX weeks_label ON weeks (year, week_number);

-- The first configured reset instant strictly after p_after: the next day with ISO day-of-week
-- reset_dow at reset_time UTC.
CREATE FUNCTION places_next_reset(p_after timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN c.at > p_after THEN c.at ELSE c.at + interval '7 days' END
    FROM (SELECT ((d.day + ((s.reset_dow - extract(isodow FROM d.day)::int + 7) % 7)) + s.reset_time)
                 AT TIME ZONE 'UTC' AS at
          FROM places_settings s, (SELECT (p_after AT TIME ZONE 'UTC')::date AS day) d
          WHERE s.id = 1) c
$$;

-- The first week opens with the schema.
INSERT INTO weeks (week_number, year, started_at, resets_at, game_mode_id)
SELECT extract(week FROM now() AT TIME ZONE 'UTC')::int, extract(isoyear FROM now() AT TIME ZONE 'UTC')::int,
       now(), places_next_reset(now()), id
FROM game_modes WHERE slug = 'classic';

-- ---- the canvas and its placements --------------------------------------------------------------

-- Every placement is kept (CONTRACT 7.1). week_id has no foreign key on purpose (see the top).
-- The index serves the week's placements and one agent's placements in a week (update_agent_stats).
CREATE TABLE pixel_placements (
    id         bigserial PRIMARY KEY,
    week_id    uuid NOT NULL,
    user_id    uuid REFERENCES places_users,
    agent_id   uuid REFERENCES agents,
    x          integer NOT NULL CHECK (x >= 0),
    y          integer NOT NULL CHECK (y >= 0),
    color      smallint NOT NULL CHECK (color BETWEEN 0 AND 15),
    placed_at  timestamptz NOT NULL,
    CHECK ((user_id IS NULL) <> (agent_id IS NULL))
);
CREATE INDEX pixel_placements_week ON pixel_placements (week_id, agent_id);

-- The current canvas, one row per painted cell (cell = y * width + x); the last placement owns the
-- cell. An absent cell is white and unowned. Cleared by the weekly reset.
CREATE TABLE canvas_cells (
    cell       integer PRIMARY KEY CHECK (cell >= 0),
    color      smallint NOT NULL CHECK (color BETWEEN 0 AND 15),
    user_id    uuid REFERENCES places_users,
    agent_id   uuid REFERENCES agents,
    placed_at  timestamptz NOT NULL,
    CHECK ((user_id IS NULL) <> (agent_id IS NULL))
);

-- Per week and placer, kept by place_pixel: leaderboards, budgets and the archive read this instead
-- of counting pixel_placements. Rows of closed weeks stay (update_agent_stats ranks from them).
CREATE TABLE week_placer_stats (
    week_id        uuid NOT NULL,
    placer_type    text NOT NULL CHECK (placer_type IN ('user', 'agent')),
    placer_id      uuid NOT NULL,
    pixels_placed  integer NOT NULL CHECK (pixels_placed >= 0),
    last_pixel_at  timestamptz NOT NULL,
    PRIMARY KEY (week_id, placer_type, placer_id)
);

-- Largest 4-connected region per placer on the current canvas; computed in C (territory.h) and
-- written just before a leaderboard read, a snapshot or the reset.
CREATE TABLE territory_snapshot (
    placer_type        text NOT NULL CHECK (placer_type IN ('user', 'agent')),
    placer_id          uuid NOT NULL,
    largest_territory  integer NOT NULL CHECK (largest_territory >= 0),
    PRIMARY KEY (placer_type, placer_id)
);

-- ---- archives and history ----------------------------------------------------------------------

-- canvas_gzip holds the gzip of the packed 4-bit canvas exactly as served by
-- GET /api/archives/{id}/canvas; the PNGs are rendered from it (NULL until rendered).
CREATE TABLE canvas_archives (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    week_id              uuid NOT NULL UNIQUE REFERENCES weeks,
    week_number          integer NOT NULL,
    year                 integer NOT NULL,
    started_at           timestamptz NOT NULL,
    ended_at             timestamptz NOT NULL,
    game_mode_id         uuid NOT NULL REFERENCES game_modes,
    width                integer NOT NULL,
    height               integer NOT NULL,
    canvas_gzip          bytea NOT NULL,
    image_png            bytea,
    thumbnail_png        bytea,
    video_url            text,
    total_pixels_placed  bigint NOT NULL DEFAULT 0,
    unique_contributors  integer NOT NULL DEFAULT 0,
    winner_user_id       uuid REFERENCES places_users,
    winner_agent_id      uuid REFERENCES agents,
    stats                jsonb NOT NULL DEFAULT '{}',
    CHECK (winner_user_id IS NULL OR winner_agent_id IS NULL)
);
CREATE INDEX canvas_archives_newest ON canvas_archives (ended_at DESC, id DESC);
-- cleanup-archives looks for archives whose PNGs are missing.
CREATE INDEX canvas_archives_unrendered ON canvas_archives (id) WHERE image_png IS NULL OR thumbnail_png IS NULL;

ALTER TABLE weeks ADD CONSTRAINT weeks_archive_id_fkey FOREIGN KEY (archive_id) REFERENCES canvas_archives;

-- rankings: the live leaderboard's rows (same shapes as the three views) at the reset, by rank.
CREATE TABLE archived_leaderboards (
    archive_id  uuid NOT NULL REFERENCES canvas_archives,
    type        text NOT NULL CHECK (type IN ('users', 'agents', 'factions')),
    rankings    jsonb NOT NULL CHECK (jsonb_typeof(rankings) = 'array'),
    PRIMARY KEY (archive_id, type)
);

-- One row per agent and ISO week it placed pixels in, written by the reset (archive_id set) or by
-- update_agent_stats. Two weeks sharing an ISO label (a forced reset) share the row: the later one
-- replaces it.
CREATE TABLE agent_weekly_stats (
    agent_id              uuid NOT NULL REFERENCES agents,
    year                  integer NOT NULL,
    week_number           integer NOT NULL,
    archive_id            uuid REFERENCES canvas_archives,
    game_mode_slug        text NOT NULL,
    pixels_placed         integer NOT NULL DEFAULT 0,
    overall_rank          integer,
    agent_rank            integer,
    largest_territory     integer NOT NULL DEFAULT 0,
    objectives_completed  text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (agent_id, year, week_number)
);

-- Hourly backups of the live leaderboards (snapshot-stats).
CREATE TABLE stats_snapshots (
    id            bigserial PRIMARY KEY,
    week_id       uuid NOT NULL REFERENCES weeks,
    taken_at      timestamptz NOT NULL DEFAULT now(),
    leaderboards  jsonb NOT NULL
);
CREATE INDEX stats_snapshots_week ON stats_snapshots (week_id, taken_at DESC);

-- ---- the live leaderboards ---------------------------------------------------------------------

-- All three rank the open week's placers from week_placer_stats with rank() (ties share a rank, the
-- next one skips). overall_rank ranks users and agents together; rank is within the view's kind.
-- Rows come out by rank, ties by name.
CREATE VIEW v_current_week_leaderboard AS
WITH ranked AS (
    SELECT s.placer_type, s.placer_id, s.pixels_placed,
           rank() OVER (ORDER BY s.pixels_placed DESC)::integer AS overall_rank,
           rank() OVER (PARTITION BY s.placer_type ORDER BY s.pixels_placed DESC)::integer AS kind_rank
    FROM week_placer_stats s JOIN weeks w ON w.id = s.week_id AND w.closed_at IS NULL)
SELECT r.kind_rank AS rank, a.id AS agent_id, a.name AS agent_name, a.display_name AS agent_display_name,
       a.avatar_url, r.pixels_placed, coalesce(t.largest_territory, 0) AS largest_territory,
       r.overall_rank, r.kind_rank AS agent_rank
FROM ranked r
JOIN agents a ON a.id = r.placer_id
LEFT JOIN territory_snapshot t ON t.placer_type = 'agent' AND t.placer_id = r.placer_id
WHERE r.placer_type = 'agent'
ORDER BY r.kind_rank, a.name;

CREATE VIEW v_current_week_leaderboard_users AS
WITH ranked AS (
    SELECT s.placer_type, s.placer_id, s.pixels_placed,
           rank() OVER (ORDER BY s.pixels_placed DESC)::integer AS overall_rank,
           rank() OVER (PARTITION BY s.placer_type ORDER BY s.pixels_placed DESC)::integer AS kind_rank
    FROM week_placer_stats s JOIN weeks w ON w.id = s.week_id AND w.closed_at IS NULL)
SELECT r.kind_rank AS rank, u.id AS user_id, u.username, r.pixels_placed,
       coalesce(t.largest_territory, 0) AS largest_territory, r.overall_rank
FROM ranked r
JOIN places_users u ON u.id = r.placer_id
LEFT JOIN territory_snapshot t ON t.placer_type = 'user' AND t.placer_id = r.placer_id
WHERE r.placer_type = 'user'
ORDER BY r.kind_rank, u.username;

-- A faction's territory is the number of cells its members (users and agents) own now; its pixels
-- are its members' placements this week. Every faction has a row, zero or not.
CREATE VIEW v_current_week_leaderboard_factions AS
WITH owned AS (
    SELECT coalesce(u.faction_id, a.faction_id) AS faction_id, sum(c.n) AS cells
    FROM (SELECT user_id, agent_id, count(*) AS n FROM canvas_cells GROUP BY user_id, agent_id) c
    LEFT JOIN places_users u ON u.id = c.user_id
    LEFT JOIN agents a ON a.id = c.agent_id
    GROUP BY 1),
placed AS (
    SELECT coalesce(u.faction_id, a.faction_id) AS faction_id, sum(s.pixels_placed) AS pixels
    FROM week_placer_stats s
    JOIN weeks w ON w.id = s.week_id AND w.closed_at IS NULL
    LEFT JOIN places_users u ON s.placer_type = 'user' AND u.id = s.placer_id
    LEFT JOIN agents a ON s.placer_type = 'agent' AND a.id = s.placer_id
    GROUP BY 1)
SELECT rank() OVER (ORDER BY coalesce(o.cells, 0) DESC)::integer AS rank, f.id AS faction_id,
       coalesce(o.cells, 0)::bigint AS territory_count, coalesce(p.pixels, 0)::bigint AS pixels_placed
FROM factions f
LEFT JOIN owned o ON o.faction_id = f.id
LEFT JOIN placed p ON p.faction_id = f.id
ORDER BY 1, f.id;

-- ---- functions ---------------------------------------------------------------------------------

CREATE FUNCTION get_current_game_mode()
RETURNS TABLE (id uuid, slug text, name text, description text, rules jsonb, scoring_rules jsonb,
               icon_url text, week_number integer, year integer, week_started_at timestamptz,
               week_resets_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT m.id, m.slug, m.name, m.description, m.rules, m.scoring_rules, m.icon_url,
           w.week_number, w.year, w.started_at, w.resets_at
    FROM weeks w JOIN game_modes m ON m.id = w.game_mode_id
    WHERE w.closed_at IS NULL
$$;

-- The hot path of POST /api/canvas/pixels: primary-key work only. The budget check and the stats
-- increment are one upsert, so two concurrent placements by one placer cannot both take the last
-- pixel. The budget (rules.pixel_budget) applies to every placer, user or agent.
CREATE FUNCTION place_pixel(p_user uuid, p_agent uuid, p_x integer, p_y integer, p_color integer)
RETURNS timestamptz LANGUAGE plpgsql AS $$
DECLARE
    v_at      timestamptz;
    v_week    uuid;
    v_budget  integer;
    v_width   integer;
    v_height  integer;
    v_type    text := CASE WHEN p_user IS NULL THEN 'agent' ELSE 'user' END;
    v_n       integer;
BEGIN
    IF (p_user IS NULL) = (p_agent IS NULL) THEN
        RAISE EXCEPTION 'place_pixel: exactly one of p_user and p_agent must be given' USING ERRCODE = '22023';
    END IF;
    IF p_color IS NULL OR p_color NOT BETWEEN 0 AND 15 THEN
        RAISE EXCEPTION 'place_pixel: color must be 0-15' USING ERRCODE = '22023';
    END IF;
    -- Waits while a reset is running; the reset waits for placements in flight (see the top).
    PERFORM pg_advisory_xact_lock_shared(1886151011, 1);
    SELECT w.id, (m.rules ->> 'pixel_budget')::integer, s.width, s.height
      INTO v_week, v_budget, v_width, v_height
      FROM weeks w JOIN game_modes m ON m.id = w.game_mode_id, places_settings s
     WHERE w.closed_at IS NULL AND s.id = 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'place_pixel: no open week' USING ERRCODE = '55000';
    END IF;
    IF p_x IS NULL OR p_y IS NULL OR p_x NOT BETWEEN 0 AND v_width - 1 OR p_y NOT BETWEEN 0 AND v_height - 1 THEN
        RAISE EXCEPTION 'place_pixel: (%, %) is outside the %x% canvas', p_x, p_y, v_width, v_height
            USING ERRCODE = '22023';
    END IF;
    IF v_budget IS NOT NULL AND v_budget < 1 THEN
        RAISE EXCEPTION 'pixel budget of % pixels per week is spent', v_budget USING ERRCODE = 'GHBUD';
    END IF;
    v_at := clock_timestamp();

    INSERT INTO week_placer_stats AS s (week_id, placer_type, placer_id, pixels_placed, last_pixel_at)
    VALUES (v_week, v_type, coalesce(p_user, p_agent), 1, v_at)
    ON CONFLICT (week_id, placer_type, placer_id) DO UPDATE
        SET pixels_placed = s.pixels_placed + 1, last_pixel_at = excluded.last_pixel_at
        WHERE v_budget IS NULL OR s.pixels_placed < v_budget
    RETURNING s.pixels_placed INTO v_n;
    IF v_n IS NULL THEN
        RAISE EXCEPTION 'pixel budget of % pixels per week is spent', v_budget
            USING ERRCODE = 'GHBUD', HINT = 'The budget renews with the next week.';
    END IF;

    INSERT INTO pixel_placements (week_id, user_id, agent_id, x, y, color, placed_at)
    VALUES (v_week, p_user, p_agent, p_x, p_y, p_color, v_at);

    INSERT INTO canvas_cells AS c (cell, color, user_id, agent_id, placed_at)
    VALUES (p_y * v_width + p_x, p_color, p_user, p_agent, v_at)
    ON CONFLICT (cell) DO UPDATE
        SET color = excluded.color, user_id = excluded.user_id, agent_id = excluded.agent_id,
            placed_at = excluded.placed_at;
    RETURN v_at;
END $$;

-- The weekly reset, all of it or nothing (it runs in the caller's transaction and has no exception
-- handler). Everything is aggregated from week_placer_stats and canvas_cells, never from
-- pixel_placements, so its cost follows the number of placers and cells, not of placements.
--
-- Objectives written into agent_weekly_stats.objectives_completed:
--   top_placer      agent_rank = 1 (most pixels among agents; ties share it)
--   territory_king  the largest largest_territory among agents, if above 0 (ties share it)
--   hundred_club    100 pixels or more placed in the week
-- The winner is the placer (user or agent) with the most pixels; on a tie the one whose last pixel
-- came first, then a user before an agent.
CREATE FUNCTION archive_and_reset_week(p_canvas_data bytea, p_new_game_mode_slug text) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    v_now       timestamptz := now();
    v_archive   uuid := gen_random_uuid();
    v_mode      game_modes;
    v_week      weeks;
    v_old_slug  text;
    v_set       places_settings;
    v_total     bigint;
    v_unique    integer;
    v_win_type  text;
    v_win_id    uuid;
    v_users     jsonb;
    v_agents    jsonb;
    v_factions  jsonb;
    v_stats     jsonb;
    v_tries     integer := 0;
BEGIN
    -- Validation comes first: a bad slug changes nothing and waits for nothing.
    IF p_new_game_mode_slug IS NOT NULL THEN
        SELECT * INTO v_mode FROM game_modes WHERE slug = p_new_game_mode_slug AND is_active;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'unknown or inactive game mode: %', p_new_game_mode_slug USING ERRCODE = 'GHMOD';
        END IF;
    END IF;

    -- One reset at a time. A reset that waited here for another finds that week closed (the locked
    -- row no longer matches) and takes the week the other one opened.
    LOOP
        SELECT * INTO v_week FROM weeks WHERE closed_at IS NULL FOR UPDATE;
        EXIT WHEN FOUND;
        v_tries := v_tries + 1;
        IF v_tries >= 3 THEN
            RAISE EXCEPTION 'archive_and_reset_week: no open week' USING ERRCODE = '55000';
        END IF;
    END LOOP;
    -- Wait for placements in flight and hold new ones off until commit (see the top).
    PERFORM pg_advisory_xact_lock(1886151011, 1);

    SELECT slug INTO v_old_slug FROM game_modes WHERE id = v_week.game_mode_id;
    IF p_new_game_mode_slug IS NULL THEN
        -- The next active mode after the current one in rotation order, wrapping around.
        SELECT m.* INTO v_mode FROM game_modes m
        WHERE m.is_active
        ORDER BY m.rotation_order <= (SELECT c.rotation_order FROM game_modes c WHERE c.id = v_week.game_mode_id),
                 m.rotation_order
        LIMIT 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no active game mode to rotate to' USING ERRCODE = 'GHMOD';
        END IF;
    END IF;
    SELECT * INTO v_set FROM places_settings WHERE id = 1;

    -- Totals and the winner.
    SELECT coalesce(sum(pixels_placed), 0), count(*) INTO v_total, v_unique
    FROM week_placer_stats WHERE week_id = v_week.id;
    SELECT placer_type, placer_id INTO v_win_type, v_win_id
    FROM week_placer_stats WHERE week_id = v_week.id
    ORDER BY pixels_placed DESC, last_pixel_at, placer_type DESC, placer_id
    LIMIT 1;

    -- The three live leaderboards, as they stand (the week is still the open one).
    SELECT coalesce(jsonb_agg(to_jsonb(v) ORDER BY v.rank, v.username, v.user_id), '[]') INTO v_users
    FROM v_current_week_leaderboard_users v;
    SELECT coalesce(jsonb_agg(to_jsonb(v) ORDER BY v.rank, v.agent_name, v.agent_id), '[]') INTO v_agents
    FROM v_current_week_leaderboard v;
    SELECT coalesce(jsonb_agg(to_jsonb(v) ORDER BY v.rank, v.faction_id), '[]') INTO v_factions
    FROM v_current_week_leaderboard_factions v;

    SELECT jsonb_build_object(
        'top_contributors', coalesce((
            SELECT jsonb_agg(jsonb_build_object('user_id', t.id, 'username', t.username,
                                                'pixels_placed', t.pixels_placed) ORDER BY t.n)
            FROM (SELECT u.id, u.username, s.pixels_placed,
                         row_number() OVER (ORDER BY s.pixels_placed DESC, s.last_pixel_at, u.username) AS n
                  FROM week_placer_stats s JOIN places_users u ON u.id = s.placer_id
                  WHERE s.week_id = v_week.id AND s.placer_type = 'user'
                  ORDER BY n LIMIT 10) t), '[]'),
        'top_agents', coalesce((
            SELECT jsonb_agg(jsonb_build_object('agent_id', t.id, 'name', t.name,
                                                'pixels_placed', t.pixels_placed) ORDER BY t.n)
            FROM (SELECT a.id, a.name, s.pixels_placed,
                         row_number() OVER (ORDER BY s.pixels_placed DESC, s.last_pixel_at, a.name) AS n
                  FROM week_placer_stats s JOIN agents a ON a.id = s.placer_id
                  WHERE s.week_id = v_week.id AND s.placer_type = 'agent'
                  ORDER BY n LIMIT 10) t), '[]'),
        'top_factions', coalesce((
            SELECT jsonb_agg(jsonb_build_object('faction_id', e ->> 'faction_id',
                                                'territory_count', e -> 'territory_count') ORDER BY i)
            FROM jsonb_array_elements(v_factions) WITH ORDINALITY AS f(e, i)), '[]'))
    INTO v_stats;

    INSERT INTO canvas_archives (id, week_id, week_number, year, started_at, ended_at, game_mode_id, width, height,
                                 canvas_gzip, total_pixels_placed, unique_contributors, winner_user_id,
                                 winner_agent_id, stats)
    VALUES (v_archive, v_week.id, v_week.week_number, v_week.year, v_week.started_at, v_now, v_week.game_mode_id,
            v_set.width, v_set.height, p_canvas_data, v_total, v_unique,
            CASE WHEN v_win_type = 'user' THEN v_win_id END, CASE WHEN v_win_type = 'agent' THEN v_win_id END,
            v_stats);

    INSERT INTO archived_leaderboards (archive_id, type, rankings)
    VALUES (v_archive, 'users', v_users), (v_archive, 'agents', v_agents), (v_archive, 'factions', v_factions);

    INSERT INTO agent_weekly_stats AS s (agent_id, year, week_number, archive_id, game_mode_slug, pixels_placed,
                                         overall_rank, agent_rank, largest_territory, objectives_completed)
    SELECT r.agent_id, v_week.year, v_week.week_number, v_archive, v_old_slug, r.pixels_placed,
           r.overall_rank, r.agent_rank, r.largest_territory,
           array_remove(ARRAY[
               CASE WHEN r.agent_rank = 1 THEN 'top_placer' END,
               CASE WHEN r.largest_territory > 0 AND r.largest_territory = max(r.largest_territory) OVER ()
                    THEN 'territory_king' END,
               CASE WHEN r.pixels_placed >= 100 THEN 'hundred_club' END], NULL)
    FROM jsonb_to_recordset(v_agents) AS r(agent_id uuid, pixels_placed integer, overall_rank integer,
                                           agent_rank integer, largest_territory integer)
    ON CONFLICT (agent_id, year, week_number) DO UPDATE
        SET archive_id = excluded.archive_id, game_mode_slug = excluded.game_mode_slug,
            pixels_placed = excluded.pixels_placed, overall_rank = excluded.overall_rank,
            agent_rank = excluded.agent_rank, largest_territory = excluded.largest_territory,
            objectives_completed = excluded.objectives_completed;

    UPDATE weeks SET closed_at = v_now, archive_id = v_archive WHERE id = v_week.id;
    INSERT INTO weeks (week_number, year, started_at, resets_at, game_mode_id)
    VALUES (extract(week FROM v_now AT TIME ZONE 'UTC')::integer,
            extract(isoyear FROM v_now AT TIME ZONE 'UTC')::integer,
            v_now, places_next_reset(v_now), v_mode.id);

    DELETE FROM canvas_cells;
    DELETE FROM territory_snapshot;
    RETURN v_archive;
END $$;

-- Hourly: the three live leaderboards into stats_snapshots. rows = leaderboard rows saved.
CREATE FUNCTION snapshot_stats() RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    v_week  uuid;
    v_lb    jsonb;
BEGIN
    SELECT id INTO v_week FROM weeks WHERE closed_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'snapshot_stats: no open week' USING ERRCODE = '55000';
    END IF;
    SELECT jsonb_build_object(
        'users', (SELECT coalesce(jsonb_agg(to_jsonb(v) ORDER BY v.rank, v.username, v.user_id), '[]')
                  FROM v_current_week_leaderboard_users v),
        'agents', (SELECT coalesce(jsonb_agg(to_jsonb(v) ORDER BY v.rank, v.agent_name, v.agent_id), '[]')
                   FROM v_current_week_leaderboard v),
        'factions', (SELECT coalesce(jsonb_agg(to_jsonb(v) ORDER BY v.rank, v.faction_id), '[]')
                     FROM v_current_week_leaderboard_factions v))
    INTO v_lb;
    INSERT INTO stats_snapshots (week_id, leaderboards) VALUES (v_week, v_lb);
    RETURN json_build_object('week_id', v_week,
                             'rows', jsonb_array_length(v_lb -> 'users') + jsonb_array_length(v_lb -> 'agents')
                                     + jsonb_array_length(v_lb -> 'factions'));
END $$;

-- Maintenance: recompute one agent's agent_weekly_stats row for ISO week (p_week, p_year) from
-- pixel_placements. The week is the latest archived week with that label in which the agent placed
-- pixels, else the open week if it has that label and the agent placed in it (the same week the
-- reset wrote the row from, when forced resets gave several weeks one label). The agent's
-- week_placer_stats row is repaired from the placements first, and the ranks are taken among that
-- week's placers. largest_territory comes from the archived agents leaderboard (archived week) or
-- territory_snapshot (open week). true: a row was written; false: the agent placed nothing in any
-- week with that label (a stale row is removed).
CREATE FUNCTION update_agent_stats(p_agent uuid, p_week integer, p_year integer) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_week     weeks;
    v_slug     text;
    v_n        integer;
    v_last     timestamptz;
    v_overall  integer;
    v_rank     integer;
    v_terr     integer;
    v_max      integer;
BEGIN
    PERFORM 1 FROM agents WHERE id = p_agent;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'agent % not found', p_agent USING ERRCODE = 'GHNFD';
    END IF;
    SELECT w.* INTO v_week FROM weeks w
    WHERE w.week_number = p_week AND w.year = p_year
      AND EXISTS (SELECT 1 FROM pixel_placements p WHERE p.week_id = w.id AND p.agent_id = p_agent)
    ORDER BY w.closed_at IS NULL, w.started_at DESC
    LIMIT 1;
    IF NOT FOUND THEN
        DELETE FROM week_placer_stats s USING weeks w
        WHERE s.week_id = w.id AND w.week_number = p_week AND w.year = p_year
          AND s.placer_type = 'agent' AND s.placer_id = p_agent;
        DELETE FROM agent_weekly_stats WHERE agent_id = p_agent AND year = p_year AND week_number = p_week;
        RETURN false;
    END IF;

    SELECT count(*), max(placed_at) INTO v_n, v_last
    FROM pixel_placements WHERE week_id = v_week.id AND agent_id = p_agent;
    INSERT INTO week_placer_stats AS s (week_id, placer_type, placer_id, pixels_placed, last_pixel_at)
    VALUES (v_week.id, 'agent', p_agent, v_n, v_last)
    ON CONFLICT (week_id, placer_type, placer_id) DO UPDATE
        SET pixels_placed = excluded.pixels_placed, last_pixel_at = excluded.last_pixel_at;

    -- rank() as a count: 1 + the placers with more pixels.
    SELECT 1 + count(*) FILTER (WHERE pixels_placed > v_n),
           1 + count(*) FILTER (WHERE placer_type = 'agent' AND pixels_placed > v_n)
    INTO v_overall, v_rank
    FROM week_placer_stats WHERE week_id = v_week.id;

    IF v_week.closed_at IS NULL THEN
        SELECT coalesce((SELECT largest_territory FROM territory_snapshot
                         WHERE placer_type = 'agent' AND placer_id = p_agent), 0),
               coalesce((SELECT max(largest_territory) FROM territory_snapshot WHERE placer_type = 'agent'), 0)
        INTO v_terr, v_max;
    ELSE
        -- The archived agents leaderboard holds every agent's territory at the reset.
        SELECT coalesce(max((e ->> 'largest_territory')::integer) FILTER (WHERE e ->> 'agent_id' = p_agent::text), 0),
               coalesce(max((e ->> 'largest_territory')::integer), 0)
        INTO v_terr, v_max
        FROM archived_leaderboards l, jsonb_array_elements(l.rankings) e
        WHERE l.archive_id = v_week.archive_id AND l.type = 'agents';
    END IF;
    SELECT slug INTO v_slug FROM game_modes WHERE id = v_week.game_mode_id;

    INSERT INTO agent_weekly_stats AS s (agent_id, year, week_number, archive_id, game_mode_slug, pixels_placed,
                                         overall_rank, agent_rank, largest_territory, objectives_completed)
    VALUES (p_agent, p_year, p_week, v_week.archive_id, v_slug, v_n, v_overall, v_rank, v_terr,
            array_remove(ARRAY[
                CASE WHEN v_rank = 1 THEN 'top_placer' END,
                CASE WHEN v_terr > 0 AND v_terr >= v_max THEN 'territory_king' END,
                CASE WHEN v_n >= 100 THEN 'hundred_club' END], NULL))
    ON CONFLICT (agent_id, year, week_number) DO UPDATE
        SET archive_id = excluded.archive_id, game_mode_slug = excluded.game_mode_slug,
            pixels_placed = excluded.pixels_placed, overall_rank = excluded.overall_rank,
            agent_rank = excluded.agent_rank, largest_territory = excluded.largest_territory,
            objectives_completed = excluded.objectives_completed;
    RETURN true;
END $$;
