/* notify.h — sleeping until PostgreSQL NOTIFYs on a channel, with a timeout. The scheduler
 * (guildhall_jobs) and the outbox (guildhall_outbox) processes wait in it between rounds. */
#ifndef GH_NOTIFY_H
#define GH_NOTIFY_H

struct db;

struct notify_wait {
    const char *channel;
    int backend_pid;          /* the connection that LISTENs; 0: none yet */
};

/* Returns when a notification arrives (or one already waits in libpq), or after timeout_ms.
 * LISTENs again whenever the connection is a new one (db.c reconnects on its own). Without a
 * database it just sleeps. */
void notify_wait(struct db *db, struct notify_wait *w, int timeout_ms);

#endif
