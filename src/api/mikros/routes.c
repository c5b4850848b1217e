/* routes.c — the MIKROS family: Bearer keys, per-key GCRA limits, the {success,error,timestamp}
 * envelope. */
#include "guildhall.h"
#include "api/mikros/mikros.h"
#include "api/test/test_routes.h"
#include "envelope.h"
#include "routes.h"

static struct rate_limit mikros_limit = {
    .setting = "ratelimit_mikros", .def = "100/60/200", .bucket = "mikros", .by = RL_BY_KEY,
    .help = "mikros per API key (GCRA, burst 200).",
};

/* CONTRACT 6: analytics are cached 5 minutes (totals 1 minute); ingestion may wait for expiry. */
static const struct cache_rule cache_analytics = {300, "private, max-age=60", NULL};
static const struct cache_rule cache_totals = {60, "private, max-age=60", NULL};

static const char *const periods[] = {"7d", "30d", "90d", NULL};
static const char *const content_types[] = {"all", "level", "boss", "character", "item", "campaign", "other", NULL};
static const struct qparam trending_query[] = {
    {"limit", Q_INT, "3", 1, 10, false, NULL},
    {"period", Q_ENUM, "30d", 0, 0, false, periods},
    {NULL, 0, NULL, 0, 0, false, NULL},
};
static const struct qparam trending_content_query[] = {
    {"limit", Q_INT, "5", 1, 20, false, NULL},
    {"content_type", Q_ENUM, "all", 0, 0, false, content_types},
    {NULL, 0, NULL, 0, 0, false, NULL},
};
static const struct qparam top3_query[] = {
    {"limit", Q_INT, "3", 1, 10, false, NULL},
    {NULL, 0, NULL, 0, 0, false, NULL},
};
static const struct qparam top5_query[] = {
    {"limit", Q_INT, "5", 1, 20, false, NULL},
    {NULL, 0, NULL, 0, 0, false, NULL},
};
static const struct qparam genre_query[] = {
    {"genre", Q_STRING, NULL, 1, 100, false, NULL},
    {NULL, 0, NULL, 0, 0, false, NULL},
};

static const char *const rpg_sorts[] = {"level", "xp", "created_at", NULL};
static const struct qparam server_query[] = {
    {"server_id", Q_SNOWFLAKE, NULL, 0, 0, false, NULL},
    {NULL, 0, NULL, 0, 0, false, NULL},
};
static const struct qparam rpg_board_query[] = {
    {"server_id", Q_SNOWFLAKE, NULL, 0, 0, false, NULL},
    {"limit", Q_INT, "10", 1, 100, false, NULL},
    {"sort_by", Q_ENUM, "level", 0, 0, false, rpg_sorts},
    {"discord_id", Q_SNOWFLAKE, NULL, 0, 0, false, NULL},
    {NULL, 0, NULL, 0, 0, false, NULL},
};

static const char *const promo_platforms[] = {"all", "steam", "itch", "epic", NULL};
static const struct qparam promotions_query[] = {
    {"limit", Q_INT, "50", 1, 100, false, NULL},
    {"since_id", Q_INT, "0", 0, INT64_MAX, false, NULL},
    {"platform", Q_ENUM, "all", 0, 0, false, promo_platforms},
    {"server_id", Q_SNOWFLAKE, NULL, 0, 0, false, NULL},
    {NULL, 0, NULL, 0, 0, false, NULL},
};

static const char *const board_periods[] = {"all_time", "daily", "weekly", "monthly", NULL};
static const char *const board_games[] = {"all", "word_unscramble", NULL};
static const struct qparam community_query[] = {
    {"server_id", Q_SNOWFLAKE, NULL, 0, 0, false, NULL},
    {"game_type", Q_ENUM, "all", 0, 0, false, board_games},
    {"period", Q_ENUM, "all_time", 0, 0, false, board_periods},
    {"limit", Q_INT, "10", 1, 100, false, NULL},
    {NULL, 0, NULL, 0, 0, false, NULL},
};
static const struct qparam spelling_query[] = {
    {"server_id", Q_SNOWFLAKE, NULL, 0, 0, false, NULL},
    {"period", Q_ENUM, "all_time", 0, 0, false, board_periods},
    {"limit", Q_INT, "10", 1, 100, false, NULL},
    {NULL, 0, NULL, 0, 0, false, NULL},
};

static const char *const session_games[] = {"word_unscramble", NULL};
static const struct qparam session_query[] = {
    {"server_id", Q_SNOWFLAKE, NULL, 0, 0, false, NULL},
    {"game_type", Q_ENUM, "word_unscramble", 0, 0, false, session_games},
    {NULL, 0, NULL, 0, 0, false, NULL},
};

