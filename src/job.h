/* job.h — what one run of a scheduled job reports. Shared by the scheduler engine, which records
 * it in scheduler_runs, and by the families whose code the job kinds run (src/scheduler/kinds.c). */
#ifndef GH_JOB_H
#define GH_JOB_H

#include <json-c/json.h>

struct services;

struct job_outcome {
    const char *status;       /* "success", "failed" or "skipped" (scheduler_runs.status) */
    char error[256];          /* empty: none */
    json_object *result;      /* owned; NULL: none */
    long messages_sent, profiles_visited;
};

/* Runs one job of a kind: config is the job's bot_config (JSON text). Fills o (status starts "failed"). */
typedef void job_run_fn(struct services *svc, const char *config, struct job_outcome *o);

#endif
