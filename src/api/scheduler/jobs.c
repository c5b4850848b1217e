/* jobs.c — CRUD, toggle, run-now and history for scheduled jobs. next_run_at is computed here
 * (schedule.c) whenever the schedule or the enabled flag changes, and by the engine after a run. */
#include "guildhall.h"
#include "api/scheduler/jobs.h"
#include "scheduler/schedule.h"
#include "cache.h"
#include "config.h"
#include "db.h"
#include "metrics.h"
#include "request.h"

#include <ctype.h>
#include <signal.h>
#include <stdarg.h>

#define JOB_COLUMNS "id, name, description, bot_type, enabled, schedule_type, schedule_config::text, bot_config::text"

DB_STMT(list_stmt, 2, true,
        "SELECT coalesce(jsonb_agg(scheduler_job_json(j) ORDER BY j.created_at DESC, j.id DESC), '[]')::text "
        "FROM scheduler_jobs j WHERE (NOT $1::bool OR j.enabled) "
        "AND ($2::bool OR j.bot_type IN ('birthday', 'visitor'))");
DB_STMT(get_stmt, 1, true, "SELECT scheduler_job_json(j)::text FROM scheduler_jobs j WHERE id = $1::uuid");
DB_STMT(get_raw_stmt, 1, true,
        "SELECT " JOB_COLUMNS ", extract(epoch FROM anchor_at)::bigint FROM scheduler_jobs WHERE id = $1::uuid");
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
DB_STMT(delete_stmt, 1, false,
        "DELETE FROM scheduler_jobs WHERE id = $1::uuid AND bot_type IN ('birthday', 'visitor') RETURNING id");
DB_STMT(run_stmt, 1, false,
        "UPDATE scheduler_jobs SET run_requested_at = now() WHERE id = $1::uuid AND NOT EXISTS "
        "(SELECT 1 FROM scheduler_runs WHERE job_id = $1::uuid AND status = 'running') RETURNING id");
DB_STMT(exists_stmt, 1, true, "SELECT 1 FROM scheduler_jobs WHERE id = $1::uuid");
DB_STMT(history_stmt, 2, true,
        "SELECT coalesce(jsonb_agg(scheduler_run_json(r) ORDER BY r.started_at DESC, r.id DESC), '[]')::text "
        "FROM (SELECT * FROM scheduler_runs WHERE job_id = $1::uuid ORDER BY started_at DESC, id DESC "
        "LIMIT $2::int) r");
DB_STMT(counts_stmt, 0, true,
        "SELECT count(*), count(*) FILTER (WHERE enabled) FROM scheduler_jobs "
        "WHERE bot_type IN ('birthday', 'visitor')");

/* ---- bot configuration ---------------------------------------------------------------------- */

struct bot_field {
    const char *name;
    json_type type;
    const char *def;         /* JSON text of the default */
    long min, max;           /* integers */
};

static const struct bot_field birthday_fields[] = {
    {"dry_run", json_type_boolean, "false", 0, 0},
    {"process_late", json_type_boolean, "false", 0, 0},
    {"max_days_late", json_type_int, "7", 1, 365},
    {"max_messages_per_run", json_type_int, "10", 1, 1000000},
    {NULL, 0, NULL, 0, 0},
};
static const struct bot_field visitor_fields[] = {
    {"dry_run", json_type_boolean, "false", 0, 0},
    {"limit", json_type_int, "50", 1, 500},
    {NULL, 0, NULL, 0, 0},
};

json_object *scheduler_bot_config(const char *bot_type, json_object *given, char *err, size_t errlen)
{
    const struct bot_field *fields = !strcmp(bot_type, "birthday") ? birthday_fields
                                     : !strcmp(bot_type, "visitor") ? visitor_fields
                                                                    : NULL;
    if (!fields) {
        snprintf(err, errlen, "bot_type must be one of: birthday, visitor");
        return NULL;
    }
    if (given && !json_object_is_type(given, json_type_object)) {
        snprintf(err, errlen, "bot_config must be an object");
        return NULL;
    }
    if (given) {
        json_object_object_foreach(given, key, val) {
            (void)val;
            bool known = false;
            for (const struct bot_field *f = fields; f->name; f++)
                known |= !strcmp(f->name, key);
            if (!known) {
                snprintf(err, errlen, "bot_config.%s is not a %s bot setting", key, bot_type);
                return NULL;
            }
        }
    }
    json_object *out = json_object_new_object(), *v;
    for (const struct bot_field *f = fields; f->name; f++) {
        if (!given || !json_object_object_get_ex(given, f->name, &v) || json_object_is_type(v, json_type_null)) {
            json_object_object_add(out, f->name, json_tokener_parse(f->def));
            continue;
        }
        bool ok = json_object_is_type(v, f->type) &&
                  (f->type != json_type_int || (json_object_get_int64(v) >= f->min && json_object_get_int64(v) <= f->max));
        if (!ok) {
            if (f->type == json_type_int)
                snprintf(err, errlen, "bot_config.%s must be an integer %ld-%ld", f->name, f->min, f->max);
            else
                snprintf(err, errlen, "bot_config.%s must be true or false", f->name);
            json_object_put(out);
            return NULL;
        }
        json_object_object_add(out, f->name, json_object_get(v));
    }
    return out;
}

