-- 012_mikros_promotions: game promotions the bot posts to Discord servers (spec 000 §14–16, CONTRACT
-- 7.2). Promotions come from the data feed (PUT /api/promotions/{game_id}); a promotion is active
-- while its deadline is in the future (or it has none). A push is kept once per (game, server), so
-- mark-pushed is idempotent. A lead's promo code email is queued in the outbox (kind 'email'), which
-- no sender delivers yet: the answer says it is queued, not sent.

CREATE TABLE mikros_promotions (
    game_id            bigint PRIMARY KEY CHECK (game_id > 0),
    game_name          text NOT NULL,
    description        text NOT NULL,
    promotion_url      text NOT NULL,
    promotion_message  text,
    image_url          text,
    deadline           timestamptz,
    platform           text NOT NULL CHECK (platform IN ('steam', 'itch', 'epic')),
    genre              text NOT NULL,
    release_date       timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE mikros_promotion_pushes (
    game_id          bigint NOT NULL REFERENCES mikros_promotions ON DELETE CASCADE,
    server_id        text NOT NULL,
    channel_id       text NOT NULL,
    pushed_at        timestamptz NOT NULL,
    bot_instance_id  text,
    PRIMARY KEY (game_id, server_id)
);

CREATE TABLE mikros_leads (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    discord_id         text NOT NULL,
    username           text NOT NULL,
    server_id          text NOT NULL,
    campaign_interest  text NOT NULL,
    email              text NOT NULL,
    message_context    text,
    submitted_at       timestamptz NOT NULL,
    promo_code         text NOT NULL UNIQUE CHECK (promo_code ~ '^MIKROS[0-9]{4}-[A-Z0-9]{6}$'),
    created_at         timestamptz NOT NULL DEFAULT now()
);

-- GET /api/promotions/active: ordered by game_id so since_id pages forward; is_pushed for one
-- server, or for any server without one.
CREATE FUNCTION mikros_promotions_active_json(lim integer, since bigint, on_platform text, server text)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT COALESCE(json_agg(json_build_object(
               'game_id', p.game_id, 'game_name', p.game_name, 'description', p.description,
               'promotion_url', p.promotion_url, 'promotion_message', p.promotion_message,
               'image_url', p.image_url, 'deadline', mikros_ts(p.deadline),
               'is_pushed', EXISTS (SELECT 1 FROM mikros_promotion_pushes x
                                     WHERE x.game_id = p.game_id AND (server IS NULL OR x.server_id = server)),
               'platform', p.platform, 'genre', p.genre, 'release_date', mikros_ts(p.release_date))
             ORDER BY p.game_id), '[]')
      FROM (SELECT * FROM mikros_promotions q
             WHERE (q.deadline IS NULL OR q.deadline > now()) AND q.game_id > since
               AND (on_platform = 'all' OR q.platform = on_platform)
             ORDER BY q.game_id LIMIT lim) p
$$;
