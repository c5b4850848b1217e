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

struct request;
struct family;
struct db_stmt;

/* A job that is one statement without parameters answering one count: success with {figure: count},
 * or failed with what_failed as the error. */
void job_run_counting(struct services *svc, struct db_stmt *stmt, const char *figure, const char *what_failed,
                      struct job_outcome *o);

/* A request for a job's run, replying in family's envelope; job_finish frees it. */
void job_request(struct request *r, struct services *svc, const struct family *family);
/* The reply becomes the run's result; 409 (not due) is a skipped run, any other error a failed one
 * whose error is the reply's message. A success bumps the cache generations in bumps (NULL: none;
 * up to MAX_ROUTE_BUMPS, NULL-ended when fewer), as the route doing the same work would. */
void job_finish(struct request *r, int rc, const char *const *bumps, struct job_outcome *o);

#endif