/* ---- helpers ---------------------------------------------------------------------------------- */

/* Malformed ids are 404 in this family (CONTRACT 4), like ids that do not exist. */
static const char *job_id(struct request *r)
{
    const char *id = path_param(&r->params, "job_id");
    if (!uuid_valid(id)) {
        fail(r, 404, "Job not found");
        return NULL;
    }
    return id;
}

static int reply_column(struct request *r, PGresult *res, int status)
{
    if (!res)
        return -1;
    if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)) {
        PQclear(res);
        return fail(r, 404, "Job not found");
    }
    reply_text(r, status, "application/json", PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
    return 0;
}

static void audit(struct request *r, const char *action, const char *job)
{
    json_object *d = json_object_new_object();
    json_object_object_add(d, "job_id", json_object_new_string(job));
    request_audit(r, action, d);
    json_object_put(d);
}

/* A 400 from a function that answers bool. */
static bool invalid(struct request *r, const char *fmt, ...) PRINTF_LIKE(2, 3);
static bool invalid(struct request *r, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fail(r, 400, "%s", msg);
    return false;
}

/* The job as the request leaves it: every field validated, defaults applied. */
struct job {
    const char *name, *description, *bot_type, *schedule_type;
    bool enabled;
    json_object *schedule_config, *bot_config;   /* owned */
    int64_t next_run;                            /* Unix seconds; 0 when disabled */
};

static void job_free(struct job *j)
{
    json_object_put(j->schedule_config);
    json_object_put(j->bot_config);
    j->schedule_config = j->bot_config = NULL;
}

static bool field_string(struct request *r, const char *name, size_t min, size_t max, const char **out)
{
    json_object *v;
    if (!json_object_object_get_ex(r->body, name, &v))
        return true;
    if (json_object_is_type(v, json_type_null) && min == 0) {
        *out = NULL;
        return true;
    }
    if (!json_object_is_type(v, json_type_string)) {
        fail(r, 400, "%s must be a string", name);
        return false;
    }
    size_t n = 0;   /* characters, not bytes: the body is valid UTF-8 (checked by the dispatcher) */
    for (const unsigned char *p = (const unsigned char *)json_object_get_string(v); *p; p++)
        n += (*p & 0xC0) != 0x80;
    if (n < min || n > max) {
        fail(r, 400, "%s must be %zu to %zu characters", name, min, max);
        return false;
    }
    *out = json_object_get_string(v);
    return true;
}

static bool field_bool(struct request *r, const char *name, bool *out)
{
    json_object *v;
    if (!json_object_object_get_ex(r->body, name, &v))
        return true;
    if (!json_object_is_type(v, json_type_boolean)) {
        fail(r, 400, "%s must be true or false", name);
        return false;
    }
    *out = json_object_get_boolean(v);
    return true;
}

