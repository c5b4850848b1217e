/* routes.c — the test family: routes served only with test_routes = on (docs/internals.md). They
 * exercise the dispatcher's rules for the test suite and the benchmarks, in the places envelope. */
#include "guildhall.h"
#include "api/places/places.h"
#include "api/test/test_routes.h"
#include "routes.h"

static struct rate_limit test_limit = {
    .setting = "ratelimit_test", .def = "5/60", .bucket = "test", .by = RL_BY_IP,
    .help = "The /_test/limited route per client IP.",
};

static const struct cache_rule test_cache = {60, "public, s-maxage=60", "test"};
static const struct qparam test_id_query[] = {
    {"id", Q_STRING, "1", 0, 20, false, NULL},
    {NULL, 0, NULL, 0, 0, false, NULL},
};
static const struct qparam test_sleep_query[] = {
    {"ms", Q_INT, "100", 0, 600000, true, NULL},
    {NULL, 0, NULL, 0, 0, false, NULL},
};

#define TEST .flags = ROUTE_TEST_ONLY

static const struct route test_routes[] = {
    {.method = "GET", .path = "/_test/ping", .handler = test_ping, TEST},
    {.method = "GET", .path = "/_test/query", .handler = test_query, .query = test_id_query, TEST},
    {.method = "GET", .path = "/_test/session", .handler = test_session, TEST},
    {.method = "GET", .path = "/_test/cached", .handler = test_query, .cache = &test_cache, .query = test_id_query, TEST},
    {.method = "POST", .path = "/_test/bump", .handler = test_bump, .bumps = {"test"}, TEST},
    {.method = "POST", .path = "/_test/echo", .handler = test_echo, .flags = ROUTE_TEST_ONLY | ROUTE_JSON_BODY},
    {.method = "GET", .path = "/_test/limited", .handler = test_ping, .limits = {&test_limit}, TEST},
    {.method = "GET", .path = "/_test/fail", .handler = test_fail, TEST},
    {.method = "GET", .path = "/_test/sleep", .handler = test_sleep, .query = test_sleep_query, TEST},
};

static struct rate_limit *const test_limits[] = {&test_limit, NULL};

const struct family family_test = {
    .name = "test",
    .render_error = places_render_error,
    .codes = places_codes,
    .bad_path_id_status = 400,
    .max_field_errors = 1,
    .limits = test_limits,
    FAMILY_ROUTES(test_routes),
};
