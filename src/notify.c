/* notify.c — LISTEN/NOTIFY waits for the background processes. */
#include "guildhall.h"
#include "db.h"
#include "notify.h"

#include <poll.h>
#include <unistd.h>

static bool drain(PGconn *conn)
{
    bool any = false;
    PGnotify *note;
    while ((note = PQnotifies(conn)) != NULL) {
        PQfreemem(note);
        any = true;
    }
    return any;
}

void notify_wait(struct db *db, struct notify_wait *w, int timeout_ms)
{
    PGconn *conn = db_conn(db);
    if (conn && w->backend_pid != PQbackendPID(conn)) {
        char sql[96];
        snprintf(sql, sizeof(sql), "LISTEN %s", w->channel);
        bool ok = db_command(db, sql) == DB_OK;
        conn = db_conn(db);
        w->backend_pid = ok && conn ? PQbackendPID(conn) : 0;
    }
    if (!conn || !w->backend_pid) {
        usleep((useconds_t)timeout_ms * 1000);
        return;
    }
    /* a notification that came in with a query's results is already queued: no poll for it */
    if (drain(conn))
        return;
    struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
    if (poll(&pfd, 1, timeout_ms) > 0) {
        if (!PQconsumeInput(conn))
            w->backend_pid = 0;
        else
            drain(conn);
    }
}
