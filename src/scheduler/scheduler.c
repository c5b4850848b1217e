/* scheduler.c — the scheduler process: runs the engine (claims due jobs, runs them, records
 * history) and keeps a heartbeat for /health. Woken by LISTEN guildhall_jobs (a job created,
 * changed or asked to run now) or when the next job falls due. */
#include "guildhall.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "process.h"
#include "request.h"
#include "cache.h"
#include "scheduler/engine.h"

#include <curl/curl.h>
#include <signal.h>
#include <unistd.h>

#define MAX_WAIT_MS 1000

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
    (void)sig;
    stopping = 1;
}

void scheduler_main(const struct config *cfg, struct shm *shm)
{
    proc_become("scheduler", on_term);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    struct services svc = {.cfg = cfg, .db = db_open(config_direct_url(cfg), cfg->db_statement_timeout_ms, false),
                           .mc = mc_open(cfg->memcached_servers, cfg->memcached_timeout_ms),
                           .shm = shm, .slot = SLOT_SCHEDULER};
    struct notify_wait wake = {.channel = "guildhall_jobs"};
    while (!stopping) {
        shm->scheduler_heartbeat_us = now_us();
        int ran = engine_tick(&svc);
        if (!ran && !stopping)
            notify_wait(svc.db, &wake, engine_wait_ms(&svc, MAX_WAIT_MS));
    }
    db_close(svc.db);
    mc_close(svc.mc);
    curl_global_cleanup();
    LEAK_CHECK_BEFORE_EXIT();
    _exit(0);
}
