/* jobs.c — CRUD, toggle, run-now and history for scheduled jobs. next_run_at is computed here
 * (schedule.c) whenever the schedule or the enabled flag changes, and by the engine after a run.
 * Every change of a job is one transaction that takes the job's row lock before it reads what it
 * changes, writes, and adds its audit entry: concurrent changes take turns and none is lost.
 * Built-in (system) and mikros-sync jobs can be read, toggled and run; PUT and DELETE are 403. */
#include "guildhall.h"
#include "api/scheduler/jobs.h"
#include "scheduler/schedule.h"
#include "cache.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "request.h"

#include <ctype.h>
#include <signal.h>

#define JOB_COLUMNS "id, name, description, bot_type, enabled, schedule_type, schedule_config::text, bot_config::text"

DB_STMT(list_stmt, 2, true,
        "SELECT coalesce(jsonb_agg(scheduler_job_json(j) ORDER BY j.created_at DESC, j.id DESC), '[]')::text "
        "FROM scheduler_jobs j WHERE (NOT $1::bool OR j.enabled) "
        "AND ($2::bool OR j.bot_type IN ('birthday', 'visitor'))");
DB_STMT(get_stmt, 1, true, "SELECT scheduler_job_json(j)::text FROM scheduler_jobs j WHERE id = $1::uuid");
/* A change reads the row under its lock, computes the new state in C and writes it in the same
 * transaction: concurrent changes of one job take turns, each starting from the last one's result. */
DB_STMT(lock_stmt, 1, false,
        "SELECT " JOB_COLUMNS ", extract(epoch FROM anchor_at)::bigint FROM scheduler_jobs WHERE id = $1::uuid "
        "FOR UPDATE");
DB_STMT(lock_kind_stmt, 1, false, "SELECT bot_type FROM scheduler_jobs WHERE id = $1::uuid FOR UPDATE");
DB_STMT(insert_stmt, 8, false,
        "INSERT INTO scheduler_jobs (name, description, bot_type, enabled, schedule_type, schedule_config, "
        "bot_config, next_run_at, anchor_at) VALUES ($1, $2, $3, $4::bool, $5, $6::jsonb, $7::jsonb, "
        "to_timestamp($8::bigint), now()) RETURNING scheduler_job_json(scheduler_jobs.*)::text, id");
DB_STMT(update_stmt, 10, false,
        "UPDATE scheduler_jobs SET name = $2, description = $3, enabled = $4::bool, schedule_type = $5, "
        "schedule_config = $6::jsonb, bot_config = $7::jsonb, next_run_at = to_timestamp($8::bigint), "
        "anchor_at = CASE WHEN $9::bool THEN now() ELSE anchor_at END, updated_at = now(), "
        "bot_type = $10 WHERE id = $1::uuid AND bot_type IN ('birthday', 'visitor') "
        "RETURNING scheduler_job_json(scheduler_jobs.*)::text");
/* Only the flag and what follows from it: a toggle also serves built-in jobs, whose other columns
 * are not the API's. Enabling ($4) sets the next run computed in C and restarts an interval; an
 * unchanged flag keeps next_run_at (a due run is not pushed back). */
DB_STMT(toggle_stmt, 4, false,
        "UPDATE scheduler_jobs SET enabled = $2::bool, "
        "next_run_at = CASE WHEN NOT $2::bool THEN NULL WHEN $4::bool THEN to_timestamp($3::bigint) "
        " ELSE next_run_at END, "
        "anchor_at = CASE WHEN $4::bool THEN now() ELSE anchor_at END, updated_at = now() "
        "WHERE id = $1::uuid RETURNING scheduler_job_json(scheduler_jobs.*)::text");
DB_STMT(delete_stmt, 1, false,
        "DELETE FROM scheduler_jobs WHERE id = $1::uuid AND bot_type IN ('birthday', 'visitor') RETURNING id");
