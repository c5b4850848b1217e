/* config.h — one struct of settings, filled from a declarative table (config.c). */
#ifndef GH_CONFIG_H
#define GH_CONFIG_H

#define CONFIG_MAX_DECLARED 48

struct config {
    char *listen;
    int listen_backlog;
    int workers;
    int max_requests;
    int request_timeout;          /* seconds */
    int shutdown_timeout;         /* seconds */
    bool scheduler;
    bool outbox;
    char *database_url;
    char *database_pooler;        /* "none" or "transaction" (see config_pooled) */
    char *database_direct_url;    /* "": database_url */
    char *database_replica_url;     /* "": none; immutable reads only (request.c query) */
    int db_statement_timeout_ms;
    char *memcached_servers;
    int memcached_timeout_ms;
    long max_body_bytes;
    int json_max_depth;
    char *log_file;
    char *log_level;
    char *pid_file;
    char *sql_dir;
    bool test_routes;
    char *public_base_url;
    char *webhook_error_url;
    char *webhook_audit_url;
    char *nchan_publish_url;
    char *scheduler_birthday_webhook_url;
    char *scheduler_visitor_webhook_url;
    int scheduler_webhook_timeout_ms;
    int scheduler_run_retention_days;
    int webhook_timeout_ms;
    int key_cache_seconds;
    int auth_failure_report_seconds;
    char *fcgi_web_server_addrs;
    char *cors_origins;
    int fcgi_close_poll_timeout_ms;
    int fcgi_keeper_poll_timeout_ms;
    char *declared[CONFIG_MAX_DECLARED];   /* settings other modules declare (config_declare) */
};

/* Fills cfg with defaults, then the file (if path is non-NULL), then GUILDHALL_* environment.
 * Returns false with a message in err on a bad file or value. */
bool config_load(struct config *cfg, const char *path, char *err, size_t errlen) MUSTCHECK;
bool config_set(struct config *cfg, const char *key, const char *value, char *err, size_t errlen) MUSTCHECK;
void config_free(struct config *cfg);
/* Declares a string setting another module owns (each family's rate limits): from then on it is
 * read, overridden from the environment and documented like the built-in ones. Call before
 * config_load; declaring a name twice is a no-op. False when the table is full. */
bool config_declare(const char *name, const char *def, const char *help) MUSTCHECK;
/* A declared setting's value (NULL for a name never declared). */
const char *config_declared(const struct config *cfg, const char *name);
/* database_pooler = transaction: database_url is a transaction pooler (PgBouncer), so the workers
 * send unnamed statements and no `options` startup parameter (see db_open). */
bool config_pooled(const struct config *cfg);
/* The connection string of the processes that need a session of their own (LISTEN, backend pids,
 * session advisory locks): the scheduler, the outbox and guildhall-admin. database_direct_url,
 * or database_url when that is empty. */
const char *config_direct_url(const struct config *cfg);
/* Writes docs/configuration.md-style Markdown of every key, its default and meaning. */
void config_print_docs(FILE *out);
/* The configuration file the tools use when none is given (see docs/internals.md). */
const char *config_default_path(void);

#endif
