/* master.c — forks and supervises; never serves. Signals are taken synchronously with
 * sigtimedwait, so no work happens in a signal handler. */
#include "guildhall.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "process.h"
#include "routes.h"
#include "supervisor.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TICK_NS 100000000L
#define AUX_RESPAWN_US 1000000u

/* A supervised background process (the scheduler, the outbox): at most one per master, started
 * while its setting is on, started again a second after it dies, and replaced at once on SIGHUP
 * (it reads the configuration only when it starts). */
struct aux {
    const char *name;
    int slot;
    volatile pid_t *pid;              /* in shared memory: /health reads it */
    bool (*enabled)(const struct config *cfg);
    void (*main)(const struct config *cfg, struct shm *shm);   /* never returns */
    uint64_t next_start_us;
    bool restart;                     /* stopped by a reload: no respawn delay, no warning */
};

static bool scheduler_enabled(const struct config *cfg)
{
    return cfg->scheduler;
}

static bool outbox_enabled(const struct config *cfg)
{
    return cfg->outbox;
}

struct master {
    struct config *cfg;
    const char *config_path;
    int listen_fd;
    struct shm *shm;
    int generation;
    int retired_this_reload;
    int announced_generation;          /* the last generation reported ready to the service manager */
    bool draining;
    uint64_t drain_deadline_us;
    uint64_t next_spawn_us;            /* back-off after crashes */
    int recent_crashes;
    struct aux aux[2];
};

static int spawn_worker(struct master *m)
{
    int slot = -1;
    for (int s = FIRST_WORKER_SLOT; s < MAX_SLOTS && slot < 0; s++)
        if (!m->shm->slots[s].pid)
            slot = s;
    if (slot < 0)
        return -1;
    struct slot_info *si = &m->shm->slots[slot];
    si->state = SLOT_STARTING;
    si->generation = m->generation;
    si->route = 0;
    atomic_store(&si->request, 0);
    pid_t pid = fork();
    if (pid < 0) {
        log_error("fork failed: %s", strerror(errno));
        si->state = SLOT_FREE;
        return -1;
    }
    if (pid == 0)
        worker_main(m->cfg, m->listen_fd, m->shm, slot);
    si->pid = pid;
    log_debug("worker %d started in slot %d", (int)pid, slot);
    return slot;
}

static void aux_spawn(struct master *m, struct aux *a)
{
    pid_t pid = fork();
    if (pid < 0) {
        log_error("fork failed: %s", strerror(errno));
        a->next_start_us = monotonic_us() + AUX_RESPAWN_US;
        return;
    }
    if (pid == 0) {
        close(m->listen_fd);
        a->main(m->cfg, m->shm);
        _exit(1);
    }
    *a->pid = pid;
    m->shm->slots[a->slot].pid = pid;
    log_debug("%s %d started", a->name, (int)pid);
}

/* Starts what is enabled and not running, once its respawn delay has passed. */
static void aux_maintain(struct master *m)
{
    for (size_t i = 0; i < ARRAY_LEN(m->aux); i++) {
        struct aux *a = &m->aux[i];
        if (a->enabled(m->cfg) && !*a->pid && monotonic_us() >= a->next_start_us)
            aux_spawn(m, a);
    }
}

/* true when pid was one of the background processes. */
static bool aux_reaped(struct master *m, pid_t pid, int status)
{
    bool crashed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    for (size_t i = 0; i < ARRAY_LEN(m->aux); i++) {
        struct aux *a = &m->aux[i];
        if (pid != *a->pid)
            continue;
        *a->pid = 0;
        m->shm->slots[a->slot].pid = 0;
        if (crashed && !m->draining && !a->restart)
            log_warn("%s %d died (status %d); restarting", a->name, (int)pid, status);
        a->next_start_us = monotonic_us() + (a->restart ? 0 : AUX_RESPAWN_US);
        a->restart = false;
        return true;
    }
    return false;
}

/* SIGHUP: each running background process stops and starts again with the new configuration. */
static void aux_reload(struct master *m)
{
    for (size_t i = 0; i < ARRAY_LEN(m->aux); i++) {
        struct aux *a = &m->aux[i];
        if (*a->pid) {
            a->restart = true;
            kill(*a->pid, SIGTERM);
        }
    }
}

