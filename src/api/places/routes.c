/* routes.c — the AI Places family (spec 001 + CONTRACT 7.1), grouped as the spec groups them. */
#include "guildhall.h"
#include "api/places/places.h"
#include "envelope.h"
#include "routes.h"

static struct rate_limit modes_limit = {
    .setting = "ratelimit_places_modes", .def = "200/60", .bucket = "pl_modes", .by = RL_BY_IP,
    .help = "places GET /api/game-modes* per client IP.",
};
static struct rate_limit archives_limit = {
    .setting = "ratelimit_places_archives", .def = "50/60", .bucket = "pl_archives", .by = RL_BY_IP,
    .help = "places GET /api/archives* per client IP.",
};
static struct rate_limit board_limit = {
    .setting = "ratelimit_places_leaderboard", .def = "100/60", .bucket = "pl_board", .by = RL_BY_IP,
    .help = "places GET /api/leaderboard/* per client IP.",
};
static struct rate_limit agents_limit = {
    .setting = "ratelimit_places_agents", .def = "60/60", .bucket = "pl_agents", .by = RL_BY_IP,
    .help = "places GET /api/agents/*/stats* per client IP.",
};
static struct rate_limit admin_limit = {
    .setting = "ratelimit_places_admin", .def = "5/60", .bucket = "pl_admin", .by = RL_BY_IP,
    .help = "places POST /api/admin/* per client IP, refused calls included.",
};

/* CONTRACT section 6: lifetimes, Cache-Control, and what invalidates each. */
static const struct cache_rule cache_modes = {3600, "public, s-maxage=3600", PLACES_GEN_WEEK};
static const struct cache_rule cache_current = {60, "public, s-maxage=60, stale-while-revalidate=120", PLACES_GEN_WEEK};
static const struct cache_rule cache_archives = {86400, "public, s-maxage=86400", PLACES_GEN_WEEK};
static const struct cache_rule cache_archive = {604800, "public, s-maxage=604800, immutable", NULL};
static const struct cache_rule cache_forever = {31536000, "public, max-age=31536000, immutable", NULL};
static const struct cache_rule cache_canvas = {5, "public, s-maxage=5", NULL};
static const struct cache_rule cache_board = {30, "public, s-maxage=30, stale-while-revalidate=60", PLACES_GEN_WEEK};
static const struct cache_rule cache_agent = {300, "public, s-maxage=300", PLACES_GEN_AGENTS};
static const struct cache_rule cache_agent_week = {60, "public, s-maxage=60", PLACES_GEN_WEEK};

static const char *const board_types[] = {"users", "agents", "factions", NULL};
static const struct qparam archives_query[] = {
    {"page", Q_INT, "1", 1, 1000000, false, NULL},
    {"limit", Q_INT, "20", 1, 100, false, NULL},
    {"game_mode", Q_STRING, NULL, 0, 64, false, NULL},
    {"year", Q_INT, NULL, 1, 9999, false, NULL},
    {NULL, 0, NULL, 0, 0, false, NULL},
};
static const struct qparam board_query[] = {
    {"type", Q_ENUM, "agents", 0, 0, false, board_types},
    {"limit", Q_INT, "100", 1, 500, false, NULL},
    {NULL, 0, NULL, 0, 0, false, NULL},
};
static const struct qparam board_archive_query[] = {
    {"type", Q_ENUM, "agents", 0, 0, false, board_types},
    {NULL, 0, NULL, 0, 0, false, NULL},
};
static const struct qparam agent_query[] = {
    {"weeks", Q_INT, "10", 1, 52, false, NULL},
    {NULL, 0, NULL, 0, 0, false, NULL},
};

#define ADMIN "service_role"
#define PLACER "places_user|places_agent"

