/* request.c — reply helpers shared by every handler. */
#include "guildhall.h"
#include "request.h"
#include "body.h"
#include "db.h"
#include "envelope.h"
#include "log.h"
#include "metrics.h"
#include "routes.h"
#include "schema.h"

#include <stdarg.h>

void request_free(struct request *r)
{
    char **strs[] = {&r->method, &r->path, &r->query, &r->remote_addr, &r->request_id, &r->user_agent,
                     &r->content_type, &r->content_encoding, &r->authorization, &r->api_key_header,
                     &r->idempotency_key, &r->accept_encoding, &r->if_none_match, &r->if_modified_since, &r->origin,
                     &r->cors_request_method,
                     &r->key_scopes, &r->key_subject};
    for (size_t i = 0; i < ARRAY_LEN(strs); i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
    path_params_free(&r->params);
    if (r->route)
        query_values_free(r->route->query, r->q);
    if (r->input) {
        body_unbind(r->route->body, r->input);
        free(r->input);
        r->input = NULL;
    }
    json_object_put(r->body);
    r->body = NULL;
    buf_free(&r->headers);
    buf_free(&r->out);
}

const struct family *request_family(const struct request *r)
{
    if (r->route)
        return r->route->family;
    return r->family ? r->family : family_for_path(r->path ? r->path : "/");
}

int reply_json(struct request *r, int status, json_object *o)
{
    buf_reset(&r->out);
    buf_puts(&r->out, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    r->status = status;
    r->out_type = "application/json";
    return 0;
}

int reply_ok(struct request *r, int status, json_object *o)
{
    const struct family *f = request_family(r);
    return reply_json(r, status, f->success ? f->success(o) : o);
}

int reply_column(struct request *r, PGresult *res, int status, const char *not_found)
{
    if (!res)
        return -1;
    int rc = 0;
    if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0))
        rc = fail(r, 404, "%s", not_found);
    else
        reply_text(r, status, "application/json", PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
    return rc;
}

int reply_text(struct request *r, int status, const char *type, const char *body, size_t len)
{
    buf_reset(&r->out);
    buf_append(&r->out, body, len);
    r->status = status;
    r->out_type = type;
    return 0;
}

/* Copies in to out (outlen > 0) as valid UTF-8: a byte that starts no valid character becomes
 * U+FFFD; what does not fit is cut where a character ends. */
static void utf8_scrub(const char *in, char *out, size_t outlen)
{
    static const char replacement[] = "\xEF\xBF\xBD";
    size_t o = 0, len = strlen(in);
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)in[i];
        size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
        bool ok = n > 0 && i + n <= len && utf8_valid(in + i, n);
        const char *piece = ok ? in + i : replacement;
        size_t plen = ok ? n : sizeof(replacement) - 1;
        if (o + plen >= outlen)
            break;
        memcpy(out + o, piece, plen);
        o += plen;
        i += ok ? n : 1;
    }
    out[o] = '\0';
}

/* Every error body is valid UTF-8 whatever a message quotes (CONTRACT 4): messages and field
 * names are scrubbed here, the one place errors are rendered. */
static void render_failure(struct request *r, int status, const char *msg, const struct field_error *errs, int n)
{
    char text[sizeof(errs->message)];
    struct field_error clean[16];
    if (n > (int)ARRAY_LEN(clean))
        n = (int)ARRAY_LEN(clean);
    utf8_scrub(msg, text, sizeof(text));
    for (int i = 0; i < n; i++) {
        utf8_scrub(errs[i].field, clean[i].field, sizeof(clean[i].field));
        utf8_scrub(errs[i].message, clean[i].message, sizeof(clean[i].message));
    }
    buf_reset(&r->out);
    envelope_render(request_family(r), status, text, clean, n, &r->out);
    r->status = status;
    r->out_type = "application/json";
}

static int fail_va(struct request *r, int status, const char *field, const char *fmt, va_list ap)
{
    struct field_error e;
    vsnprintf(e.message, sizeof(e.message), fmt, ap);
    snprintf(e.field, sizeof(e.field), "%s", field ? field : "");
    render_failure(r, status, e.message, &e, field ? 1 : 0);
    return -1;
}

int fail_fields(struct request *r, const struct field_error *errs, int n)
{
    render_failure(r, 400, errs[0].message, errs, n);
    return -1;
}

int fail(struct request *r, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_va(r, status, NULL, fmt, ap);
    va_end(ap);
    return -1;
}

int fail_field(struct request *r, int status, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_va(r, status, field, fmt, ap);
    va_end(ap);
    return -1;
}