/* After lock_kind_stmt, so this statement's snapshot is taken once the lock is ours: it sees a run
 * the engine started (its claim held the lock) and a request another "run now" committed. One
 * request, queued or running, at a time: every 202 becomes exactly one run. */
DB_STMT(run_stmt, 1, false,
        "UPDATE scheduler_jobs SET run_requested_at = now() WHERE id = $1::uuid AND run_requested_at IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM scheduler_runs WHERE job_id = $1::uuid AND status = 'running') "
        "RETURNING id");
DB_STMT(exists_stmt, 1, true, "SELECT 1 FROM scheduler_jobs WHERE id = $1::uuid");
DB_STMT(history_stmt, 2, true,
        "SELECT coalesce(jsonb_agg(scheduler_run_json(r) ORDER BY r.started_at DESC, r.id DESC), '[]')::text "
        "FROM (SELECT * FROM scheduler_runs WHERE job_id = $1::uuid ORDER BY started_at DESC, id DESC "
        "LIMIT $2::int) r");
DB_STMT(counts_stmt, 0, true,
        "SELECT count(*), count(*) FILTER (WHERE enabled) FROM scheduler_jobs "
        "WHERE bot_type IN ('birthday', 'visitor')");

/* ---- bot configuration ---------------------------------------------------------------------- */

struct birthday_config {
    bool dry_run, process_late;
    int64_t max_days_late, max_messages_per_run;
};
struct visitor_config {
    bool dry_run;
    int64_t limit;
};

#define DRY_RUN(config) {.name = "dry_run", .type = F_BOOL, .flags = F_NULLABLE, .offset = offsetof(config, dry_run), .def = "false"}

static const struct body_schema birthday_schema = {
    .fields = (const struct body_field[]){
        DRY_RUN(struct birthday_config),
        {.name = "process_late", .type = F_BOOL, .flags = F_NULLABLE, .offset = offsetof(struct birthday_config, process_late), .def = "false"},
        {.name = "max_days_late", .type = F_INT, .flags = F_NULLABLE, .offset = offsetof(struct birthday_config, max_days_late),
         .min = 1, .max = 365, .def = "7"},
        {.name = "max_messages_per_run", .type = F_INT, .flags = F_NULLABLE,
         .offset = offsetof(struct birthday_config, max_messages_per_run),
         .min = 1, .max = 1000000, .def = "10"},
        {0},
    },
    .refuse_unknown = true,
    .size = sizeof(struct birthday_config),
};
static const struct body_schema visitor_schema = {
    .fields = (const struct body_field[]){
        DRY_RUN(struct visitor_config),
        {.name = "limit", .type = F_INT, .flags = F_NULLABLE, .offset = offsetof(struct visitor_config, limit), .min = 1, .max = 500, .def = "50"},
        {0},
    },
    .refuse_unknown = true,
    .size = sizeof(struct visitor_config),
};

/* Index order is the bot_type enum's (job_schema's values). */
static const char *const bot_types[] = {"birthday", "visitor", NULL};
static const struct body_schema *const bot_schemas[] = {&birthday_schema, &visitor_schema};

json_object *scheduler_bot_config(const char *bot_type, json_object *given, char *err, size_t errlen)
{
    for (size_t t = 0; bot_types[t]; t++) {
        if (strcmp(bot_types[t], bot_type) != 0)
            continue;
        struct field_error e;
        union {
            struct birthday_config birthday;
            struct visitor_config visitor;
        } bound = {0};
        if (body_bind(bot_schemas[t], given, &bound, "bot_config", &e, 1) != 0) {
            snprintf(err, errlen, "%s", e.message);
            return NULL;
        }
        return body_to_json(bot_schemas[t], &bound);
    }
    snprintf(err, errlen, "bot_type must be one of: birthday, visitor");
    return NULL;
}

/* ---- the job as the client writes it ------------------------------------------------------------ */

static const char *const schedule_types[] = {"daily", "weekly", "interval", "cron", NULL};

