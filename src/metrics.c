/* metrics.c — per-slot counters and their Prometheus rendering. */
#include "guildhall.h"
#include "metrics.h"

#include <sys/mman.h>

static const int status_codes[16] = {200, 201, 202, 204, 304, 400, 401, 403,
                                     404, 405, 409, 413, 415, 429, 500, 503};
static const double bucket_bounds[N_BUCKETS - 1] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                    0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

struct shm *shm_create(void)
{
    void *p = mmap(NULL, sizeof(struct shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    struct shm *shm = p;
    shm->started_us = now_us();
    return shm;
}

static int status_index(int status)
{
    for (int i = 0; i < 16; i++)
        if (status_codes[i] == status)
            return i;
    return status >= 500 ? 14 : 5;   /* unlisted codes count as 500 or 400 */
}

void metrics_count(struct services *svc, enum counter c)
{
    metrics_add(svc, c, 1);
}

void metrics_add(struct services *svc, enum counter c, uint64_t n)
{
    if (svc && svc->shm)
        svc->shm->counters[svc->slot].c[c] += n;
}

void metrics_request(struct services *svc, int route_index, int fam, int status, uint64_t dur_us)
{
    if (!svc || !svc->shm)
        return;
    struct slot_counters *sc = &svc->shm->counters[svc->slot];
    if (route_index < 0 || route_index >= MAX_ROUTE_STATS)
        route_index = 0;
    if (fam < 0 || fam >= MAX_FAMILY_STATS)
        fam = 0;
    sc->http[route_index][status_index(status)]++;
    int b = 0;
    while (b < N_BUCKETS - 1 && (double)dur_us / 1e6 > bucket_bounds[b])
        b++;
    sc->dur_bucket[fam][b]++;
    sc->dur_count[fam]++;
    sc->dur_sum_us[fam] += dur_us;
}

bool slot_request_stuck(uint64_t word, uint64_t now_us, uint64_t limit_us)
{
    if (!(word & 1))
        return false;
    int64_t age = (int64_t)now_us - (int64_t)(word >> 1);
    return age > (int64_t)limit_us;
}

uint64_t metrics_sum(const struct shm *shm, enum counter c)
{
    uint64_t total = 0;
    for (int s = 0; s < MAX_SLOTS; s++)
        total += shm->counters[s].c[c];
    return total;
}

static void counter(struct buf *out, const char *name, const char *help, uint64_t v)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name, (unsigned long long)v);
}

