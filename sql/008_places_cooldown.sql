-- 008_places_cooldown: the placer's cooldown (CONTRACT 7.1) lives in PostgreSQL, inside place_pixel.
-- It was a memcached key whose TTL was whole seconds (a placement up to a second early got in) and
-- which vanished with memcached (no cooldown at all). A game rule is not a rate limit: it must hold
-- to the millisecond the answer announces and never fail open.
--
-- SQLSTATE raised here, mapped by the C side:
--   GHCDN  the placer's cooldown is running (place_pixel). DETAIL is two words: the instant the next
--          placement is allowed (places_ts, whole seconds, rounded up) and the whole seconds until
--          then, rounded up (Retry-After), e.g. '2026-01-31T12:00:30Z 3'.
--
-- next_placement_at is the first whole second at which a placement is allowed (placed_at plus the
-- mode's cooldown_ms, rounded up to the second: the API writes whole seconds), and that is exactly
-- the instant stored: a placement before it is refused, one at or after it is allowed. A mode whose
-- cooldown_ms is 0 has no cooldown: nothing is checked or stored (bench/places relies on it).

-- One row per placer that has placed under a cooldown; the instant survives the weekly reset.
CREATE TABLE placer_cooldowns (
    placer_type        text NOT NULL CHECK (placer_type IN ('user', 'agent')),
    placer_id          uuid NOT NULL,
    next_placement_at  timestamptz NOT NULL,
    PRIMARY KEY (placer_type, placer_id)
);

-- t rounded up to the whole second (t itself when it is one).
CREATE FUNCTION places_ceil_second(t timestamptz) RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$
    SELECT to_timestamp(ceil(extract(epoch FROM t)))
$$;

-- 006's function with the cooldown; the return type changes (placed_at and next_placement_at), so it
-- is dropped and created anew.
DROP FUNCTION place_pixel(uuid, uuid, integer, integer, integer);
CREATE FUNCTION place_pixel(p_user uuid, p_agent uuid, p_x integer, p_y integer, p_color integer,
                            OUT placed_at timestamptz, OUT next_placement_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    v_at        timestamptz;
    v_next      timestamptz;
    v_until     timestamptz;
    v_week      uuid;
    v_budget    integer;
    v_cooldown  bigint;
    v_width     integer;
    v_height    integer;
    v_type      text := CASE WHEN p_user IS NULL THEN 'agent' ELSE 'user' END;
    v_n         integer;
BEGIN
    IF (p_user IS NULL) = (p_agent IS NULL) THEN
        RAISE EXCEPTION 'place_pixel: exactly one of p_user and p_agent must be given' USING ERRCODE = '22023';
    END IF;
    IF p_color IS NULL OR p_color NOT BETWEEN 0 AND 15 THEN
        RAISE EXCEPTION 'place_pixel: color must be 0-15' USING ERRCODE = '22023';
    END IF;
    -- Waits while a reset is running; the reset waits for placements in flight (see 003's top).
    PERFORM pg_advisory_xact_lock_shared(1886151011, 1);
    SELECT w.id, CASE WHEN v_type = 'agent' THEN (m.rules ->> 'pixel_budget')::integer END,
           greatest(0, coalesce((m.rules ->> 'cooldown_ms')::bigint, s.base_cooldown_ms)), s.width, s.height
      INTO v_week, v_budget, v_cooldown, v_width, v_height
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
    -- cannot both take its last pixel. It comes before the cooldown: a mode's rules are checked
    -- first (CONTRACT 7.1), and a refusal below rolls the increment back.
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

    -- The cooldown is checked and advanced in one upsert: the placer's row stays locked until this
    -- transaction ends, so of two concurrent placements by one placer the second waits, then sees the
    -- advanced instant and is refused. Refused, the upsert changes nothing but still locks the row.
    v_next := v_at;
    IF v_cooldown > 0 THEN
        v_next := places_ceil_second(v_at + v_cooldown * interval '1 millisecond');
        INSERT INTO placer_cooldowns AS c (placer_type, placer_id, next_placement_at)
        VALUES (v_type, coalesce(p_user, p_agent), v_next)
        ON CONFLICT (placer_type, placer_id) DO UPDATE
            SET next_placement_at = excluded.next_placement_at
            WHERE c.next_placement_at <= v_at;
        IF NOT FOUND THEN
            SELECT c.next_placement_at INTO v_until
              FROM placer_cooldowns c WHERE c.placer_type = v_type AND c.placer_id = coalesce(p_user, p_agent);
            RAISE EXCEPTION 'place_pixel: the placer''s cooldown runs until %', v_until
                USING ERRCODE = 'GHCDN',
                      DETAIL = places_ts(places_ceil_second(v_until)) || ' '
                               || ceil(extract(epoch FROM v_until - v_at))::bigint;
        END IF;
    END IF;

    INSERT INTO pixel_placements (week_id, user_id, agent_id, x, y, color, placed_at)
    VALUES (v_week, p_user, p_agent, p_x, p_y, p_color, v_at);

    INSERT INTO canvas_cells AS c (cell, color, user_id, agent_id, placed_at)
    VALUES (p_y * v_width + p_x, p_color, p_user, p_agent, v_at)
    ON CONFLICT (cell) DO UPDATE
        SET color = excluded.color, user_id = excluded.user_id, agent_id = excluded.agent_id,
            placed_at = excluded.placed_at;
    placed_at := v_at;
    next_placement_at := v_next;
END $$;
