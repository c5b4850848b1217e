-- scheduler (sql/005_scheduler.sql): jobs and runs, their constraints (bot types, job kinds, one
-- running run per job, runs deleted with their job), the trigger that wakes the engine, the JSON
-- shapes the API returns (scheduler_job_json, scheduler_run_json) and the built-in places jobs.
BEGIN;
SELECT plan(73);

-- ---- schema ------------------------------------------------------------------------------------

SELECT has_table('scheduler_jobs');
SELECT has_table('scheduler_runs');
SELECT col_is_pk('scheduler_jobs', 'id');
SELECT col_is_pk('scheduler_runs', 'id');
SELECT col_type_is('scheduler_jobs', 'schedule_config', 'jsonb');
SELECT col_type_is('scheduler_jobs', 'bot_config', 'jsonb');
SELECT col_type_is('scheduler_jobs', 'next_run_at', 'timestamp with time zone');
SELECT col_type_is('scheduler_jobs', 'run_requested_at', 'timestamp with time zone');
SELECT col_type_is('scheduler_runs', 'runner_pid', 'integer');
SELECT col_not_null('scheduler_jobs', c) FROM unnest(ARRAY['name', 'bot_type', 'enabled', 'schedule_type',
    'schedule_config', 'bot_config', 'created_at', 'updated_at', 'anchor_at']) AS c;
SELECT col_not_null('scheduler_runs', c) FROM unnest(ARRAY['job_id', 'started_at', 'status', 'messages_sent',
    'profiles_visited']) AS c;
SELECT fk_ok('scheduler_runs', 'job_id', 'scheduler_jobs', 'id');
SELECT is((SELECT confdeltype FROM pg_constraint
           WHERE conrelid = 'scheduler_runs'::regclass AND contype = 'f' AND conname LIKE '%job_id%'), 'c'::"char",
          'runs reference their job ON DELETE CASCADE');
SELECT has_index('scheduler_jobs', 'scheduler_jobs_due', ARRAY['next_run_at'], 'due jobs are found by next_run_at');
SELECT has_index('scheduler_jobs', 'scheduler_jobs_requested', ARRAY['run_requested_at'],
                 'requested runs are found by run_requested_at');
SELECT index_is_unique('scheduler_jobs', 'scheduler_jobs_system_kind');
SELECT index_is_unique('scheduler_runs', 'scheduler_runs_one_running');
SELECT is((SELECT pg_get_expr(indpred, indrelid) FROM pg_index WHERE indexrelid = 'scheduler_runs_one_running'::regclass),
          '(status = ''running''::text)', 'the one-running index covers running runs only');
SELECT has_index('scheduler_runs', 'scheduler_runs_history', ARRAY['job_id', 'started_at']);
SELECT has_trigger('scheduler_jobs', 'scheduler_jobs_notify');
SELECT trigger_is('scheduler_jobs', 'scheduler_jobs_notify', 'scheduler_jobs_notify');
SELECT function_returns('scheduler_job_json', ARRAY['scheduler_jobs'], 'jsonb');
SELECT function_returns('scheduler_run_json', ARRAY['scheduler_runs'], 'jsonb');
SELECT volatility_is('scheduler_ts', ARRAY['timestamp with time zone'], 'immutable');

-- ---- the built-in jobs -------------------------------------------------------------------------
-- (the three places ones; outbox.drain is not checked here: it is not meant to stay a job)

CREATE TEMP TABLE builtin AS
SELECT * FROM scheduler_jobs WHERE job_kind IN ('places.reset_week', 'places.snapshot_stats', 'places.cleanup_archives');
SELECT results_eq($$SELECT job_kind, bot_type, enabled, schedule_type, schedule_config FROM builtin ORDER BY job_kind$$,
                  $$VALUES ('places.cleanup_archives', 'system', true, 'cron', '{"cron_expression": "0 7 * * 0"}'::jsonb),
                           ('places.reset_week', 'system', true, 'weekly', '{"hour": 14, "minute": 0, "day_of_week": "sat"}'),
                           ('places.snapshot_stats', 'system', true, 'cron', '{"cron_expression": "0 * * * *"}')$$,
                  'the three places jobs are built in: Saturday 14:00 UTC reset, hourly snapshot, Sunday 07:00 UTC cleanup');
