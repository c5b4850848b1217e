/* schedulers.c — the scheduling sync (spec 000 §27–29, CONTRACT 7.2): a server's scheduler configs
 * are jobs of the built-in engine (bot_type mikros, one per kind and server, made by
 * mikros_sync_job() in sql/015_mikros_schedulers.sql), so status answers the engine's own
 * next_run/last_run, and trigger asks the engine for a run now and answers the id that run gets.
 * Also the two job kinds this part adds: monthly_report and promotion_check (game_reset is games.c's). */
#include "guildhall.h"
#include "api/mikros/mikros.h"
#include "db.h"
#include "job.h"
#include "request.h"
#include "schema.h"
#include "scheduler/schedule.h"

#include <ctype.h>
#include <strings.h>

DB_STMT(sync_stmt, 6, false, "SELECT mikros_sync_job($1, $2, $3::boolean, $4, $5::jsonb, $6::bigint)::text");
DB_STMT(status_stmt, 1, true,
        "SELECT json_build_object('server_id', $1::text, 'schedulers', coalesce(json_agg(json_build_object("
        " 'type', substr(j.job_kind, 8), 'config_id', j.id, 'enabled', j.enabled, "
        " 'next_run', CASE WHEN j.enabled THEN mikros_ts(j.next_run_at) END, 'last_run', mikros_ts(j.last_run_at), "
        " 'last_status', j.last_run_status) ORDER BY j.job_kind), '[]'))::text "
        "FROM scheduler_jobs j WHERE j.bot_type = 'mikros' "
        "AND j.job_kind IN ('mikros.game_reset', 'mikros.monthly_report', 'mikros.promotion_check') "
        "AND j.bot_config->>'server_id' = $1");
DB_STMT(lock_stmt, 2, false,
        "SELECT id::text FROM scheduler_jobs WHERE bot_type = 'mikros' AND job_kind = 'mikros.' || $2 "
        "AND bot_config->>'server_id' = $1 FOR UPDATE");
/* After lock_stmt (the engine's claim takes the same lock), so a run it started is seen. A request
 * already queued answers its id again: a retried trigger is the same run. */
DB_STMT(request_stmt, 1, false,
        "UPDATE scheduler_jobs SET run_requested_at = coalesce(run_requested_at, now()), "
        "run_requested_id = coalesce(run_requested_id, gen_random_uuid()) WHERE id = $1::uuid "
        "AND NOT EXISTS (SELECT 1 FROM scheduler_runs WHERE job_id = $1::uuid AND status = 'running') "
        "RETURNING run_requested_id::text");
DB_STMT(report_stmt, 1, false,
        "WITH rep AS (INSERT INTO mikros_monthly_reports AS m (server_id, month, figures) "
        " SELECT $1, to_date(f->>'month', 'YYYY-MM'), f FROM mikros_monthly_figures($1) f "
        " ON CONFLICT (server_id, month) DO UPDATE SET figures = EXCLUDED.figures, written_at = now() "
        " RETURNING m.figures), "
        "box AS (INSERT INTO outbox (kind, payload) SELECT 'mikros_report', figures FROM rep) "
        "SELECT figures::text FROM rep");
/* Due: active and not pushed to the server. Rows no longer due (pushed since, or ended) go. */
DB_STMT(due_stmt, 1, false,
        "WITH due AS (SELECT p.game_id FROM mikros_promotions p WHERE (p.deadline IS NULL OR p.deadline > now()) "
        " AND NOT EXISTS (SELECT 1 FROM mikros_promotion_pushes s WHERE s.game_id = p.game_id AND s.server_id = $1)), "
        "gone AS (DELETE FROM mikros_promotion_due d WHERE d.server_id = $1 "
        " AND d.game_id NOT IN (SELECT game_id FROM due) RETURNING d.game_id), "
        "found AS (INSERT INTO mikros_promotion_due (server_id, game_id) SELECT $1, game_id FROM due "
        " ON CONFLICT DO NOTHING RETURNING game_id) "
        "SELECT json_build_object('server_id', $1::text, "
        " 'due', (SELECT coalesce(json_agg(game_id ORDER BY game_id), '[]') FROM due), "
        " 'newly_due', (SELECT coalesce(json_agg(game_id ORDER BY game_id), '[]') FROM found), "
        " 'no_longer_due', (SELECT coalesce(json_agg(game_id ORDER BY game_id), '[]') FROM gone))::text");

/* Index order is mikros_scheduler_types's: the job kind is "mikros." + the name. */
static const char *const scheduler_types[] = {"game_reset", "monthly_report", "promotion_check", NULL};
enum { GAME_RESET, MONTHLY_REPORT, PROMOTION_CHECK };

struct scheduler_config {
    const char *reset_time_utc, *timezone;
    bool enabled;
    int64_t day_of_month, interval_minutes;
};

