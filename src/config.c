/* config.c — every setting is one row: name, type, default, bounds, help.
 * The same table drives defaults, parsing, environment overrides and docs/configuration.md. */
#include "guildhall.h"
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <unistd.h>

enum ctype { C_STR, C_INT, C_LONG, C_BOOL };

struct config_key {
    const char *name;
    enum ctype type;
    size_t offset;
    const char *def;
    long min, max;
    const char *help;
};

#define S(f) C_STR, offsetof(struct config, f)
#define I(f) C_INT, offsetof(struct config, f)
#define L(f) C_LONG, offsetof(struct config, f)
#define B(f) C_BOOL, offsetof(struct config, f)

static const struct config_key keys[] = {
    {"listen", S(listen), "/run/guildhall/guildhall.sock", 0, 0,
     "FastCGI socket: a unix socket path, or host:port for loopback TCP. Not changed by SIGHUP."},
    {"listen_backlog", I(listen_backlog), "1024", 16, 65535, "listen(2) backlog of the FastCGI socket."},
    {"workers", I(workers), "2", 1, 64, "Worker processes (like php-fpm's pm.max_children)."},
    {"max_requests", I(max_requests), "100000", 0, 100000000,
     "A worker is recycled after serving this many requests (0: never)."},
    {"request_timeout", I(request_timeout), "30", 1, 3600,
     "Seconds a request may run before the master kills its worker."},
    {"shutdown_timeout", I(shutdown_timeout), "30", 1, 3600,
     "Seconds SIGTERM waits for in-flight requests before killing workers."},
    {"scheduler", B(scheduler), "on", 0, 0, "Fork the scheduler process (runs due jobs, records their history)."},
    {"outbox", B(outbox), "on", 0, 0,
     "Fork the outbox process (delivers webhooks and nchan events with retries; audits failed "
     "authentications in bulk)."},
    {"database_url", S(database_url), "dbname=guildhall", 0, 0,
     "libpq connection string (may list several hosts; see target_session_attrs). The request workers "
     "use it; with database_pooler = transaction it is the pooler's address."},
    {"database_pooler", S(database_pooler), "none", 0, 0,
     "What database_url reaches: `none` (PostgreSQL itself) or `transaction` (a transaction-pooling "
     "PgBouncer): the workers then send every statement unnamed (no prepared statements) and no `options` "
     "startup parameter; TimeZone=UTC goes as a startup parameter PgBouncer tracks, and statement_timeout "
     "must be the role's default (docs/pgbouncer.md). Needs database_direct_url."},
    {"database_direct_url", S(database_direct_url), "", 0, 0,
     "libpq connection string straight to PostgreSQL for the scheduler, the outbox and guildhall-admin, "
     "which need a session of their own (LISTEN, pg_backend_pid(), the migrations' advisory lock); "
     "empty: database_url."},
    {"database_replica_url", S(database_replica_url), "", 0, 0,
     "libpq connection string of a streaming replica (empty: none). The workers read immutable rows from it "
     "(archived weeks) and ask the primary whenever the replica does not have the row yet, so replica lag "
     "never hides an acknowledged write."},
    {"db_statement_timeout_ms", I(db_statement_timeout_ms), "10000", 0, 3600000,
     "statement_timeout set on each connection (with database_pooler = transaction the workers only check "
     "that the role's default matches it: docs/pgbouncer.md)."},
    {"memcached_servers", S(memcached_servers), "127.0.0.1:11211", 0, 0,
     "Comma-separated host:port list, addressed with consistent hashing."},
    {"memcached_timeout_ms", I(memcached_timeout_ms), "50", 1, 10000,
     "Connect and poll timeout for memcached; a timeout reads as a miss."},
    {"max_body_bytes", L(max_body_bytes), "1048576", 1024, 1073741824,
     "Largest request body, as sent and after gzip decompression (413 beyond)."},
    {"json_max_depth", I(json_max_depth), "32", 1, 1000, "Deepest JSON nesting accepted (400 beyond)."},
    {"log_file", S(log_file), "", 0, 0, "Log file (empty: stderr)."},
    {"log_level", S(log_level), "info", 0, 0, "error, warn, info or debug."},
    {"pid_file", S(pid_file), "", 0, 0, "Where the master writes its pid (empty: nowhere)."},
    {"sql_dir", S(sql_dir), GH_SQL_DIR, 0, 0, "Folder of numbered migrations for guildhall-admin migrate."},
    {"test_routes", B(test_routes), "off", 0, 0, "Serve the /_test/* routes (test suites and benchmarks only)."},
    {"public_base_url", S(public_base_url), "", 0, 0, "Absolute base for URLs in responses (empty: relative)."},
    {"webhook_error_url", S(webhook_error_url), "", 0, 0, "Discord webhook for critical errors (empty: off)."},
    {"webhook_audit_url", S(webhook_audit_url), "", 0, 0, "Discord webhook for audit entries (empty: off)."},
    {"nchan_publish_url", S(nchan_publish_url), "", 0, 0,
     "nginx nchan publisher location for places events (/api/ws, /api/events), "
     "as unix:/path/to.sock:/location (nginx's publisher listens on a unix socket only) or an http:// URL; "
     "empty: events are not sent."},
    {"scheduler_birthday_webhook_url", S(scheduler_birthday_webhook_url), "", 0, 0,
     "The birthday bot's endpoint: birthday jobs POST their bot_config here (empty: such runs fail)."},
    {"scheduler_visitor_webhook_url", S(scheduler_visitor_webhook_url), "", 0, 0,
     "The visitor bot's endpoint: visitor jobs POST their bot_config here (empty: such runs fail)."},
    {"scheduler_webhook_timeout_ms", I(scheduler_webhook_timeout_ms), "10000", 100, 600000,
     "How long a bot may take to answer a job's run before it is recorded as failed."},
    {"scheduler_run_retention_days", I(scheduler_run_retention_days), "30", 1, 36500,
     "Runs older than this many days are deleted from the history (hourly, and when the scheduler starts); "
     "the newest 200 runs of each job are kept whatever their age."},
    {"webhook_timeout_ms", I(webhook_timeout_ms), "5000", 100, 120000, "Timeout of one webhook delivery."},
    {"key_cache_seconds", I(key_cache_seconds), "60", 0, 60,
     "How long a key lookup is cached in memcached (revocation takes effect within this)."},
    {"auth_failure_report_seconds", I(auth_failure_report_seconds), "60", 1, 86400,
     "Failed authentications are written to the audit log in bulk, at most once per this many seconds."},
    {"fcgi_web_server_addrs", S(fcgi_web_server_addrs), "127.0.0.1", 0, 0,
     "With a TCP listen address: the only clients libfcgi accepts (its FCGI_WEB_SERVER_ADDRS)."},
    {"cors_origins", S(cors_origins), "", 0, 0,
     "Browser origins (\"https://app.example\", comma-separated) whose pages may call the write and "
     "authenticated routes (CORS preflights, CONTRACT 5.1). The public places GETs are readable from any origin."},
    {"fcgi_close_poll_timeout_ms", I(fcgi_close_poll_timeout_ms), "0", 0, 60000,
     "libfcgi's LIBFCGI_OS_CLOSE_POLL_TIMEOUT: how long closing a connection waits for nginx's EOF "
     "(libfcgi's default of 2000 costs throughput; see bench/README.md)."},
    {"fcgi_keeper_poll_timeout_ms", I(fcgi_keeper_poll_timeout_ms), "2000", 1, 60000,
     "libfcgi's LIBFCGI_IS_AF_UNIX_KEEPER_POLL_TIMEOUT: how long an accepted unix-socket connection may "
     "stay silent. 0 makes libfcgi drop connections whose request has not arrived yet (502s), so it is refused."},
};

