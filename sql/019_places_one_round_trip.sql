-- 019_places_one_round_trip: POST /api/canvas/pixels in one statement, one round trip.
-- The mode's rules (palette, factions), the placer's existence and the canvas bounds used to be a
-- query of their own before place_pixel; place_pixel_checked checks them in the same call, in the
-- same order, raising a code of ours that the handler (src/api/places/pixels.c) turns into the same
-- answers, then places with place_pixel (budget and cooldown). It takes the reset's shared lock
-- first, so the rules it checks are those of the week place_pixel places in.
--   GHNOW  no open week                     GHPLR  the key's user or agent does not exist
--   GHXYB  x or y off the canvas (DETAIL "<x|y> <largest allowed>")
--   GHPAL  colour not in the mode's palette GHFAC  the mode needs a faction, the placer has none
--   GHFCL  not the faction's colour (DETAIL: the faction's colour)
CREATE FUNCTION place_pixel_checked(p_user uuid, p_agent uuid, p_x bigint, p_y bigint, p_color integer,
                                    OUT placed_at timestamptz, OUT next_placement_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    v_rules          jsonb;
    v_width          integer;
    v_height         integer;
    v_found          boolean;
    v_faction_color  integer;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(1886151011, 1);
    SELECT m.rules, s.width, s.height INTO v_rules, v_width, v_height
      FROM weeks w JOIN game_modes m ON m.id = w.game_mode_id, places_settings s
     WHERE w.closed_at IS NULL AND s.id = 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no open week' USING ERRCODE = 'GHNOW';
    END IF;
    IF p_user IS NOT NULL THEN
        SELECT true, f.color INTO v_found, v_faction_color
          FROM places_users p LEFT JOIN factions f ON f.id = p.faction_id WHERE p.id = p_user;
    ELSE
        SELECT true, f.color INTO v_found, v_faction_color
          FROM agents p LEFT JOIN factions f ON f.id = p.faction_id WHERE p.id = p_agent;
    END IF;
    IF v_found IS NULL THEN
        RAISE EXCEPTION 'the placer does not exist' USING ERRCODE = 'GHPLR';
    END IF;
    IF p_x < 0 OR p_x >= v_width THEN
        RAISE EXCEPTION 'x off the canvas' USING ERRCODE = 'GHXYB', DETAIL = 'x ' || (v_width - 1);
    END IF;
    IF p_y < 0 OR p_y >= v_height THEN
        RAISE EXCEPTION 'y off the canvas' USING ERRCODE = 'GHXYB', DETAIL = 'y ' || (v_height - 1);
    END IF;
    IF jsonb_typeof(v_rules -> 'palette') = 'array' AND NOT (v_rules -> 'palette') @> to_jsonb(p_color) THEN
        RAISE EXCEPTION 'colour not in the palette' USING ERRCODE = 'GHPAL';
    END IF;
    IF v_rules -> 'factions' = 'true'::jsonb THEN
        IF v_faction_color IS NULL THEN
            RAISE EXCEPTION 'the mode needs a faction' USING ERRCODE = 'GHFAC';
        END IF;
        IF v_faction_color <> p_color THEN
            RAISE EXCEPTION 'not the faction''s colour' USING ERRCODE = 'GHFCL', DETAIL = v_faction_color::text;
        END IF;
    END IF;
    SELECT p.placed_at, p.next_placement_at INTO placed_at, next_placement_at
      FROM place_pixel(p_user, p_agent, p_x::integer, p_y::integer, p_color) p;
END $$;