/* One config for the three kinds; each reads what applies to it (CONTRACT 7.2, docs/api). */
static const struct body_schema config_schema = {
    .fields = (const struct body_field[]){
        {.name = "reset_time_utc", .type = F_STRING, .flags = F_NULLABLE,
         .offset = offsetof(struct scheduler_config, reset_time_utc)},
        {.name = "enabled", .type = F_BOOL, .flags = F_NULLABLE, .offset = offsetof(struct scheduler_config, enabled),
         .def = "true"},
        {.name = "timezone", .type = F_STRING, .flags = F_NULLABLE, .def = "\"UTC\"",
         .offset = offsetof(struct scheduler_config, timezone)},
        {.name = "day_of_month", .type = F_INT, .flags = F_NULLABLE, .min = 1, .max = 28, .def = "1",
         .offset = offsetof(struct scheduler_config, day_of_month)},
        {.name = "interval_minutes", .type = F_INT, .flags = F_NULLABLE, .min = 1, .max = 10080, .def = "60",
         .offset = offsetof(struct scheduler_config, interval_minutes)},
        {0},
    },
    .refuse_unknown = true,
    .size = sizeof(struct scheduler_config),
};

struct sync_input {
    const char *server_id;
    int type;
    struct scheduler_config config;
    int64_t updated_at;
};

const struct body_schema mikros_scheduler_sync_body = {
    .fields = (const struct body_field[]){
        {.name = "server_id", .type = F_SNOWFLAKE, .flags = F_REQUIRED, .offset = offsetof(struct sync_input, server_id)},
        {.name = "scheduler_type", .type = F_ENUM, .flags = F_REQUIRED, .offset = offsetof(struct sync_input, type),
         .values = scheduler_types},
        {.name = "config", .type = F_OBJECT, .flags = F_REQUIRED, .offset = offsetof(struct sync_input, config),
         .schema = &config_schema},
        {.name = "updated_at", .type = F_TIMESTAMP, .flags = F_NULLABLE, .offset = offsetof(struct sync_input, updated_at)},
        {0},
    },
    .size = sizeof(struct sync_input),
};

struct trigger_input {
    const char *server_id, *triggered_by;
    int type;
    int64_t timestamp;
};

const struct body_schema mikros_scheduler_trigger_body = {
    .fields = (const struct body_field[]){
        {.name = "server_id", .type = F_SNOWFLAKE, .flags = F_REQUIRED,
         .offset = offsetof(struct trigger_input, server_id)},
        {.name = "scheduler_type", .type = F_ENUM, .flags = F_REQUIRED, .offset = offsetof(struct trigger_input, type),
         .values = scheduler_types},
        {.name = "triggered_by", .type = F_STRING, .flags = F_NULLABLE, .min = 1, .max = 100,
         .offset = offsetof(struct trigger_input, triggered_by)},
        {.name = "timestamp", .type = F_TIMESTAMP, .flags = F_NULLABLE, .offset = offsetof(struct trigger_input, timestamp)},
        {0},
    },
    .size = sizeof(struct trigger_input),
};