SELECT is((SELECT count(*) FROM builtin WHERE next_run_at IS NULL AND name <> '' AND description <> ''), 3::bigint,
          'named and described, with next_run_at left for the engine to compute');

-- ---- constraints -------------------------------------------------------------------------------

SELECT throws_ok($$INSERT INTO scheduler_jobs (name, bot_type, schedule_type, schedule_config)
                   VALUES ('x', 'robot', 'daily', '{}')$$, '23514', NULL, 'bot_type is birthday, visitor, system or mikros');
SELECT throws_ok($$INSERT INTO scheduler_jobs (name, bot_type, schedule_type, schedule_config)
                   VALUES ('x', 'birthday', 'hourly', '{}')$$, '23514', NULL, 'schedule_type is daily, weekly, interval or cron');
SELECT throws_ok($$INSERT INTO scheduler_jobs (name, bot_type, schedule_type, schedule_config)
                   VALUES ('', 'birthday', 'daily', '{}')$$, '23514', NULL, 'a name is not empty');
SELECT throws_ok($$INSERT INTO scheduler_jobs (name, bot_type, schedule_type, schedule_config)
                   VALUES (repeat('n', 201), 'birthday', 'daily', '{}')$$, '23514', NULL, 'a name is at most 200 characters');
SELECT throws_ok($$INSERT INTO scheduler_jobs (name, description, bot_type, schedule_type, schedule_config)
                   VALUES ('x', repeat('d', 501), 'birthday', 'daily', '{}')$$, '23514', NULL,
                 'a description is at most 500 characters');
SELECT throws_ok($$INSERT INTO scheduler_jobs (name, bot_type, job_kind, schedule_type, schedule_config)
                   VALUES ('x', 'visitor', 'places.reset_week', 'daily', '{}')$$, '23514', NULL,
                 'a bot''s job has no job_kind');
SELECT throws_ok($$INSERT INTO scheduler_jobs (name, bot_type, schedule_type, schedule_config)
                   VALUES ('x', 'system', 'daily', '{}')$$, '23514', NULL, 'a system job has a job_kind');
SELECT throws_ok($$INSERT INTO scheduler_jobs (name, bot_type, schedule_type, schedule_config)
                   VALUES ('x', 'mikros', 'daily', '{}')$$, '23514', NULL, 'a mikros job has a job_kind');
SELECT lives_ok($$INSERT INTO scheduler_jobs (name, bot_type, schedule_type, schedule_config)
                  VALUES (repeat('n', 200), 'birthday', 'daily', '{}'), ('v', 'visitor', 'interval', '{}')$$,
                'a birthday or visitor job without a job_kind');
SELECT throws_ok($$INSERT INTO scheduler_jobs (name, bot_type, job_kind, schedule_type, schedule_config)
                   VALUES ('again', 'system', 'places.reset_week', 'weekly', '{}')$$, '23505', NULL,
                 'one system job per job_kind');
SELECT lives_ok($$INSERT INTO scheduler_jobs (name, bot_type, job_kind, schedule_type, schedule_config)
                  VALUES ('m1', 'mikros', 'mikros.post', 'cron', '{}'), ('m2', 'mikros', 'mikros.post', 'cron', '{}')$$,
                'mikros jobs may share a job_kind (the uniqueness is for system jobs)');

INSERT INTO scheduler_jobs (id, name, bot_type, schedule_type, schedule_config)
VALUES ('00000000-0000-0000-0000-0000000005a1', 'constraints', 'birthday', 'daily', '{"hour": 9, "minute": 0}');
SELECT results_eq($$SELECT enabled, bot_config, created_at, updated_at, anchor_at, last_run_at, next_run_at
                    FROM scheduler_jobs WHERE id = '00000000-0000-0000-0000-0000000005a1'$$,
                  $$VALUES (true, '{}'::jsonb, now(), now(), now(), NULL::timestamptz, NULL::timestamptz)$$,
                  'defaults: enabled, no bot_config, created, updated and anchored now, never run, not yet scheduled');

