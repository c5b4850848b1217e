/* process.h — the three process roles and what the master hands them. */
#ifndef GH_PROCESS_H
#define GH_PROCESS_H

struct config;
struct shm;

/* Worker: serves requests from listen_fd until SIGTERM or max_requests; never returns. */
NORETURN void worker_main(const struct config *cfg, int listen_fd, struct shm *shm, int slot);
/* Scheduler: delivers the outbox (and later runs jobs); never returns. */
NORETURN void scheduler_main(const struct config *cfg, struct shm *shm);
/* Scheduler: delivers everything in the outbox that is due now (the built-in drain job). */
struct services;
void scheduler_drain_outbox(struct services *svc, int *delivered);
/* Master: forks and supervises; returns the exit status. config_path is re-read on SIGHUP; cfg is
 * the master's from then on (replaced by a reload, freed before master_run returns). */
int master_run(struct config *cfg, const char *config_path, int listen_fd, struct shm *shm);
/* Renames the process as ps and /proc/PID/cmdline show it ("guildhalld: worker"). */
void proc_title_init(int argc, char **argv);
void proc_title_set(const char *title);

#endif
