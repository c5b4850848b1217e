/* router.h — the route table's types, path matching and query validation. Pure: no I/O. */
#ifndef GH_ROUTER_H
#define GH_ROUTER_H

struct request;

enum family { FAM_GENERIC, FAM_OPS, FAM_MIKROS, FAM_PLACES, FAM_SCHEDULER, FAM_ROBLOX, FAM_TEST, FAM_COUNT };
const char *family_name(enum family f);

enum qtype { Q_INT, Q_STRING, Q_ENUM, Q_TIMESTAMP, Q_BOOL };

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
struct rate_rule {
    const char *name;               /* memcached key part; also shared buckets share it */
    enum rl_key by;
    long limit;                     /* requests per period (X-RateLimit-Limit) */
    long period_s;
    long burst;                     /* back-to-back requests a full bucket allows */
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
};

#define MAX_QPARAMS 12
#define MAX_PATH_PARAMS 4

struct route {
    const char *method;
    const char *pattern;            /* "/api/archives/{id}" */
    enum family family;
    int (*handler)(struct request *r);
    const char *scope;              /* NULL: no key needed */
    struct rate_rule *rate[2];      /* both must pass; NULL-terminated */
    const struct cache_rule *cache; /* NULL: Cache-Control: no-store */
    const struct qparam *query;     /* terminated by a NULL name; may be NULL */
    unsigned flags;
    long max_body;                  /* 0: the configured max_body_bytes */
};

struct path_params {
    int n;
    const char *names[MAX_PATH_PARAMS];   /* point into the pattern: up to the '}' */
    size_t name_lens[MAX_PATH_PARAMS];
    char *values[MAX_PATH_PARAMS];        /* owned, percent-decoded */
};

enum match_result { MATCH_OK, MATCH_NO_PATH, MATCH_BAD_METHOD };

/* Finds the route for method+path in a table of n routes. On MATCH_BAD_METHOD, allow gets the
 * methods that would match ("GET, HEAD"). Trailing slashes are not significant. */
enum match_result router_match(const struct route *table, size_t n, const char *method, const char *path,
                               const struct route **found, struct path_params *params, char *allow,
                               size_t allow_len);
void path_params_free(struct path_params *p);
const char *path_param(const struct path_params *p, const char *name);

/* Which family owns an unknown path, by prefix (for the 404 envelope). */
enum family family_for_path(const char *path);

/* Parses and validates a query string against a route's parameters. On failure writes a client-facing
 * message naming the parameter and returns false. out[] has one slot per qparam. */
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
