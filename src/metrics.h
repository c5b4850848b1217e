/* metrics.h — counters in one shared mapping made by the master before forking. Each process
 * writes only its own slot (no locks); /metrics sums the slots on read. Slots are never zeroed,
 * so a respawned process keeps adding to what its predecessor counted. */
#ifndef GH_METRICS_H
#define GH_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "services.h"

#define SLOT_MASTER 0
#define SLOT_SCHEDULER 1
#define SLOT_OUTBOX 2
#define FIRST_WORKER_SLOT 3
#define MAX_SLOTS 160
#define MAX_ROUTE_STATS 128        /* route index + 1; 0 is "unmatched" */
#define N_BUCKETS 13
#define MAX_FAMILY_STATS 16        /* family index; 0 is "generic" (no family owns the path) */

enum counter {
    M_CACHE_HIT, M_CACHE_MISS, M_CACHE_ERROR, M_MC_ROUND_TRIPS,
    M_RL_REJECTED, M_RL_FAILOPEN,
    M_DB_ERRORS, M_REPLICA_READS, M_REPLICA_FALLBACKS, M_AUTH_FAILURES,
    M_SCHED_SUCCESS, M_SCHED_FAILED, M_SCHED_SKIPPED,
    M_OUTBOX_DELIVERED, M_OUTBOX_FAILED,
    M_COUNTERS
};

enum slot_state { SLOT_FREE, SLOT_STARTING, SLOT_IDLE, SLOT_BUSY, SLOT_RETIRING };

struct slot_info {
    volatile pid_t pid;
    volatile int state;
    volatile int generation;          /* configuration generation (SIGHUP count) */
    volatile int route;               /* route being served, for the master's log when it dies */
    /* The request the worker is serving, written by the worker and read by the master in one go
     * (slot_request_word): a busy flag and its monotonic start, never one without the other. */
    _Atomic uint64_t request;
    volatile uint64_t served;
};

struct slot_counters {
    uint64_t http[MAX_ROUTE_STATS][16];
    uint64_t dur_bucket[MAX_FAMILY_STATS][N_BUCKETS];
    uint64_t dur_count[MAX_FAMILY_STATS];
    uint64_t dur_sum_us[MAX_FAMILY_STATS];
    uint64_t c[M_COUNTERS];
};

struct shm {
    uint64_t started_us;
    volatile uint64_t worker_restarts;
    volatile uint64_t worker_timeouts;
    volatile pid_t scheduler_pid;
    volatile uint64_t scheduler_heartbeat_us;   /* wall clock */
    volatile pid_t outbox_pid;
    volatile uint64_t outbox_heartbeat_us;      /* wall clock */
    struct slot_info slots[MAX_SLOTS];
    struct slot_counters counters[MAX_SLOTS];
};

/* What /metrics labels a route's counters with. */
struct metric_route {
    const char *family, *path, *method;
};

/* The slot's request word: bit 0 set while a request is served, bits 1..63 its monotonic start (µs). */
static inline uint64_t slot_request_word(bool busy, uint64_t start_us)
{
    return start_us << 1 | (busy ? 1u : 0u);
}
/* The master's decision (kill_stuck_workers): does the request in `word` run for longer than
 * limit_us at now_us? Not busy: no. The age is signed: a request that started after `now` was
 * read is young, not 2^64 µs old. */
bool slot_request_stuck(uint64_t word, uint64_t now_us, uint64_t limit_us);

struct shm *shm_create(void);
void metrics_count(struct services *svc, enum counter c);
void metrics_add(struct services *svc, enum counter c, uint64_t n);
/* route_index: 1 + the route's place in the table (0: unmatched); family_index < MAX_FAMILY_STATS. */
void metrics_request(struct services *svc, int route_index, int family_index, int status, uint64_t dur_us);
/* Appends guildhall's metrics in Prometheus text format; routes[i] labels route index i + 1 and
 * families[f] family index f. */
void metrics_render(const struct shm *shm, const struct metric_route *routes, size_t nroutes,
                    const char *const *families, size_t nfamilies, struct buf *out);
/* Sum of one counter over all slots. */
uint64_t metrics_sum(const struct shm *shm, enum counter c);

#endif
