/* engine.c — exactly-once runs across hosts: a job is claimed and its next_run_at advanced in one
 * transaction that holds the row lock, so another engine skips it (SKIP LOCKED) and then sees it
 * no longer due. A partial unique index allows one running execution per job. Missed runs
 * coalesce: a job found overdue runs once and its next run is computed from now. */
#include "guildhall.h"
#include "scheduler/engine.h"
#include "scheduler/kinds.h"
#include "scheduler/schedule.h"
#include "config.h"
#include "db.h"
#include "job.h"
#include "log.h"
#include "metrics.h"
#include "request.h"

#define CLAIM_BATCH 16
#define RECOVERY_EVERY_US 2000000u
#define PRUNE_EVERY_US 3600000000u   /* and when the engine starts */
#define PRUNE_RETRY_US 60000000u
#define PRUNE_BATCH 1000             /* a full batch: the next tick prunes again */
#define KEEP_RUNS "200"              /* the newest runs of each job are kept whatever their age */


/* Lock order: a job row before its runs' rows, everywhere. A job DELETE locks the job row, then
 * its cascade deletes the runs; so recovery and the end of a run lock the job first too. */

/* Runs whose scheduler connection is gone were orphaned by a crash: they failed. */
#define ORPHAN "r.status = 'running' AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = r.runner_pid)"
DB_STMT(orphans_stmt, 0, true, "SELECT EXISTS (SELECT 1 FROM scheduler_runs r WHERE " ORPHAN ")");
DB_STMT(lock_orphan_jobs_stmt, 0, false,
        "SELECT j.id FROM scheduler_jobs j WHERE j.id IN (SELECT r.job_id FROM scheduler_runs r WHERE " ORPHAN ") "
        "ORDER BY j.id FOR UPDATE");
DB_STMT(recover_stmt, 1, false,
        "WITH dead AS (UPDATE scheduler_runs r SET status = 'failed', finished_at = now(), "
        " error = 'the scheduler process running it stopped before it finished' "
        " WHERE r.job_id = ANY($1::uuid[]) AND " ORPHAN " RETURNING job_id, started_at, error) "
        "UPDATE scheduler_jobs j SET last_run_status = 'failed', last_run_error = dead.error, "
        " last_run_at = dead.started_at FROM dead WHERE j.id = dead.job_id RETURNING j.id");
DB_STMT(unscheduled_stmt, 0, true,
        "SELECT id, schedule_type, schedule_config::text, extract(epoch FROM anchor_at)::bigint "
        "FROM scheduler_jobs WHERE enabled AND next_run_at IS NULL LIMIT 100");
DB_STMT(set_next_stmt, 2, false,
        "UPDATE scheduler_jobs SET next_run_at = to_timestamp($2::bigint) WHERE id = $1::uuid AND enabled");
/* Two bounded candidate lists, each on its own index (an OR of the two would sort every due job),
 * then the row locks: SKIP LOCKED leaves jobs another engine is claiming to that engine. */
DB_STMT(claim_stmt, 0, false,
        "SELECT id, bot_type, coalesce(job_kind, ''), schedule_type, schedule_config::text, bot_config::text, "
        "extract(epoch FROM anchor_at)::bigint, enabled AND next_run_at <= now(), "
        "coalesce(extract(epoch FROM next_run_at)::bigint, 0), run_requested_id "
        "FROM scheduler_jobs j WHERE j.id IN ("
        " (SELECT d.id FROM scheduler_jobs d WHERE d.enabled AND d.next_run_at <= now() AND NOT EXISTS "
        "  (SELECT 1 FROM scheduler_runs r WHERE r.job_id = d.id AND r.status = 'running') "
        "  ORDER BY d.next_run_at LIMIT " "16" ") "
        " UNION ALL "
        " (SELECT q.id FROM scheduler_jobs q WHERE q.run_requested_at IS NOT NULL AND NOT EXISTS "
        "  (SELECT 1 FROM scheduler_runs r WHERE r.job_id = q.id AND r.status = 'running') LIMIT " "16" ")) "
        /* repeated on the locked row: FOR UPDATE re-checks these against a version another engine
         * just committed (it advanced next_run_at), but not the IN list computed before the lock */
        "AND ((j.enabled AND j.next_run_at <= now()) OR j.run_requested_at IS NOT NULL) "
        "ORDER BY next_run_at NULLS LAST LIMIT " "16" " FOR UPDATE SKIP LOCKED");