static const struct route places_routes[] = {
    /* game modes */
    {.method = "GET", .path = "/api/game-modes", .handler = places_game_modes, .limits = {&modes_limit},
     .cache = &cache_modes},
    {.method = "GET", .path = "/api/game-modes/current", .handler = places_current_mode, .limits = {&modes_limit},
     .cache = &cache_current},
    /* archives */
    {.method = "GET", .path = "/api/archives", .handler = places_archives, .limits = {&archives_limit},
     .cache = &cache_archives, .query = archives_query},
    {.method = "GET", .path = "/api/archives/{id:uuid}", .handler = places_archive, .limits = {&archives_limit},
     .cache = &cache_archive},
    {.method = "GET", .path = "/api/archives/{id:uuid}/canvas", .handler = places_archive_canvas,
     .limits = {&archives_limit}, .cache = &cache_forever},
    {.method = "GET", .path = "/api/archives/{id:uuid}/image.png", .handler = places_archive_image,
     .limits = {&archives_limit}, .cache = &cache_forever},
    {.method = "GET", .path = "/api/archives/{id:uuid}/thumbnail.png", .handler = places_archive_thumbnail,
     .limits = {&archives_limit}, .cache = &cache_forever},
    /* leaderboards */
    {.method = "GET", .path = "/api/leaderboard/current", .handler = places_leaderboard_current,
     .limits = {&board_limit}, .cache = &cache_board, .query = board_query},
    {.method = "GET", .path = "/api/leaderboard/archives/{id:uuid}", .handler = places_leaderboard_archive,
     .limits = {&board_limit}, .cache = &cache_archive, .query = board_archive_query},
    /* agent statistics */
    {.method = "GET", .path = "/api/agents/{id:uuid}/stats", .handler = places_agent_stats,
     .limits = {&agents_limit}, .cache = &cache_agent, .query = agent_query},
    {.method = "GET", .path = "/api/agents/{id:uuid}/stats/current-week", .handler = places_agent_current_week,
     .limits = {&agents_limit}, .cache = &cache_agent_week},
    /* the canvas */
    {.method = "GET", .path = "/api/canvas", .handler = places_canvas, .cache = &cache_canvas},
    {.method = "POST", .path = "/api/canvas/pixels", .handler = places_place_pixel, .auth = PLACER,
     .body = &places_pixel_body, .flags = ROUTE_JSON_BODY},
    /* admin (service role) */
    {.method = "POST", .path = "/api/admin/reset-week", .handler = places_reset_week, .auth = ADMIN,
     .limits = {&admin_limit}, .body = &places_reset_body, .bumps = PLACES_RESET_BUMPS,
     .flags = ROUTE_OPTIONAL_BODY},
    {.method = "POST", .path = "/api/admin/update-agent-stats", .handler = places_update_agent_stats,
     .auth = ADMIN, .limits = {&admin_limit}, .body = &places_agent_stats_body, .bumps = {PLACES_GEN_AGENTS},
     .flags = ROUTE_JSON_BODY},
    {.method = "POST", .path = "/api/admin/snapshot-stats", .handler = places_snapshot_stats, .auth = ADMIN,
     .limits = {&admin_limit}, .body = &places_empty_body, .flags = ROUTE_OPTIONAL_BODY},
    {.method = "POST", .path = "/api/admin/cleanup-archives", .handler = places_cleanup_archives, .auth = ADMIN,
     .limits = {&admin_limit}, .body = &places_empty_body, .flags = ROUTE_OPTIONAL_BODY},
};

const char *const places_codes[E_CODE_COUNT] = {
    [E_INVALID] = "INVALID_PARAMS",
    [E_UNAUTHORIZED] = "UNAUTHORIZED",
    [E_FORBIDDEN] = "FORBIDDEN",
    [E_NOT_FOUND] = "NOT_FOUND",
    [E_METHOD] = "METHOD_NOT_ALLOWED",
    [E_CONFLICT] = "CONFLICT",
    [E_TOO_LARGE] = "PAYLOAD_TOO_LARGE",
    [E_MEDIA_TYPE] = "UNSUPPORTED_MEDIA_TYPE",
    [E_RATE_LIMITED] = "RATE_LIMIT",
    [E_INTERNAL] = "SERVER_ERROR",
    [E_UNAVAILABLE] = "SERVICE_UNAVAILABLE",
    [E_TIMEOUT] = "SERVICE_UNAVAILABLE",
};

void places_render_error(const struct error_reply *e, struct buf *out)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "error", json_object_new_string(e->message));
    json_object_object_add(o, "code", json_object_new_string(e->code));
    json_object_object_add(o, "details", json_object_new_object());
    envelope_emit(o, out);
}

/* {"success": true, …the answer's fields} */
static json_object *places_success(json_object *data)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "success", json_object_new_boolean(1));
    json_object_object_foreach(data, key, val)
        json_object_object_add(o, key, json_object_get(val));
    json_object_put(data);
    return o;
}

static const char *const places_prefixes[] = {"/api/game-modes", "/api/archives", "/api/leaderboard", "/api/agents",
                                              "/api/admin", "/api/canvas", "/api/ws", "/api/events", NULL};
static const char *const places_scopes[] = {"service_role", "places_user", "places_agent", NULL};
static struct rate_limit *const places_limits[] = {&modes_limit, &archives_limit, &board_limit, &agents_limit,
                                                    &admin_limit, NULL};

const struct family family_places = {
    .name = "places",
    .prefixes = places_prefixes,
    .render_error = places_render_error,
    .codes = places_codes,
    .success = places_success,
    .key_header = KEY_BEARER,
    .bad_path_id_status = 400,
    .max_field_errors = 1,
    .scopes = places_scopes,
    .limits = places_limits,
    .public_reads_cors = true,
    FAMILY_ROUTES(places_routes),
};
