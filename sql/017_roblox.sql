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

-- Who a presented game key or token acts for: the game and the key, when both still work. A key's
-- last_used_at is written at most once a minute (a busy game does not rewrite the row per call).
CREATE FUNCTION roblox_key_game(hash bytea, OUT game_id text, OUT key_id uuid) LANGUAGE sql AS $$
    WITH k AS (SELECT id, game_id FROM roblox_game_keys
                WHERE key_hash = hash AND (revoked_at IS NULL OR revoked_at > now())),
    used AS (UPDATE roblox_game_keys u SET last_used_at = now() FROM k
              WHERE u.id = k.id AND (u.last_used_at IS NULL OR u.last_used_at < now() - interval '1 minute'))
    SELECT game_id, id FROM k
$$;
CREATE FUNCTION roblox_token_game(hash bytea, OUT game_id text, OUT key_id uuid) LANGUAGE sql STABLE AS $$
    SELECT t.game_id, t.key_id FROM roblox_tokens t JOIN roblox_game_keys k ON k.id = t.key_id
     WHERE t.token_hash = hash AND t.expires_at > now() AND (k.revoked_at IS NULL OR k.revoked_at > now())
$$;

-- Registers a game (guildhall-admin games add and POST /api/v1/games): an id is made when none is given.
CREATE FUNCTION roblox_add_game(given_id text, game_name text, thumb text) RETURNS roblox_games
LANGUAGE sql AS $$
    INSERT INTO roblox_games (id, name, thumbnail)
    VALUES (coalesce(given_id, 'game_' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 12)), game_name, thumb)
    ON CONFLICT (id) DO NOTHING
    RETURNING *
$$;
