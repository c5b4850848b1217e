-- 006_places_budget: the weekly pixel budget (rules.pixel_budget, the `pixel-budget` mode) is per
-- agent (CONTRACT 7.1: "500 pixels per agent per week"; "the budget applies to agents only").
-- 003's place_pixel applied it to users as well; this is the same function with the budget read
-- for agents only. A user's placements are still counted in week_placer_stats.
CREATE OR REPLACE FUNCTION place_pixel(p_user uuid, p_agent uuid, p_x integer, p_y integer, p_color integer)
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
    -- Waits while a reset is running; the reset waits for placements in flight (see 003's top).
    PERFORM pg_advisory_xact_lock_shared(1886151011, 1);
    SELECT w.id, CASE WHEN v_type = 'agent' THEN (m.rules ->> 'pixel_budget')::integer END, s.width, s.height
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

    -- The budget check and the increment are one upsert, so two concurrent placements by one agent
    -- cannot both take its last pixel.
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