void metrics_render(const struct shm *shm, const struct metric_route *routes, size_t nroutes,
                    const char *const *families, size_t nfamilies, struct buf *out)
{
    buf_puts(out, "# HELP guildhall_http_requests_total HTTP requests served, by route and status.\n"
                  "# TYPE guildhall_http_requests_total counter\n");
    for (size_t r = 0; r <= nroutes && r < MAX_ROUTE_STATS; r++) {
        for (int st = 0; st < 16; st++) {
            uint64_t v = 0;
            for (int s = 0; s < MAX_SLOTS; s++)
                v += shm->counters[s].http[r][st];
            if (!v)
                continue;
            const struct metric_route *rt = r ? &routes[r - 1] : NULL;
            buf_printf(out, "guildhall_http_requests_total{family=\"%s\",route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n",
                       rt ? rt->family : "none", rt ? rt->path : "unmatched",
                       rt ? rt->method : "any", status_codes[st], (unsigned long long)v);
        }
    }
    buf_puts(out, "# HELP guildhall_http_request_duration_seconds Time from accept to response, by family.\n"
                  "# TYPE guildhall_http_request_duration_seconds histogram\n");
    for (size_t f = 0; f < nfamilies && f < MAX_FAMILY_STATS; f++) {
        uint64_t cum = 0, count = 0, sum = 0;
        for (int s = 0; s < MAX_SLOTS; s++) {
            count += shm->counters[s].dur_count[f];
            sum += shm->counters[s].dur_sum_us[f];
        }
        if (!count)
            continue;
        for (int b = 0; b < N_BUCKETS; b++) {
            for (int s = 0; s < MAX_SLOTS; s++)
                cum += shm->counters[s].dur_bucket[f][b];
            if (b < N_BUCKETS - 1)
                buf_printf(out, "guildhall_http_request_duration_seconds_bucket{family=\"%s\",le=\"%g\"} %llu\n",
                           families[f], bucket_bounds[b], (unsigned long long)cum);
            else
                buf_printf(out, "guildhall_http_request_duration_seconds_bucket{family=\"%s\",le=\"+Inf\"} %llu\n",
                           families[f], (unsigned long long)cum);
        }
        buf_printf(out, "guildhall_http_request_duration_seconds_sum{family=\"%s\"} %.6f\n",
                   families[f], (double)sum / 1e6);
        buf_printf(out, "guildhall_http_request_duration_seconds_count{family=\"%s\"} %llu\n",
                   families[f], (unsigned long long)count);
    }
    buf_printf(out, "# HELP guildhall_cache_requests_total Response-cache lookups by result.\n"
                    "# TYPE guildhall_cache_requests_total counter\n"
                    "guildhall_cache_requests_total{result=\"hit\"} %llu\n"
                    "guildhall_cache_requests_total{result=\"miss\"} %llu\n"
                    "guildhall_cache_requests_total{result=\"error\"} %llu\n",
               (unsigned long long)metrics_sum(shm, M_CACHE_HIT), (unsigned long long)metrics_sum(shm, M_CACHE_MISS),
               (unsigned long long)metrics_sum(shm, M_CACHE_ERROR));
    counter(out, "guildhall_memcached_round_trips_total",
            "Requests sent to memcached (a multi-get is one): the response cache, generations and limits.",
            metrics_sum(shm, M_MC_ROUND_TRIPS));
    counter(out, "guildhall_ratelimit_rejections_total", "Requests rejected with 429.",
            metrics_sum(shm, M_RL_REJECTED));
    counter(out, "guildhall_ratelimit_failopen_total", "Rate-limit checks skipped because memcached was unreachable.",
            metrics_sum(shm, M_RL_FAILOPEN));
    counter(out, "guildhall_worker_restarts_total", "Workers that died and were respawned.", shm->worker_restarts);
    counter(out, "guildhall_worker_timeouts_total", "Workers killed for exceeding request_timeout.",
            shm->worker_timeouts);
    counter(out, "guildhall_db_errors_total", "Failed or refused database operations.", metrics_sum(shm, M_DB_ERRORS));
    counter(out, "guildhall_db_replica_reads_total", "Immutable rows read from the replica (database_replica_url).",
            metrics_sum(shm, M_REPLICA_READS));
    counter(out, "guildhall_db_replica_fallbacks_total",
            "Immutable reads the replica could not answer (row not there yet, or replica down): asked of the primary.",
            metrics_sum(shm, M_REPLICA_FALLBACKS));
    counter(out, "guildhall_auth_failures_total", "Requests refused for a missing or invalid key.",
            metrics_sum(shm, M_AUTH_FAILURES));
    buf_printf(out, "# HELP guildhall_scheduler_runs_total Scheduled runs by outcome.\n"
                    "# TYPE guildhall_scheduler_runs_total counter\n"
                    "guildhall_scheduler_runs_total{status=\"success\"} %llu\n"
                    "guildhall_scheduler_runs_total{status=\"failed\"} %llu\n"
                    "guildhall_scheduler_runs_total{status=\"skipped\"} %llu\n",
               (unsigned long long)metrics_sum(shm, M_SCHED_SUCCESS),
               (unsigned long long)metrics_sum(shm, M_SCHED_FAILED),
               (unsigned long long)metrics_sum(shm, M_SCHED_SKIPPED));
    buf_printf(out, "# HELP guildhall_outbox_deliveries_total Outbox deliveries by outcome.\n"
                    "# TYPE guildhall_outbox_deliveries_total counter\n"
                    "guildhall_outbox_deliveries_total{result=\"delivered\"} %llu\n"
                    "guildhall_outbox_deliveries_total{result=\"failed\"} %llu\n",
               (unsigned long long)metrics_sum(shm, M_OUTBOX_DELIVERED),
               (unsigned long long)metrics_sum(shm, M_OUTBOX_FAILED));
    int busy = 0, alive = 0;
    for (int s = FIRST_WORKER_SLOT; s < MAX_SLOTS; s++) {
        if (!shm->slots[s].pid)
            continue;
        alive++;
        busy += shm->slots[s].state == SLOT_BUSY;
    }
    buf_printf(out, "# HELP guildhall_workers Worker processes by state.\n# TYPE guildhall_workers gauge\n"
                    "guildhall_workers{state=\"busy\"} %d\nguildhall_workers{state=\"idle\"} %d\n",
               busy, alive - busy);
}