struct job_input {
    const char *name, *description;
    int bot_type, schedule_type;
    bool enabled;
    json_object *schedule_config, *bot_config;   /* checked per type by job_apply */
    uint64_t present;
};
enum { JOB_NAME, JOB_DESCRIPTION, JOB_BOT_TYPE, JOB_ENABLED, JOB_SCHEDULE_TYPE, JOB_SCHEDULE_CONFIG, JOB_BOT_CONFIG };
#define GIVEN(in, field) (((in)->present >> (field)) & 1u)

/* A create needs what has no default; an update may send any subset. */
#define JOB_FIELDS(needed)                                                                                       \
    {.name = "name", .type = F_STRING, .flags = needed, .offset = offsetof(struct job_input, name), .min = 1,    \
     .max = 200},                                                                                                \
    {.name = "description", .type = F_STRING, .flags = F_NULLABLE, .offset = offsetof(struct job_input, description), \
     .max = 500},                                                                                                \
    {.name = "bot_type", .type = F_ENUM, .flags = needed, .offset = offsetof(struct job_input, bot_type),        \
     .values = bot_types},                                                                                       \
    {.name = "enabled", .type = F_BOOL, .offset = offsetof(struct job_input, enabled)},                          \
    {.name = "schedule_type", .type = F_ENUM, .flags = needed, .offset = offsetof(struct job_input, schedule_type), \
     .values = schedule_types},                                                                                  \
    {.name = "schedule_config", .type = F_JSON, .flags = F_NULLABLE, .offset = offsetof(struct job_input, schedule_config)}, \
    {.name = "bot_config", .type = F_JSON, .flags = F_NULLABLE, .offset = offsetof(struct job_input, bot_config)}, \
    {0}

#define JOB_SCHEMA(needed)                                                                                       \
    {.fields = (const struct body_field[]){JOB_FIELDS(needed)}, .refuse_unknown = true,                         \
     .size = sizeof(struct job_input), .present_offset = offsetof(struct job_input, present), .has_present = true}

const struct body_schema scheduler_create_body = JOB_SCHEMA(F_REQUIRED);
const struct body_schema scheduler_update_body = JOB_SCHEMA(0);

struct toggle_input {
    bool enabled;
    uint64_t present;
};
const struct body_schema scheduler_toggle_body = {
    .fields = (const struct body_field[]){
        {.name = "enabled", .type = F_BOOL, .offset = offsetof(struct toggle_input, enabled)},
        {0},
    },
    .refuse_unknown = true,
    .size = sizeof(struct toggle_input),
    .present_offset = offsetof(struct toggle_input, present),
    .has_present = true,
};

/* ---- helpers ---------------------------------------------------------------------------------- */

static bool audit(struct request *r, const char *action, const char *job)
{
    json_object *d = json_object_new_object();
    json_object_object_add(d, "job_id", json_object_new_string(job));
    bool ok = request_audit(r, action, d);
    json_object_put(d);
    return ok;
}

/* A write (res: its RETURNING rows, NULL when it failed and query() replied) and its audit entry
 * are one transaction, begun by the caller: committed when both were written (a write that
 * matched no row is committed without an entry), rolled back otherwise. Returns res, or NULL
 * (replied) when nothing was kept. */
static PGresult *end_write(struct request *r, PGresult *res, const char *action, const char *job)
{
    if (res && PQntuples(res) > 0 && !audit(r, action, job)) {
        PQclear(res);
        res = NULL;
    }
    if (!res) {
        request_rollback(r);
        return NULL;
    }
    if (!request_commit(r)) {
        PQclear(res);
        return NULL;
    }
    return res;
}

/* RFC 7396 (JSON Merge Patch): a patch that is not an object replaces the target; an object's keys
 * replace the target's, recursively, and a null deletes the key. Returns a new reference. */
