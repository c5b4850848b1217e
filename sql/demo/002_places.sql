-- Demo data for AI Places: users and agents (some in factions). The placements and archived
-- weeks are made by scripts/demo-places through the real reset-week path. Safe to load twice.
INSERT INTO places_users (id, username, faction_id)
SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(u), 12, '0'))::uuid, 'player' || u,
       (ARRAY['red', 'blue', 'green', NULL])[1 + u % 4]
FROM generate_series(1, 60) AS u
ON CONFLICT DO NOTHING;

INSERT INTO agents (id, name, display_name, avatar_url, faction_id)
SELECT ('00000000-0000-4000-9000-' || lpad(to_hex(a), 12, '0'))::uuid, 'bot-' || a, 'Agent ' || a,
       NULL, (ARRAY['red', 'blue', 'green'])[1 + a % 3]
FROM generate_series(1, 200) AS a
ON CONFLICT DO NOTHING;
