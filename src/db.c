/* db.c — libpq with one connection per process. A failed connect is retried at most every
 * RETRY_US so a dead database costs requests nothing but a fast 503.
 *
 * Direct connections set TimeZone and statement_timeout with the `options` startup parameter and
 * prepare each statement once. Pooled ones (a transaction-pooling PgBouncer: db_open's pooled)
 * can do neither: PgBouncer refuses `options`, and a named statement prepared in one transaction is
 * gone (or on another client's server connection) in the next. They send every statement unnamed
 * (PQexecParams), and TimeZone as a startup parameter of its own, which PgBouncer tracks per client
 * and sets on whichever server connection it lends; statement_timeout must be the role's default,
 * which a new connection checks (docs/pgbouncer.md). */
#include "guildhall.h"
#include "db.h"
#include "log.h"

#define RETRY_US 250000
#define MAX_STMTS 512

struct db {
    PGconn *conn;
    char *conninfo;
    char options[96];
    int statement_timeout_ms;
    bool pooled;             /* through a transaction pooler: see the top of this file */
    uint64_t next_attempt_us;
    uint8_t prepared[MAX_STMTS];
    char sqlstate[6];
    char detail[128];        /* DETAIL of the last failure with one of our codes (GH…) */
    bool in_transaction;     /* between BEGIN and COMMIT/ROLLBACK */
    bool transaction_lost;   /* the connection died inside it: fail until ROLLBACK */
};

static int next_stmt_id = 1;

struct db *db_open(const char *conninfo, int statement_timeout_ms, bool pooled)
{
    struct db *db = xcalloc(1, sizeof(*db));
    db->conninfo = xstrdup(conninfo);
    db->statement_timeout_ms = statement_timeout_ms;
    db->pooled = pooled;
    snprintf(db->options, sizeof(db->options), "-c TimeZone=UTC -c statement_timeout=%d", statement_timeout_ms);
    return db;
}

size_t db_connect_params(const struct db *db, const char *keywords[DB_CONNECT_PARAMS],
                         const char *values[DB_CONNECT_PARAMS])
{
    size_t n = 0;
    keywords[n] = "dbname", values[n++] = db->conninfo;
    if (!db->pooled)
        keywords[n] = "options", values[n++] = db->options;
    keywords[n] = "application_name", values[n++] = "guildhalld";
    keywords[n] = "connect_timeout", values[n++] = "3";
    keywords[n] = values[n] = NULL;
    return n;
}

/* A pooled connection cannot set statement_timeout itself: say once per process when the server's
 * (the role's default) is not db_statement_timeout_ms, or TimeZone is not UTC. */
static void check_pooled_settings(struct db *db)
{
    static bool warned;
    if (warned)
        return;
    PGresult *res = PQexec(db->conn, "SELECT current_setting('TimeZone'), "
                                     "(SELECT setting FROM pg_settings WHERE name = 'statement_timeout')");
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        const char *tz = PQgetvalue(res, 0, 0), *timeout = PQgetvalue(res, 0, 1);
        if (strcmp(tz, "UTC") != 0 && strcmp(tz, "Etc/UTC") != 0) {
            log_warn("database_pooler: the pooled connection's TimeZone is %s, not UTC "
                     "(does the pooler forward the TimeZone startup parameter?)", tz);
            warned = true;
        }
        if (atol(timeout) != db->statement_timeout_ms) {
            log_warn("database_pooler: statement_timeout through the pooler is %sms, not db_statement_timeout_ms "
                     "(%d): set the role's default, ALTER ROLE ... SET statement_timeout = %d (docs/pgbouncer.md)",
                     timeout, db->statement_timeout_ms, db->statement_timeout_ms);
            warned = true;
        }
    } else {
        log_warn("database_pooler: could not read the pooled connection's settings: %s", PQerrorMessage(db->conn));
    }
    PQclear(res);
}

static void db_drop(struct db *db)
{
    if (db->conn)
        PQfinish(db->conn);
    db->conn = NULL;
    memset(db->prepared, 0, sizeof(db->prepared));
}

void db_close(struct db *db)
{
    if (!db)
        return;
    db_drop(db);
    free(db->conninfo);
    free(db);
}

bool db_connected(struct db *db)
{
    return db->conn && PQstatus(db->conn) == CONNECTION_OK;
}

bool db_ensure(struct db *db)
{
    if (db->conn && PQstatus(db->conn) == CONNECTION_OK)
        return true;
    db_drop(db);
    uint64_t now = monotonic_us();
    if (now < db->next_attempt_us)
        return false;
    const char *keywords[DB_CONNECT_PARAMS], *values[DB_CONNECT_PARAMS];
    db_connect_params(db, keywords, values);
    /* libpq sends PGTZ as the TimeZone startup parameter (it has no connection keyword for it) */
    if (db->pooled)
        setenv("PGTZ", "UTC", 1);
    db->conn = PQconnectdbParams(keywords, values, 1);
    if (PQstatus(db->conn) != CONNECTION_OK) {
        /* libpq's message names hosts and users: for the log only, never for a client. */
        log_warn("database connect failed: %s", PQerrorMessage(db->conn));
        db_drop(db);
        db->next_attempt_us = now + RETRY_US;
        return false;
    }
    if (db->pooled)
        check_pooled_settings(db);
    return true;
}