json_object *scheduler_merge_patch(json_object *target, json_object *patch)
{
    if (!json_object_is_type(patch, json_type_object))
        return json_object_get(patch);
    json_object *out = NULL;
    if (!json_object_is_type(target, json_type_object) || json_object_deep_copy(target, &out, NULL) != 0)
        out = json_object_new_object();
    json_object_object_foreach(patch, key, value) {
        if (!value) {
            json_object_object_del(out, key);
            continue;
        }
        json_object *old = NULL;
        json_object_object_get_ex(out, key, &old);
        json_object_object_add(out, key, scheduler_merge_patch(old, value));
    }
    return out;
}

/* The job as the request leaves it: every field validated, defaults applied. */
struct job {
    const char *name, *description, *bot_type, *schedule_type;
    bool enabled;
    bool stored;                                 /* loaded from its row (an update), not a create */
    json_object *schedule_config, *bot_config;   /* owned */
    int64_t next_run;                            /* Unix seconds; 0 when disabled */
};

static void job_free(struct job *j)
{
    json_object_put(j->schedule_config);
    json_object_put(j->bot_config);
    j->schedule_config = j->bot_config = NULL;
}

static bool invalid(struct request *r, const char *field, const char *msg)
{
    fail_field(r, 400, field, "%s", msg);
    return false;
}

static bool is_bot_job(const char *bot_type)
{
    return !strcmp(bot_type, "birthday") || !strcmp(bot_type, "visitor");
}

/* The config a create or update leaves, before validation (a new reference, or NULL for the type's
 * defaults). A stored job of an unchanged type merges what was sent over what it has (RFC 7396:
 * sent keys replace, null deletes a key so it gets its default, absent keys are kept); a new job,
 * or a new type, takes what was sent as it is, and that type's defaults without it. */
static json_object *config_after(bool same_type, json_object *stored, bool given, json_object *sent)
{
    if (!same_type)
        return given ? json_object_get(sent) : NULL;
    return given ? scheduler_merge_patch(stored, sent) : json_object_get(stored);
}

/* Applies what the client gave over j (everything for a create, any subset for an update), checks
 * the configs against their types and computes the next run. *anchor_reset: the interval anchor
 * moves to now (the job was enabled, or its schedule changed). */
static bool job_apply(struct request *r, struct job *j, const struct job_input *in, int64_t anchor, bool *anchor_reset)
{
    char err[256];
    bool was_enabled = j->enabled;
    const char *old_bot = j->bot_type, *old_schedule = j->schedule_type;
    if (GIVEN(in, JOB_NAME))
        j->name = in->name;
    if (GIVEN(in, JOB_DESCRIPTION))
        j->description = in->description;
    if (GIVEN(in, JOB_BOT_TYPE))
        j->bot_type = bot_types[in->bot_type];
    if (GIVEN(in, JOB_ENABLED))
        j->enabled = in->enabled;
    if (GIVEN(in, JOB_SCHEDULE_TYPE))
        j->schedule_type = schedule_types[in->schedule_type];

    enum schedule_type type;
    if (!schedule_type_parse(j->schedule_type, &type, err, sizeof(err)))
        return invalid(r, "schedule_type", err);
    bool same_schedule = j->stored && !strcmp(old_schedule, j->schedule_type);
    json_object *given = config_after(same_schedule, j->schedule_config, GIVEN(in, JOB_SCHEDULE_CONFIG),
                                      in->schedule_config);
    struct schedule sched;
    json_object *normalized = NULL;
    bool ok = schedule_parse(type, given, &sched, &normalized, err, sizeof(err));
    json_object_put(given);
    if (!ok)
        return invalid(r, "schedule_config", err);
    json_object_put(j->schedule_config);
    j->schedule_config = normalized;

    bool same_bot = j->stored && !strcmp(old_bot, j->bot_type);
    json_object *bot = config_after(same_bot, j->bot_config, GIVEN(in, JOB_BOT_CONFIG), in->bot_config);
    json_object *filled = scheduler_bot_config(j->bot_type, bot, err, sizeof(err));
    json_object_put(bot);
    if (!filled)
        return invalid(r, "bot_config", err);
    json_object_put(j->bot_config);
    j->bot_config = filled;

    int64_t now = (int64_t)(now_us() / 1000000u);
    *anchor_reset = (j->enabled && !was_enabled) || GIVEN(in, JOB_SCHEDULE_CONFIG) || GIVEN(in, JOB_SCHEDULE_TYPE);
    if (*anchor_reset)
        anchor = now;
    j->next_run = j->enabled ? schedule_next(&sched, now, anchor) : 0;
    if (j->enabled && j->next_run < 0)
        return invalid(r, "schedule_config", "schedule_config never matches a time (cron_expression)");
    return true;
}

