-- 007_scheduler_runs: the scheduler records only real work.
-- The outbox is delivered by its own process (src/outbox.c), woken by NOTIFY, not by a built-in
-- job: the 'outbox drain' job, which recorded a run every minute, goes (its runs with it).
DELETE FROM scheduler_jobs WHERE bot_type = 'system' AND job_kind = 'outbox.drain';
