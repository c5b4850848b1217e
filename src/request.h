/* request.h — what a handler sees: validated inputs, services, and the reply helpers. */
#ifndef GH_REQUEST_H
#define GH_REQUEST_H

#include <json-c/json.h>
#include <libpq-fe.h>

#include "family.h"
#include "keys.h"
#include "router.h"
#include "services.h"


struct request {
    struct services *svc;
    /* inputs: copies that outlive libfcgi's envp */
    char *method, *path, *query, *remote_addr, *request_id, *user_agent;
    char *content_type, *content_encoding, *authorization, *api_key_header;
    char *idempotency_key;       /* the Idempotency-Key header (src/idempotency.h); NULL: none */
    char *accept_encoding, *if_none_match, *if_modified_since;   /* src/representation.h */
    char *origin, *cors_request_method;      /* Origin, Access-Control-Request-Method (src/cors.h) */
    long content_length;
    long body_read;
    bool ops_listener;
    /* Reads up to n body bytes; returns how many (0 at the end), -1 on error. Set by the worker. */
    long (*read_body)(struct request *r, char *dst, size_t n);
    void *io;
    /* routing and validation, filled by the dispatcher */
    const struct route *route;
    const struct family *family;  /* without a route (a built-in job's request): whose envelope */
    int route_index;
    struct path_params params;
    struct qvalue q[MAX_QPARAMS];
    json_object *body;
    void *input;                 /* the body bound to the route's schema (route->body) */
    char key_id[KEY_ID_LEN + 1];
    char *key_scopes;
    char *key_subject;           /* "user:<uuid>" or "agent:<uuid>" for keys bound to a placer */
    bool idempotent_tx;          /* inside idempotency's transaction: request_begin/commit are a savepoint */
    char idempotency_print[65];
    /* response */
    int status;
    struct buf headers;          /* extra "Name: value\r\n" lines */
    struct buf out;
    const char *out_type;
    char out_type_buf[64];       /* out_type of a response read back from the cache */
    bool out_gzipped;            /* out is gzip: sent with Content-Encoding: gzip (src/representation.h) */
    char out_tag[33];            /* the ETag's stem of a cacheable answer */
    int64_t out_last_modified;   /* Unix seconds for Last-Modified; 0: the answer has none */
    const char *cache_control;
    const char *x_cache;
    uint64_t start_us;
};

void request_free(struct request *r);

/* Replies. reply_json takes ownership of o. fail renders the route family's error envelope and
 * returns -1 so handlers can `return fail(...)`. */
int reply_json(struct request *r, int status, json_object *o);
/* reply_json of o inside the family's success envelope (places: {"success":true,…}). */
int reply_ok(struct request *r, int status, json_object *o);
/* Replies with the one text column of a one-row result (JSON built by SQL); not_found (404) when the
 * row or value is absent. res NULL: query() already replied. Clears res. */
int reply_column(struct request *r, PGresult *res, int status, const char *not_found);
int reply_text(struct request *r, int status, const char *type, const char *body, size_t len);
int fail(struct request *r, int status, const char *fmt, ...) PRINTF_LIKE(3, 4);
int fail_field(struct request *r, int status, const char *field, const char *fmt, ...) PRINTF_LIKE(4, 5);
struct field_error;
/* A 400 listing failing body fields (the family shows the first, or all of them). */
int fail_fields(struct request *r, const struct field_error *errs, int n);
void add_header(struct request *r, const char *fmt, ...) PRINTF_LIKE(2, 3);
const struct family *request_family(const struct request *r);

/* Validated query values, by the names in the route's table. */
const struct qvalue *qget(const struct request *r, const char *name);
const char *qstr(const struct request *r, const char *name);   /* NULL when absent */
long qint(const struct request *r, const char *name);

/* Runs a prepared statement. On failure replies 503 (database down) or 500 (logged, never shown)
 * and returns NULL; the caller just returns -1. */
struct db_stmt;
PGresult *query(struct request *r, struct db_stmt *stmt, const char *const *params);
/* Writes an audit entry (category admin) for the acting key, in the connection's current transaction.
 * false when it could not: the reply (500, or 503 without a database) is made and, inside a
 * transaction, the caller rolls back (PostgreSQL has aborted it) and returns -1. */
bool request_audit(struct request *r, const char *action, json_object *details) MUSTCHECK;
/* Ends a handler's transaction with its audit entry (details taken): audited and committed
 * together, or rolled back with the reply made (500/503); false then. */
bool request_audit_commit(struct request *r, const char *action, json_object *details) MUSTCHECK;
/* One transaction around a handler's writes: request_begin and request_commit reply 503/500 and
 * answer false when they fail (a COMMIT PostgreSQL answered with ROLLBACK fails too). */
bool request_begin(struct request *r) MUSTCHECK;
bool request_commit(struct request *r) MUSTCHECK;
void request_rollback(struct request *r);
/* After query() returned NULL without replying: the SQLSTATE our SQL raised (GHMOD, GHBUD, …). */
const char *query_state(const struct request *r);

#endif