#define ANALYTICS(p, h, q, c) \
    {.method = "GET", .path = "/api/gamestats/" p, .handler = h, .auth = "mikros", .limits = {&mikros_limit}, \
     .cache = c, .query = q}

static const struct route mikros_routes[] = {
    /* promotions */
    {.method = "PUT", .path = "/api/promotions/{game_id}", .handler = mikros_put_promotion, .auth = "mikros_ingest",
     .limits = {&mikros_limit}, .body = &mikros_promotion_body, .flags = ROUTE_JSON_BODY},
    {.method = "GET", .path = "/api/promotions/active", .handler = mikros_active_promotions, .auth = "mikros",
     .limits = {&mikros_limit}, .query = promotions_query},
    {.method = "POST", .path = "/api/promotions/mark-pushed", .handler = mikros_mark_pushed, .auth = "mikros",
     .limits = {&mikros_limit}, .body = &mikros_push_body, .flags = ROUTE_JSON_BODY},
    {.method = "POST", .path = "/api/promotions/submit-lead", .handler = mikros_submit_lead, .auth = "mikros",
     .limits = {&mikros_limit}, .body = &mikros_lead_body, .flags = ROUTE_JSON_BODY},
    /* community games */
    {.method = "POST", .path = "/api/games/sync-config", .handler = mikros_sync_game_config, .auth = "mikros",
     .limits = {&mikros_limit}, .body = &mikros_game_config_body, .flags = ROUTE_JSON_BODY},
    {.method = "GET", .path = "/api/games/session-state", .handler = mikros_game_session_state, .auth = "mikros",
     .limits = {&mikros_limit}, .query = session_query},
    /* scheduling sync */
    {.method = "POST", .path = "/api/schedulers/sync-config", .handler = mikros_sync_scheduler, .auth = "mikros",
     .limits = {&mikros_limit}, .body = &mikros_scheduler_sync_body, .flags = ROUTE_JSON_BODY},
    {.method = "GET", .path = "/api/schedulers/status", .handler = mikros_scheduler_status, .auth = "mikros",
     .limits = {&mikros_limit}, .query = server_query},
    {.method = "POST", .path = "/api/schedulers/trigger", .handler = mikros_trigger_scheduler, .auth = "mikros",
     .limits = {&mikros_limit}, .body = &mikros_scheduler_trigger_body, .flags = ROUTE_JSON_BODY},
    /* leaderboards */
    {.method = "POST", .path = "/api/leaderboards/community-games", .handler = mikros_save_community_board,
     .auth = "mikros", .limits = {&mikros_limit}, .body = &mikros_community_body, .flags = ROUTE_JSON_BODY},
    {.method = "GET", .path = "/api/leaderboards/community-games", .handler = mikros_get_community_board,
     .auth = "mikros", .limits = {&mikros_limit}, .query = community_query},
    {.method = "POST", .path = "/api/leaderboards/spelling", .handler = mikros_save_spelling_board, .auth = "mikros",
     .limits = {&mikros_limit}, .body = &mikros_spelling_body, .flags = ROUTE_JSON_BODY},
    {.method = "GET", .path = "/api/leaderboards/spelling", .handler = mikros_get_spelling_board, .auth = "mikros",
     .limits = {&mikros_limit}, .query = spelling_query},
    /* RPG progression */
    {.method = "POST", .path = "/api/rpg/characters", .handler = mikros_save_character, .auth = "mikros",
     .limits = {&mikros_limit}, .body = &mikros_character_body, .flags = ROUTE_JSON_BODY},
    {.method = "GET", .path = "/api/rpg/characters/{discord_id:snowflake}", .handler = mikros_get_character,
     .auth = "mikros", .limits = {&mikros_limit}, .query = server_query},
    {.method = "GET", .path = "/api/rpg/leaderboard", .handler = mikros_rpg_leaderboard, .auth = "mikros",
     .limits = {&mikros_limit}, .query = rpg_board_query},
    {.method = "POST", .path = "/api/rpg/actions", .handler = mikros_log_action, .auth = "mikros",
     .limits = {&mikros_limit}, .body = &mikros_action_body, .flags = ROUTE_JSON_BODY},
    /* the data feed */
    {.method = "PUT", .path = "/api/gamestats/apps/{app_id:slug}", .handler = mikros_put_app, .auth = "mikros_ingest",
     .limits = {&mikros_limit}, .body = &mikros_app_body, .flags = ROUTE_JSON_BODY},
    {.method = "POST", .path = "/api/gamestats/sessions", .handler = mikros_post_sessions, .auth = "mikros_ingest",
     .limits = {&mikros_limit}, .body = &mikros_sessions_body, .flags = ROUTE_JSON_BODY,
     .max_body = MIKROS_FEED_MAX_BODY},
    {.method = "POST", .path = "/api/gamestats/contributors", .handler = mikros_post_contributors,
     .auth = "mikros_ingest", .limits = {&mikros_limit}, .body = &mikros_contributors_body,
     .flags = ROUTE_JSON_BODY, .max_body = MIKROS_FEED_MAX_BODY},
    /* analytics */
    ANALYTICS("trending-genres", mikros_trending_genres, trending_query, &cache_analytics),
    ANALYTICS("trending-content-genres", mikros_trending_content_genres, trending_query, &cache_analytics),
    ANALYTICS("trending-content", mikros_trending_content, trending_content_query, &cache_analytics),
    ANALYTICS("trending-gameplay-types", mikros_trending_gameplay_types, trending_query, &cache_analytics),
    ANALYTICS("popular-genres", mikros_popular_genres, top3_query, &cache_analytics),
    ANALYTICS("popular-content-genres", mikros_popular_content_genres, top3_query, &cache_analytics),
    ANALYTICS("popular-content", mikros_popular_content, top5_query, &cache_analytics),
    ANALYTICS("popular-gameplay-types", mikros_popular_gameplay_types, top3_query, &cache_analytics),
    ANALYTICS("total-apps", mikros_total_apps, NULL, &cache_totals),
    ANALYTICS("total-contributors", mikros_total_contributors, NULL, &cache_totals),
    ANALYTICS("total-users", mikros_total_users, NULL, &cache_totals),
    ANALYTICS("avg-gameplay-time", mikros_avg_gameplay_time, genre_query, &cache_analytics),
    ANALYTICS("avg-session-time", mikros_avg_session_time, genre_query, &cache_analytics),
    /* the test suite's probe of this family's auth, limit and envelope */
    {.method = "GET", .path = "/_test/mikros-auth", .handler = test_whoami, .auth = "mikros",
     .limits = {&mikros_limit}, .flags = ROUTE_TEST_ONLY},
};

