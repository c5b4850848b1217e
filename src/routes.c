/* routes.c — the route table. Adding an endpoint is one row here and one handler. */
#include "guildhall.h"
#include "routes.h"
#include "config.h"
#include "gcra.h"
#include "api/ops/ops.h"
#include "api/places/places.h"
#include "api/scheduler/jobs.h"
#include "api/test/test_routes.h"

/* Limits are configuration (CONTRACT 5); routes_init() fills them from the settings. */
static struct rate_rule rl_ops_minute = {"ops_m", RL_BY_IP, 30, 60, 30};
static struct rate_rule rl_ops_hour = {"ops_h", RL_BY_IP, 1000, 3600, 1000};
static struct rate_rule rl_mikros = {"mikros", RL_BY_KEY, 100, 60, 200};
static struct rate_rule rl_scheduler = {"scheduler", RL_BY_KEY, 120, 60, 120};
static struct rate_rule rl_test = {"test", RL_BY_IP, 5, 60, 5};
static struct rate_rule rl_places_modes = {"pl_modes", RL_BY_IP, 200, 60, 200};
static struct rate_rule rl_places_archives = {"pl_archives", RL_BY_IP, 50, 60, 50};
static struct rate_rule rl_places_board = {"pl_board", RL_BY_IP, 100, 60, 100};
static struct rate_rule rl_places_agents = {"pl_agents", RL_BY_IP, 60, 60, 60};
static struct rate_rule rl_places_admin = {"pl_admin", RL_BY_IP, 5, 60, 5};

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
static const struct qparam jobs_query[] = {
    {"enabled_only", Q_BOOL, "false", 0, 0, false, NULL},
    {"include_system", Q_BOOL, "false", 0, 0, false, NULL},
    {NULL, 0, NULL, 0, 0, false, NULL},
};
static const struct qparam history_query[] = {
    {"limit", Q_INT, "50", 1, 200, true, NULL},
    {NULL, 0, NULL, 0, 0, false, NULL},
};
#define SCHED_LIMIT {&rl_scheduler, NULL}

