/* routes.c — the scheduler family (spec 003 + CONTRACT 7.3): the job API under /scheduler. */
#include "guildhall.h"
#include "api/scheduler/jobs.h"
#include "api/test/test_routes.h"
#include "envelope.h"
#include "routes.h"

static struct rate_limit scheduler_limit = {
    .setting = "ratelimit_scheduler", .def = "120/60", .bucket = "scheduler", .by = RL_BY_KEY,
    .help = "scheduler per API key.",
};

static const struct qparam jobs_query[] = {
    {"enabled_only", Q_BOOL, "false", 0, 0, false, NULL},
    {"include_system", Q_BOOL, "false", 0, 0, false, NULL},
    {NULL, 0, NULL, 0, 0, false, NULL},
};
static const struct qparam history_query[] = {
    {"limit", Q_INT, "50", 1, 200, true, NULL},
    {NULL, 0, NULL, 0, 0, false, NULL},
};

#define JOB "/scheduler/jobs/{job_id:uuid}"
#define KEY .auth = "scheduler", .limits = {&scheduler_limit}

static const struct route scheduler_routes[] = {
    /* jobs */
    {.method = "GET", .path = "/scheduler/jobs", .handler = scheduler_list_jobs, KEY, .query = jobs_query},
    {.method = "POST", .path = "/scheduler/jobs", .handler = scheduler_create_job, KEY,
     .body = &scheduler_create_body, .flags = ROUTE_JSON_BODY},
    {.method = "GET", .path = JOB, .handler = scheduler_get_job, KEY, .not_found = "Job not found"},
    {.method = "PUT", .path = JOB, .handler = scheduler_update_job, KEY, .not_found = "Job not found",
     .body = &scheduler_update_body, .flags = ROUTE_JSON_BODY},
    {.method = "DELETE", .path = JOB, .handler = scheduler_delete_job, KEY, .not_found = "Job not found"},
    /* control */
    {.method = "POST", .path = JOB "/toggle", .handler = scheduler_toggle_job, KEY, .not_found = "Job not found",
     .body = &scheduler_toggle_body, .flags = ROUTE_OPTIONAL_BODY},
    {.method = "POST", .path = JOB "/run", .handler = scheduler_run_job, KEY, .not_found = "Job not found",
     .flags = ROUTE_OPTIONAL_BODY},
    {.method = "GET", .path = JOB "/history", .handler = scheduler_job_history, KEY, .not_found = "Job not found",
     .query = history_query},
    /* health */
    {.method = "GET", .path = "/scheduler/health", .handler = scheduler_health},
    /* the test suite's probe of this family's auth, limit and envelope */
    {.method = "GET", .path = "/_test/scheduler-auth", .handler = test_whoami, KEY, .flags = ROUTE_TEST_ONLY},
};

/* {"detail": message}, as FastAPI answers */
static void scheduler_render_error(const struct error_reply *e, struct buf *out)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "detail", json_object_new_string(e->message));
    envelope_emit(o, out);
}

static const char *const scheduler_prefixes[] = {"/scheduler", NULL};
static const char *const scheduler_scopes[] = {"scheduler", NULL};
static struct rate_limit *const scheduler_limits[] = {&scheduler_limit, NULL};

const struct family family_scheduler = {
    .name = "scheduler",
    .prefixes = scheduler_prefixes,
    .render_error = scheduler_render_error,
    .key_header = KEY_X_API_KEY,
    .bad_path_id_status = 404,
    .max_field_errors = 1,
    .scopes = scheduler_scopes,
    .limits = scheduler_limits,
    FAMILY_ROUTES(scheduler_routes),
};