SELECT throws_ok($$INSERT INTO scheduler_runs (job_id, status) VALUES ('00000000-0000-0000-0000-0000000005a1', 'done')$$,
                 '23514', NULL, 'a run''s status is running, success, failed or skipped');
SELECT throws_ok($$INSERT INTO scheduler_runs (job_id, status) VALUES ('00000000-0000-0000-0000-0000000005ff', 'success')$$,
                 '23503', NULL, 'a run belongs to an existing job');
SELECT lives_ok($$INSERT INTO scheduler_runs (job_id, status) VALUES ('00000000-0000-0000-0000-0000000005a1', 'running')$$,
                'a running run');
SELECT throws_ok($$INSERT INTO scheduler_runs (job_id, status) VALUES ('00000000-0000-0000-0000-0000000005a1', 'running')$$,
                 '23505', NULL, 'a second running run of the same job is refused');
SELECT lives_ok($$INSERT INTO scheduler_runs (job_id, status) VALUES ('00000000-0000-0000-0000-0000000005a1', 'success'),
                  ('00000000-0000-0000-0000-0000000005a1', 'failed'), ('00000000-0000-0000-0000-0000000005a1', 'skipped'),
                  ('00000000-0000-0000-0000-0000000005a1', 'success')$$,
                'finished runs beside the running one, any number');
SELECT lives_ok($$INSERT INTO scheduler_runs (job_id, status)
                  SELECT id, 'running' FROM scheduler_jobs WHERE name = 'v'$$, 'another job runs at the same time');
UPDATE scheduler_runs SET status = 'success', finished_at = now()
WHERE job_id = '00000000-0000-0000-0000-0000000005a1' AND status = 'running';
SELECT lives_ok($$INSERT INTO scheduler_runs (job_id, status) VALUES ('00000000-0000-0000-0000-0000000005a1', 'running')$$,
                'once the run has finished, the job may run again');
SELECT is((SELECT (count(*), sum(messages_sent), sum(profiles_visited), count(*) FILTER (WHERE started_at = now()))::text
           FROM scheduler_runs WHERE job_id = '00000000-0000-0000-0000-0000000005a1'), '(6,0,0,6)',
          'runs default to started now, nothing sent or visited');
DELETE FROM scheduler_jobs WHERE id = '00000000-0000-0000-0000-0000000005a1';
SELECT is((SELECT count(*) FROM scheduler_runs WHERE job_id = '00000000-0000-0000-0000-0000000005a1'), 0::bigint,
          'deleting a job deletes its runs');

-- ---- the notify trigger ------------------------------------------------------------------------
-- pg_notify is delivered only at COMMIT, so a pg_notify of our own, found first on the search_path,
-- records what the trigger sends.

CREATE SCHEMA notify_spy;
CREATE TABLE notify_spy.sent (n serial, channel text, payload text);
CREATE FUNCTION notify_spy.pg_notify(channel text, payload text) RETURNS void LANGUAGE sql AS
    $$INSERT INTO notify_spy.sent (channel, payload) VALUES (channel, payload)$$;
SET LOCAL search_path = notify_spy, pg_catalog, public;
CREATE FUNCTION pg_temp.sent_since(after int) RETURNS text[] LANGUAGE sql AS
    $$SELECT coalesce(array_agg(channel || ' ' || payload ORDER BY n), '{}') FROM notify_spy.sent WHERE n > after$$;
CREATE FUNCTION pg_temp.last_sent() RETURNS int LANGUAGE sql AS $$SELECT coalesce(max(n), 0) FROM notify_spy.sent$$;

