/* kinds.h — what the scheduler can run: one table of job kinds, {kind, run function}
 * (src/scheduler/kinds.c). A job's kind is its job_kind (built-in and mikros-sync jobs) or, for
 * the bots' jobs, its bot_type. A family adds job kinds by adding rows that point at its own job
 * entry points (e.g. places_job_reset_week in src/api/places/jobs.c). */
#ifndef GH_SCHEDULER_KINDS_H
#define GH_SCHEDULER_KINDS_H

#include "job.h"

struct job_kind {
    const char *kind;
    job_run_fn *run;
};

/* The row of a kind, or NULL when no row names it. */
const struct job_kind *job_kind_find(const char *kind);
/* The whole table (n rows). */
const struct job_kind *job_kinds(size_t *n);

/* The bots' jobs (bots.c): POST the job's bot_config to the bot's webhook and record its reply;
 * dry_run: true succeeds without calling out. */
void scheduler_run_birthday(struct services *svc, const char *config, struct job_outcome *o);
void scheduler_run_visitor(struct services *svc, const char *config, struct job_outcome *o);

#endif
