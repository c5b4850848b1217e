-- 010_mikros_rpg: RPG progression for the MIKROS bot (spec 000 §19–22, CONTRACT 7.2). A character is
-- unique per (discord_id, server_id): saving again updates it and keeps created_at. Actions are kept
-- with their xp_gained for analytics; they do not change the character (the bot saves its xp itself).

CREATE TABLE mikros_rpg_characters (
    id                uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
    discord_id        text NOT NULL CHECK (discord_id ~ '^[0-9]{15,21}$'),
    server_id         text NOT NULL CHECK (server_id ~ '^[0-9]{15,21}$'),
    character_name    text NOT NULL CHECK (length(character_name) BETWEEN 1 AND 64),
    character_class   text NOT NULL CHECK (length(character_class) BETWEEN 1 AND 32),
    level             integer NOT NULL CHECK (level >= 1),
    xp                bigint NOT NULL CHECK (xp >= 0),
    stats             jsonb NOT NULL DEFAULT '{}',
    inventory         jsonb NOT NULL DEFAULT '[]',
    last_action_time  timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (discord_id, server_id)
);
CREATE INDEX mikros_rpg_by_level ON mikros_rpg_characters (server_id, level DESC, xp DESC);
CREATE INDEX mikros_rpg_by_xp ON mikros_rpg_characters (server_id, xp DESC);
CREATE INDEX mikros_rpg_latest ON mikros_rpg_characters (discord_id, updated_at DESC);

CREATE TABLE mikros_rpg_actions (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    discord_id           text NOT NULL,
    server_id            text NOT NULL,
    action_type          text NOT NULL,
    character_level      integer NOT NULL,
    xp_gained            integer NOT NULL,
    outcome              text NOT NULL,
    narrative_encounter  text,
    happened_at          timestamptz NOT NULL,
    logged_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mikros_rpg_actions_server ON mikros_rpg_actions (server_id, happened_at);

CREATE FUNCTION mikros_rpg_character_json(c mikros_rpg_characters) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object('discord_id', c.discord_id, 'server_id', c.server_id,
                             'character_name', c.character_name, 'character_class', c.character_class,
                             'level', c.level, 'xp', c.xp, 'stats', c.stats, 'inventory', c.inventory,
                             'last_action_time', mikros_ts(c.last_action_time),
                             'created_at', mikros_ts(c.created_at), 'updated_at', mikros_ts(c.updated_at))
$$;

-- The leaderboard of one server (or every server, server NULL): the top lim by sort_by — level
-- (then xp) or xp, highest first, or created_at, oldest first — ranked with rank() (ties share a
-- rank), total_players in scope, and with me (a discord_id) that player's own best row and rank
-- even outside the top (null when the player has no character in scope).
CREATE FUNCTION mikros_rpg_leaderboard_json(server text, lim integer, sort_by text, me text)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    WITH ranked AS (
        SELECT c.*, CASE sort_by
                    WHEN 'xp' THEN rank() OVER (ORDER BY c.xp DESC)
                    WHEN 'created_at' THEN rank() OVER (ORDER BY c.created_at)
                    ELSE rank() OVER (ORDER BY c.level DESC, c.xp DESC) END AS rk
          FROM mikros_rpg_characters c
         WHERE server IS NULL OR c.server_id = server
    ), rows AS (
        SELECT json_build_object('rank', rk, 'discord_id', discord_id, 'character_name', character_name,
                                 'character_class', character_class, 'level', level, 'xp', xp,
                                 'server_id', server_id) AS j, rk, discord_id, server_id
          FROM ranked
    )
    SELECT jsonb_build_object(
        'success', true,
        'data', (SELECT COALESCE(json_agg(t.j ORDER BY t.rk, t.discord_id, t.server_id), '[]')
                   FROM (SELECT * FROM rows ORDER BY rk, discord_id, server_id LIMIT lim) t),
        'total_players', (SELECT count(DISTINCT discord_id) FROM ranked),
        'me', (SELECT j FROM rows WHERE me IS NOT NULL AND discord_id = me ORDER BY rk LIMIT 1),
        'timestamp', mikros_ts(now())) - CASE WHEN me IS NULL THEN 'me' ELSE '' END
$$;
