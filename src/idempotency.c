/* idempotency.c — Idempotency-Key (idempotency.h; sql/016_idempotency.sql). One transaction holds
 * the key's advisory lock, the handler's writes and the stored answer, so an answer is stored exactly
 * when its writes commit, and a second request with the key either waits for nothing (409 while the
 * lock is held) or finds the committed answer. The lock is PostgreSQL's, so it holds across hosts. */
#include "guildhall.h"
#include "idempotency.h"
#include "db.h"
#include "job.h"
#include "log.h"
#include "request.h"

#include <sodium.h>

#define PRUNE_BATCH "5000"

DB_STMT(lock_stmt, 2, false, "SELECT pg_try_advisory_xact_lock(hashtextextended($1 || ' ' || $2, 0))");
DB_STMT(stored_stmt, 2, false,
        "SELECT fingerprint, status, content_type, body FROM idempotency_keys "
        "WHERE scope = $1 AND key = $2 AND expires_at > now()");
DB_STMT(store_stmt, 6, false,
        "INSERT INTO idempotency_keys (scope, key, fingerprint, status, content_type, body) "
        "VALUES ($1, $2, $3, $4::int, $5, $6) ON CONFLICT (scope, key) DO UPDATE SET "
        "fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status, content_type = EXCLUDED.content_type, "
        "body = EXCLUDED.body, created_at = now(), expires_at = now() + interval '24 hours'");
DB_STMT(prune_stmt, 0, false,
        "WITH gone AS (DELETE FROM idempotency_keys WHERE (scope, key) IN (SELECT scope, key FROM idempotency_keys "
        "WHERE expires_at <= now() LIMIT " PRUNE_BATCH ") RETURNING 1) SELECT count(*) FROM gone");

bool idempotency_key_valid(const char *key)
{
    size_t n = 0;
    for (const char *p = key; *p; p++, n++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            return false;
    return n >= 1 && n <= IDEMPOTENCY_KEY_MAX;
}

/* The request a key was first used for: method, path, query and body (as parsed: whitespace and
 * number spelling do not make it another request). */
static void fingerprint(const struct request *r, char hex[crypto_hash_sha256_BYTES * 2 + 1])
{
    crypto_hash_sha256_state st;
    unsigned char h[crypto_hash_sha256_BYTES];
    const char *parts[] = {r->method, "\n", r->path, "?", r->query ? r->query : "", "\n",
                           r->body ? json_object_to_json_string_ext(r->body, JSON_C_TO_STRING_PLAIN) : ""};
    crypto_hash_sha256_init(&st);
    for (size_t i = 0; i < ARRAY_LEN(parts); i++)
        crypto_hash_sha256_update(&st, (const unsigned char *)parts[i], strlen(parts[i]));
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(hex, crypto_hash_sha256_BYTES * 2 + 1, h, sizeof h);
}

/* Who the caller acts as when its credential says (a Roblox game, whichever of its tokens or keys
 * made the call), else the API key. */
static void scope_of(const struct request *r, char *out, size_t len)
{
    snprintf(out, len, "%s:%s", request_family(r)->name, r->key_subject ? r->key_subject : r->key_id);
}

/* The stored answer, as the first request got it. */
static void replay(struct request *r, PGresult *res)
{
    r->status = atoi(PQgetvalue(res, 0, 1));
    snprintf(r->out_type_buf, sizeof r->out_type_buf, "%s", PQgetvalue(res, 0, 2));
    r->out_type = r->out_type_buf;
    buf_reset(&r->out);
    buf_append(&r->out, PQgetvalue(res, 0, 3), (size_t)PQgetlength(res, 0, 3));
    add_header(r, "Idempotent-Replayed: true");
}

enum idempotency_step idempotency_begin(struct request *r)
{
    if (!idempotency_key_valid(r->idempotency_key)) {
        fail_field(r, 400, "Idempotency-Key", "Invalid header: Idempotency-Key must be 1 to %d printable ASCII "
                   "characters", IDEMPOTENCY_KEY_MAX);
        return IDEM_ANSWERED;
    }
    char scope[96], print[crypto_hash_sha256_BYTES * 2 + 1];
    scope_of(r, scope, sizeof scope);
    fingerprint(r, print);
    if (!request_begin(r))
        return IDEM_ANSWERED;
    const char *params[] = {scope, r->idempotency_key};
    PGresult *res = query(r, &lock_stmt, params);
    if (!res)
        goto answered;
    bool locked = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!locked) {
        fail(r, 409, "A request with this Idempotency-Key is still in progress");
        goto answered;
    }
    if (!(res = query(r, &stored_stmt, params)))
        goto answered;
    if (PQntuples(res) == 1) {
        if (strcmp(PQgetvalue(res, 0, 0), print) != 0)
            fail(r, 422, "This Idempotency-Key was used for another request (method, path or body)");
        else
            replay(r, res);
        PQclear(res);
        goto answered;
    }
    PQclear(res);
    if (db_command(r->svc->db, "SAVEPOINT idempotent_handler") != DB_OK) {
        fail(r, 500, "Internal error");
        goto answered;
    }
    snprintf(r->idempotency_print, sizeof r->idempotency_print, "%s", print);
    r->idempotent_tx = true;
    return IDEM_RUN;
answered:
    request_rollback(r);
    return IDEM_ANSWERED;
}

void idempotency_finish(struct request *r)
{
    r->idempotent_tx = false;
    struct db *db = r->svc->db;
    int status = r->status ? r->status : 200;
    if (status == 429 || status >= 500) {
        request_rollback(r);
        return;
    }
    /* a 4xx keeps no writes; a handler's failed statement leaves the savepoint to return to */
    bool aborted = PQtransactionStatus(db_conn(db)) == PQTRANS_INERROR;
    if ((status >= 400 || aborted) && db_command(db, "ROLLBACK TO SAVEPOINT idempotent_handler") != DB_OK)
        goto failed;
    if (aborted && status < 400) {
        log_error("idempotent request answered %d after a failed statement", status);
        goto failed;
    }
    char scope[96], code[16];
    scope_of(r, scope, sizeof scope);
    snprintf(code, sizeof code, "%d", status);
    const char *params[] = {scope, r->idempotency_key, r->idempotency_print, code,
                            r->out_type ? r->out_type : "application/json", r->out.data ? r->out.data : ""};
    enum db_status st;
    PQclear(db_exec(db, &store_stmt, params, &st));
    if (st != DB_OK)
        goto failed;
    if (!request_commit(r))
        return;   /* replied 503/500 */
    return;
failed:
    request_rollback(r);
    buf_reset(&r->out);
    fail(r, db_connected(db) ? 500 : 503, db_connected(db) ? "Internal error" : "Database unavailable");
}

void idempotency_job_prune(struct services *svc, const char *config, struct job_outcome *o)
{
    (void)config;
    job_run_counting(svc, &prune_stmt, "deleted", "could not delete the expired idempotency keys", o);
}