/* A run asked for by a mikros trigger takes the id the trigger answered ($4). */
DB_STMT(start_run_stmt, 4, false,
        "WITH run AS (INSERT INTO scheduler_runs (id, job_id, scheduled_for, status, runner_pid) "
        " VALUES (coalesce($4::uuid, gen_random_uuid()), $1::uuid, to_timestamp(nullif($3::bigint, 0)), 'running', "
        " pg_backend_pid()) RETURNING id), "
        "job AS (UPDATE scheduler_jobs SET run_requested_at = NULL, run_requested_id = NULL, "
        " next_run_at = CASE WHEN $2::bigint > 0 THEN to_timestamp($2::bigint) ELSE next_run_at END "
        " WHERE id = $1::uuid) "
        "SELECT id FROM run");
DB_STMT(lock_job_stmt, 1, false, "SELECT 1 FROM scheduler_jobs WHERE id = $1::uuid FOR UPDATE");
/* After lock_job_stmt: the job row is ours, so updating the run, then the job, cannot deadlock. */
DB_STMT(finish_run_stmt, 6, false,
        "WITH run AS (UPDATE scheduler_runs SET status = $2, finished_at = now(), result = $3::jsonb, "
        " error = $4, messages_sent = $5::int, profiles_visited = $6::int WHERE id = $1::uuid "
        " RETURNING job_id, started_at) "
        "UPDATE scheduler_jobs j SET last_run_at = run.started_at, last_run_status = $2, last_run_error = $4 "
        "FROM run WHERE j.id = run.job_id");
DB_STMT(prune_stmt, 3, false, "SELECT scheduler_prune_runs($1::int, $2::int, $3::int)");
DB_STMT(next_due_stmt, 0, true,
        "SELECT floor(extract(epoch FROM (SELECT min(next_run_at) FROM scheduler_jobs WHERE enabled) - now()) "
        "* 1000)::bigint, EXISTS (SELECT 1 FROM scheduler_jobs WHERE run_requested_at IS NOT NULL)");

struct claimed {
    char id[40], run_id[40], bot_type[16], kind[40];
    char *bot_config;
};

static uint64_t last_recovery_us, next_prune_us;

static void recover_orphans(struct services *svc)
{
    uint64_t now = monotonic_us();
    if (now - last_recovery_us < RECOVERY_EVERY_US)
        return;
    last_recovery_us = now;
    enum db_status st;
    PGresult *res = db_exec(svc->db, &orphans_stmt, NULL, &st);
    bool any = st == DB_OK && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!any || db_command(svc->db, "BEGIN") != DB_OK)
        return;
    res = db_exec(svc->db, &lock_orphan_jobs_stmt, NULL, &st);
    if (st != DB_OK) {
        (void)db_command(svc->db, "ROLLBACK");
        return;
    }
    struct buf ids = {0};
    buf_puts(&ids, "{");
    for (int i = 0; i < PQntuples(res); i++)
        buf_printf(&ids, "%s%s", i ? "," : "", PQgetvalue(res, i, 0));
    buf_puts(&ids, "}");
    PQclear(res);
    const char *params[] = {ids.data};
    res = db_exec(svc->db, &recover_stmt, params, &st);
    int n = st == DB_OK ? PQntuples(res) : 0;
    PQclear(res);
    buf_free(&ids);
    if (st == DB_OK && db_command(svc->db, "COMMIT") == DB_OK) {
        if (n > 0)
            log_warn("marked %d orphaned run(s) failed", n);
    } else {
        (void)db_command(svc->db, "ROLLBACK");
    }
}