static void signal_children(struct master *m, int sig)
{
    for (int s = FIRST_WORKER_SLOT; s < MAX_SLOTS; s++)
        if (m->shm->slots[s].pid)
            kill(m->shm->slots[s].pid, sig);
    for (size_t i = 0; i < ARRAY_LEN(m->aux); i++)
        if (*m->aux[i].pid)
            kill(*m->aux[i].pid, sig);
}

static int children_alive(const struct master *m)
{
    int n = 0;
    for (size_t i = 0; i < ARRAY_LEN(m->aux); i++)
        n += *m->aux[i].pid != 0;
    for (int s = FIRST_WORKER_SLOT; s < MAX_SLOTS; s++)
        n += m->shm->slots[s].pid != 0;
    return n;
}

static void reap(struct master *m)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        bool crashed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        if (aux_reaped(m, pid, status))
            continue;
        for (int s = FIRST_WORKER_SLOT; s < MAX_SLOTS; s++) {
            struct slot_info *si = &m->shm->slots[s];
            if (si->pid != pid)
                continue;
            bool planned = si->state == SLOT_RETIRING || m->draining;
            if (crashed && !planned) {
                m->shm->worker_restarts++;
                m->recent_crashes++;
                bool busy = atomic_load(&si->request) & 1;   /* the route is the last one served */
                log_warn("worker %d died (%s %d) %s route #%d; respawning", (int)pid,
                         WIFSIGNALED(status) ? "signal" : "exit",
                         WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
                         busy ? "while serving" : "idle, after", si->route);
                if (m->recent_crashes > 5)
                    m->next_spawn_us = monotonic_us() + 1000000u;   /* crash loop: slow down */
            }
            si->pid = 0;
            si->state = SLOT_FREE;
            break;
        }
    }
}

static void kill_stuck_workers(struct master *m)
{
    uint64_t limit = (uint64_t)m->cfg->request_timeout * 1000000u;
    for (int s = FIRST_WORKER_SLOT; s < MAX_SLOTS; s++) {
        struct slot_info *si = &m->shm->slots[s];
        if (!si->pid || si->state == SLOT_FREE)
            continue;
        uint64_t word = atomic_load(&si->request);   /* the busy flag and its start, together */
        if (slot_request_stuck(word, monotonic_us(), limit)) {
            log_error("worker %d exceeded request_timeout (%ds) on route #%d; killing it", (int)si->pid,
                      m->cfg->request_timeout, si->route);
            m->shm->worker_timeouts++;
            kill(si->pid, SIGKILL);
            si->state = SLOT_FREE;   /* reaped as a crash */
            atomic_store(&si->request, 0);
        }
    }
}

/* Keeps `workers` of the current generation running; during a reload replaces old ones one at a
 * time: a new worker must be accepting before an old one is asked to finish. */
static void maintain_workers(struct master *m)
{
    int current = 0, starting = 0, old_active = -1;
    for (int s = FIRST_WORKER_SLOT; s < MAX_SLOTS; s++) {
        struct slot_info *si = &m->shm->slots[s];
        if (!si->pid || si->state == SLOT_RETIRING)
            continue;
        if (si->generation == m->generation) {
            current++;
            starting += si->state == SLOT_STARTING;
        } else if (old_active < 0) {
            old_active = s;
        }
    }
    if (starting || monotonic_us() < m->next_spawn_us)
        return;
    m->recent_crashes = 0;
    if (old_active < 0) {
        while (current++ < m->cfg->workers)
            if (spawn_worker(m) < 0)
                break;
        return;
    }
    if (current < m->cfg->workers && current <= m->retired_this_reload) {
        spawn_worker(m);
        return;
    }
    struct slot_info *old = &m->shm->slots[old_active];
    old->state = SLOT_RETIRING;
    kill(old->pid, SIGTERM);
    m->retired_this_reload++;
}

/* Reports readiness once per generation: when all its workers accept and no older worker is left to
 * replace (retiring ones only finish what they hold). */