void add_header(struct request *r, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
    va_end(ap);
    if (n < 0 || memchr(line, '\n', strlen(line)) || memchr(line, '\r', strlen(line)))
        return;
    buf_puts(&r->headers, line);
    buf_puts(&r->headers, "\r\n");
}

const struct qvalue *qget(const struct request *r, const char *name)
{
    const struct qparam *spec = r->route ? r->route->query : NULL;
    for (int i = 0; spec && spec[i].name; i++)
        if (!strcmp(spec[i].name, name))
            return r->q[i].present ? &r->q[i] : NULL;
    return NULL;
}

const char *qstr(const struct request *r, const char *name)
{
    const struct qvalue *v = qget(r, name);
    return v ? v->s : NULL;
}

long qint(const struct request *r, const char *name)
{
    const struct qvalue *v = qget(r, name);
    return v ? v->i : 0;
}

DB_STMT(audit_stmt, 5, false, "SELECT audit_record($1, '0', $2, 'admin', $3::jsonb, $4, $5)");

bool request_audit(struct request *r, const char *action, json_object *details)
{
    const char *params[] = {r->key_id, action, json_object_to_json_string(details), r->remote_addr, r->user_agent};
    PGresult *res = query(r, &audit_stmt, params);
    if (res) {
        PQclear(res);
        return true;
    }
    if (!r->status) {   /* a GH code (raised by a trigger, say): query() left the reply to the caller */
        metrics_count(r->svc, M_DB_ERRORS);
        fail(r, 500, "Internal error (request %s)", r->request_id ? r->request_id : "-");
    }
    return false;
}

bool request_audit_commit(struct request *r, const char *action, json_object *details)
{
    bool audited = request_audit(r, action, details);
    json_object_put(details);
    if (!audited) {
        request_rollback(r);
        return false;
    }
    return request_commit(r);
}

/* Inside an idempotent request's transaction (src/idempotency.c) a handler's transaction is a
 * savepoint of it, so the stored answer commits with the handler's writes. */
bool request_begin(struct request *r)
{
    enum db_status st = db_command(r->svc->db, r->idempotent_tx ? "SAVEPOINT handler" : "BEGIN");
    if (st == DB_OK)
        return true;
    fail(r, st == DB_DOWN ? 503 : 500, st == DB_DOWN ? "Database unavailable" : "Internal error");
    return false;
}

bool request_commit(struct request *r)
{
    enum db_status st = db_command(r->svc->db, r->idempotent_tx ? "RELEASE SAVEPOINT handler" : "COMMIT");
    if (st == DB_OK)
        return true;
    fail(r, st == DB_DOWN ? 503 : 500, st == DB_DOWN ? "Database unavailable" : "Internal error");
    return false;
}

void request_rollback(struct request *r)
{
    (void)db_command(r->svc->db, r->idempotent_tx ? "ROLLBACK TO SAVEPOINT handler" : "ROLLBACK");
}

/* An immutable row the replica has is the primary's; one it lacks (lag, or no such row) or a replica
 * that fails is asked of the primary. So a read from the replica never contradicts a write the
 * primary acknowledged. */
static PGresult *from_replica(struct request *r, struct db_stmt *stmt, const char *const *params)
{
    enum db_status st;
    PGresult *res = db_exec(r->svc->replica, stmt, params, &st);
    if (st == DB_OK && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)) {
        metrics_count(r->svc, M_REPLICA_READS);
        return res;
    }
    if (st == DB_OK)
        PQclear(res);
    metrics_count(r->svc, M_REPLICA_FALLBACKS);
    return NULL;
}

PGresult *query(struct request *r, struct db_stmt *stmt, const char *const *params)
{
    if (stmt->immutable && r->svc->replica) {
        PGresult *res = from_replica(r, stmt, params);
        if (res)
            return res;
    }
    enum db_status st;
    PGresult *res = db_exec(r->svc->db, stmt, params, &st);
    if (st == DB_OK)
        return res;
    if (st == DB_FAILED && !strncmp(db_error_state(r->svc->db), "GH", 2))
        return NULL;   /* one of our RAISE codes: the handler answers it (see query_state) */
    metrics_count(r->svc, M_DB_ERRORS);
    if (st == DB_DOWN)
        fail(r, 503, "Database unavailable");
    else
        fail(r, 500, "Internal error (request %s)", r->request_id ? r->request_id : "-");
    return NULL;
}

const char *query_state(const struct request *r)
{
    return db_error_state(r->svc->db);
}