/* The string keys that take one of a few words. */
static const struct {
    const char *name;
    const char *const choices[4];
} choice_keys[] = {
    {"database_pooler", {"none", "transaction", NULL}},
};

static bool check_choice(const struct config_key *k, const char *value, char *err, size_t errlen)
{
    for (size_t i = 0; i < ARRAY_LEN(choice_keys); i++) {
        if (strcmp(choice_keys[i].name, k->name) != 0)
            continue;
        for (const char *const *c = choice_keys[i].choices; *c; c++)
            if (!strcmp(*c, value))
                return true;
        snprintf(err, errlen, "%s: expected %s or %s, got '%s'", k->name, choice_keys[i].choices[0],
                 choice_keys[i].choices[1], value);
        return false;
    }
    return true;
}

static struct config_key declared[CONFIG_MAX_DECLARED];
static size_t n_declared;

bool config_declare(const char *name, const char *def, const char *help)
{
    for (size_t i = 0; i < n_declared; i++)
        if (!strcmp(declared[i].name, name))
            return true;
    if (n_declared == CONFIG_MAX_DECLARED)
        return false;
    declared[n_declared] = (struct config_key){name, C_STR, offsetof(struct config, declared) + n_declared * sizeof(char *),
                                               def, 0, 0, help};
    n_declared++;
    return true;
}

const char *config_declared(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < n_declared; i++)
        if (!strcmp(declared[i].name, name))
            return cfg->declared[i];
    return NULL;
}

/* The built-in keys, then the declared ones. */
static size_t key_count(void)
{
    return ARRAY_LEN(keys) + n_declared;
}

static const struct config_key *key_at(size_t i)
{
    return i < ARRAY_LEN(keys) ? &keys[i] : &declared[i - ARRAY_LEN(keys)];
}

