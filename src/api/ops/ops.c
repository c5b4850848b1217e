/* ops.c — guildhall is "the bot" the Pegasus spec monitors (CONTRACT 7.5). Counts come from the
 * database in one round trip per endpoint; process facts come from shared memory and /proc. */
#include "guildhall.h"
#include "api/ops/ops.h"
#include "cache.h"
#include "config.h"
#include "db.h"
#include "envelope.h"
#include "metrics.h"
#include "request.h"
#include "routes.h"

#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#define MEMORY_LIMIT_BYTES (512L * 1024 * 1024)

DB_STMT(discord_counts, 0, true, "SELECT (SELECT count(*) FROM guilds), (SELECT count(*) FROM users)");
DB_STMT(schema_version, 0, true,
        "SELECT coalesce((SELECT max(version) FROM schema_migrations), 0)");
DB_STMT(command_counts, 0, true,
        "SELECT details->>'command', count(*) FROM audit_logs WHERE action = 'ops.command_executed' "
        "AND details ? 'command' GROUP BY 1 ORDER BY 1");
DB_STMT(stats_json, 0, true,
        "SELECT json_build_object("
        " 'guilds', (SELECT count(*) FROM guilds),"
        " 'users', (SELECT count(*) FROM users),"
        " 'channels', (SELECT count(*) FROM (SELECT channel_id FROM giveaways UNION SELECT channel_id FROM tickets) c),"
        " 'tracked_guilds', (SELECT count(DISTINCT guild_id) FROM guild_members),"
        " 'economy_users', (SELECT count(*) FROM guild_members WHERE xp > 0),"
        " 'open_tickets', (SELECT count(*) FROM tickets WHERE status = 'open'),"
        " 'active_giveaways', (SELECT count(*) FROM giveaways WHERE status = 'active' AND ends_at > now()),"
        " 'daily_actions', (SELECT count(*) FROM audit_logs WHERE created_at > now() - interval '1 day'),"
        " 'weekly_actions', (SELECT count(*) FROM audit_logs WHERE created_at > now() - interval '7 days'),"
        " 'daily_active_users', (SELECT count(DISTINCT user_id) FROM audit_logs"
        "    WHERE created_at > now() - interval '1 day' AND user_id <> 'system'),"
        " 'daily_active_guilds', (SELECT count(DISTINCT guild_id) FROM audit_logs"
        "    WHERE created_at > now() - interval '1 day' AND guild_id <> '0'),"
        " 'top_commands', (SELECT coalesce(json_agg(json_build_object('command', command, 'count', n)), '[]')"
        "    FROM (SELECT details->>'command' AS command, count(*) AS n FROM audit_logs"
        "          WHERE action = 'ops.command_executed' AND details ? 'command'"
        "          GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10) t))::text");
/* Newest first; `before` compares at the millisecond precision the entries are shown with. */
DB_STMT(logs_json, 5, true,
        "SELECT coalesce(json_agg(json_build_object('id', id, 'user_id', user_id, 'guild_id', guild_id,"
        " 'action', action, 'category', category, 'details', coalesce(details, '{}'::jsonb),"
        " 'created_at', to_char(created_at, 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'))"
        " ORDER BY created_at DESC, id DESC), '[]')::text FROM ("
        " SELECT * FROM audit_logs"
        " WHERE ($1::timestamp IS NULL OR date_trunc('milliseconds', created_at) < $1::timestamp)"
        "   AND ($2::text IS NULL OR action = $2) AND ($3::text IS NULL OR category = $3)"
        "   AND ($4::text IS NULL OR guild_id = $4)"
        " ORDER BY created_at DESC, id DESC LIMIT $5::int) e");

static void add_timestamp(json_object *o)
{
    char ts[32];
    format_timestamp(ts, now_us(), TS_MILLIS_Z);
    json_object_object_add(o, "timestamp", json_object_new_string(ts));
}

static long rss_of(pid_t pid)
{
    char path[64];
    long pages = 0, rss = 0;
    snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = 0;
    fclose(f);
    return rss * sysconf(_SC_PAGESIZE);
}

