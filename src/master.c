/* master.c — forks and supervises; never serves. Signals are taken synchronously with
 * sigtimedwait, so no work happens in a signal handler. */
#include "guildhall.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "process.h"
#include "routes.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TICK_NS 100000000L
#define SCHEDULER_RESPAWN_US 1000000u

struct master {
    struct config *cfg;
    const char *config_path;
    int listen_fd;
    struct shm *shm;
    int generation;
    int retired_this_reload;
    bool draining;
    uint64_t drain_deadline_us;
    uint64_t next_spawn_us;            /* back-off after crashes */
    int recent_crashes;
    uint64_t scheduler_next_start_us;
    bool scheduler_restart;
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

static void spawn_scheduler(struct master *m)
{
    pid_t pid = fork();
    if (pid < 0) {
        log_error("fork failed: %s", strerror(errno));
        return;
    }
    if (pid == 0) {
        close(m->listen_fd);
        scheduler_main(m->cfg, m->shm);
    }
    m->shm->scheduler_pid = pid;
    m->shm->slots[SLOT_SCHEDULER].pid = pid;
}

static void signal_children(struct master *m, int sig)
{
    for (int s = FIRST_WORKER_SLOT; s < MAX_SLOTS; s++)
        if (m->shm->slots[s].pid)
            kill(m->shm->slots[s].pid, sig);
    if (m->shm->scheduler_pid)
        kill(m->shm->scheduler_pid, sig);
}

static int children_alive(const struct master *m)
{
    int n = m->shm->scheduler_pid ? 1 : 0;
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
        if (pid == m->shm->scheduler_pid) {
            m->shm->scheduler_pid = 0;
            m->shm->slots[SLOT_SCHEDULER].pid = 0;
            if (crashed && !m->draining && !m->scheduler_restart)
                log_warn("scheduler %d died (status %d); restarting", (int)pid, status);
            m->scheduler_next_start_us = monotonic_us() + (m->scheduler_restart ? 0 : SCHEDULER_RESPAWN_US);
            m->scheduler_restart = false;
            continue;
        }
        for (int s = FIRST_WORKER_SLOT; s < MAX_SLOTS; s++) {
            struct slot_info *si = &m->shm->slots[s];
            if (si->pid != pid)
                continue;
            bool planned = si->state == SLOT_RETIRING || m->draining;
            if (crashed && !planned) {
                m->shm->worker_restarts++;
                m->recent_crashes++;
                log_warn("worker %d died (%s %d) while serving route #%d; respawning", (int)pid,
                         WIFSIGNALED(status) ? "signal" : "exit",
                         WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), si->route);
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
    uint64_t limit = (uint64_t)m->cfg->request_timeout * 1000000u, now = monotonic_us();
    for (int s = FIRST_WORKER_SLOT; s < MAX_SLOTS; s++) {
        struct slot_info *si = &m->shm->slots[s];
        if (si->pid && si->state == SLOT_BUSY && now - si->req_start_us > limit) {
            log_error("worker %d exceeded request_timeout (%ds) on route #%d; killing it", (int)si->pid,
                      m->cfg->request_timeout, si->route);
            m->shm->worker_timeouts++;
            kill(si->pid, SIGKILL);
            si->state = SLOT_FREE;   /* reaped as a crash */
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
    if (m->shm->scheduler_pid) {
        m->scheduler_restart = true;
        kill(m->shm->scheduler_pid, SIGTERM);
    }
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
    struct master m = {.cfg = cfg, .config_path = config_path, .listen_fd = listen_fd, .shm = shm};
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

    log_info("guildhalld %s starting %d workers, scheduler %s", GH_VERSION, cfg->workers,
             cfg->scheduler ? "on" : "off");
    for (;;) {
        struct timespec tick = {0, TICK_NS};
        int sig = sigtimedwait(&set, NULL, &tick);
        if (sig == SIGHUP && !m.draining) {
            reload(&m);
        } else if (sig == SIGTERM && !m.draining) {
            log_info("SIGTERM: draining in-flight requests");
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
        if (m.cfg->scheduler && !m.shm->scheduler_pid && monotonic_us() >= m.scheduler_next_start_us)
            spawn_scheduler(&m);
    }
    log_info("stopped");
    release_config(&m);
    return 0;
}