static void announce_when_ready(struct master *m)
{
    if (m->announced_generation == m->generation)
        return;
    int accepting = 0;
    for (int s = FIRST_WORKER_SLOT; s < MAX_SLOTS; s++) {
        struct slot_info *si = &m->shm->slots[s];
        if (!si->pid)
            continue;
        if (si->generation != m->generation) {
            if (si->state != SLOT_RETIRING)
                return;
        } else if (si->state == SLOT_STARTING) {
            return;
        } else {
            accepting += si->state == SLOT_IDLE || si->state == SLOT_BUSY;
        }
    }
    if (accepting < m->cfg->workers)
        return;
    m->announced_generation = m->generation;
    supervisor_ready(accepting, m->generation);
}

static void reload(struct master *m)
{
    struct config *fresh = xcalloc(1, sizeof(*fresh));
    char err[512];
    if (!config_load(fresh, m->config_path, err, sizeof(err)) || !routes_init(fresh, err, sizeof(err))) {
        log_error("reload refused, keeping the running configuration: %s", err);
        config_free(fresh);
        free(fresh);
        if (!routes_init(m->cfg, err, sizeof(err)))   /* restores the running limits */
            log_error("restoring the running configuration failed: %s", err);
        return;
    }
    if (strcmp(fresh->listen, m->cfg->listen) != 0)
        log_warn("reload: 'listen' changed; it takes effect only after a restart");
    log_open(fresh->log_file, fresh->log_level);
    config_free(m->cfg);
    free(m->cfg);
    m->cfg = fresh;
    m->generation++;
    m->retired_this_reload = 0;
    supervisor_reloading();
    aux_reload(m);
    log_info("reloading: replacing workers one at a time (generation %d)", m->generation);
}

/* The running configuration is the master's: the first reload frees the caller's. */
static void release_config(struct master *m)
{
    config_free(m->cfg);
    free(m->cfg);
    m->cfg = NULL;
}

int master_run(struct config *cfg, const char *config_path, int listen_fd, struct shm *shm)
{
    struct master m = {.cfg = cfg, .config_path = config_path, .listen_fd = listen_fd, .shm = shm,
                       .announced_generation = -1,
                       .aux = {{.name = "scheduler", .slot = SLOT_SCHEDULER, .pid = &shm->scheduler_pid,
                                .enabled = scheduler_enabled, .main = scheduler_main},
                               {.name = "outbox", .slot = SLOT_OUTBOX, .pid = &shm->outbox_pid,
                                .enabled = outbox_enabled, .main = outbox_main}}};
    log_set_role("master");
    proc_title_set("guildhalld: master");
    shm->slots[SLOT_MASTER].pid = getpid();

    sigset_t set;
    sigemptyset(&set);
    int sigs[] = {SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGQUIT};
    for (size_t i = 0; i < ARRAY_LEN(sigs); i++)
        sigaddset(&set, sigs[i]);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    log_info("guildhalld %s starting %d workers, scheduler %s, outbox %s", GH_VERSION, cfg->workers,
             cfg->scheduler ? "on" : "off", cfg->outbox ? "on" : "off");
    for (;;) {
        struct timespec tick = {0, TICK_NS};
        int sig = sigtimedwait(&set, NULL, &tick);
        if (sig == SIGHUP && !m.draining) {
            reload(&m);
        } else if (sig == SIGTERM && !m.draining) {
            log_info("SIGTERM: draining in-flight requests");
            supervisor_stopping();
            m.draining = true;
            m.drain_deadline_us = monotonic_us() + (uint64_t)m.cfg->shutdown_timeout * 1000000u;
            signal_children(&m, SIGTERM);
        } else if (sig == SIGINT || sig == SIGQUIT) {
            log_info("signal %d: exiting now", sig);
            signal_children(&m, SIGKILL);
            while (waitpid(-1, NULL, 0) > 0)
                ;
            release_config(&m);
            return 1;
        }
        reap(&m);
        if (m.draining) {
            if (!children_alive(&m))
                break;
            if (monotonic_us() > m.drain_deadline_us) {
                log_warn("drain timed out; killing the remaining workers");
                signal_children(&m, SIGKILL);
                m.drain_deadline_us = UINT64_MAX;
            }
            continue;
        }
        kill_stuck_workers(&m);
        maintain_workers(&m);
        announce_when_ready(&m);
        aux_maintain(&m);
    }
    log_info("stopped");
    release_config(&m);
    return 0;
}
