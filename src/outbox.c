/* outbox.c — the outbox process: delivers what handlers queued in the outbox (audit and error
 * webhooks, nchan publishes) with retries and back-off, and writes failed authentications to the
 * audit log in bulk. Its own process, so a slow or dead webhook never delays a due job. Woken by
 * LISTEN guildhall_outbox; several hosts share the rows through SKIP LOCKED leases. */
#include "guildhall.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "process.h"
#include "request.h"
#include "webhook.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <signal.h>
#include <unistd.h>

#define BATCH 20
#define LEASE "5 minutes"
#define IDLE_WAIT_MS 1000   /* retries fall due without a NOTIFY: look at least this often */

/* Claims due rows with a lease, so a process killed mid-delivery only delays them. */
DB_STMT(claim_outbox, 0, false,
        "WITH claimed AS (UPDATE outbox SET next_attempt_at = now() + interval '" LEASE "', "
        "attempts = attempts + 1 "
        "WHERE id IN (SELECT id FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= now() "
        "AND kind IN ('audit_webhook', 'error_webhook', 'nchan') "
        "ORDER BY id LIMIT " "20" " FOR UPDATE SKIP LOCKED) "
        "RETURNING id, kind, payload::text, attempts) "
        "SELECT * FROM claimed ORDER BY id");   /* RETURNING has no order: events must go out in theirs */
DB_STMT(mark_delivered, 2, false, "UPDATE outbox SET delivered_at = now(), last_error = $2 WHERE id = $1");
/* Back-off: 2^attempts seconds, at most 10 minutes; never given up on. */
DB_STMT(mark_failed, 3, false,
        "UPDATE outbox SET next_attempt_at = now() + least(power(2, $2::int), 600) * interval '1 second', "
        "last_error = $3 WHERE id = $1");
/* Rows claimed but not tried when SIGTERM came: due again at once, the attempt not counted. */
DB_STMT(release_claimed, 1, false,
        "UPDATE outbox SET next_attempt_at = now(), attempts = attempts - 1 "
        "WHERE id = ANY($1::bigint[]) AND delivered_at IS NULL");
DB_STMT(audit_auth_failures, 2, false,
        "SELECT audit_record('system', '0', 'security.auth_failures', 'security', "
        "jsonb_build_object('count', $1::bigint, 'window_seconds', $2::int), NULL, NULL)");

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
    (void)sig;
    stopping = 1;
}

static const char *target_url(const struct config *cfg, const char *kind)
{
    const char *url = !strcmp(kind, "audit_webhook") ? cfg->webhook_audit_url
                      : !strcmp(kind, "nchan")       ? cfg->nchan_publish_url
                                                     : cfg->webhook_error_url;
    return url && *url ? url : NULL;
}

/* An nchan row holds {"event": type, "message": {…}}: the message is published, and the event
 * names the SSE "event:" line. Webhook rows are posted as they are. */
static bool deliver(const struct config *cfg, const char *kind, const char *url, const char *payload, char *err,
                    size_t errlen)
{
    if (strcmp(kind, "nchan") != 0)
        return webhook_post(url, payload, cfg->webhook_timeout_ms, err, errlen);
    json_object *p = json_tokener_parse(payload), *event = NULL, *message = NULL;
    bool ok = false;
    if (p && json_object_object_get_ex(p, "event", &event) && json_object_object_get_ex(p, "message", &message)) {
        char header[128];
        snprintf(header, sizeof(header), "X-EventSource-Event: %s", json_object_get_string(event));
        ok = webhook_post_with(url, json_object_to_json_string_ext(message, JSON_C_TO_STRING_PLAIN), header,
                               cfg->webhook_timeout_ms, err, errlen);
    } else {
        snprintf(err, errlen, "malformed nchan outbox row");
    }
    json_object_put(p);
    return ok;
}

