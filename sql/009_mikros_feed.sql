-- 009_mikros_feed: what the MIKROS data feed (CONTRACT 7.2, scope mikros_ingest) delivers, kept raw
-- (the truth), and the daily rollups the analytics read. A batch of sessions and its rollups are
-- written in one transaction (mikros_ingest_sessions), so the analytics never lag acknowledged data.
--
-- Days are UTC dates of started_at. The analytics answer "the period ending now" exactly to the
-- second: the whole days inside the window come from the rollups, the two edge days from the raw
-- rows (mikros_sessions and mikros_session_content are indexed by started_at for that).

-- Every mikros timestamp out: ISO-8601 UTC, whole seconds (CONTRACT 4).
CREATE FUNCTION mikros_ts(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

CREATE TABLE mikros_apps (
    app_id         text PRIMARY KEY CHECK (length(app_id) BETWEEN 1 AND 128),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    genre          text NOT NULL CHECK (length(genre) BETWEEN 1 AND 100),
    content_genre  text NOT NULL CHECK (length(content_genre) BETWEEN 1 AND 100),
    gameplay_type  text NOT NULL CHECK (length(gameplay_type) BETWEEN 1 AND 100),
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- One row per ingested session: the truth every figure can be recomputed from.
CREATE TABLE mikros_sessions (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id            text NOT NULL REFERENCES mikros_apps,
    user_id           text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 128),
    started_at        timestamptz NOT NULL,
    duration_seconds  integer NOT NULL CHECK (duration_seconds >= 0),
    ingested_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mikros_sessions_started ON mikros_sessions (started_at);

-- The content a session played (levels, bosses, …), one row per (session, content).
CREATE TABLE mikros_contents (
    app_id        text NOT NULL REFERENCES mikros_apps,
    content_id    text NOT NULL CHECK (length(content_id) BETWEEN 1 AND 128),
    content_name  text NOT NULL CHECK (length(content_name) BETWEEN 1 AND 200),
    content_type  text NOT NULL CHECK (content_type IN ('level', 'boss', 'character', 'item', 'campaign', 'other')),
    PRIMARY KEY (app_id, content_id)
);
CREATE TABLE mikros_session_content (
    session_id        bigint NOT NULL REFERENCES mikros_sessions ON DELETE CASCADE,
    app_id            text NOT NULL,
    content_id        text NOT NULL,
    user_id           text NOT NULL,
    started_at        timestamptz NOT NULL,
    playtime_seconds  integer NOT NULL CHECK (playtime_seconds >= 0),
    PRIMARY KEY (session_id, content_id),
    FOREIGN KEY (app_id, content_id) REFERENCES mikros_contents
);
CREATE INDEX mikros_session_content_started ON mikros_session_content (started_at);

-- Rollups, maintained by mikros_ingest_sessions in the batch's transaction.
-- Per day, app and player: what the distinct-player figures and the (app, player) averages read.
CREATE TABLE mikros_daily_app_users (
    day       date NOT NULL,
    app_id    text NOT NULL REFERENCES mikros_apps,
    user_id   text NOT NULL,
    sessions  integer NOT NULL,
    seconds   bigint NOT NULL,
    PRIMARY KEY (day, app_id, user_id)
);
-- Per day and content: playtime and plays; per day, content and player: its distinct players.
CREATE TABLE mikros_daily_content (
    day               date NOT NULL,
    app_id            text NOT NULL,
    content_id        text NOT NULL,
    plays             integer NOT NULL,
    playtime_seconds  bigint NOT NULL,
    PRIMARY KEY (day, app_id, content_id),
    FOREIGN KEY (app_id, content_id) REFERENCES mikros_contents
);
CREATE TABLE mikros_daily_content_users (
    day         date NOT NULL,
    app_id      text NOT NULL,
    content_id  text NOT NULL,
    user_id     text NOT NULL,
    PRIMARY KEY (day, app_id, content_id, user_id)
);
-- Every player ever seen: first and last session start (total-users and its 30/7-day actives).
CREATE TABLE mikros_users (
    user_id     text PRIMARY KEY,
    first_seen  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL
);
CREATE INDEX mikros_users_last_seen ON mikros_users (last_seen);

-- Contributors signed up to the MIKROS ecosystem: one role each (CONTRACT 7.2).
CREATE TABLE mikros_contributors (
    user_id     text PRIMARY KEY CHECK (length(user_id) BETWEEN 1 AND 128),
    role        text NOT NULL CHECK (role IN ('developer', 'tester', 'player')),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Ingestion: one call per batch (POST /api/gamestats/sessions), so 10,000 sessions cost one round
-- trip and a handful of set-based statements, not 10,000 INSERTs. The caller has validated every
-- field's type and bounds; batch is a JSON array of
--   {"app_id", "user_id", "started_at" (timestamptz text), "duration_seconds",
--    "content": [{"content_id", "content_name", "content_type", "playtime_seconds"}] (optional)}
-- A content_id appears at most once per session (the caller refuses duplicates).
-- Returns (accepted, unknown_app): when an app_id of the batch is not in mikros_apps nothing is
-- written and unknown_app names the first such app (in batch order), so the caller answers 400 with
-- it; otherwise accepted is the number of sessions written. Everything runs in the caller's
-- transaction: the raw rows and the rollups commit or roll back together.
-- Rollup keys are written in key order so that concurrent batches lock shared rows in the same
-- order (fewer deadlocks).
CREATE FUNCTION mikros_ingest_sessions(batch jsonb, OUT accepted integer, OUT unknown_app text)
LANGUAGE plpgsql AS $$
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

    -- One statement: the session ids are drawn first (nextval) so the content rows can point at
    -- them; the foreign keys are checked at the end of the statement, when every CTE has run.
    WITH src AS MATERIALIZED (
        SELECT nextval(pg_get_serial_sequence('mikros_sessions', 'id')) AS id,
               s.app_id, s.user_id, s.started_at, s.duration_seconds, s.content,
               (s.started_at AT TIME ZONE 'UTC')::date AS day
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
        -- the newest name and type the feed gave a content win
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
    ), app_users AS (
        INSERT INTO mikros_daily_app_users AS t (day, app_id, user_id, sessions, seconds)
        SELECT day, app_id, user_id, count(*), sum(duration_seconds)
          FROM src GROUP BY day, app_id, user_id ORDER BY day, app_id, user_id
        ON CONFLICT (day, app_id, user_id) DO UPDATE
           SET sessions = t.sessions + EXCLUDED.sessions, seconds = t.seconds + EXCLUDED.seconds
    ), daily_content AS (
        INSERT INTO mikros_daily_content AS t (day, app_id, content_id, plays, playtime_seconds)
        SELECT day, app_id, content_id, count(*), sum(playtime_seconds)
          FROM plays GROUP BY day, app_id, content_id ORDER BY day, app_id, content_id
        ON CONFLICT (day, app_id, content_id) DO UPDATE
           SET plays = t.plays + EXCLUDED.plays,
               playtime_seconds = t.playtime_seconds + EXCLUDED.playtime_seconds
    ), content_users AS (
        INSERT INTO mikros_daily_content_users (day, app_id, content_id, user_id)
        SELECT DISTINCT day, app_id, content_id, user_id
          FROM plays ORDER BY day, app_id, content_id, user_id
        ON CONFLICT DO NOTHING
    ), users AS (
        INSERT INTO mikros_users AS t (user_id, first_seen, last_seen)
        SELECT user_id, min(started_at), max(started_at)
          FROM src GROUP BY user_id ORDER BY user_id
        ON CONFLICT (user_id) DO UPDATE
           SET first_seen = least(t.first_seen, EXCLUDED.first_seen),
               last_seen = greatest(t.last_seen, EXCLUDED.last_seen)
         WHERE EXCLUDED.first_seen < t.first_seen OR EXCLUDED.last_seen > t.last_seen
    )
    SELECT count(*) INTO accepted FROM src;
END
$$;

-- Contributors (POST /api/gamestats/contributors): one role each, the last one given wins (within
-- a batch too). batch is a JSON array of {"user_id", "role"}; returns how many entries it took.
CREATE FUNCTION mikros_upsert_contributors(batch jsonb) RETURNS integer
LANGUAGE sql AS $$
    WITH src AS (
        SELECT c.user_id, c.role, c.ord
          FROM ROWS FROM (jsonb_to_recordset(batch) AS (user_id text, role text)) WITH ORDINALITY AS c(user_id, role, ord)
    ), upsert AS (
        INSERT INTO mikros_contributors AS t (user_id, role, updated_at)
        SELECT DISTINCT ON (user_id) user_id, role, now() FROM src ORDER BY user_id, ord DESC
        ON CONFLICT (user_id) DO UPDATE SET role = EXCLUDED.role, updated_at = EXCLUDED.updated_at
    )
    SELECT count(*)::integer FROM src;
$$;