static void next_run_text(int64_t next_run, char out[24])
{
    if (next_run > 0)
        snprintf(out, 24, "%lld", (long long)next_run);
    else
        out[0] = '\0';
}

/* Begins the change's transaction and loads the job's row under its lock into j (built-in and
 * mikros jobs too: the caller decides what they allow). false when not found (404) or the database
 * failed: replied, and nothing is left open. */
static bool job_lock(struct request *r, const char *id, struct job *j, int64_t *anchor, PGresult **keep)
{
    const char *params[] = {id};
    if (!request_begin(r))
        return false;
    PGresult *res = query(r, &lock_stmt, params);
    if (!res) {
        request_rollback(r);
        return false;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        request_rollback(r);
        fail(r, 404, "Job not found");
        return false;
    }
    j->name = PQgetvalue(res, 0, 1);
    j->description = PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2);
    j->bot_type = PQgetvalue(res, 0, 3);
    j->enabled = PQgetvalue(res, 0, 4)[0] == 't';
    j->schedule_type = PQgetvalue(res, 0, 5);
    j->schedule_config = json_tokener_parse(PQgetvalue(res, 0, 6));
    j->bot_config = json_tokener_parse(PQgetvalue(res, 0, 7));
    j->stored = true;
    *anchor = atoll(PQgetvalue(res, 0, 8));
    *keep = res;   /* j's strings point into it */
    return true;
}

/* Built-in (system) and mikros-sync jobs are read, toggled and run through the API, never changed
 * or deleted (CONTRACT 7.3): 403. */
static int forbidden(struct request *r, const char *bot_type)
{
    if (!strcmp(bot_type, "mikros"))
        return fail(r, 403, "mikros jobs cannot be changed or deleted here: they change through "
                            "/api/schedulers/sync-config");
    return fail(r, 403, "Built-in jobs cannot be changed or deleted; they can be read, toggled and run");
}

/* Begins the transaction and locks the job's row; returns its bot_type (a copy in out), or false
 * with a 404/503 reply and nothing left open. */
static bool kind_lock(struct request *r, const char *id, char out[16])
{
    const char *params[] = {id};
    if (!request_begin(r))
        return false;
    PGresult *res = query(r, &lock_kind_stmt, params);
    if (!res) {
        request_rollback(r);
        return false;
    }
    bool found = PQntuples(res) > 0;
    if (found)
        snprintf(out, 16, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!found) {
        request_rollback(r);
        fail(r, 404, "Job not found");
    }
    return found;
}

/* ---- handlers --------------------------------------------------------------------------------- */

int scheduler_list_jobs(struct request *r)
{
    const char *params[] = {qstr(r, "enabled_only"), qstr(r, "include_system")};
    PGresult *res = query(r, &list_stmt, params);
    return reply_column(r, res, 200, "Job not found");
}

int scheduler_get_job(struct request *r)
{
    const char *params[] = {path_param(&r->params, "job_id")};
    return reply_column(r, query(r, &get_stmt, params), 200, "Job not found");
}

