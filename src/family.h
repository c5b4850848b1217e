/* family.h — what makes an API family: one descriptor per family folder (src/api/<family>/routes.c).
 * The core (router, dispatcher, auth, envelopes, metrics labels) reads these and knows no family
 * by name. Adding a family is described in docs/internals.md, "Adding a family". */
#ifndef GH_FAMILY_H
#define GH_FAMILY_H

#include <json-c/json.h>

struct buf;
struct route;
struct rate_limit;
struct field_error;
struct request;

/* The error classes every family names in its own words (CONTRACT 3). */
enum error_code {
    E_INVALID, E_UNAUTHORIZED, E_FORBIDDEN, E_NOT_FOUND, E_METHOD, E_CONFLICT, E_TOO_LARGE,
    E_MEDIA_TYPE, E_RATE_LIMITED, E_INTERNAL, E_UNAVAILABLE, E_TIMEOUT,
    E_CODE_COUNT
};

/* How a caller presents its key. */
enum key_header {
    KEY_BEARER,      /* Authorization: Bearer <key>; a 401 carries WWW-Authenticate: Bearer */
    KEY_X_API_KEY,   /* X-API-Key: <key> */
};

/* One error response as the dispatcher or a handler raises it. errs lists failing fields (body
 * validation); families that name one field show errs[0], roblox shows them all. */
struct error_reply {
    int status;
    const char *message;
    const char *code;                 /* the family's code for status, or NULL */
    const struct field_error *errs;
    int n_errs;
};

struct family {
    const char *name;                         /* metrics label and --print-routes column */
    const char *const *prefixes;              /* URL prefixes it owns: their 404s use its envelope */
    void (*render_error)(const struct error_reply *e, struct buf *out);
    const char *const *codes;                 /* indexed by enum error_code; NULL: the family has none */
    /* Wraps a handler's answer in the family's success envelope (takes ownership); NULL: as it is. */
    json_object *(*success)(json_object *data);
    enum key_header key_header;
    int bad_path_id_status;                   /* a malformed typed path parameter: 400 or 404 */
    int max_field_errors;                     /* failing body fields named in one reply (>= 1) */
    bool ops_listener;                        /* served on the ops listener (and only this family is) */
    const char *const *scopes;                /* the key scopes its routes may ask for; NULL-terminated */
    const char *const *caller_scopes;         /* what its authenticate() grants that is no key scope */
    struct rate_limit *const *limits;         /* its rate limits (each one a setting); NULL-terminated */
    bool public_reads_cors;                   /* its GETs without auth are readable from any origin (CONTRACT 5.1) */
    bool idempotent_posts;                    /* its POSTs honour Idempotency-Key (src/idempotency.h) */
    /* Who a request of a route with .auth is: NULL for guildhall API keys (auth_check_key); a family
     * with callers of its own (roblox's game keys and tokens) decides, and may call auth_check_key. */
    bool (*authenticate)(struct request *r);
    const struct route *routes;
    size_t n_routes;
};

/* The family code for an HTTP status ("INVALID_PARAMS", "E004", …); NULL for code-less families. */
const char *family_code(const struct family *f, int status);

#define FAMILY_ROUTES(table) .routes = (table), .n_routes = sizeof(table) / sizeof((table)[0])

#endif