static const char *const mikros_codes[E_CODE_COUNT] = {
    [E_INVALID] = "INVALID_REQUEST",
    [E_UNAUTHORIZED] = "UNAUTHORIZED",
    [E_FORBIDDEN] = "FORBIDDEN",
    [E_NOT_FOUND] = "NOT_FOUND",
    [E_METHOD] = "METHOD_NOT_ALLOWED",
    [E_CONFLICT] = "CONFLICT",
    [E_TOO_LARGE] = "PAYLOAD_TOO_LARGE",
    [E_MEDIA_TYPE] = "UNSUPPORTED_MEDIA_TYPE",
    [E_RATE_LIMITED] = "RATE_LIMIT_EXCEEDED",
    [E_INTERNAL] = "INTERNAL_ERROR",
    [E_UNAVAILABLE] = "SERVICE_UNAVAILABLE",
    [E_TIMEOUT] = "SERVICE_UNAVAILABLE",
};

/* {"success": false, "error": {"code", "message", "details"}, "timestamp"} */
static void mikros_render_error(const struct error_reply *e, struct buf *out)
{
    json_object *o = json_object_new_object(), *err = json_object_new_object();
    json_object_object_add(err, "code", json_object_new_string(e->code));
    json_object_object_add(err, "message", json_object_new_string(e->message));
    json_object_object_add(err, "details", json_object_new_object());
    json_object_object_add(o, "success", json_object_new_boolean(0));
    json_object_object_add(o, "error", err);
    json_object_object_add(o, "timestamp", mikros_timestamp_now());
    envelope_emit(o, out);
}

/* {"success": true, "data": …, "timestamp"} */
static json_object *mikros_success(json_object *data)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "success", json_object_new_boolean(1));
    json_object_object_add(o, "data", data);
    json_object_object_add(o, "timestamp", mikros_timestamp_now());
    return o;
}

static const char *const mikros_prefixes[] = {"/api/gamestats", "/api/promotions", "/api/games", "/api/rpg",
                                              "/api/leaderboards", "/api/schedulers", NULL};
static const char *const mikros_scopes[] = {"mikros", "mikros_ingest", NULL};
static struct rate_limit *const mikros_limits[] = {&mikros_limit, NULL};

const struct family family_mikros = {
    .name = "mikros",
    .prefixes = mikros_prefixes,
    .render_error = mikros_render_error,
    .codes = mikros_codes,
    .success = mikros_success,
    .key_header = KEY_BEARER,
    .bad_path_id_status = 400,
    .max_field_errors = 1,
    .scopes = mikros_scopes,
    .limits = mikros_limits,
    .idempotent_posts = true,
    FAMILY_ROUTES(mikros_routes),
};