int scheduler_create_job(struct request *r)
{
    struct job j = {.enabled = true};
    bool reset;
    int rc = -1;
    if (!job_apply(r, &j, r->input, 0, &reset))
        goto out;
    char next[24];
    next_run_text(j.next_run, next);
    const char *params[] = {j.name, j.description, j.bot_type, j.enabled ? "true" : "false", j.schedule_type,
                            json_object_to_json_string_ext(j.schedule_config, JSON_C_TO_STRING_PLAIN),
                            json_object_to_json_string_ext(j.bot_config, JSON_C_TO_STRING_PLAIN),
                            next[0] ? next : NULL};
    if (!request_begin(r))
        goto out;
    PGresult *res = query(r, &insert_stmt, params);
    rc = reply_column(r, end_write(r, res, "scheduler.job_create", res ? PQgetvalue(res, 0, 1) : NULL), 201,
                      "Job not found");
out:
    job_free(&j);
    return rc;
}

/* A partial update is one read-modify-write under the row lock (BEGIN; SELECT … FOR UPDATE; apply
 * in C; UPDATE; audit; COMMIT): concurrent updates of different fields all survive. */
int scheduler_update_job(struct request *r)
{
    const char *id = path_param(&r->params, "job_id");
    struct job j = {0};
    int64_t anchor;
    PGresult *stored = NULL;
    bool reset;
    int rc = -1;
    if (!job_lock(r, id, &j, &anchor, &stored))
        return -1;
    if (!is_bot_job(j.bot_type)) {
        request_rollback(r);
        rc = forbidden(r, j.bot_type);
    } else if (!job_apply(r, &j, r->input, anchor, &reset)) {
        request_rollback(r);
    } else {
        char next[24];
        next_run_text(j.next_run, next);
        const char *params[] = {id, j.name, j.description, j.enabled ? "true" : "false", j.schedule_type,
                                json_object_to_json_string_ext(j.schedule_config, JSON_C_TO_STRING_PLAIN),
                                json_object_to_json_string_ext(j.bot_config, JSON_C_TO_STRING_PLAIN),
                                next[0] ? next : NULL, reset ? "true" : "false", j.bot_type};
        rc = reply_column(r, end_write(r, query(r, &update_stmt, params), "scheduler.job_update", id), 200,
                          "Job not found");
    }
    job_free(&j);
    PQclear(stored);
    return rc;
}

/* Without "enabled" a toggle flips the job, as its row stands under the lock. Built-in and
 * mikros jobs toggle too (the engine claims only enabled jobs on their schedule). */
int scheduler_toggle_job(struct request *r)
{
    const struct toggle_input *t = r->input;
    const char *id = path_param(&r->params, "job_id");
    struct job j = {0};
    int64_t anchor;
    PGresult *stored = NULL;
    int rc = -1;
    if (!job_lock(r, id, &j, &anchor, &stored))
        return -1;
    bool target = GIVEN(t, 0) ? t->enabled : !j.enabled;
    bool enabling = target && !j.enabled;
    char next[24] = "", err[256];
    if (enabling) {
        enum schedule_type type;
        struct schedule sched;
        json_object *normalized = NULL;
        if (!schedule_type_parse(j.schedule_type, &type, err, sizeof(err)) ||
            !schedule_parse(type, j.schedule_config, &sched, &normalized, err, sizeof(err))) {
            log_error("job %s: stored schedule is invalid: %s", id, err);
            request_rollback(r);
            rc = fail(r, 500, "Internal error (request %s)", r->request_id ? r->request_id : "-");
            goto out;
        }
        json_object_put(normalized);
        int64_t now = (int64_t)(now_us() / 1000000u);
        int64_t n = schedule_next(&sched, now, now);
        if (n < 0) {
            request_rollback(r);
            rc = fail_field(r, 400, "schedule_config", "schedule_config never matches a time (cron_expression)");
            goto out;
        }
        next_run_text(n, next);
    }
    const char *params[] = {id, target ? "true" : "false", next[0] ? next : NULL, enabling ? "true" : "false"};
    rc = reply_column(r, end_write(r, query(r, &toggle_stmt, params), "scheduler.job_toggle", id), 200,
                      "Job not found");
out:
    job_free(&j);
    PQclear(stored);
    return rc;
}