static void release(struct services *svc, PGresult *res, int from)
{
    int n = PQntuples(res);
    if (from >= n)
        return;
    struct buf ids = {0};
    buf_puts(&ids, "{");
    for (int i = from; i < n; i++)
        buf_printf(&ids, "%s%s", i > from ? "," : "", PQgetvalue(res, i, 0));
    buf_puts(&ids, "}");
    const char *p[] = {ids.data};
    enum db_status st;
    PQclear(db_exec(svc->db, &release_claimed, p, &st));
    buf_free(&ids);
}

/* Returns how many rows it claimed. */
static int deliver_outbox(const struct config *cfg, struct services *svc)
{
    enum db_status st;
    PGresult *res = db_exec(svc->db, &claim_outbox, NULL, &st);
    if (st != DB_OK)
        return 0;
    int n = PQntuples(res), i;
    for (i = 0; i < n && !stopping; i++) {
        svc->shm->outbox_heartbeat_us = now_us();   /* alive, even while every webhook hangs */
        const char *id = PQgetvalue(res, i, 0), *kind = PQgetvalue(res, i, 1);
        const char *payload = PQgetvalue(res, i, 2), *attempts = PQgetvalue(res, i, 3);
        const char *url = target_url(cfg, kind);
        char err[256];
        if (!url) {
            const char *p[] = {id, "skipped: no webhook configured"};
            PQclear(db_exec(svc->db, &mark_delivered, p, &st));
        } else if (deliver(cfg, kind, url, payload, err, sizeof(err))) {
            const char *p[] = {id, NULL};
            PQclear(db_exec(svc->db, &mark_delivered, p, &st));
            metrics_count(svc, M_OUTBOX_DELIVERED);
        } else {
            log_warn("outbox %s (%s) delivery failed: %s; attempt %s", id, kind, err, attempts);
            const char *p[] = {id, attempts, err};
            PQclear(db_exec(svc->db, &mark_failed, p, &st));
            metrics_count(svc, M_OUTBOX_FAILED);
        }
    }
    release(svc, res, i);
    PQclear(res);
    return n;
}

static void report_auth_failures(struct services *svc, uint64_t *last_total, uint64_t *last_report)
{
    uint64_t now = monotonic_us();
    if (now - *last_report < (uint64_t)svc->cfg->auth_failure_report_seconds * 1000000u)
        return;
    uint64_t total = metrics_sum(svc->shm, M_AUTH_FAILURES);
    if (total > *last_total) {
        char count[32], window[16];
        snprintf(count, sizeof(count), "%llu", (unsigned long long)(total - *last_total));
        snprintf(window, sizeof(window), "%llu", (unsigned long long)((now - *last_report) / 1000000u));
        const char *p[] = {count, window};
        enum db_status st;
        PQclear(db_exec(svc->db, &audit_auth_failures, p, &st));
        if (st != DB_OK)
            return;   /* try again next round with the larger count */
    }
    *last_total = total;
    *last_report = now;
}

void outbox_main(const struct config *cfg, struct shm *shm)
{
    proc_become("outbox", on_term);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    struct services svc = {.cfg = cfg, .db = db_open(config_direct_url(cfg), cfg->db_statement_timeout_ms, false),
                           .shm = shm, .slot = SLOT_OUTBOX};
    struct notify_wait wake = {.channel = "guildhall_outbox"};
    uint64_t auth_total = metrics_sum(shm, M_AUTH_FAILURES), auth_report = monotonic_us();
    while (!stopping) {
        shm->outbox_heartbeat_us = now_us();
        int claimed = deliver_outbox(cfg, &svc);
        report_auth_failures(&svc, &auth_total, &auth_report);
        if (claimed < BATCH && !stopping)
            notify_wait(svc.db, &wake, IDLE_WAIT_MS);
    }
    db_close(svc.db);
    curl_global_cleanup();
    LEAK_CHECK_BEFORE_EXIT();
    _exit(0);
}
