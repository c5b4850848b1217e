-- 017_roblox: the Roblox family's games, their keys and tokens, and display objects (spec 004,
-- CONTRACT 7.4). A game key is `RBXG-` + 48 hex characters, kept as its BLAKE2b-256 hash. Rotating
-- revokes the old key (revoked_at now, or the end of a grace period) and so every token issued with
-- it: a key works while revoked_at is NULL or ahead, a token while it has not expired and its key works.

CREATE TABLE roblox_games (
    id          text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    thumbnail   text CHECK (length(thumbnail) <= 2048),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE roblox_game_keys (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    game_id       text NOT NULL REFERENCES roblox_games ON DELETE CASCADE,
    key_hash      bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz,
    last_used_at  timestamptz
);
CREATE INDEX roblox_game_keys_game ON roblox_game_keys (game_id, created_at DESC);

CREATE TABLE roblox_tokens (
    token_hash  bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    key_id      uuid NOT NULL REFERENCES roblox_game_keys ON DELETE CASCADE,
    game_id     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX roblox_tokens_expiry ON roblox_tokens (expires_at);

CREATE TABLE roblox_displays (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    game_id     text NOT NULL REFERENCES roblox_games ON DELETE CASCADE,
    asset_id    text NOT NULL CHECK (length(asset_id) BETWEEN 1 AND 128),
    asset_type  text NOT NULL CHECK (asset_type IN ('image', 'video')),
    x           double precision NOT NULL DEFAULT 0,
    y           double precision NOT NULL DEFAULT 0,
    z           double precision NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX roblox_displays_game ON roblox_displays (game_id, created_at);

CREATE FUNCTION roblox_display_json(d roblox_displays) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('display_id', d.id, 'asset_id', d.asset_id, 'asset_type', d.asset_type,
                              'position', jsonb_build_object('x', d.x, 'y', d.y, 'z', d.z))
$$;

-- Registers a game (guildhall-admin games add and POST /api/v1/games): an id is made when none is given.
CREATE FUNCTION roblox_add_game(given_id text, game_name text, thumb text) RETURNS roblox_games
LANGUAGE sql AS $$
    INSERT INTO roblox_games (id, name, thumbnail)
    VALUES (coalesce(given_id, 'game_' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 12)), game_name, thumb)
    ON CONFLICT (id) DO NOTHING
    RETURNING *
$$;

-- Game ads (spec 004's "Game Ads API"): names unique case-insensitively; performance is the sum of
-- the events games report, added in place (UPDATE … SET n = n + k: concurrent reports never lose one);
-- a report's event_id is kept per ad so that a resent batch counts once.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE roblox_ads (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    template_type  text NOT NULL CHECK (length(template_type) BETWEEN 1 AND 100),
    game_id        text NOT NULL REFERENCES roblox_games ON DELETE CASCADE,
    status         text NOT NULL DEFAULT 'active' CHECK (length(status) BETWEEN 1 AND 50),
    schedule       jsonb,
    targeting      jsonb,
    metrics        jsonb,
    assets         jsonb NOT NULL CHECK (jsonb_typeof(assets) = 'array' AND jsonb_array_length(assets) >= 1),
    impressions    bigint NOT NULL DEFAULT 0,
    clicks         bigint NOT NULL DEFAULT 0,
    conversions    bigint NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE UNIQUE INDEX roblox_ads_name ON roblox_ads (lower(name));
CREATE INDEX roblox_ads_newest ON roblox_ads (created_at DESC, id DESC);
CREATE INDEX roblox_ads_game ON roblox_ads (game_id, created_at DESC, id DESC);
CREATE INDEX roblox_ads_search ON roblox_ads USING gin (lower(name) gin_trgm_ops);

CREATE TABLE roblox_ad_events (
    ad_id        uuid NOT NULL REFERENCES roblox_ads ON DELETE CASCADE,
    event_id     text NOT NULL CHECK (length(event_id) BETWEEN 1 AND 128),
    reported_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ad_id, event_id)
);

CREATE FUNCTION roblox_ts(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

CREATE FUNCTION roblox_ad_json(a roblox_ads) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', a.id, 'name', a.name, 'templateType', a.template_type, 'gameId', a.game_id, 'status', a.status,
        'schedule', a.schedule, 'targeting', a.targeting, 'metrics', a.metrics, 'assets', a.assets,
        'createdAt', roblox_ts(a.created_at), 'updatedAt', roblox_ts(a.updated_at),
        'game', (SELECT jsonb_build_object('id', g.id, 'name', g.name, 'thumbnail', g.thumbnail)
                   FROM roblox_games g WHERE g.id = a.game_id),
        'performance', jsonb_build_object('impressions', a.impressions, 'clicks', a.clicks,
                                          'conversions', a.conversions))
$$;

-- A search term as a LIKE pattern matching it anywhere: %, _ and \ stand for themselves.
CREATE FUNCTION roblox_contains(term text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT '%' || replace(replace(replace(lower(term), '\', '\\'), '%', '\%'), '_', '\_') || '%'
$$;

-- PUT: the ad replaced in place (gameId stays). NULL: no such ad (in the caller's game, when one is
-- given); SQLSTATE GHNAM: another ad has the name.
CREATE FUNCTION roblox_replace_ad(ad uuid, caller_game text, new_name text, new_template text, new_status text,
                                  new_schedule jsonb, new_targeting jsonb, new_metrics jsonb, new_assets jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    row roblox_ads;
BEGIN
    UPDATE roblox_ads SET name = new_name, template_type = new_template, status = new_status,
           schedule = new_schedule, targeting = new_targeting, metrics = new_metrics, assets = new_assets,
           updated_at = clock_timestamp()
     WHERE id = ad AND (caller_game IS NULL OR game_id = caller_game)
    RETURNING * INTO row;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    RETURN roblox_ad_json(row);
EXCEPTION WHEN unique_violation THEN
    RAISE SQLSTATE 'GHNAM' USING MESSAGE = 'A game ad with this name already exists';
END
$$;