int scheduler_delete_job(struct request *r)
{
    const char *id = path_param(&r->params, "job_id");
    const char *params[] = {id};
    char kind[16];
    if (!kind_lock(r, id, kind))
        return -1;
    if (!is_bot_job(kind)) {
        request_rollback(r);
        return forbidden(r, kind);
    }
    PGresult *res = end_write(r, query(r, &delete_stmt, params), "scheduler.job_delete", id);
    if (!res)
        return -1;
    bool found = PQntuples(res) > 0;
    PQclear(res);
    if (!found)
        return fail(r, 404, "Job not found");
    r->status = 204;
    return 0;
}

/* Run now: the row lock orders concurrent requests (and the engine's claim); only one request is
 * queued or running at a time, so each 202 is exactly one recorded run and the others are 409. */
int scheduler_run_job(struct request *r)
{
    const char *id = path_param(&r->params, "job_id");
    const char *params[] = {id};
    char kind[16];
    if (!kind_lock(r, id, kind))
        return -1;
    PGresult *res = query(r, &run_stmt, params);
    if (!res) {
        request_rollback(r);
        return -1;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        request_rollback(r);
        return fail(r, 409, "Job is already running");
    }
    res = end_write(r, res, "scheduler.job_run", id);
    if (!res)
        return -1;
    PQclear(res);
    json_object *o = json_object_new_object();
    char msg[96];
    snprintf(msg, sizeof(msg), "Job %s queued for immediate execution", id);
    json_object_object_add(o, "message", json_object_new_string(msg));
    json_object_object_add(o, "status", json_object_new_string("queued"));
    return reply_json(r, 202, o);
}

/* 1 when the job exists, 0 when not, -1 when the database could not say (replied). */
static int job_exists(struct request *r, const char *id)
{
    const char *params[] = {id};
    PGresult *res = query(r, &exists_stmt, params);
    if (!res)
        return -1;
    int exists = PQntuples(res) > 0;
    PQclear(res);
    return exists;
}

int scheduler_job_history(struct request *r)
{
    const char *id = path_param(&r->params, "job_id");
    int exists = job_exists(r, id);
    if (exists <= 0)
        return exists < 0 ? -1 : fail(r, 404, "Job not found");
    const char *hp[] = {id, qstr(r, "limit")};
    return reply_column(r, query(r, &history_stmt, hp), 200, "Job not found");
}

int scheduler_health(struct request *r)
{
    const struct shm *shm = r->svc->shm;
    bool running = shm->scheduler_pid > 0 && kill(shm->scheduler_pid, 0) == 0 &&
                   now_us() - shm->scheduler_heartbeat_us < 10000000u;
    bool cache = mc_ping(r->svc->mc);
    enum db_status st;
    PGresult *res = db_exec(r->svc->db, &counts_stmt, NULL, &st);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string(running && st == DB_OK ? "healthy" : "unhealthy"));
    json_object_object_add(o, "scheduler_running", json_object_new_boolean(running));
    json_object_object_add(o, "redis_connected", json_object_new_boolean(cache));
    json_object_object_add(o, "cache_connected", json_object_new_boolean(cache));
    json_object_object_add(o, "database_connected", json_object_new_boolean(st == DB_OK));
    json_object_object_add(o, "total_jobs", st == DB_OK ? json_object_new_int64(atoll(PQgetvalue(res, 0, 0))) : NULL);
    json_object_object_add(o, "enabled_jobs", st == DB_OK ? json_object_new_int64(atoll(PQgetvalue(res, 0, 1))) : NULL);
    PQclear(res);
    return reply_json(r, st == DB_OK ? 200 : 503, o);
}
