-- 007_scheduler_runs: the scheduler records only real work.
-- The outbox is delivered by its own process (src/outbox.c), woken by NOTIFY, not by a built-in
-- job: the 'outbox drain' job, which recorded a run every minute, goes (its runs with it).
DELETE FROM scheduler_jobs WHERE bot_type = 'system' AND job_kind = 'outbox.drain';

-- The history is pruned: the engine calls this hourly (and when it starts) with
-- scheduler_run_retention_days. It deletes at most `batch` finished runs started more than
-- `retention_days` ago, but never one of the newest `keep` runs of its job (a run tied with the
-- keep-th newest is kept too); it returns how many it deleted. Run rows are taken with SKIP LOCKED:
-- a job DELETE (job row, then its runs) never waits for a prune that waits for it.
CREATE FUNCTION scheduler_prune_runs(retention_days integer, keep integer, batch integer)
RETURNS integer LANGUAGE sql AS $$
    WITH doomed AS (
        SELECT o.id FROM scheduler_jobs j
        CROSS JOIN LATERAL (SELECT n.started_at FROM scheduler_runs n WHERE n.job_id = j.id
                            ORDER BY n.started_at DESC OFFSET keep - 1 LIMIT 1) newest_kept
        CROSS JOIN LATERAL (SELECT r.id FROM scheduler_runs r
                            WHERE r.job_id = j.id AND r.started_at < newest_kept.started_at
                              AND r.started_at < now() - make_interval(days => retention_days)
                              AND r.status <> 'running'
                            ORDER BY r.started_at LIMIT batch FOR UPDATE SKIP LOCKED) o
        LIMIT batch),
    gone AS (DELETE FROM scheduler_runs WHERE id IN (SELECT id FROM doomed) RETURNING 1)
    SELECT count(*)::integer FROM gone
$$;