INSERT INTO scheduler_jobs (id, name, bot_type, schedule_type, schedule_config)
VALUES ('00000000-0000-0000-0000-0000000005b1', 'notify', 'visitor', 'interval', '{"hours": 1}');
SELECT is(pg_temp.sent_since(0), ARRAY['guildhall_jobs 00000000-0000-0000-0000-0000000005b1'],
          'a new job notifies guildhall_jobs with its id');
CREATE TEMP TABLE t_mark AS SELECT pg_temp.last_sent() AS n;
UPDATE scheduler_jobs SET name = 'renamed', description = 'd', bot_config = '{"a": 1}', updated_at = now()
WHERE id = '00000000-0000-0000-0000-0000000005b1';
SELECT is(pg_temp.sent_since((SELECT n FROM t_mark)), '{}', 'a change of name, description or bot_config wakes no one');
UPDATE scheduler_jobs SET last_run_at = now(), last_run_status = 'success', last_run_error = NULL
WHERE id = '00000000-0000-0000-0000-0000000005b1';
SELECT is(pg_temp.sent_since((SELECT n FROM t_mark)), '{}', 'recording a run''s outcome wakes no one (the engine does it)');
UPDATE t_mark SET n = pg_temp.last_sent();
UPDATE scheduler_jobs SET enabled = false WHERE id = '00000000-0000-0000-0000-0000000005b1';
UPDATE scheduler_jobs SET schedule_type = 'cron', schedule_config = '{"cron_expression": "* * * * *"}'
WHERE id = '00000000-0000-0000-0000-0000000005b1';
UPDATE scheduler_jobs SET next_run_at = now() WHERE id = '00000000-0000-0000-0000-0000000005b1';
UPDATE scheduler_jobs SET run_requested_at = now() WHERE id = '00000000-0000-0000-0000-0000000005b1';
SELECT is(pg_temp.sent_since((SELECT n FROM t_mark)),
          array_fill('guildhall_jobs 00000000-0000-0000-0000-0000000005b1'::text, ARRAY[4]),
          '(dis)abling, rescheduling, a new next_run_at and a run request each notify, once per statement and row');
UPDATE t_mark SET n = pg_temp.last_sent();
DELETE FROM scheduler_jobs WHERE id = '00000000-0000-0000-0000-0000000005b1';
SELECT is(pg_temp.sent_since((SELECT n FROM t_mark)), '{}', 'deleting a job does not notify');
RESET search_path;

-- ---- JSON shapes -------------------------------------------------------------------------------

SELECT is(scheduler_ts('2025-01-27 12:00:00.987654+00'), '2025-01-27T12:00:00', 'scheduler_ts: UTC, seconds, no zone');
SET LOCAL TimeZone = 'America/New_York';
SELECT is(scheduler_ts('2025-01-27 12:00:00+00'), '2025-01-27T12:00:00', 'scheduler_ts: UTC whatever the session''s zone');
RESET TimeZone;
SELECT is(scheduler_ts(NULL), NULL, 'scheduler_ts(NULL) is NULL');

INSERT INTO scheduler_jobs (id, name, description, bot_type, schedule_type, schedule_config, bot_config,
                            created_at, updated_at, anchor_at, last_run_at, last_run_status, last_run_error,
                            next_run_at, run_requested_at)
VALUES ('00000000-0000-0000-0000-0000000005c1', 'greeter', 'says hello', 'birthday', 'daily',
        '{"hour": 9, "minute": 30}', '{"channel_id": "123"}', '2025-01-27 12:00:00.5+00', '2025-01-28 13:14:15+00',
        '2025-01-27 12:00:00+00', '2025-01-29 09:30:01+00', 'failed', 'boom', '2025-01-30 09:30:00+00',
        '2025-01-29 10:00:00+00');
SELECT is((SELECT scheduler_job_json(j) FROM scheduler_jobs j WHERE id = '00000000-0000-0000-0000-0000000005c1'),
          '{"id": "00000000-0000-0000-0000-0000000005c1", "name": "greeter", "description": "says hello",
            "bot_type": "birthday", "enabled": true, "schedule_type": "daily",
            "schedule_config": {"hour": 9, "minute": 30}, "bot_config": {"channel_id": "123"},
            "created_at": "2025-01-27T12:00:00", "updated_at": "2025-01-28T13:14:15",
            "last_run_at": "2025-01-29T09:30:01", "last_run_status": "failed", "last_run_error": "boom",
            "next_run_at": "2025-01-30T09:30:00"}'::jsonb,
          'scheduler_job_json: JobResponse''s fields exactly (no job_kind, anchor_at or run_requested_at)');
