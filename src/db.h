/* db.h — one PostgreSQL connection per process: parameterised statements, prepared once per
 * connection, reconnected after a failure without taking the process down. */
#ifndef GH_DB_H
#define GH_DB_H

#include <libpq-fe.h>

struct db_stmt {
    const char *sql;
    int nparams;
    bool read_only;      /* safe to retry once on a fresh connection */
    int id;              /* assigned on first use */
    bool immutable;      /* reads rows that never change once written: a replica may answer (query()) */
};
#define DB_STMT(var, n, ro, text) static struct db_stmt var = {text, n, ro, 0, false}
/* A statement whose first column is NULL or absent until its row exists, and fixed from then on. */
#define DB_IMMUTABLE_STMT(var, n, text) static struct db_stmt var = {text, n, true, 0, true}

enum db_status { DB_OK, DB_FAILED, DB_DOWN };

/* pooled: conninfo reaches PostgreSQL through a transaction pooler (config_pooled): statements go
 * unnamed and the connection sends no `options` (see db.c). */
struct db *db_open(const char *conninfo, int statement_timeout_ms, bool pooled);
/* The keywords and values db_ensure connects with (NULL-terminated); returns how many. */
#define DB_CONNECT_PARAMS 6
size_t db_connect_params(const struct db *db, const char *keywords[DB_CONNECT_PARAMS],
                         const char *values[DB_CONNECT_PARAMS]);
void db_close(struct db *db);
/* Connects now if not connected (at most once per retry interval). */
bool db_ensure(struct db *db);
bool db_connected(struct db *db);
/* NULL params entries are SQL NULLs. The caller PQclear()s the result on DB_OK. */
PGresult *db_exec(struct db *db, struct db_stmt *stmt, const char *const *params, enum db_status *st);
/* Plain command without parameters (BEGIN, COMMIT, LISTEN …). A COMMIT fails (DB_FAILED) when
 * PostgreSQL rolled the transaction back instead: a statement in it had failed. */
enum db_status db_command(struct db *db, const char *sql);
/* How db_command reads PostgreSQL's answer to sql: its status and command tag (PQcmdStatus).
 * COMMIT of a transaction that a failed statement had aborted is answered with status COMMAND_OK
 * and the tag ROLLBACK, no error: its work is lost, so that is DB_FAILED. */
enum db_status db_command_status(const char *sql, ExecStatusType rs, const char *tag);
PGconn *db_conn(struct db *db);
/* SQLSTATE of the last DB_FAILED statement ("" if none): lets handlers map our own
 * RAISE codes (GHMOD, GHBUD, …) to 4xx answers. */
const char *db_error_state(const struct db *db);
/* The DETAIL that came with such a code ("" if none), for the codes that carry data (GHCDN). */
const char *db_error_detail(const struct db *db);

#endif
