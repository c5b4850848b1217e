/* cors.c — see cors.h. Preflights are not rate-limited: they carry no credentials and do no work. */
#include "guildhall.h"
#include "cors.h"
#include "config.h"
#include "request.h"
#include "router.h"

#define EXPOSED "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, X-Request-Id, " \
                "X-Cache, ETag"
#define ALLOWED_HEADERS "Authorization, Content-Type, Idempotency-Key, If-Modified-Since, If-None-Match"
#define PREFLIGHT_MAX_AGE_S 600

bool cors_origin_listed(const char *list, const char *origin)
{
    if (!list || !origin || !*origin)
        return false;
    size_t want = strlen(origin);
    for (const char *s = list; *s;) {
        while (*s == ',' || *s == ' ' || *s == '\t')
            s++;
        size_t len = strcspn(s, ", \t");
        if (len && len == want && !memcmp(s, origin, len))
            return true;
        s += len;
    }
    return false;
}

static bool public_read(const struct route *route)
{
    return route && route->family && route->family->public_reads_cors && !route->auth &&
           (!strcmp(route->method, "GET") || !strcmp(route->method, "HEAD"));
}

/* The Access-Control-Allow-Origin an answer of route gets for origin; NULL: none. */
static const char *allowed_origin(const struct request *r, const struct route *route)
{
    if (public_read(route))
        return "*";
    if (cors_origin_listed(r->svc->cfg->cors_origins, r->origin))
        return r->origin;
    return NULL;
}

static void allow_origin(struct request *r, const char *origin)
{
    add_header(r, "Access-Control-Allow-Origin: %s", origin);
    if (strcmp(origin, "*") != 0)
        add_header(r, "Vary: Origin");
}

void cors_preflight(struct request *r, const struct route *table, size_t n, const char *allow)
{
    const struct route *route = NULL;
    struct path_params params = {0};
    char unused[64];
    enum match_result m = router_match(table, n, r->cors_request_method, r->path, &route, &params, unused,
                                       sizeof(unused));
    path_params_free(&params);
    if (m != MATCH_OK && m != MATCH_BAD_PARAM) {
        fail(r, 405, "Method %.20s not allowed", r->cors_request_method);
        add_header(r, "Allow: %s", allow);
        return;
    }
    r->route = route;
    const char *origin = allowed_origin(r, route);
    if (!origin) {
        fail(r, 403, "Origin %.200s may not call %s %s from a browser (cors_origins)", r->origin ? r->origin : "(none)",
             route->method, route->path);
        r->route = NULL;   /* no CORS headers on the refusal */
        return;
    }
    r->status = 204;
    allow_origin(r, origin);
    add_header(r, "Access-Control-Allow-Methods: %s", public_read(route) ? "GET, HEAD" : allow);
    add_header(r, "Access-Control-Allow-Headers: " ALLOWED_HEADERS);
    add_header(r, "Access-Control-Max-Age: %d", PREFLIGHT_MAX_AGE_S);
}

void cors_headers(struct request *r)
{
    if (!r->route || !strcmp(r->method, "OPTIONS"))
        return;
    const char *origin = allowed_origin(r, r->route);
    if (!origin)
        return;
    allow_origin(r, origin);
    add_header(r, "Access-Control-Expose-Headers: " EXPOSED);
}
