/* routes.c — the ops family (spec 002 + CONTRACT 7.5): health and readiness on both listeners,
 * metrics, stats and the audit log on the ops listener only. */
#include "guildhall.h"
#include "api/ops/ops.h"
#include "envelope.h"
#include "routes.h"

static struct rate_limit ops_minute = {
    .setting = "ratelimit_ops_minute", .def = "30/60", .bucket = "ops_m", .by = RL_BY_IP,
    .help = "Ops /api/stats, /api/logs, /api/health per client IP: LIMIT/SECONDS[/BURST].",
};
static struct rate_limit ops_hour = {
    .setting = "ratelimit_ops_hour", .def = "1000/3600", .bucket = "ops_h", .by = RL_BY_IP,
    .help = "The ops hourly bucket, same IP.",
};

static const char *const log_categories[] = {"admin", "security", "user_action", NULL};

static const struct qparam logs_query[] = {
    {"limit", Q_INT, "50", 1, 500, false, NULL},
    {"before", Q_TIMESTAMP, NULL, 0, 0, false, NULL},
    {"action", Q_STRING, NULL, 0, 100, false, NULL},
    {"category", Q_ENUM, NULL, 0, 0, false, log_categories},
    {"guild_id", Q_STRING, NULL, 0, 20, false, NULL},
    {NULL, 0, NULL, 0, 0, false, NULL},
};

#define OPS_LIMITS {&ops_minute, &ops_hour}

static const struct route ops_routes[] = {
    /* probes: both listeners, never limited */
    {.method = "GET", .path = "/health", .handler = ops_health},
    {.method = "GET", .path = "/ready", .handler = ops_ready},
    /* monitoring: the ops listener only */
    {.method = "GET", .path = "/metrics", .handler = ops_metrics, .flags = ROUTE_OPS_ONLY},
    {.method = "GET", .path = "/api/stats", .handler = ops_stats, .limits = OPS_LIMITS, .flags = ROUTE_OPS_ONLY},
    {.method = "GET", .path = "/api/logs", .handler = ops_logs, .limits = OPS_LIMITS, .query = logs_query,
     .flags = ROUTE_OPS_ONLY},
    {.method = "GET", .path = "/api/health", .handler = ops_api_health, .limits = OPS_LIMITS, .flags = ROUTE_OPS_ONLY},
};

static const char *const ops_codes[E_CODE_COUNT] = {
    [E_INVALID] = "E004",    [E_UNAUTHORIZED] = "E005", [E_FORBIDDEN] = "E005",   [E_NOT_FOUND] = "E006",
    [E_METHOD] = "E004",     [E_CONFLICT] = "E004",     [E_TOO_LARGE] = "E004",   [E_MEDIA_TYPE] = "E004",
    [E_RATE_LIMITED] = "E003", [E_INTERNAL] = "E008",   [E_UNAVAILABLE] = "E001", [E_TIMEOUT] = "E007",
};

/* {"error": message, "code": "E004"} */
static void ops_render_error(const struct error_reply *e, struct buf *out)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "error", json_object_new_string(e->message));
    json_object_object_add(o, "code", json_object_new_string(e->code));
    envelope_emit(o, out);
}

/* The spec's paths only: an unknown path elsewhere under /api is no family's (CONTRACT 1). */
static const char *const ops_prefixes[] = {"/api/stats", "/api/logs", "/api/health", "/health", "/ready", "/metrics",
                                           NULL};
static struct rate_limit *const ops_limits[] = {&ops_minute, &ops_hour, NULL};

const struct family family_ops = {
    .name = "ops",
    .prefixes = ops_prefixes,
    .render_error = ops_render_error,
    .codes = ops_codes,
    .bad_path_id_status = 404,
    .max_field_errors = 1,
    .ops_listener = true,
    .limits = ops_limits,
    FAMILY_ROUTES(ops_routes),
};
