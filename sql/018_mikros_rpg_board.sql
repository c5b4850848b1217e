-- 018_mikros_rpg_board: the RPG leaderboard without ranking every character. A row's rank() counts
-- only the rows ahead of it in the order, so ranking the top lim rows alone gives their ranks over
-- the whole scope; `me`'s rank is 1 + the rows ahead of the player's best row. Each order has an
-- index per server and a global one, so the top is an index scan, not a sort of 1M characters
-- (010's version ranked them all: over 10 s at 1M, bench/mikros).

CREATE INDEX mikros_rpg_global_level ON mikros_rpg_characters (level DESC, xp DESC);
CREATE INDEX mikros_rpg_global_xp ON mikros_rpg_characters (xp DESC);
CREATE INDEX mikros_rpg_global_created ON mikros_rpg_characters (created_at);
CREATE INDEX mikros_rpg_by_created ON mikros_rpg_characters (server_id, created_at);

CREATE OR REPLACE FUNCTION mikros_rpg_leaderboard_json(server text, lim integer, sort_by text, me text)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    -- the order, its ties' order for the cut, and "ahead of the row r" for `me`
    ord text := CASE sort_by WHEN 'xp' THEN 'c.xp DESC' WHEN 'created_at' THEN 'c.created_at'
                             ELSE 'c.level DESC, c.xp DESC' END;
    ahead text := CASE sort_by WHEN 'xp' THEN 'c.xp > r.xp' WHEN 'created_at' THEN 'c.created_at < r.created_at'
                               ELSE '(c.level, c.xp) > (r.level, r.xp)' END;
    scope text := CASE WHEN server IS NULL THEN 'true' ELSE 'c.server_id = $1' END;
    top jsonb;
    mine jsonb;
    total bigint;
BEGIN
    EXECUTE format('SELECT coalesce(jsonb_agg(jsonb_build_object(''rank'', t.rk, ''discord_id'', t.discord_id, '
                   '''character_name'', t.character_name, ''character_class'', t.character_class, ''level'', t.level, '
                   '''xp'', t.xp, ''server_id'', t.server_id) ORDER BY t.rk, t.discord_id, t.server_id), ''[]'') '
                   'FROM (SELECT c.*, rank() OVER (ORDER BY %1$s) AS rk FROM (SELECT * FROM mikros_rpg_characters c '
                   'WHERE %2$s ORDER BY %1$s, c.discord_id, c.server_id LIMIT $2) c) t', ord, scope)
        INTO top USING server, lim;
    IF server IS NULL THEN
        SELECT count(*) INTO total FROM (SELECT DISTINCT discord_id FROM mikros_rpg_characters) d;
    ELSE
        SELECT count(*) INTO total FROM mikros_rpg_characters WHERE server_id = server;
    END IF;
    IF me IS NOT NULL THEN
        EXECUTE format('SELECT jsonb_build_object(''rank'', 1 + (SELECT count(*) FROM mikros_rpg_characters c '
                       'WHERE %2$s AND %3$s), ''discord_id'', r.discord_id, ''character_name'', r.character_name, '
                       '''character_class'', r.character_class, ''level'', r.level, ''xp'', r.xp, '
                       '''server_id'', r.server_id) FROM (SELECT * FROM mikros_rpg_characters c '
                       'WHERE c.discord_id = $3 AND %2$s ORDER BY %1$s, c.server_id LIMIT 1) r', ord, scope, ahead)
            INTO mine USING server, lim, me;
    END IF;
    RETURN jsonb_build_object('success', true, 'data', top, 'total_players', total, 'me', mine,
                              'timestamp', mikros_ts(now())) - CASE WHEN me IS NULL THEN 'me' ELSE '' END;
END
$$;