static bool set_key(struct config *cfg, const struct config_key *k, const char *value, char *err,
                    size_t errlen)
{
    char *field = (char *)cfg + k->offset;
    switch (k->type) {
    case C_STR: {
        if (!check_choice(k, value, err, errlen))
            return false;
        char **s = (char **)(void *)field;
        free(*s);
        *s = xstrdup(value);
        return true;
    }
    case C_BOOL: {
        bool *b = (bool *)(void *)field;
        if (!strcmp(value, "on") || !strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "yes"))
            *b = true;
        else if (!strcmp(value, "off") || !strcmp(value, "false") || !strcmp(value, "0") || !strcmp(value, "no"))
            *b = false;
        else {
            snprintf(err, errlen, "%s: expected on or off, got '%s'", k->name, value);
            return false;
        }
        return true;
    }
    case C_INT:
    case C_LONG: {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end || v < k->min || v > k->max) {
            snprintf(err, errlen, "%s: expected an integer %ld..%ld, got '%s'", k->name, k->min, k->max, value);
            return false;
        }
        if (k->type == C_INT)
            *(int *)(void *)field = (int)v;
        else
            *(long *)(void *)field = v;
        return true;
    }
    }
    return false;
}

bool config_set(struct config *cfg, const char *key, const char *value, char *err, size_t errlen)
{
    for (size_t i = 0; i < key_count(); i++)
        if (!strcmp(key_at(i)->name, key))
            return set_key(cfg, key_at(i), value, err, errlen);
    snprintf(err, errlen, "unknown setting '%s'", key);
    return false;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static bool load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return false;
    }
    char line[4096];
    int lineno = 0;
    bool ok = true;
    while (ok && fgets(line, sizeof(line), f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected key = value", path, lineno);
            ok = false;
            break;
        }
        *eq = '\0';
        char msg[256];
        if (!config_set(cfg, trim(s), trim(eq + 1), msg, sizeof(msg))) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
            ok = false;
        }
    }
    fclose(f);
    return ok;
}

bool config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < key_count(); i++)
        if (!set_key(cfg, key_at(i), key_at(i)->def, err, errlen))
            return false;
    if (path && !load_file(cfg, path, err, errlen))
        return false;
    for (size_t i = 0; i < key_count(); i++) {
        char env[96] = "GUILDHALL_";
        size_t n = strlen(env);
        for (const char *p = key_at(i)->name; *p && n < sizeof(env) - 1; p++)
            env[n++] = (char)toupper((unsigned char)*p);
        env[n] = '\0';
        const char *v = getenv(env);
        char msg[256];
        if (v && !set_key(cfg, key_at(i), v, msg, sizeof(msg))) {
            snprintf(err, errlen, "%s: %s", env, msg);
            return false;
        }
    }
    if (config_pooled(cfg) && !*cfg->database_direct_url) {
        snprintf(err, errlen, "database_pooler = transaction needs database_direct_url: the scheduler, the outbox "
                              "and guildhall-admin must reach PostgreSQL without the pooler");
        return false;
    }
    return true;
}

bool config_pooled(const struct config *cfg)
{
    return cfg->database_pooler && !strcmp(cfg->database_pooler, "transaction");
}

const char *config_direct_url(const struct config *cfg)
{
    return cfg->database_direct_url && *cfg->database_direct_url ? cfg->database_direct_url : cfg->database_url;
}

void config_free(struct config *cfg)
{
    for (size_t i = 0; i < key_count(); i++)
        if (key_at(i)->type == C_STR) {
            char **s = (char **)(void *)((char *)cfg + key_at(i)->offset);
            free(*s);
            *s = NULL;
        }
}

void config_print_docs(FILE *out)
{
    fprintf(out, "# guildhall configuration\n\n"
                 "Generated by `guildhalld --print-config-docs` from the table in `src/config.c` and the rate\n"
                 "limits each family declares in `src/api/<family>/routes.c`.\n"
                 "Settings come from the file (`key = value`, `#` comments), then the environment:\n"
                 "`GUILDHALL_<KEY>` in upper case overrides the file (e.g. `GUILDHALL_WORKERS=4`).\n\n"
                 "| key | default | meaning |\n|---|---|---|\n");
    for (size_t i = 0; i < key_count(); i++)
        fprintf(out, "| `%s` | `%s` | %s |\n", key_at(i)->name, key_at(i)->def, key_at(i)->help);
}

const char *config_default_path(void)
{
    const char *env = getenv("GUILDHALL_CONFIG");
    if (env && *env)
        return env;
    if (access(".dev/guildhall.conf", R_OK) == 0)
        return ".dev/guildhall.conf";
    if (access(GH_SYSCONF_DIR "/guildhall/guildhall.conf", R_OK) == 0)
        return GH_SYSCONF_DIR "/guildhall/guildhall.conf";
    return NULL;
}
