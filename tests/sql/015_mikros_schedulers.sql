-- The scheduling sync's SQL (sql/015_mikros_schedulers.sql, sql/016_idempotency.sql): one job per
-- (kind, server) that a second sync updates in place; a disabled job has no next run; the monthly
-- figures count the previous calendar month (UTC) only; stored idempotent answers are 2xx or 4xx.
BEGIN;
SELECT plan(9);

SELECT lives_ok($$SELECT mikros_sync_job('900000000000000001', 'promotion_check', true, 'interval',
                                         '{"hours": 1, "minutes": 0}', 4102444800)$$, 'a first sync makes the job');
SELECT is((SELECT count(*) FROM scheduler_jobs WHERE bot_type = 'mikros' AND bot_config->>'server_id' = '900000000000000001'),
          1::bigint, 'one job');
SELECT is(mikros_sync_job('900000000000000001', 'promotion_check', false, 'interval', '{"hours": 2, "minutes": 0}', 4102444800),
          (SELECT id FROM scheduler_jobs WHERE bot_type = 'mikros' AND bot_config->>'server_id' = '900000000000000001'),
          'a second sync answers the same job');
SELECT results_eq($$SELECT enabled, schedule_config, next_run_at FROM scheduler_jobs
                    WHERE bot_type = 'mikros' AND bot_config->>'server_id' = '900000000000000001'$$,
                  $$VALUES (false, '{"hours": 2, "minutes": 0}'::jsonb, NULL::timestamptz)$$,
                  'updated in place; disabled, it has no next run');
SELECT is((SELECT job_kind FROM scheduler_jobs WHERE bot_config->>'server_id' = '900000000000000001'),
          'mikros.promotion_check', 'the job kind is the scheduler type');

-- the previous month's edges: its first second counts, the first second of this month does not
INSERT INTO mikros_rpg_actions (discord_id, server_id, action_type, character_level, xp_gained, outcome, happened_at)
SELECT '800000000000000001', '900000000000000002', 'quest', 1, x, 'victory', t
  FROM (VALUES (5, (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month') AT TIME ZONE 'UTC'),
               (7, date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '1 microsecond'),
               (100, date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'),
               (1000, (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month') AT TIME ZONE 'UTC'
                      - interval '1 microsecond')) v(x, t);
SELECT is((mikros_monthly_figures('900000000000000002')->>'xp_gained')::int, 12, 'only the previous month counts');
SELECT is(mikros_monthly_figures('900000000000000002')->>'month',
          to_char(date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month', 'YYYY-MM'), 'named by its month');

SELECT throws_ok($$INSERT INTO idempotency_keys (scope, key, fingerprint, status, content_type, body)
                   VALUES ('mikros:x', 'k', 'f', 503, 'application/json', '{}')$$, '23514', NULL,
                 'a 5xx answer is never stored');
SELECT throws_ok($$INSERT INTO idempotency_keys (scope, key, fingerprint, status, content_type, body)
                   VALUES ('mikros:x', 'k', 'f', 429, 'application/json', '{}')$$, '23514', NULL,
                 'nor a 429');

SELECT * FROM finish();
ROLLBACK;
