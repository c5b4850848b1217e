/* router.h — the route table's types, path matching and query validation. Pure: no I/O. */
#ifndef GH_ROUTER_H
#define GH_ROUTER_H

#include "gcra.h"

struct request;
struct family;
struct body_schema;

enum qtype { Q_INT, Q_STRING, Q_ENUM, Q_TIMESTAMP, Q_BOOL, Q_SNOWFLAKE /* a Discord id: 15 to 21 digits */ };

/* One query parameter a route accepts. Integers: below min → 400; above max → clamped unless strict. */
struct qparam {
    const char *name;
    enum qtype type;
    const char *def;                /* NULL: absent unless given */
    long min, max;                  /* Q_INT range; Q_STRING max length */
    bool strict_max;                /* above max → 400 instead of clamping */
    const char *const *values;      /* Q_ENUM: NULL-terminated */
};

struct qvalue {
    bool present;                   /* given or defaulted */
    long i;                         /* Q_INT, Q_BOOL */
    uint64_t ts_us;                 /* Q_TIMESTAMP */
    char *s;                        /* normalised text of the value (owned) */
};

enum rl_key { RL_BY_IP, RL_BY_KEY };

/* A rate limit is declared once, in its family: the declaration is the setting (name, default,
 * documentation line) and the rule the routes point at; routes_init() fills rule from the setting. */
struct rate_limit {
    const char *setting;            /* "ratelimit_places_admin" */
    const char *def;                /* "LIMIT/PERIOD_SECONDS[/BURST]" */
    const char *help;
    const char *bucket;             /* memcached key part; routes sharing it share one bucket */
    enum rl_key by;
    struct gcra_rule rule;
};

struct cache_rule {
    int ttl_s;
    const char *cache_control;
    const char *generation;         /* invalidated by bumping this counter; NULL: only expiry */
};

enum route_flags {
    ROUTE_OPS_ONLY = 1 << 0,        /* 404 on the public listener */
    ROUTE_JSON_BODY = 1 << 1,       /* a JSON body is required */
    ROUTE_OPTIONAL_BODY = 1 << 2,   /* a JSON body may be sent */
    ROUTE_TEST_ONLY = 1 << 3,       /* served only with test_routes = on */
};

#define MAX_QPARAMS 12
#define MAX_PATH_PARAMS 4
#define MAX_ROUTE_LIMITS 2
#define MAX_ROUTE_BUMPS 4

/* One row of a family's route table (src/api/<family>/routes.c), written with designated
 * initialisers. Path parameters say what they hold: {id:uuid}, {discord_id:snowflake},
 * {game_id:slug}; a malformed one is answered with the family's status before the handler runs. */
struct route {
    const char *method;
    const char *path;                       /* "/api/archives/{id:uuid}" */
    int (*handler)(struct request *r);
    const char *auth;                       /* the key scope(s) needed, "a|b" for either; NULL: none */
    struct rate_limit *limits[MAX_ROUTE_LIMITS];   /* all must pass */
    const struct cache_rule *cache;         /* NULL: Cache-Control: no-store */
    const struct qparam *query;             /* terminated by a NULL name; may be NULL */
    const struct body_schema *body;         /* validated and bound before the handler (request.input) */
    const char *bumps[MAX_ROUTE_BUMPS];     /* cache generations a 2xx answer invalidates */
    const char *not_found;                  /* the 404 message for a malformed id ("Job not found") */
    unsigned flags;
    long max_body;                          /* 0: the configured max_body_bytes */
    const struct family *family;            /* set by routes_init */
};

struct path_params {
    int n;
    const char *names[MAX_PATH_PARAMS];   /* point into the pattern: up to the '}' */
    size_t name_lens[MAX_PATH_PARAMS];
    char *values[MAX_PATH_PARAMS];        /* owned, percent-decoded */
    const char *bad_type;                 /* MATCH_BAD_PARAM: "uuid", … */
    char bad[32];                         /* MATCH_BAD_PARAM: the parameter's name */
};

enum match_result { MATCH_OK, MATCH_NO_PATH, MATCH_BAD_METHOD, MATCH_BAD_PARAM };

/* Finds the route for method+path in a table of n routes. On MATCH_BAD_METHOD, allow gets the
 * methods that would match ("GET, HEAD"). Trailing slashes are not significant. MATCH_BAD_PARAM:
 * the route matched but a typed parameter is malformed; params->bad names it. */
enum match_result router_match(const struct route *table, size_t n, const char *method, const char *path,
                               const struct route **found, struct path_params *params, char *allow,
                               size_t allow_len);
void path_params_free(struct path_params *p);
const char *path_param(const struct path_params *p, const char *name);

/* Whether every {name:type} in a route path names a known type; false with the path in err. */
bool route_path_valid(const char *path, char *err, size_t errlen);
/* A typed path value's description for messages ("a UUID"), by type name. */
const char *path_type_noun(const char *type);

/* Parses and validates a query string against a route's parameters. On failure writes a client-facing
 * message naming the parameter and returns false. out[] has one slot per qparam. */
/* A Discord snowflake: ^[0-9]{15,21}$ (CONTRACT 4), for path ids and body fields alike. */
bool snowflake_valid(const char *s);
/* 1 to 64 letters, digits, '-' or '_' (the {name:slug} path type). */
bool slug_valid(const char *s);

bool query_validate(const struct qparam *spec, const char *query, struct qvalue *out, char *err, size_t errlen);
void query_values_free(const struct qparam *spec, struct qvalue *vals);
/* The normalised "a=1&b=x" of every parameter (defaults included, spec order): a cache key part. */
void query_canonical(const struct qparam *spec, const struct qvalue *vals, struct buf *out);

/* Decodes %XX and '+' (when plus_is_space). Returns false on a malformed escape or an embedded NUL. */
bool url_decode(const char *in, size_t len, bool plus_is_space, char **out);
/* Whether s is a UUID in its 8-4-4-4-12 hex form (path ids are checked before PostgreSQL sees them). */
bool uuid_valid(const char *s);
/* Parses ISO-8601 (date-time with Z or an offset, optional fraction, or a bare date) to UTC µs. */
bool parse_timestamp(const char *s, uint64_t *us);

#endif
