-- The scheduler's history (sql/007_scheduler_runs.sql): the built-in outbox-drain job is gone, and
-- scheduler_prune_runs deletes runs past the retention in bounded batches while every job keeps its
-- newest 200 runs, whatever their age.
BEGIN;
SELECT plan(20);

SELECT is((SELECT count(*) FROM scheduler_jobs WHERE job_kind = 'outbox.drain'), 0::bigint,
          'no built-in outbox-drain job (the outbox process delivers without one)');
SELECT set_eq($$SELECT job_kind FROM scheduler_jobs WHERE bot_type = 'system'$$,
              ARRAY['places.reset_week', 'places.snapshot_stats', 'places.cleanup_archives',
                    'core.idempotency_prune', 'mikros.pair_window'],
              'the built-in jobs: the three places jobs, the idempotency keys'' prune, avg-gameplay-time''s window');
SELECT has_function('scheduler_prune_runs', ARRAY['integer', 'integer', 'integer']);

-- Jobs and their runs, named by what the test expects of them. Ages are from now(), in minutes.
CREATE TEMP TABLE t_jobs (name text PRIMARY KEY, id uuid);
WITH j AS (
    INSERT INTO scheduler_jobs (name, bot_type, enabled, schedule_type, schedule_config)
    SELECT 'prune ' || n, 'birthday', false, 'daily', '{"hour": 8, "minute": 0}'
    FROM unnest(ARRAY['many', 'few', 'exactly200', 'just201', 'ties', 'running', 'young']) n
    RETURNING id, name)
INSERT INTO t_jobs SELECT substr(name, 7), id FROM j;

CREATE FUNCTION pg_temp.add_runs(job text, n integer, age interval, step interval) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO scheduler_runs (job_id, started_at, finished_at, status)
    SELECT (SELECT id FROM t_jobs WHERE name = job), now() - age - g * step, now() - age - g * step, 'success'
    FROM generate_series(1, n) g
$$;
CREATE FUNCTION pg_temp.runs(job text) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM scheduler_runs WHERE job_id = (SELECT id FROM t_jobs WHERE name = job)
$$;

-- many: 230 runs 40 days old and 20 an hour old: the 50 oldest go
SELECT pg_temp.add_runs('many', 230, interval '40 days', interval '1 minute');
SELECT pg_temp.add_runs('many', 20, interval '1 hour', interval '1 minute');
-- few: 10 runs 40 days old: all kept (fewer than 200)
SELECT pg_temp.add_runs('few', 10, interval '40 days', interval '1 minute');
-- exactly200 are kept; of just201 the oldest goes
SELECT pg_temp.add_runs('exactly200', 200, interval '40 days', interval '1 minute');
SELECT pg_temp.add_runs('just201', 201, interval '40 days', interval '1 minute');
-- ties: 202 runs started at the same instant: none is older than the 200th newest, none goes
SELECT pg_temp.add_runs('ties', 202, interval '40 days', interval '0');
-- running: 201 old runs, the oldest still 'running': it is not deleted
SELECT pg_temp.add_runs('running', 201, interval '40 days', interval '1 minute');
UPDATE scheduler_runs SET status = 'running', finished_at = NULL
WHERE id = (SELECT id FROM scheduler_runs WHERE job_id = (SELECT id FROM t_jobs WHERE name = 'running')
            ORDER BY started_at LIMIT 1);
-- young: 300 runs an hour old: younger than the retention, all kept
SELECT pg_temp.add_runs('young', 300, interval '1 hour', interval '1 second');

CREATE TEMP TABLE t_newest AS
SELECT r.id FROM scheduler_runs r JOIN t_jobs t ON t.id = r.job_id AND t.name = 'many'
ORDER BY r.started_at DESC LIMIT 200;

SELECT is(scheduler_prune_runs(30, 200, 10), 10, 'one call deletes at most a batch');
SELECT is(scheduler_prune_runs(30, 200, 1000), 41, 'the next call deletes the rest (50 + 1 in all)');
SELECT is(scheduler_prune_runs(30, 200, 1000), 0, 'then nothing is left to prune');

SELECT is(pg_temp.runs('many'), 200::bigint, 'many: 200 kept');
SELECT set_eq($$SELECT r.id FROM scheduler_runs r JOIN t_jobs t ON t.id = r.job_id AND t.name = 'many'$$,
              $$SELECT id FROM t_newest$$, 'many: the 200 newest are the ones kept');
SELECT is(pg_temp.runs('few'), 10::bigint, 'few: fewer than 200 runs are all kept, however old');
SELECT is(pg_temp.runs('exactly200'), 200::bigint, 'exactly200: all kept');
SELECT is(pg_temp.runs('just201'), 200::bigint, 'just201: one deleted');
SELECT ok((SELECT min(started_at) FROM scheduler_runs WHERE job_id = (SELECT id FROM t_jobs WHERE name = 'just201'))
          > now() - interval '40 days' - interval '201 minutes', 'just201: the oldest one');
SELECT is(pg_temp.runs('ties'), 202::bigint, 'ties: runs tied with the 200th newest are kept');
SELECT is(pg_temp.runs('running'), 201::bigint, 'running: a running run is never deleted');
SELECT is(pg_temp.runs('young'), 300::bigint, 'young: runs inside the retention are kept');

-- A shorter retention: young's runs are still inside it; the keep-200 rule still holds for all.
SELECT is(scheduler_prune_runs(1, 200, 1000), 0, 'one day: nothing more (the old runs left are the newest 200)');
SELECT is(pg_temp.runs('many'), 200::bigint, 'many: still 200');
-- New runs push old ones out: few gets 195 runs an hour old.
SELECT pg_temp.add_runs('few', 195, interval '1 hour', interval '1 second');
SELECT is(scheduler_prune_runs(30, 200, 1000), 5, 'few: 205 runs, the 5 oldest (40 days) go');
SELECT is(pg_temp.runs('few'), 200::bigint, 'few: 200 kept');
SELECT is((SELECT count(*) FROM scheduler_runs WHERE job_id = (SELECT id FROM t_jobs WHERE name = 'few')
           AND started_at < now() - interval '30 days'), 5::bigint, 'few: the newest 5 of the old ones stay');

SELECT * FROM finish();
ROLLBACK;
