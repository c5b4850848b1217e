-- 005_scheduler: jobs, their runs, and guildhall's own periodic work as built-in jobs.
-- next_run_at is computed in C (src/api/scheduler/schedule.c) and stored; the engine claims due
-- jobs with FOR UPDATE SKIP LOCKED, so several guildhall hosts never run one job twice.

CREATE TABLE scheduler_jobs (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description      text CHECK (length(description) <= 500),
    bot_type         text NOT NULL CHECK (bot_type IN ('birthday', 'visitor', 'system', 'mikros')),
    -- what a system job does ('places.reset_week', 'outbox.drain', …); NULL for the bots' jobs
    job_kind         text,
    enabled          boolean NOT NULL DEFAULT true,
    schedule_type    text NOT NULL CHECK (schedule_type IN ('daily', 'weekly', 'interval', 'cron')),
    schedule_config  jsonb NOT NULL,
    bot_config       jsonb NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    -- interval schedules count from creation or the last enable
    anchor_at        timestamptz NOT NULL DEFAULT now(),
    last_run_at      timestamptz,
    last_run_status  text,
    last_run_error   text,
    next_run_at      timestamptz,
    run_requested_at timestamptz,
    CHECK ((bot_type IN ('system', 'mikros')) = (job_kind IS NOT NULL))
);
CREATE INDEX scheduler_jobs_due ON scheduler_jobs (next_run_at) WHERE enabled;
CREATE INDEX scheduler_jobs_requested ON scheduler_jobs (run_requested_at) WHERE run_requested_at IS NOT NULL;
CREATE UNIQUE INDEX scheduler_jobs_system_kind ON scheduler_jobs (job_kind) WHERE bot_type = 'system';

CREATE TABLE scheduler_runs (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    job_id           uuid NOT NULL REFERENCES scheduler_jobs ON DELETE CASCADE,
    scheduled_for    timestamptz,
    started_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    status           text NOT NULL CHECK (status IN ('running', 'success', 'failed', 'skipped')),
    result           jsonb,
    error            text,
    messages_sent    integer NOT NULL DEFAULT 0,
    profiles_visited integer NOT NULL DEFAULT 0,
    -- the backend pid of the scheduler's connection: a run whose backend is gone was orphaned
    runner_pid       integer
);
-- at most one execution of a job at a time (spec note 5), enforced by the database
CREATE UNIQUE INDEX scheduler_runs_one_running ON scheduler_runs (job_id) WHERE status = 'running';
CREATE INDEX scheduler_runs_history ON scheduler_runs (job_id, started_at DESC);

-- Wakes the engine when a job is created, changed or asked to run now.
CREATE FUNCTION scheduler_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('guildhall_jobs', NEW.id::text);
    RETURN NEW;
END $$;
CREATE TRIGGER scheduler_jobs_notify AFTER INSERT OR UPDATE OF enabled, schedule_type, schedule_config,
    next_run_at, run_requested_at ON scheduler_jobs FOR EACH ROW EXECUTE FUNCTION scheduler_jobs_notify();

CREATE FUNCTION scheduler_ts(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
$$;

-- JobResponse, exactly the spec's fields.
CREATE FUNCTION scheduler_job_json(j scheduler_jobs) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', j.id, 'name', j.name, 'description', j.description, 'bot_type', j.bot_type,
        'enabled', j.enabled, 'schedule_type', j.schedule_type, 'schedule_config', j.schedule_config,
        'bot_config', j.bot_config, 'created_at', scheduler_ts(j.created_at),
        'updated_at', scheduler_ts(j.updated_at), 'last_run_at', scheduler_ts(j.last_run_at),
        'last_run_status', j.last_run_status, 'last_run_error', j.last_run_error,
        'next_run_at', CASE WHEN j.enabled THEN scheduler_ts(j.next_run_at) END)
$$;

-- JobExecutionLog.
CREATE FUNCTION scheduler_run_json(r scheduler_runs) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', r.id, 'job_id', r.job_id, 'started_at', scheduler_ts(r.started_at),
        'finished_at', scheduler_ts(r.finished_at), 'status', r.status, 'result', r.result,
        'error', r.error, 'messages_sent', r.messages_sent, 'profiles_visited', r.profiles_visited)
$$;

-- guildhall's own periodic work, visible with ?include_system=true. next_run_at is filled in by
-- the engine the first time it sees them.
INSERT INTO scheduler_jobs (name, description, bot_type, job_kind, schedule_type, schedule_config) VALUES
    ('places: weekly reset', 'Archives the AI Places week and opens the next (Saturday 14:00 UTC)',
     'system', 'places.reset_week', 'weekly', '{"hour": 14, "minute": 0, "day_of_week": "sat"}'),
    ('places: stats snapshot', 'Hourly backup of the leaderboards', 'system', 'places.snapshot_stats',
     'cron', '{"cron_expression": "0 * * * *"}'),
    ('places: archive cleanup', 'Renders missing archive images (Sunday 2:00 AM EST)', 'system',
     'places.cleanup_archives', 'cron', '{"cron_expression": "0 7 * * 0"}'),
    ('outbox drain', 'Delivers webhooks and events the outbox still holds', 'system', 'outbox.drain',
     'interval', '{"hours": 0, "minutes": 1}');
