-- Demo data for the ops family: a few Discord guilds and users, tickets, giveaways and audit
-- entries, so /health, /api/stats, /api/logs and /metrics answer something real on first start.
-- Safe to load twice.
INSERT INTO guilds (id, settings)
SELECT (987654321098765000 + g)::text, jsonb_build_object('prefix', '!', 'locale', 'en-US')
FROM generate_series(1, 12) AS g
ON CONFLICT DO NOTHING;

INSERT INTO users (id, global_name)
SELECT (123456789012345000 + u)::text, 'player' || u
FROM generate_series(1, 400) AS u
ON CONFLICT DO NOTHING;

INSERT INTO guild_members (guild_id, user_id, xp, level)
SELECT (987654321098765000 + 1 + u % 12)::text, (123456789012345000 + u)::text, (u * 37) % 5000, ((u * 37) % 5000) / 500
FROM generate_series(1, 400) AS u
ON CONFLICT DO NOTHING;

INSERT INTO tickets (guild_id, channel_id, user_id, status, category, created_at, closed_at)
SELECT (987654321098765000 + 1 + t % 12)::text, (555000000000000000 + t % 30)::text,
       (123456789012345000 + 1 + t % 400)::text, CASE WHEN t % 3 = 0 THEN 'closed' ELSE 'open' END,
       (ARRAY['support', 'report', 'appeal'])[1 + t % 3], now() - t * interval '1 hour',
       CASE WHEN t % 3 = 0 THEN now() - t * interval '30 minutes' END
FROM generate_series(1, 45) AS t
WHERE NOT EXISTS (SELECT 1 FROM tickets);

INSERT INTO giveaways (id, guild_id, channel_id, host_id, title, prize, winner_count, ends_at, status)
SELECT gen_random_uuid(), (987654321098765000 + 1 + g % 12)::text, (556000000000000000 + g)::text,
       (123456789012345000 + g)::text, 'Weekly giveaway #' || g, 'Nitro ' || g, 1 + g % 3,
       now() + (g - 4) * interval '1 day', CASE WHEN g > 4 THEN 'active' ELSE 'ended' END
FROM generate_series(1, 16) AS g
WHERE NOT EXISTS (SELECT 1 FROM giveaways);

INSERT INTO audit_logs (user_id, guild_id, action, category, details, created_at)
SELECT (123456789012345000 + 1 + a % 400)::text, (987654321098765000 + 1 + a % 12)::text,
       'ops.command_executed', 'user_action',
       jsonb_build_object('command', (ARRAY['help', 'giveaway', 'rank', 'ticket', 'play'])[1 + a % 5],
                          'subcommand', (ARRAY['create', 'list', 'show'])[1 + a % 3]),
       (now() AT TIME ZONE 'UTC') - a * interval '7 minutes'
FROM generate_series(1, 600) AS a
WHERE NOT EXISTS (SELECT 1 FROM audit_logs WHERE action = 'ops.command_executed');