static bool parse_schedule(const char *type, const char *config, struct schedule *s)
{
    enum schedule_type t;
    char err[256];
    json_object *cfg = json_tokener_parse(config), *normalized = NULL;
    bool ok = schedule_type_parse(type, &t, err, sizeof(err)) && schedule_parse(t, cfg, s, &normalized, err, sizeof(err));
    if (!ok)
        log_error("stored schedule is invalid (%s): %s", config, err);
    json_object_put(cfg);
    json_object_put(normalized);
    return ok;
}

static void schedule_new_jobs(struct services *svc)
{
    enum db_status st;
    PGresult *res = db_exec(svc->db, &unscheduled_stmt, NULL, &st);
    if (st != DB_OK)
        return;
    int64_t now = (int64_t)(now_us() / 1000000u);
    for (int i = 0; i < PQntuples(res); i++) {
        struct schedule s;
        if (!parse_schedule(PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), &s))
            continue;
        char next[24];
        snprintf(next, sizeof(next), "%lld", (long long)schedule_next(&s, now, atoll(PQgetvalue(res, i, 3))));
        const char *params[] = {PQgetvalue(res, i, 0), next};
        PQclear(db_exec(svc->db, &set_next_stmt, params, &st));
    }
    PQclear(res);
}

/* Claims up to CLAIM_BATCH due jobs in one transaction; returns how many. */
static int claim(struct services *svc, struct claimed *out)
{
    enum db_status st;
    int n = 0;
    if (db_command(svc->db, "BEGIN") != DB_OK)
        return 0;
    PGresult *res = db_exec(svc->db, &claim_stmt, NULL, &st);
    if (st != DB_OK)
        goto fail;
    int64_t now = (int64_t)(now_us() / 1000000u);
    for (int i = 0; i < PQntuples(res) && n < CLAIM_BATCH; i++) {
        struct claimed *c = &out[n];
        memset(c, 0, sizeof(*c));
        snprintf(c->id, sizeof(c->id), "%s", PQgetvalue(res, i, 0));
        snprintf(c->bot_type, sizeof(c->bot_type), "%s", PQgetvalue(res, i, 1));
        snprintf(c->kind, sizeof(c->kind), "%s", PQgetvalue(res, i, 2));
        bool due = PQgetvalue(res, i, 7)[0] == 't';
        char next[24] = "0", scheduled[24];
        snprintf(scheduled, sizeof(scheduled), "%s", due ? PQgetvalue(res, i, 8) : "0");
        struct schedule s;
        if (due && parse_schedule(PQgetvalue(res, i, 3), PQgetvalue(res, i, 4), &s))
            snprintf(next, sizeof(next), "%lld", (long long)schedule_next(&s, now, atoll(PQgetvalue(res, i, 6))));
        const char *params[] = {c->id, next, scheduled, PQgetisnull(res, i, 9) ? NULL : PQgetvalue(res, i, 9)};
        PGresult *run = db_exec(svc->db, &start_run_stmt, params, &st);
        if (st != DB_OK) {
            PQclear(res);
            goto fail;
        }
        snprintf(c->run_id, sizeof(c->run_id), "%s", PQgetvalue(run, 0, 0));
        PQclear(run);
        c->bot_config = xstrdup(PQgetvalue(res, i, 5));
        n++;
    }
    PQclear(res);
    if (db_command(svc->db, "COMMIT") == DB_OK)
        return n;
    for (int i = 0; i < n; i++)
        free(out[i].bot_config);
    return 0;
fail:
    for (int i = 0; i < n; i++)
        free(out[i].bot_config);
    (void)db_command(svc->db, "ROLLBACK");
    return 0;
}

/* The kinds table says what runs: job_kind for built-in and mikros jobs, bot_type for the bots'. */
static void execute(struct services *svc, const struct claimed *c, struct job_outcome *o)
{
    const char *name = c->kind[0] ? c->kind : c->bot_type;
    const struct job_kind *k = job_kind_find(name);
    if (k) {
        k->run(svc, c->bot_config, o);
    } else {
        o->status = "failed";
        snprintf(o->error, sizeof(o->error), "unknown job kind '%s'", name);
    }
}

