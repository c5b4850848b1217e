-- bench/roblox's ads (psql -v ads=…): 50 games bg_0…bg_49, ads named "Promo NNN #i" (so a search for
-- "promo 123" matches about ads/1000 of them), three in four active, created over 90 days.
\set ON_ERROR_STOP 1
SELECT setseed(0.42);
INSERT INTO roblox_games (id, name) SELECT 'bg_' || i, 'Bench game ' || i FROM generate_series(0, 49) i;
INSERT INTO roblox_ads (name, template_type, game_id, status, assets, created_at, updated_at)
SELECT 'Promo ' || lpad((i % 1000)::text, 3, '0') || ' #' || i, 'billboard', 'bg_' || (i % 50),
       CASE WHEN i % 4 = 0 THEN 'paused' ELSE 'active' END,
       '[{"assetType": "image", "assetId": "a", "robloxAssetId": "rbxassetid://1"}]',
       t, t
  FROM generate_series(1, :ads) i, LATERAL (SELECT now() - interval '90 days' * random() + interval '0' * i AS t) c;
ANALYZE roblox_ads;