PGconn *db_conn(struct db *db)
{
    return db_ensure(db) ? db->conn : NULL;
}

static PGresult *run(struct db *db, struct db_stmt *stmt, const char *const *params)
{
    if (db->pooled)   /* the unnamed statement: parsed and run in the one round trip, nothing kept */
        return PQexecParams(db->conn, stmt->sql, stmt->nparams, NULL, params, NULL, NULL, 0);
    char name[16];
    snprintf(name, sizeof(name), "s%d", stmt->id);
    if (!db->prepared[stmt->id]) {
        PGresult *p = PQprepare(db->conn, name, stmt->sql, stmt->nparams, NULL);
        ExecStatusType ps = p ? PQresultStatus(p) : PGRES_FATAL_ERROR;
        if (ps != PGRES_COMMAND_OK)
            return p;
        PQclear(p);
        db->prepared[stmt->id] = 1;
    }
    return PQexecPrepared(db->conn, name, stmt->nparams, params, NULL, NULL, 0);
}

const char *db_error_state(const struct db *db)
{
    return db->sqlstate;
}

const char *db_error_detail(const struct db *db)
{
    return db->detail;
}

PGresult *db_exec(struct db *db, struct db_stmt *stmt, const char *const *params, enum db_status *st)
{
    db->sqlstate[0] = '\0';
    db->detail[0] = '\0';
    if (!stmt->id) {
        if (next_stmt_id >= MAX_STMTS) {
            log_error("too many prepared statements");
            *st = DB_FAILED;
            return NULL;
        }
        stmt->id = next_stmt_id++;
    }
    if (db->in_transaction && !db_connected(db))
        db->transaction_lost = true;
    if (db->transaction_lost) {
        *st = DB_DOWN;
        return NULL;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!db_ensure(db)) {
            *st = DB_DOWN;
            return NULL;
        }
        PGresult *res = run(db, stmt, params);
        ExecStatusType rs = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (rs == PGRES_TUPLES_OK || rs == PGRES_COMMAND_OK) {
            *st = DB_OK;
            return res;
        }
        bool lost = PQstatus(db->conn) != CONNECTION_OK;
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", state ? state : "");
        const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
        if (!strncmp(db->sqlstate, "GH", 2))
            snprintf(db->detail, sizeof(db->detail), "%s", detail ? detail : "");
        else
            log_error("query failed%s: %s", lost ? " (connection lost)" : "",
                      res ? PQresultErrorMessage(res) : PQerrorMessage(db->conn));
        PQclear(res);
        if (!lost) {
            *st = DB_FAILED;
            return NULL;
        }
        db_drop(db);
        /* a retry on a new connection would run outside the caller's transaction */
        if (!stmt->read_only || db->in_transaction) {
            db->transaction_lost = db->in_transaction;
            break;
        }
    }
    *st = DB_DOWN;
    return NULL;
}

enum db_status db_command_status(const char *sql, ExecStatusType rs, const char *tag)
{
    if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK)
        return DB_FAILED;
    if (!strcmp(sql, "COMMIT") && tag && !strcmp(tag, "ROLLBACK"))
        return DB_FAILED;
    return DB_OK;
}

enum db_status db_command(struct db *db, const char *sql)
{
    bool begins = !strcmp(sql, "BEGIN"), ends = !strcmp(sql, "COMMIT") || !strcmp(sql, "ROLLBACK");
    if (ends && db->transaction_lost) {
        db->in_transaction = db->transaction_lost = false;
        return strcmp(sql, "ROLLBACK") ? DB_DOWN : DB_OK;
    }
    if (ends)
        db->in_transaction = false;
    if (!db_ensure(db))
        return DB_DOWN;
    if (begins)
        db->in_transaction = true;
    PGresult *res = PQexec(db->conn, sql);
    ExecStatusType rs = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    enum db_status st = db_command_status(sql, rs, res ? PQcmdStatus(res) : NULL);
    PQclear(res);
    if (st == DB_OK)
        return DB_OK;
    if (rs == PGRES_COMMAND_OK) {
        log_error("COMMIT answered ROLLBACK: a statement of the transaction had failed");
        return DB_FAILED;
    }
    if (PQstatus(db->conn) != CONNECTION_OK) {
        db_drop(db);
        db->transaction_lost = db->in_transaction;
        return DB_DOWN;
    }
    log_error("command failed: %s", PQerrorMessage(db->conn));
    return DB_FAILED;
}