/* Applies the body over j (all fields for a create, any for an update) and validates the result. */
static bool job_apply_body(struct request *r, struct job *j, int64_t anchor, bool *anchor_reset)
{
    json_object *v;
    char err[256];
    static const char *const known[] = {"name", "description", "bot_type", "enabled", "schedule_type",
                                        "schedule_config", "bot_config", NULL};
    if (!json_object_is_type(r->body, json_type_object)) {
        fail(r, 400, "Request body must be a JSON object");
        return false;
    }
    json_object_object_foreach(r->body, key, val) {
        (void)val;
        bool ok = false;
        for (const char *const *k = known; *k; k++)
            ok |= !strcmp(*k, key);
        if (!ok) {
            fail(r, 400, "%s is not a job field", key);
            return false;
        }
    }
    bool was_enabled = j->enabled;
    if (!field_string(r, "name", 1, 200, &j->name) || !field_string(r, "description", 0, 500, &j->description) ||
        !field_string(r, "bot_type", 1, 32, &j->bot_type) || !field_bool(r, "enabled", &j->enabled) ||
        !field_string(r, "schedule_type", 1, 32, &j->schedule_type))
        return false;
    if (!j->name)
        return invalid(r, "Missing required field: name");
    if (!j->bot_type || (strcmp(j->bot_type, "birthday") && strcmp(j->bot_type, "visitor")))
        return invalid(r, "bot_type must be one of: birthday, visitor");
    if (!j->schedule_type)
        return invalid(r, "Missing required field: schedule_type");

    enum schedule_type type;
    if (!schedule_type_parse(j->schedule_type, &type, err, sizeof(err)))
        return invalid(r, "%s", err);
    json_object *given = json_object_object_get_ex(r->body, "schedule_config", &v) ? v : j->schedule_config;
    if (json_object_object_get_ex(r->body, "schedule_type", &v) && !json_object_object_get_ex(r->body, "schedule_config", &v))
        given = NULL;   /* a new type without a config gets that type's defaults */
    struct schedule sched;
    json_object *normalized = NULL;
    if (given && !json_object_is_type(given, json_type_object))
        return invalid(r, "schedule_config must be an object");
    if (!schedule_parse(type, given, &sched, &normalized, err, sizeof(err)))
        return invalid(r, "%s", err);
    json_object_put(j->schedule_config);
    j->schedule_config = normalized;

    json_object *bot = json_object_object_get_ex(r->body, "bot_config", &v) ? v : j->bot_config;
    json_object *filled = scheduler_bot_config(j->bot_type, bot, err, sizeof(err));
    if (!filled)
        return invalid(r, "%s", err);
    json_object_put(j->bot_config);
    j->bot_config = filled;

    int64_t now = (int64_t)(now_us() / 1000000u);
    *anchor_reset = j->enabled && !was_enabled;
    if (*anchor_reset || json_object_object_get_ex(r->body, "schedule_config", &v) ||
        json_object_object_get_ex(r->body, "schedule_type", &v))
        anchor = now;
    j->next_run = j->enabled ? schedule_next(&sched, now, anchor) : 0;
    if (j->enabled && j->next_run < 0)
        return invalid(r, "schedule_config never matches a time (cron_expression)");
    return true;
}

static void next_run_text(const struct job *j, char out[24])
{
    if (j->next_run > 0)
        snprintf(out, 24, "%lld", (long long)j->next_run);
    else
        out[0] = '\0';
}

/* Loads a job's stored fields into j; false with a 404/503 reply. */
static bool job_load(struct request *r, const char *id, struct job *j, int64_t *anchor, PGresult **keep)
{
    const char *params[] = {id};
    PGresult *res = query(r, &get_raw_stmt, params);
    if (!res)
        return false;
    if (PQntuples(res) == 0) {
        PQclear(res);
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
    *anchor = atoll(PQgetvalue(res, 0, 8));
    *keep = res;   /* j's strings point into it */
    return true;
}

/* ---- handlers --------------------------------------------------------------------------------- */

int scheduler_list_jobs(struct request *r)
{
    const char *params[] = {qstr(r, "enabled_only"), qstr(r, "include_system")};
    PGresult *res = query(r, &list_stmt, params);
    return reply_column(r, res, 200);
}

int scheduler_get_job(struct request *r)
{
    const char *id = job_id(r);
    if (!id)
        return -1;
    const char *params[] = {id};
    return reply_column(r, query(r, &get_stmt, params), 200);
}

int scheduler_create_job(struct request *r)
{
    struct job j = {.enabled = true};
    bool reset;
    int rc = -1;
    if (!job_apply_body(r, &j, 0, &reset))
        goto out;
    char next[24];
    next_run_text(&j, next);
    const char *params[] = {j.name, j.description, j.bot_type, j.enabled ? "true" : "false", j.schedule_type,
                            json_object_to_json_string_ext(j.schedule_config, JSON_C_TO_STRING_PLAIN),
                            json_object_to_json_string_ext(j.bot_config, JSON_C_TO_STRING_PLAIN),
                            next[0] ? next : NULL};
    PGresult *res = query(r, &insert_stmt, params);
    if (res) {
        char id[40];
        snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 1));
        audit(r, "scheduler.job_create", id);
    }
    rc = reply_column(r, res, 201);
out:
    job_free(&j);
    return rc;
}

