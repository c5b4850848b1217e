/* engine.h — the scheduling engine, run by the scheduler process: claims due jobs from
 * PostgreSQL (FOR UPDATE SKIP LOCKED), runs them, records history. */
#ifndef GH_SCHEDULER_ENGINE_H
#define GH_SCHEDULER_ENGINE_H

struct services;

/* One round of work: recover orphaned runs, schedule new jobs, claim and run what is due, then
 * (when the engine starts and hourly) prune the history past scheduler_run_retention_days.
 * Returns how many runs it executed. */
int engine_tick(struct services *svc);
/* Milliseconds until the next job is due (capped at max_ms; 0 when something is due now). */
int engine_wait_ms(struct services *svc, int max_ms);

#endif