static const struct qparam agent_query[] = {
    {"weeks", Q_INT, "10", 1, 52, false, NULL},
    {NULL, 0, NULL, 0, 0, false, NULL},
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

#define OPS_LIMITS {&rl_ops_minute, &rl_ops_hour}
#define NO_LIMIT {NULL, NULL}

static const struct route production[] = {
    {"GET", "/health", FAM_OPS, ops_health, NULL, NO_LIMIT, NULL, NULL, 0, 0},
    {"GET", "/ready", FAM_OPS, ops_ready, NULL, NO_LIMIT, NULL, NULL, 0, 0},
    {"GET", "/metrics", FAM_OPS, ops_metrics, NULL, NO_LIMIT, NULL, NULL, ROUTE_OPS_ONLY, 0},
    {"GET", "/api/stats", FAM_OPS, ops_stats, NULL, OPS_LIMITS, NULL, NULL, ROUTE_OPS_ONLY, 0},
    {"GET", "/api/logs", FAM_OPS, ops_logs, NULL, OPS_LIMITS, NULL, logs_query, ROUTE_OPS_ONLY, 0},
    {"GET", "/api/health", FAM_OPS, ops_api_health, NULL, OPS_LIMITS, NULL, NULL, ROUTE_OPS_ONLY, 0},

    {"GET", "/api/game-modes", FAM_PLACES, places_game_modes, NULL, {&rl_places_modes, NULL}, &cache_modes, NULL, 0, 0},
    {"GET", "/api/game-modes/current", FAM_PLACES, places_current_mode, NULL, {&rl_places_modes, NULL}, &cache_current, NULL, 0, 0},
    {"GET", "/api/archives", FAM_PLACES, places_archives, NULL, {&rl_places_archives, NULL}, &cache_archives, archives_query, 0, 0},
    {"GET", "/api/archives/{id}", FAM_PLACES, places_archive, NULL, {&rl_places_archives, NULL}, &cache_archive, NULL, 0, 0},
    {"GET", "/api/archives/{id}/canvas", FAM_PLACES, places_archive_canvas, NULL, {&rl_places_archives, NULL}, &cache_forever, NULL, 0, 0},
    {"GET", "/api/archives/{id}/image.png", FAM_PLACES, places_archive_image, NULL, {&rl_places_archives, NULL}, &cache_forever, NULL, 0, 0},
    {"GET", "/api/archives/{id}/thumbnail.png", FAM_PLACES, places_archive_thumbnail, NULL, {&rl_places_archives, NULL}, &cache_forever, NULL, 0, 0},
    {"GET", "/api/leaderboard/current", FAM_PLACES, places_leaderboard_current, NULL, {&rl_places_board, NULL}, &cache_board, board_query, 0, 0},
    {"GET", "/api/leaderboard/archives/{id}", FAM_PLACES, places_leaderboard_archive, NULL, {&rl_places_board, NULL}, &cache_archive, board_archive_query, 0, 0},
    {"GET", "/api/agents/{id}/stats", FAM_PLACES, places_agent_stats, NULL, {&rl_places_agents, NULL}, &cache_agent, agent_query, 0, 0},
    {"GET", "/api/agents/{id}/stats/current-week", FAM_PLACES, places_agent_current_week, NULL, {&rl_places_agents, NULL}, &cache_agent_week, NULL, 0, 0},
    {"GET", "/api/canvas", FAM_PLACES, places_canvas, NULL, NO_LIMIT, &cache_canvas, NULL, 0, 0},
    {"POST", "/api/canvas/pixels", FAM_PLACES, places_place_pixel, "places_user|places_agent", NO_LIMIT, NULL, NULL, ROUTE_JSON_BODY, 0},
    {"POST", "/api/admin/reset-week", FAM_PLACES, places_reset_week, "service_role", {&rl_places_admin, NULL}, NULL, NULL, ROUTE_OPTIONAL_BODY, 0},
    {"POST", "/api/admin/update-agent-stats", FAM_PLACES, places_update_agent_stats, "service_role", {&rl_places_admin, NULL}, NULL, NULL, ROUTE_JSON_BODY, 0},
    {"POST", "/api/admin/snapshot-stats", FAM_PLACES, places_snapshot_stats, "service_role", {&rl_places_admin, NULL}, NULL, NULL, ROUTE_OPTIONAL_BODY, 0},
    {"GET", "/scheduler/jobs", FAM_SCHEDULER, scheduler_list_jobs, "scheduler", SCHED_LIMIT, NULL, jobs_query, 0, 0},
    {"POST", "/scheduler/jobs", FAM_SCHEDULER, scheduler_create_job, "scheduler", SCHED_LIMIT, NULL, NULL, ROUTE_JSON_BODY, 0},
    {"GET", "/scheduler/jobs/{job_id}", FAM_SCHEDULER, scheduler_get_job, "scheduler", SCHED_LIMIT, NULL, NULL, 0, 0},
    {"PUT", "/scheduler/jobs/{job_id}", FAM_SCHEDULER, scheduler_update_job, "scheduler", SCHED_LIMIT, NULL, NULL, ROUTE_JSON_BODY, 0},
    {"DELETE", "/scheduler/jobs/{job_id}", FAM_SCHEDULER, scheduler_delete_job, "scheduler", SCHED_LIMIT, NULL, NULL, 0, 0},
    {"POST", "/scheduler/jobs/{job_id}/toggle", FAM_SCHEDULER, scheduler_toggle_job, "scheduler", SCHED_LIMIT, NULL, NULL, ROUTE_OPTIONAL_BODY, 0},
    {"POST", "/scheduler/jobs/{job_id}/run", FAM_SCHEDULER, scheduler_run_job, "scheduler", SCHED_LIMIT, NULL, NULL, ROUTE_OPTIONAL_BODY, 0},
    {"GET", "/scheduler/jobs/{job_id}/history", FAM_SCHEDULER, scheduler_job_history, "scheduler", SCHED_LIMIT, NULL, history_query, 0, 0},
    {"GET", "/scheduler/health", FAM_SCHEDULER, scheduler_health, NULL, NO_LIMIT, NULL, NULL, 0, 0},
    {"POST", "/api/admin/cleanup-archives", FAM_PLACES, places_cleanup_archives, "service_role", {&rl_places_admin, NULL}, NULL, NULL, ROUTE_OPTIONAL_BODY, 0},
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

static const struct route testing[] = {
    {"GET", "/_test/ping", FAM_TEST, test_ping, NULL, NO_LIMIT, NULL, NULL, 0, 0},
    {"GET", "/_test/query", FAM_TEST, test_query, NULL, NO_LIMIT, NULL, test_id_query, 0, 0},
    {"GET", "/_test/cached", FAM_TEST, test_query, NULL, NO_LIMIT, &test_cache, test_id_query, 0, 0},
    {"POST", "/_test/bump", FAM_TEST, test_bump, NULL, NO_LIMIT, NULL, NULL, 0, 0},
    {"POST", "/_test/echo", FAM_TEST, test_echo, NULL, NO_LIMIT, NULL, NULL, ROUTE_JSON_BODY, 0},
    {"GET", "/_test/mikros-auth", FAM_MIKROS, test_whoami, "mikros", {&rl_mikros, NULL}, NULL, NULL, 0, 0},
    {"GET", "/_test/scheduler-auth", FAM_SCHEDULER, test_whoami, "scheduler", {&rl_scheduler, NULL}, NULL, NULL, 0, 0},
    {"GET", "/_test/limited", FAM_TEST, test_ping, NULL, {&rl_test, NULL}, NULL, NULL, 0, 0},
    {"GET", "/_test/fail", FAM_TEST, test_fail, NULL, NO_LIMIT, NULL, NULL, 0, 0},
    {"GET", "/_test/sleep", FAM_TEST, test_sleep, NULL, NO_LIMIT, NULL, test_sleep_query, 0, 0},
};

static struct route table[ARRAY_LEN(production) + ARRAY_LEN(testing)];
static size_t table_len;

bool routes_init(const struct config *cfg, char *err, size_t errlen)
{
    const struct {
        struct rate_rule *rule;
        const char *spec, *setting;
    } limits[] = {
        {&rl_ops_minute, cfg->ratelimit_ops_minute, "ratelimit_ops_minute"},
        {&rl_ops_hour, cfg->ratelimit_ops_hour, "ratelimit_ops_hour"},
        {&rl_mikros, cfg->ratelimit_mikros, "ratelimit_mikros"},
        {&rl_scheduler, cfg->ratelimit_scheduler, "ratelimit_scheduler"},
        {&rl_test, cfg->ratelimit_test, "ratelimit_test"},
        {&rl_places_modes, cfg->ratelimit_places_modes, "ratelimit_places_modes"},
        {&rl_places_archives, cfg->ratelimit_places_archives, "ratelimit_places_archives"},
        {&rl_places_board, cfg->ratelimit_places_leaderboard, "ratelimit_places_leaderboard"},
        {&rl_places_agents, cfg->ratelimit_places_agents, "ratelimit_places_agents"},
        {&rl_places_admin, cfg->ratelimit_places_admin, "ratelimit_places_admin"},
    };
    for (size_t i = 0; i < ARRAY_LEN(limits); i++)
        if (!gcra_parse_rule(limits[i].spec, limits[i].rule)) {
            snprintf(err, errlen, "%s: expected LIMIT/SECONDS[/BURST], got '%s'", limits[i].setting, limits[i].spec);
            return false;
        }
    memcpy(table, production, sizeof(production));
    table_len = ARRAY_LEN(production);
    if (cfg->test_routes) {
        memcpy(table + table_len, testing, sizeof(testing));
        table_len += ARRAY_LEN(testing);
    }
    return true;
}

const struct route *routes_table(size_t *n)
{
    *n = table_len;
    return table;
}

size_t routes_production_count(void)
{
    return ARRAY_LEN(production);
}
