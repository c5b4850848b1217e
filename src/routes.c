/* routes.c — the route table. Adding an endpoint is one row here and one handler. */
#include "guildhall.h"
#include "routes.h"
#include "config.h"
#include "gcra.h"
#include "api/ops/ops.h"
#include "api/test/test_routes.h"

/* Limits are configuration (CONTRACT 5); routes_init() fills them from the settings. */
static struct rate_rule rl_ops_minute = {"ops_m", RL_BY_IP, 30, 60, 30};
static struct rate_rule rl_ops_hour = {"ops_h", RL_BY_IP, 1000, 3600, 1000};
static struct rate_rule rl_mikros = {"mikros", RL_BY_KEY, 100, 60, 200};
static struct rate_rule rl_scheduler = {"scheduler", RL_BY_KEY, 120, 60, 120};
static struct rate_rule rl_test = {"test", RL_BY_IP, 5, 60, 5};

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