static void finish(struct services *svc, const struct claimed *c, struct job_outcome *o)
{
    char sent[24], visited[24];
    snprintf(sent, sizeof(sent), "%ld", o->messages_sent);
    snprintf(visited, sizeof(visited), "%ld", o->profiles_visited);
    const char *params[] = {c->run_id, o->status,
                            o->result ? json_object_to_json_string_ext(o->result, JSON_C_TO_STRING_PLAIN) : NULL,
                            o->error[0] ? o->error : NULL, sent, visited};
    const char *job[] = {c->id};
    enum db_status st = db_command(svc->db, "BEGIN");
    if (st == DB_OK)
        PQclear(db_exec(svc->db, &lock_job_stmt, job, &st));   /* no row: the job was deleted, runs too */
    if (st == DB_OK)
        PQclear(db_exec(svc->db, &finish_run_stmt, params, &st));
    if (st == DB_OK)
        st = db_command(svc->db, "COMMIT");
    if (st != DB_OK) {
        (void)db_command(svc->db, "ROLLBACK");
        /* A run left 'running' would block its job for good. Its runner is this connection:
         * dropping it lets orphan recovery (ours or another host's) mark the run failed. */
        log_error("could not record the end of run %s; reconnecting so that it is recovered", c->run_id);
        db_close(svc->db);
        svc->db = db_open(config_direct_url(svc->cfg), svc->cfg->db_statement_timeout_ms, false);
    }
    metrics_count(svc, !strcmp(o->status, "success") ? M_SCHED_SUCCESS
                       : !strcmp(o->status, "skipped") ? M_SCHED_SKIPPED
                                                       : M_SCHED_FAILED);
}

/* Old history goes in bounded batches (scheduler_prune_runs in sql/007_scheduler_runs.sql). */
static void prune_runs(struct services *svc)
{
    uint64_t now = monotonic_us();
    if (now < next_prune_us)
        return;
    char days[16], batch[16];
    snprintf(days, sizeof(days), "%d", svc->cfg->scheduler_run_retention_days);
    snprintf(batch, sizeof(batch), "%d", PRUNE_BATCH);
    const char *params[] = {days, KEEP_RUNS, batch};
    enum db_status st;
    PGresult *res = db_exec(svc->db, &prune_stmt, params, &st);
    int n = st == DB_OK ? atoi(PQgetvalue(res, 0, 0)) : 0;
    PQclear(res);
    if (n > 0)
        log_info("pruned %d run(s) older than %s days from the history", n, days);
    next_prune_us = st != DB_OK ? now + PRUNE_RETRY_US : n >= PRUNE_BATCH ? now : now + PRUNE_EVERY_US;
}

int engine_tick(struct services *svc)
{
    struct claimed runs[CLAIM_BATCH];
    recover_orphans(svc);
    schedule_new_jobs(svc);
    int n = claim(svc, runs);
    for (int i = 0; i < n; i++) {
        struct job_outcome o = {.status = "failed"};
        execute(svc, &runs[i], &o);
        finish(svc, &runs[i], &o);
        if (strcmp(o.status, "success") != 0)
            log_info("job %s run %s: %s %s", runs[i].id, runs[i].run_id, o.status, o.error);
        json_object_put(o.result);
        free(runs[i].bot_config);
    }
    prune_runs(svc);   /* after the due runs: they do not wait for it */
    return n;
}

int engine_wait_ms(struct services *svc, int max_ms)
{
    enum db_status st;
    PGresult *res = db_exec(svc->db, &next_due_stmt, NULL, &st);
    int wait = max_ms;
    if (st == DB_OK) {
        if (PQgetvalue(res, 0, 1)[0] == 't')
            wait = 0;
        else if (!PQgetisnull(res, 0, 0)) {
            long long ms = atoll(PQgetvalue(res, 0, 0));
            wait = ms <= 0 ? 0 : ms < max_ms ? (int)ms + 1 : max_ms;
        }
    }
    PQclear(res);
    return wait;
}
