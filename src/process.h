/* process.h — the process roles and what the master hands them. */
#ifndef GH_PROCESS_H
#define GH_PROCESS_H

struct config;
struct shm;

/* Worker: serves requests from listen_fd until SIGTERM or max_requests; never returns. */
NORETURN void worker_main(const struct config *cfg, int listen_fd, struct shm *shm, int slot);
/* Scheduler (src/scheduler/): runs due jobs and records their history; never returns. */
NORETURN void scheduler_main(const struct config *cfg, struct shm *shm);
/* Outbox (src/outbox.c): delivers webhooks and nchan publishes, audits failed authentications
 * in bulk; never returns. */
NORETURN void outbox_main(const struct config *cfg, struct shm *shm);
/* Master: forks and supervises; returns the exit status. config_path is re-read on SIGHUP; cfg is
 * the master's from then on (replaced by a reload, freed before master_run returns). */
int master_run(struct config *cfg, const char *config_path, int listen_fd, struct shm *shm);
/* Renames the process as ps and /proc/PID/cmdline show it ("guildhalld: worker"). */
void proc_title_init(int argc, char **argv);
void proc_title_set(const char *title);
/* What a child of the master does first: names itself (log role, "guildhalld: ROLE"), takes
 * SIGTERM with on_term (no SA_RESTART: a blocking accept() or poll() must return), ignores SIGHUP
 * (the master reloads) and SIGPIPE, and unblocks the signals the master blocked. */
void proc_become(const char *role, void (*on_term)(int));

#endif