UPDATE scheduler_jobs SET enabled = false WHERE id = '00000000-0000-0000-0000-0000000005c1';
SELECT is((SELECT scheduler_job_json(j) -> 'next_run_at' FROM scheduler_jobs j
           WHERE id = '00000000-0000-0000-0000-0000000005c1'), 'null'::jsonb,
          'a disabled job shows next_run_at null (the stored one is kept)');
INSERT INTO scheduler_jobs (id, name, bot_type, schedule_type, schedule_config)
VALUES ('00000000-0000-0000-0000-0000000005c2', 'fresh', 'visitor', 'interval', '{"minutes": 5}');
SELECT is((SELECT jsonb_strip_nulls(scheduler_job_json(j)) - 'id' - 'created_at' - 'updated_at'
           FROM scheduler_jobs j WHERE id = '00000000-0000-0000-0000-0000000005c2'),
          '{"name": "fresh", "bot_type": "visitor", "enabled": true, "schedule_type": "interval",
            "schedule_config": {"minutes": 5}, "bot_config": {}}'::jsonb,
          'a new job: no description, never run, not yet scheduled');
SELECT is((SELECT array_agg(k ORDER BY k) FROM scheduler_jobs j, jsonb_object_keys(scheduler_job_json(j)) k
           WHERE id = '00000000-0000-0000-0000-0000000005c2'),
          ARRAY['bot_config', 'bot_type', 'created_at', 'description', 'enabled', 'id', 'last_run_at', 'last_run_error',
                'last_run_status', 'name', 'next_run_at', 'schedule_config', 'schedule_type', 'updated_at'],
          'the null fields are still there, as null');

INSERT INTO scheduler_runs (id, job_id, scheduled_for, started_at, finished_at, status, result, error,
                            messages_sent, profiles_visited, runner_pid)
VALUES ('00000000-0000-0000-0000-0000000005d1', '00000000-0000-0000-0000-0000000005c1', '2025-01-29 09:30:00+00',
        '2025-01-29 09:30:01.25+00', '2025-01-29 09:30:07+00', 'failed', '{"greeted": 2}', 'boom', 2, 5, 4242);
SELECT is((SELECT scheduler_run_json(r) FROM scheduler_runs r WHERE id = '00000000-0000-0000-0000-0000000005d1'),
          '{"id": "00000000-0000-0000-0000-0000000005d1", "job_id": "00000000-0000-0000-0000-0000000005c1",
            "started_at": "2025-01-29T09:30:01", "finished_at": "2025-01-29T09:30:07", "status": "failed",
            "result": {"greeted": 2}, "error": "boom", "messages_sent": 2, "profiles_visited": 5}'::jsonb,
          'scheduler_run_json: JobExecutionLog''s fields exactly (no scheduled_for or runner_pid)');
INSERT INTO scheduler_runs (id, job_id, status, started_at)
VALUES ('00000000-0000-0000-0000-0000000005d2', '00000000-0000-0000-0000-0000000005c1', 'running', '2025-01-30 09:30:00+00');
SELECT is((SELECT scheduler_run_json(r) FROM scheduler_runs r WHERE id = '00000000-0000-0000-0000-0000000005d2'),
          '{"id": "00000000-0000-0000-0000-0000000005d2", "job_id": "00000000-0000-0000-0000-0000000005c1",
            "started_at": "2025-01-30T09:30:00", "finished_at": null, "status": "running", "result": null,
            "error": null, "messages_sent": 0, "profiles_visited": 0}'::jsonb,
          'a running run: finished_at, result and error null');

SELECT * FROM finish();
ROLLBACK;
