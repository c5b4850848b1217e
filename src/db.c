/* db.c — libpq with one connection per process. A failed connect is retried at most every
 * RETRY_US so a dead database costs requests nothing but a fast 503. */
#include "guildhall.h"
#include "db.h"
#include "log.h"

#define RETRY_US 250000
#define MAX_STMTS 512

struct db {
    PGconn *conn;
    char *conninfo;
    char options[96];
    uint64_t next_attempt_us;
    uint8_t prepared[MAX_STMTS];
    char sqlstate[6];
    char detail[128];        /* DETAIL of the last failure with one of our codes (GH…) */
    bool in_transaction;     /* between BEGIN and COMMIT/ROLLBACK */
    bool transaction_lost;   /* the connection died inside it: fail until ROLLBACK */
};

static int next_stmt_id = 1;

struct db *db_open(const char *conninfo, int statement_timeout_ms)
{
    struct db *db = xcalloc(1, sizeof(*db));
    db->conninfo = xstrdup(conninfo);
    snprintf(db->options, sizeof(db->options), "-c TimeZone=UTC -c statement_timeout=%d", statement_timeout_ms);
    return db;
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
    const char *keywords[] = {"dbname", "options", "application_name", "connect_timeout", NULL};
    const char *values[] = {db->conninfo, db->options, "guildhalld", "3", NULL};
    db->conn = PQconnectdbParams(keywords, values, 1);
    if (PQstatus(db->conn) != CONNECTION_OK) {
        /* libpq's message names hosts and users: for the log only, never for a client. */
        log_warn("database connect failed: %s", PQerrorMessage(db->conn));
        db_drop(db);
        db->next_attempt_us = now + RETRY_US;
        return false;
    }
    return true;
}

PGconn *db_conn(struct db *db)
{
    return db_ensure(db) ? db->conn : NULL;
}

static PGresult *run(struct db *db, struct db_stmt *stmt, const char *const *params)
{
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