bool mikros_time_of_day(const char *s, int *hour, int *minute)
{
    if (!s || strlen(s) != 5 || s[2] != ':' || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
        !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
        return false;
    *hour = (s[0] - '0') * 10 + (s[1] - '0');
    *minute = (s[3] - '0') * 10 + (s[4] - '0');
    return *hour < 24 && *minute < 60;
}

bool mikros_schedule_make(struct mikros_schedule *s, enum schedule_type type, json_object *config, char *err,
                          size_t errlen)
{
    struct schedule sched;
    s->type = type;
    s->config = NULL;
    bool ok = schedule_parse(type, config, &sched, &s->config, err, errlen);
    json_object_put(config);
    if (!ok)
        return false;
    int64_t now = (int64_t)(now_us() / 1000000);
    snprintf(s->next_run, sizeof s->next_run, "%lld", (long long)schedule_next(&sched, now, now));
    return true;
}

/* Makes or updates the server's job of kind ("game_reset", …): its id into job_id. -1: replied. */
static int sync_job(struct request *r, const char *server, const char *kind, bool enabled,
                    const struct mikros_schedule *s, char *job_id, size_t len)
{
    const char *params[] = {server, kind, enabled ? "true" : "false", schedule_type_name(s->type),
                            json_object_to_json_string_ext(s->config, JSON_C_TO_STRING_PLAIN), s->next_run};
    PGresult *res = query(r, &sync_stmt, params);
    if (!res)
        return -1;
    snprintf(job_id, len, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

/* The schedule a kind's config asks for; false with a reply naming the field. */
static bool schedule_of(struct request *r, const struct sync_input *in, struct mikros_schedule *s)
{
    const struct scheduler_config *c = &in->config;
    if (strcasecmp(c->timezone, "UTC") != 0 && strcasecmp(c->timezone, "Etc/UTC") != 0)
        return fail_field(r, 400, "config.timezone",
                          "config.timezone must be UTC: reset_time_utc is a time of day in UTC"), false;
    const char *at = c->reset_time_utc ? c->reset_time_utc : in->type == MONTHLY_REPORT ? "09:00" : "00:00";
    int hour, minute;
    if (in->type != PROMOTION_CHECK && !mikros_time_of_day(at, &hour, &minute))
        return fail_field(r, 400, "config.reset_time_utc", "config.reset_time_utc must be HH:MM, 00:00 to 23:59"),
               false;
    json_object *cfg = json_object_new_object();
    enum schedule_type type;
    if (in->type == GAME_RESET) {
        type = SCHEDULE_DAILY;
        json_object_object_add(cfg, "hour", json_object_new_int(hour));
        json_object_object_add(cfg, "minute", json_object_new_int(minute));
    } else if (in->type == MONTHLY_REPORT) {
        char expr[32];
        type = SCHEDULE_CRON;
        snprintf(expr, sizeof expr, "%d %d %d * *", minute, hour, (int)c->day_of_month);
        json_object_object_add(cfg, "cron_expression", json_object_new_string(expr));
    } else {
        type = SCHEDULE_INTERVAL;
        json_object_object_add(cfg, "hours", json_object_new_int((int)(c->interval_minutes / 60)));
        json_object_object_add(cfg, "minutes", json_object_new_int((int)(c->interval_minutes % 60)));
    }
    char err[160];
    if (!mikros_schedule_make(s, type, cfg, err, sizeof err))
        return fail_field(r, 400, "config", "config: %s", err), false;
    return true;
}

int mikros_sync_scheduler(struct request *r)
{
    const struct sync_input *in = r->input;
    struct mikros_schedule s;
    if (!schedule_of(r, in, &s))
        return -1;
    char job[40];
    int rc = sync_job(r, in->server_id, scheduler_types[in->type], in->config.enabled, &s, job, sizeof job);
    json_object_put(s.config);
    if (rc != 0)
        return -1;
    return mikros_reply_id(r, "config_id", job, "Scheduler configuration synced");
}

int mikros_scheduler_status(struct request *r)
{
    const char *server = qstr(r, "server_id");
    if (!server)
        return fail_field(r, 400, "server_id", "Missing required parameter: server_id");
    const char *params[] = {server};
    PGresult *res = query(r, &status_stmt, params);
    if (!res)
        return -1;
    json_object *data = json_tokener_parse(PQgetvalue(res, 0, 0));
    PQclear(res);
    return reply_ok(r, 200, data);
}

int mikros_trigger_scheduler(struct request *r)
{
    const struct trigger_input *in = r->input;
    const char *type = scheduler_types[in->type];
    const char *params[] = {in->server_id, type};
    if (!request_begin(r))
        return -1;
    PGresult *res = query(r, &lock_stmt, params);
    if (!res || PQntuples(res) == 0) {
        PQclear(res);
        request_rollback(r);
        return res ? fail(r, 404, "Server %s has no %s scheduler", in->server_id, type) : -1;
    }
    char job[40];
    snprintf(job, sizeof job, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    const char *job_params[] = {job};
    res = query(r, &request_stmt, job_params);
    if (!res || PQntuples(res) == 0) {
        PQclear(res);
        request_rollback(r);
        return res ? fail(r, 409, "The %s scheduler of server %s is running now", type, in->server_id) : -1;
    }
    char execution[40];
    snprintf(execution, sizeof execution, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    json_object *d = json_object_new_object();
    json_object_object_add(d, "server_id", json_object_new_string(in->server_id));
    json_object_object_add(d, "scheduler_type", json_object_new_string(type));
    json_object_object_add(d, "job_id", json_object_new_string(job));
    json_object_object_add(d, "execution_id", json_object_new_string(execution));
    if (in->triggered_by)
        json_object_object_add(d, "triggered_by", json_object_new_string(in->triggered_by));
    if (!request_audit_commit(r, "mikros.scheduler_trigger", d))
        return -1;
    return mikros_reply_id(r, "execution_id", execution, "Scheduler triggered successfully");
}

/* ---- the job kinds ---------------------------------------------------------------------------- */

void mikros_job_for_server(struct services *svc, const char *config, int (*run)(struct request *r, const char *server),
                           struct job_outcome *o)
{
    struct request r;
    job_request(&r, svc, &family_mikros);
    json_object *cfg = json_tokener_parse(config ? config : "{}"), *server;
    int rc = cfg && json_object_object_get_ex(cfg, "server_id", &server) &&
                     json_object_is_type(server, json_type_string)
                 ? run(&r, json_object_get_string(server))
                 : fail(&r, 400, "The job's bot_config has no server_id");
    json_object_put(cfg);
    job_finish(&r, rc, NULL, o);
}

static int write_report(struct request *r, const char *server)
{
    const char *params[] = {server};
    return reply_column(r, query(r, &report_stmt, params), 200, "Nothing to report");
}

static int record_due(struct request *r, const char *server)
{
    const char *params[] = {server};
    return reply_column(r, query(r, &due_stmt, params), 200, "Nothing to report");
}

void mikros_job_monthly_report(struct services *svc, const char *config, struct job_outcome *o)
{
    mikros_job_for_server(svc, config, write_report, o);
}

void mikros_job_promotion_check(struct services *svc, const char *config, struct job_outcome *o)
{
    mikros_job_for_server(svc, config, record_due, o);
}