/* Shared by update and toggle: the new state is written with its recomputed next_run_at. */
static int save_job(struct request *r, const char *id, struct job *j, bool anchor_reset, const char *action)
{
    char next[24];
    next_run_text(j, next);
    const char *params[] = {id, j->name, j->description, j->enabled ? "true" : "false", j->schedule_type,
                            json_object_to_json_string_ext(j->schedule_config, JSON_C_TO_STRING_PLAIN),
                            json_object_to_json_string_ext(j->bot_config, JSON_C_TO_STRING_PLAIN),
                            next[0] ? next : NULL, anchor_reset ? "true" : "false", j->bot_type};
    PGresult *res = query(r, &update_stmt, params);
    if (res && PQntuples(res))
        audit(r, action, id);
    return reply_column(r, res, 200);
}

int scheduler_update_job(struct request *r)
{
    const char *id = job_id(r);
    struct job j = {0};
    int64_t anchor;
    PGresult *stored = NULL;
    bool reset;
    int rc = -1;
    if (!id || !job_load(r, id, &j, &anchor, &stored))
        return -1;
    if (strcmp(j.bot_type, "birthday") && strcmp(j.bot_type, "visitor"))
        rc = fail(r, 404, "Job not found");   /* built-in jobs are not edited through the API */
    else if (job_apply_body(r, &j, anchor, &reset))
        rc = save_job(r, id, &j, reset, "scheduler.job_update");
    job_free(&j);
    PQclear(stored);
    return rc;
}

int scheduler_toggle_job(struct request *r)
{
    const char *id = job_id(r);
    struct job j = {0};
    int64_t anchor;
    PGresult *stored = NULL;
    bool reset;
    int rc = -1;
    if (!id || !job_load(r, id, &j, &anchor, &stored))
        return -1;
    json_object *v;
    if (strcmp(j.bot_type, "birthday") && strcmp(j.bot_type, "visitor")) {
        rc = fail(r, 404, "Job not found");
        goto out;
    }
    if (r->body && (!json_object_is_type(r->body, json_type_object) ||
                    (json_object_object_length(r->body) > 0 &&
                     (!json_object_object_get_ex(r->body, "enabled", &v) || json_object_object_length(r->body) != 1)))) {
        rc = fail(r, 400, "The body may only hold enabled");
        goto out;
    }
    /* without a body (or without "enabled") toggle flips */
    json_object *body = json_object_new_object();
    bool target = !j.enabled;
    if (r->body && json_object_object_get_ex(r->body, "enabled", &v)) {
        if (!json_object_is_type(v, json_type_boolean)) {
            json_object_put(body);
            rc = fail(r, 400, "enabled must be true or false");
            goto out;
        }
        target = json_object_get_boolean(v);
    }
    json_object_object_add(body, "enabled", json_object_new_boolean(target));
    json_object *saved = r->body;
    r->body = body;
    if (job_apply_body(r, &j, anchor, &reset))
        rc = save_job(r, id, &j, reset, "scheduler.job_toggle");
    r->body = saved;
    json_object_put(body);
out:
    job_free(&j);
    PQclear(stored);
    return rc;
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

int scheduler_delete_job(struct request *r)
{
    const char *id = job_id(r);
    if (!id)
        return -1;
    const char *params[] = {id};
    PGresult *res = query(r, &delete_stmt, params);
    if (!res)
        return -1;
    bool found = PQntuples(res) > 0;
    PQclear(res);
    if (!found)
        return fail(r, 404, "Job not found");
    audit(r, "scheduler.job_delete", id);
    r->status = 204;
    return 0;
}

int scheduler_run_job(struct request *r)
{
    const char *id = job_id(r);
    if (!id)
        return -1;
    const char *params[] = {id};
    PGresult *res = query(r, &run_stmt, params);
    if (!res)
        return -1;
    bool queued = PQntuples(res) > 0;
    PQclear(res);
    if (!queued) {
        int exists = job_exists(r, id);
        return exists < 0 ? -1 : exists ? fail(r, 409, "Job is already running") : fail(r, 404, "Job not found");
    }
    audit(r, "scheduler.job_run", id);
    json_object *o = json_object_new_object();
    char msg[96];
    snprintf(msg, sizeof(msg), "Job %s queued for immediate execution", id);
    json_object_object_add(o, "message", json_object_new_string(msg));
    json_object_object_add(o, "status", json_object_new_string("queued"));
    return reply_json(r, 202, o);
}

int scheduler_job_history(struct request *r)
{
    const char *id = job_id(r);
    if (!id)
        return -1;
    int exists = job_exists(r, id);
    if (exists <= 0)
        return exists < 0 ? -1 : fail(r, 404, "Job not found");
    const char *hp[] = {id, qstr(r, "limit")};
    return reply_column(r, query(r, &history_stmt, hp), 200);
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
