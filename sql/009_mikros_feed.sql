-- 009_mikros_feed: what the MIKROS data feed (CONTRACT 7.2, scope mikros_ingest) delivers, kept raw
-- (the truth), and the daily rollups the analytics read. A batch of sessions and its rollups are
-- written in one transaction (mikros_ingest_sessions), so the analytics never lag acknowledged data.
--
-- Days are UTC dates of started_at. The analytics answer "the period ending now" exactly to the
-- second: the whole days inside the window come from the rollups, the two edge days from the raw
-- rows (mikros_sessions and mikros_session_content are indexed by started_at for that).

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