/* Resident memory of every guildhalld process. */
static long total_rss(const struct shm *shm)
{
    long total = 0;
    for (int s = 0; s < MAX_SLOTS; s++)
        if (shm->slots[s].pid)
            total += rss_of(shm->slots[s].pid);
    return total;
}

static json_object *memory_usage(const struct shm *shm, long *rss)
{
    struct mallinfo2 mi = mallinfo2();
    json_object *u = json_object_new_object();
    *rss = total_rss(shm);
    json_object_object_add(u, "heapUsed", json_object_new_int64((int64_t)mi.uordblks));
    json_object_object_add(u, "heapTotal", json_object_new_int64((int64_t)(mi.arena + mi.hblkhd)));
    json_object_object_add(u, "rss", json_object_new_int64(*rss));
    json_object_object_add(u, "external", json_object_new_int64((int64_t)sizeof(struct shm)));
    return u;
}

static bool scheduler_healthy(const struct shm *shm)
{
    pid_t pid = shm->scheduler_pid;
    return pid > 0 && kill(pid, 0) == 0 && now_us() - shm->scheduler_heartbeat_us < 10000000u;
}

/* The outbox's heartbeat moves before each delivery, so one webhook hanging until its timeout
 * is not a dead process. */
static bool outbox_healthy(const struct shm *shm, const struct config *cfg)
{
    pid_t pid = shm->outbox_pid;
    return pid > 0 && kill(pid, 0) == 0 &&
           now_us() - shm->outbox_heartbeat_us < 10000000u + (uint64_t)cfg->webhook_timeout_ms * 1000u;
}

static const char *health_word(bool ok)
{
    return ok ? "healthy" : "unhealthy";
}

int ops_health(struct request *r)
{
    const struct shm *shm = r->svc->shm;
    json_object *o = json_object_new_object(), *checks = json_object_new_object();
    enum db_status st;
    uint64_t t0 = monotonic_us();
    PGresult *res = db_exec(r->svc->db, &discord_counts, NULL, &st);
    long latency_ms = (long)((monotonic_us() - t0) / 1000u);
    bool db_ok = st == DB_OK;
    if (!db_ok)
        metrics_count(r->svc, M_DB_ERRORS);

    json_object *discord = json_object_new_object();
    json_object_object_add(discord, "status", json_object_new_string(health_word(db_ok)));
    json_object_object_add(discord, "latency", db_ok ? json_object_new_int64(latency_ms) : NULL);
    json_object_object_add(discord, "guilds", db_ok ? json_object_new_int64(atoll(PQgetvalue(res, 0, 0))) : NULL);
    json_object_object_add(discord, "users", db_ok ? json_object_new_int64(atoll(PQgetvalue(res, 0, 1))) : NULL);
    PQclear(res);
    json_object_object_add(checks, "discord", discord);

    int total = 0, active = 0;
    for (int s = FIRST_WORKER_SLOT; s < MAX_SLOTS; s++) {
        if (!shm->slots[s].pid || shm->slots[s].state == SLOT_STARTING)
            continue;
        total++;
        active += shm->slots[s].state == SLOT_BUSY;
    }
    json_object *database = json_object_new_object(), *conns = json_object_new_object();
    json_object_object_add(conns, "active", json_object_new_int(active));
    json_object_object_add(conns, "idle", json_object_new_int(total - active));
    json_object_object_add(conns, "total", json_object_new_int(total));
    json_object_object_add(database, "status", json_object_new_string(health_word(db_ok)));
    json_object_object_add(database, "connections", conns);
    json_object_object_add(checks, "database", database);

    long rss;
    json_object *memory = json_object_new_object(), *usage = memory_usage(shm, &rss);
    bool mem_ok = rss < MEMORY_LIMIT_BYTES;
    json_object_object_add(memory, "status", json_object_new_string(health_word(mem_ok)));
    json_object_object_add(memory, "usage", usage);
    json_object_object_add(checks, "memory", memory);

    bool cache_ok = mc_ping(r->svc->mc);
    json_object *cache = json_object_new_object();
    json_object_object_add(cache, "status", json_object_new_string(health_word(cache_ok)));
    json_object_object_add(cache, "servers", json_object_new_int(mc_server_count(r->svc->mc)));
    json_object_object_add(checks, "cache", cache);

    bool sched_on = r->svc->cfg->scheduler, sched_ok = !sched_on || scheduler_healthy(shm);
    json_object *sched = json_object_new_object();
    json_object_object_add(sched, "status", json_object_new_string(!sched_on ? "disabled" : health_word(sched_ok)));
    json_object_object_add(sched, "pid", shm->scheduler_pid ? json_object_new_int(shm->scheduler_pid) : NULL);
    json_object_object_add(checks, "scheduler", sched);

    bool outbox_on = r->svc->cfg->outbox, outbox_ok = !outbox_on || outbox_healthy(shm, r->svc->cfg);
    json_object *outbox = json_object_new_object();
    json_object_object_add(outbox, "status", json_object_new_string(!outbox_on ? "disabled" : health_word(outbox_ok)));
    json_object_object_add(outbox, "pid", shm->outbox_pid ? json_object_new_int(shm->outbox_pid) : NULL);
    json_object_object_add(checks, "outbox", outbox);

    const char *status = !db_ok ? "unhealthy"
                         : (cache_ok && sched_ok && outbox_ok && mem_ok) ? "healthy" : "degraded";
    json_object_object_add(o, "status", json_object_new_string(status));
    add_timestamp(o);
    json_object_object_add(o, "uptime", json_object_new_int64((int64_t)((now_us() - shm->started_us) / 1000000u)));
    json_object_object_add(o, "version", json_object_new_string(GH_VERSION));
    json_object_object_add(o, "checks", checks);
    return reply_json(r, db_ok ? 200 : 503, o);
}

