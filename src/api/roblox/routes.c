/* routes.c — the Roblox family: {"error": …}, and for invalid bodies
 * {"error":"Validation failed","details":[{"field","message"},…]} listing every failing field. */
#include "guildhall.h"
#include "api/roblox/roblox.h"
#include "envelope.h"
#include "routes.h"
#include "schema.h"

static void roblox_render_error(const struct error_reply *e, struct buf *out)
{
    json_object *o = json_object_new_object();
    if (e->status == 400 && e->n_errs > 0) {
        json_object *list = json_object_new_array();
        for (int i = 0; i < e->n_errs; i++) {
            json_object *d = json_object_new_object();
            json_object_object_add(d, "field", json_object_new_string(e->errs[i].field));
            json_object_object_add(d, "message", json_object_new_string(e->errs[i].message));
            json_object_array_add(list, d);
        }
        json_object_object_add(o, "error", json_object_new_string("Validation failed"));
        json_object_object_add(o, "details", list);
    } else {
        json_object_object_add(o, "error", json_object_new_string(e->message));
    }
    envelope_emit(o, out);
}

static struct rate_limit roblox_limit = {
    .setting = "ratelimit_roblox", .def = "300/60", .bucket = "roblox", .by = RL_BY_KEY,
    .help = "roblox per game token, game key or admin key.",
};

/* CONTRACT 5: failed key checks per client IP, so that guessing is slow while the many game servers
 * behind one datacenter address still log in (games.c counts only the failures). */
struct rate_limit roblox_auth_failures = {
    .setting = "ratelimit_roblox_auth_failures", .def = "10/60", .bucket = "roblox_auth_fail", .by = RL_BY_IP,
    .help = "roblox POST /api/v1/authenticate: failed attempts per client IP (successes do not count).",
};

/* roblox_game: a game's token or key (src/api/roblox/games.c), not a guildhall key scope */
#define GAME_OR_ADMIN "roblox_game|roblox_admin"
#define DISPLAY "/api/v1/game/{game_id:slug}/display"

static const struct qparam ads_query[] = {
    {"page", Q_INT, "1", 1, 1000000, true, NULL},
    {"search", Q_STRING, NULL, 0, 200, false, NULL},
    {"status", Q_STRING, NULL, 0, 50, false, NULL},
    {"gameId", Q_STRING, NULL, 0, 64, false, NULL},
    {NULL, 0, NULL, 0, 0, false, NULL},
};

/* the same five routes and the events under /api/game-ads and /api/v1/game-ads */
#define ADS(prefix)                                                                                                  {.method = "GET", .path = prefix, .handler = roblox_list_ads, .auth = GAME_OR_ADMIN, .limits = {&roblox_limit},       .query = ads_query},                                                                                            {.method = "POST", .path = prefix, .handler = roblox_create_ad, .auth = GAME_OR_ADMIN,                            .limits = {&roblox_limit}, .body = &roblox_ad_body, .flags = ROUTE_JSON_BODY},                                  {.method = "GET", .path = prefix "/{id:uuid}", .handler = roblox_get_ad, .auth = GAME_OR_ADMIN,                   .limits = {&roblox_limit}, .not_found = "Game ad not found"},                                                   {.method = "PUT", .path = prefix "/{id:uuid}", .handler = roblox_replace_ad, .auth = GAME_OR_ADMIN,               .limits = {&roblox_limit}, .body = &roblox_ad_body, .flags = ROUTE_JSON_BODY, .not_found = "Game ad not found"},     {.method = "DELETE", .path = prefix "/{id:uuid}", .handler = roblox_delete_ad, .auth = GAME_OR_ADMIN,             .limits = {&roblox_limit}, .not_found = "Game ad not found"},                                                   {.method = "POST", .path = prefix "/{id:uuid}/events", .handler = roblox_report_ad_event,                         .auth = GAME_OR_ADMIN, .limits = {&roblox_limit}, .body = &roblox_ad_event_body, .flags = ROUTE_JSON_BODY,       .not_found = "Game ad not found"}

static const struct route roblox_routes[] = {
    ADS("/api/game-ads"),
    ADS("/api/v1/game-ads"),
    {.method = "POST", .path = "/api/v1/games", .handler = roblox_create_game, .auth = "roblox_admin",
     .limits = {&roblox_limit}, .body = &roblox_game_body, .flags = ROUTE_JSON_BODY},
    {.method = "POST", .path = "/api/v1/games/{game_id:slug}", .handler = roblox_rotate_key, .auth = "roblox_admin",
     .limits = {&roblox_limit}, .body = &roblox_rotate_body, .flags = ROUTE_OPTIONAL_BODY, .not_found = "Game not found"},
    {.method = "POST", .path = "/api/v1/authenticate", .handler = roblox_issue_token,
     .body = &roblox_authenticate_body, .flags = ROUTE_JSON_BODY},
    {.method = "POST", .path = DISPLAY, .handler = roblox_create_display, .auth = GAME_OR_ADMIN,
     .limits = {&roblox_limit}, .body = &roblox_display_body, .flags = ROUTE_JSON_BODY, .not_found = "Game not found"},
    {.method = "GET", .path = DISPLAY, .handler = roblox_list_displays, .auth = GAME_OR_ADMIN,
     .limits = {&roblox_limit}, .not_found = "Game not found"},
    {.method = "GET", .path = DISPLAY "/{display_id:uuid}", .handler = roblox_get_display, .auth = GAME_OR_ADMIN,
     .limits = {&roblox_limit}, .not_found = "Display object not found"},
    {.method = "PUT", .path = DISPLAY "/{display_id:uuid}", .handler = roblox_update_display, .auth = GAME_OR_ADMIN,
     .limits = {&roblox_limit}, .body = &roblox_display_update_body, .flags = ROUTE_JSON_BODY,
     .not_found = "Display object not found"},
    {.method = "DELETE", .path = DISPLAY "/{display_id:uuid}", .handler = roblox_delete_display,
     .auth = GAME_OR_ADMIN, .limits = {&roblox_limit}, .not_found = "Display object not found"},
};

static const char *const roblox_prefixes[] = {"/api/v1", "/api/game-ads", NULL};
static const char *const roblox_scopes[] = {"roblox_admin", NULL};
static const char *const roblox_callers[] = {"roblox_game", NULL};
static struct rate_limit *const roblox_limits[] = {&roblox_limit, &roblox_auth_failures, NULL};

const struct family family_roblox = {
    .name = "roblox",
    .prefixes = roblox_prefixes,
    .render_error = roblox_render_error,
    .key_header = KEY_BEARER,
    .bad_path_id_status = 404,
    .max_field_errors = 16,
    .scopes = roblox_scopes,
    .caller_scopes = roblox_callers,
    .limits = roblox_limits,
    .authenticate = roblox_authenticate,
    .idempotent_posts = true,
    FAMILY_ROUTES(roblox_routes),
};