int ops_ready(struct request *r)
{
    enum db_status st;
    PGresult *res = db_exec(r->svc->db, &schema_version, NULL, &st);
    const char *reason = NULL;
    if (st == DB_DOWN)
        reason = "database unavailable";
    else if (st != DB_OK || atol(PQgetvalue(res, 0, 0)) < GH_SCHEMA_VERSION)
        reason = "migrations not applied";
    PQclear(res);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "ready", json_object_new_boolean(reason == NULL));
    add_timestamp(o);
    if (reason)
        json_object_object_add(o, "reason", json_object_new_string(reason));
    return reply_json(r, reason ? 503 : 200, o);
}

static void gauge(struct buf *out, const char *name, const char *help, const char *value)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n", name, help, name, name, value);
}

int ops_metrics(struct request *r)
{
    struct buf out = {0};
    enum db_status st;
    PGresult *res = db_exec(r->svc->db, &discord_counts, NULL, &st);
    if (st == DB_OK) {
        gauge(&out, "pegasus_bot_guilds", "Total number of guilds", PQgetvalue(res, 0, 0));
        gauge(&out, "pegasus_bot_users", "Total number of users", PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    res = st == DB_OK ? db_exec(r->svc->db, &command_counts, NULL, &st) : NULL;
    buf_puts(&out, "# HELP pegasus_bot_commands_total Total number of commands executed\n"
                   "# TYPE pegasus_bot_commands_total counter\n");
    for (int i = 0; res && i < PQntuples(res); i++) {
        buf_puts(&out, "pegasus_bot_commands_total{command=\"");
        for (const char *p = PQgetvalue(res, i, 0); *p; p++) {
            if (*p == '"' || *p == '\\')
                buf_append(&out, "\\", 1);
            if (*p == '\n')
                buf_puts(&out, "\\n");
            else
                buf_append(&out, p, 1);
        }
        buf_printf(&out, "\"} %s\n", PQgetvalue(res, i, 1));
    }
    PQclear(res);
    if (st != DB_OK)
        metrics_count(r->svc, M_DB_ERRORS);
    size_t n, nf;
    const struct route *table = routes_table(&n);
    const struct family *const *families = routes_families(&nf);
    struct metric_route labels[MAX_ROUTE_STATS];
    const char *family_names[MAX_FAMILY_STATS] = {family_generic.name};
    for (size_t i = 0; i < n && i < MAX_ROUTE_STATS; i++)
        labels[i] = (struct metric_route){table[i].family->name, table[i].path, table[i].method};
    for (size_t f = 0; f < nf && f + 1 < MAX_FAMILY_STATS; f++)
        family_names[f + 1] = families[f]->name;
    metrics_render(r->svc->shm, labels, n, family_names, nf + 1 < MAX_FAMILY_STATS ? nf + 1 : MAX_FAMILY_STATS, &out);
    reply_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", out.data, out.len);
    buf_free(&out);
    return 0;
}

static json_object *pick(json_object *from, const char *const *names)
{
    json_object *o = json_object_new_object(), *v;
    for (; *names; names++)
        if (json_object_object_get_ex(from, *names, &v))
            json_object_object_add(o, *names, json_object_get(v));
    return o;
}

int ops_stats(struct request *r)
{
    PGresult *res = query(r, &stats_json, NULL);
    if (!res)
        return -1;
    json_object *db = json_tokener_parse(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!db)
        return fail(r, 500, "Internal error");
    const struct shm *shm = r->svc->shm;
    long rss;
    json_object *usage = memory_usage(shm, &rss), *mem = json_object_new_object(), *v;
    json_object_object_get_ex(usage, "heapUsed", &v);
    json_object_object_add(mem, "heapUsed", json_object_get(v));
    json_object_object_get_ex(usage, "heapTotal", &v);
    json_object_object_add(mem, "heapTotal", json_object_get(v));
    json_object_put(usage);

    static const char *const bot_keys[] = {"guilds", "users", "channels", NULL};
    static const char *const db_keys[] = {"guilds", "users", "tracked_guilds", "economy_users", "open_tickets",
                                          "active_giveaways", NULL};
    static const char *const activity_keys[] = {"daily_actions", "weekly_actions", "daily_active_users",
                                                "daily_active_guilds", NULL};
    json_object *o = json_object_new_object(), *bot = pick(db, bot_keys);
    json_object_object_add(bot, "uptime", json_object_new_int64((int64_t)((now_us() - shm->started_us) / 1000000u)));
    json_object_object_add(bot, "memory", mem);
    json_object_object_add(o, "bot", bot);
    json_object_object_add(o, "database", pick(db, db_keys));
    json_object_object_add(o, "activity", pick(db, activity_keys));
    json_object_object_get_ex(db, "top_commands", &v);
    json_object_object_add(o, "topCommands", json_object_get(v));
    json_object *rl = json_object_new_object();
    json_object_object_add(rl, "totalEntries", json_object_new_int64((int64_t)metrics_sum(shm, M_RL_REJECTED)));
    json_object_object_add(rl, "blacklistedCount", json_object_new_int(0));
    json_object_object_add(rl, "topOffenders", json_object_new_array());
    json_object_object_add(o, "rateLimit", rl);
    json_object_put(db);
    return reply_json(r, 200, o);
}

int ops_logs(struct request *r)
{
    char before[40] = "";
    const struct qvalue *b = qget(r, "before");
    if (b) {
        format_timestamp(before, b->ts_us, TS_NAIVE);
        snprintf(before + strlen(before), sizeof(before) - strlen(before), ".%06llu",
                 (unsigned long long)(b->ts_us % 1000000u));
    }
    const char *params[] = {b ? before : NULL, qstr(r, "action"), qstr(r, "category"), qstr(r, "guild_id"),
                            qstr(r, "limit")};
    PGresult *res = query(r, &logs_json, params);
    if (!res)
        return -1;
    reply_text(r, 200, "application/json", PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
    return 0;
}

int ops_api_health(struct request *r)
{
    enum db_status st;
    PGresult *res = db_exec(r->svc->db, &discord_counts, NULL, &st);
    PQclear(res);
    long rss;
    json_object_put(memory_usage(r->svc->shm, &rss));
    bool db_ok = st == DB_OK, mem_ok = rss < MEMORY_LIMIT_BYTES;
    json_object *o = json_object_new_object(), *checks = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string(health_word(db_ok && mem_ok)));
    json_object_object_add(checks, "bot", json_object_new_boolean(1));
    json_object_object_add(checks, "database", json_object_new_boolean(db_ok));
    json_object_object_add(checks, "memory", json_object_new_boolean(mem_ok));
    json_object_object_add(o, "checks", checks);
    add_timestamp(o);
    return reply_json(r, db_ok ? 200 : 503, o);
}
