/* cache.c — libmemcached on the text protocol, with timeouts in tens of milliseconds and a
 * retry interval so a server that does not answer is skipped instead of waited for.
 *
 * libmemcached puts a server whose call failed "in timeout" for RETRY_TIMEOUT whole seconds of the
 * wall clock (1 to 2 s with 1) and only looks again at the next call after that, so a worker kept
 * treating a restarted memcached as down for up to two seconds after its own last failure, each
 * worker on its own clock. That interval is only worth paying when failing was expensive: after a
 * call that failed fast (connection refused or reset: the server is down or was just restarted),
 * the server's timeout is cleared and the call is tried once more at once, on a new connection, so
 * every worker uses memcached again from its first call after it is back and a stale connection
 * left from before a restart costs nothing. After a slow failure (a timeout: the host does not
 * answer, or a hung server stops replying on an open connection, after which libmemcached itself
 * would try again at every call) the server's calls are skipped for SLOW_RETRY_US, so it costs a
 * worker one timeout per interval.
 * libmemcached answers "temporarily disabled" both for a call it skipped and for a failed retry,
 * which is why the time a call took, not its code, decides.
 *
 * With several servers, a server that fails again on that new connection, or times out, is ejected
 * instead: taken out of the consistent-hashing continuum for EJECT_US, so that its keys (cached
 * answers, generations, rate-limit state) re-home to the next server on the ring and the call is
 * made again there at once; only its keys move, the others keep their server. After EJECT_US it is
 * put back, its keys hash to it again, and the first call on one of them shows whether it answers
 * (if not, it is ejected again and that call moves on, as above). The last server in the continuum
 * is never ejected: with one server (or all but one ejected) a failure reads as a miss, as above.
 * libmemcached's own ejection (REMOVE_FAILED_SERVERS) only acts after SERVER_FAILURE_LIMIT
 * failures, then at the server's next call, and readmits on whole seconds of the wall clock (and,
 * with DEAD_TIMEOUT 0, never), so it is left to never trigger: the continuum is rebuilt here, with
 * REMOVE_FAILED_SERVERS only making libmemcached leave out the servers whose retry time
 * (memcached_instance_next_retry) is in the future. Ejection is per process (each worker, each
 * host decides on its own failures), so while a server fails, calls on its keys can briefly go to
 * it from one worker and to its successor from another; while every server answers nothing is
 * ejected and every worker and host maps a key to the same server.
 * The retry may repeat a command that the server ran before the connection broke; every caller
 * tolerates that (generations only need to change, a repeated add or cas answers EXISTS and the
 * caller reads again). */
#include "guildhall.h"
#include "cache.h"

#include <libmemcached/memcached.h>
#include <time.h>

#define SLOW_RETRY_US 1000000
#define EJECT_US 1000000
#define ATTEMPTS 3           /* the call, once more on a new connection, once more on the key's next server */

struct mc {
    memcached_st *st;
    uint64_t fast_us;        /* a failure quicker than this was a refusal, not a timeout */
    uint32_t nservers;
    uint64_t *slow_until;    /* per server (monotonic µs): it timed out, its calls are skipped until then */
    uint64_t *ejected_until; /* per server (monotonic µs): out of the continuum until then; 0: in it */
    uint32_t nejected;
    bool *failed;            /* per server: scratch for failed_servers() */
    uint64_t round_trips;
};

struct mc *mc_open(const char *servers, int timeout_ms)
{
    struct mc *mc = xcalloc(1, sizeof(*mc));
    mc->st = memcached_create(NULL);
    mc->fast_us = (uint64_t)timeout_ms * 1000 / 2;
    memcached_server_st *list = memcached_servers_parse(servers);
    if (list) {
        memcached_server_push(mc->st, list);
        memcached_server_list_free(list);
    }
    mc->nservers = memcached_server_count(mc->st);
    mc->slow_until = xcalloc(mc->nservers ? mc->nservers : 1, sizeof(*mc->slow_until));
    mc->ejected_until = xcalloc(mc->nservers ? mc->nservers : 1, sizeof(*mc->ejected_until));
    mc->failed = xcalloc(mc->nservers ? mc->nservers : 1, sizeof(*mc->failed));
    memcached_behavior_set(mc->st, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, (uint64_t)timeout_ms);
    memcached_behavior_set(mc->st, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, (uint64_t)timeout_ms);
    memcached_behavior_set(mc->st, MEMCACHED_BEHAVIOR_SND_TIMEOUT, (uint64_t)timeout_ms * 1000);
    memcached_behavior_set(mc->st, MEMCACHED_BEHAVIOR_RCV_TIMEOUT, (uint64_t)timeout_ms * 1000);
    memcached_behavior_set(mc->st, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 1);
    /* With several servers the continuum leaves out a server whose retry time is in the future, which
     * is how eject() takes one out; libmemcached never ejects one itself (see the top). */
    memcached_behavior_set(mc->st, MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS, mc->nservers > 1);
    memcached_behavior_set(mc->st, MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT, UINT32_MAX);
    memcached_behavior_set(mc->st, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
    memcached_behavior_set(mc->st, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1);
    memcached_behavior_set(mc->st, MEMCACHED_BEHAVIOR_DISTRIBUTION, MEMCACHED_DISTRIBUTION_CONSISTENT);
    return mc;
}

void mc_close(struct mc *mc)
{
    if (!mc)
        return;
    memcached_free(mc->st);
    free(mc->slow_until);
    free(mc->ejected_until);
    free(mc->failed);
    free(mc);
}

/* The server could not be reached, did not answer in time, broke the connection, or is in its
 * timeout. */
static bool unreachable(memcached_return_t rc)
{
    switch (rc) {
    case MEMCACHED_CONNECTION_FAILURE:
    case MEMCACHED_WRITE_FAILURE:
    case MEMCACHED_READ_FAILURE:
    case MEMCACHED_UNKNOWN_READ_FAILURE:
    case MEMCACHED_ERRNO:
    case MEMCACHED_FAILURE:
    case MEMCACHED_SOME_ERRORS:
    case MEMCACHED_TIMEOUT:
    case MEMCACHED_SERVER_TEMPORARILY_DISABLED:
    case MEMCACHED_SERVER_MARKED_DEAD:
        return true;
    default:
        return false;
    }
}

/* The position of key's server (nservers if none), and the server. */
static uint32_t server_of(struct mc *mc, const char *key, size_t len, const memcached_instance_st **server)
{
    *server = NULL;
    if (!mc->nservers)
        return 0;
    *server = memcached_server_by_key(mc->st, key, len, NULL);
    uint32_t s = 0;
    while (s < mc->nservers && memcached_server_instance_by_position(mc->st, s) != *server)
        s++;
    return s;
}

/* Rebuilds the continuum from the servers not ejected: an ejected one gets a retry time a day ahead
 * (it is put back long before, by readmit()), the others none, so that a retry time libmemcached
 * set after a failure does not leave a server out too. Each server's points on the ring depend only
 * on its name, so the others keep their keys. */
static void redistribute(struct mc *mc)
{
    time_t out = time(NULL) + 86400;
    for (uint32_t s = 0; s < mc->nservers; s++)
        memcached_instance_next_retry(memcached_server_instance_by_position(mc->st, s),
                                      mc->ejected_until[s] ? out : 0);
    memcached_behavior_set(mc->st, MEMCACHED_BEHAVIOR_DISTRIBUTION, MEMCACHED_DISTRIBUTION_CONSISTENT);
}

/* Puts back the servers whose EJECT_US is over. */
static void readmit(struct mc *mc)
{
    if (!mc->nejected)
        return;
    uint64_t now = monotonic_us();
    bool changed = false;
    for (uint32_t s = 0; s < mc->nservers; s++)
        if (mc->ejected_until[s] && now >= mc->ejected_until[s]) {
            mc->ejected_until[s] = 0;
            mc->nejected--;
            changed = true;
        }
    if (changed)
        redistribute(mc);
}

/* Takes server s out of the continuum for EJECT_US (redistribute() to follow), unless it is the
 * last one in it. */
static bool eject(struct mc *mc, uint32_t s, uint64_t now)
{
    if (mc->ejected_until[s] || mc->nservers - mc->nejected < 2)
        return false;
    mc->ejected_until[s] = now + EJECT_US;
    mc->nejected++;
    return true;
}

/* Before each attempt: puts back the servers whose ejection is over; true when a server of
 * keys[0..n) timed out less than SLOW_RETRY_US ago: the call is not made. */
static bool skipped(struct mc *mc, const char *const *keys, const size_t *lens, size_t n)
{
    readmit(mc);
    uint64_t now = monotonic_us();
    const memcached_instance_st *server;
    for (size_t i = 0; i < n; i++) {
        uint32_t s = server_of(mc, keys[i], lens[i], &server);
        if (s < mc->nservers && now < mc->slow_until[s])
            return true;
    }
    return false;
}

/* Sets mc->failed[] for the servers of keys[0..n) that a failed call failed on: its server when there
 * is one; of several, those left without a connection (libmemcached closes it on every failure:
 * refused, reset, timed out), or all of them if none was. */
static void failed_servers(struct mc *mc, const char *const *keys, const size_t *lens, size_t n)
{
    const memcached_instance_st *server;
    uint32_t involved = 0, closed = 0;
    memset(mc->failed, 0, mc->nservers * sizeof(*mc->failed));
    for (size_t i = 0; i < n; i++) {
        uint32_t s = server_of(mc, keys[i], lens[i], &server);
        if (s < mc->nservers && !mc->failed[s]) {
            mc->failed[s] = true;
            involved++;
        }
    }
    if (involved < 2)
        return;
    for (uint32_t s = 0; s < mc->nservers; s++)
        if (mc->failed[s] && memcached_server_srcport(memcached_server_instance_by_position(mc->st, s)) == 0)
            closed++;
    if (closed)
        for (uint32_t s = 0; s < mc->nservers; s++)
            if (mc->failed[s] && memcached_server_srcport(memcached_server_instance_by_position(mc->st, s)) != 0)
                mc->failed[s] = false;
}

/* After attempt (0-based) of a call on keys[0..n) that returned rc, begun at started (monotonic µs):
 * true when the call is worth making again at once. A server that failed is ejected when it failed
 * slow or failed again; otherwise a fast failure clears its timeout in libmemcached (the call is
 * tried once more on a new connection) and a slow one starts its SLOW_RETRY_US. See the top. */
static bool try_again(struct mc *mc, memcached_return_t rc, uint64_t started, int attempt,
                      const char *const *keys, const size_t *lens, size_t n)
{
    if (!unreachable(rc) || !mc->nservers)
        return false;
    uint64_t now = monotonic_us();
    bool fast = now - started < mc->fast_us;
    bool again = false, moved = false;
    failed_servers(mc, keys, lens, n);
    for (uint32_t s = 0; s < mc->nservers; s++) {
        if (!mc->failed[s])
            continue;
        if ((!fast || attempt > 0) && eject(mc, s, now))
            moved = true;
        else if (fast) {
            memcached_instance_next_retry(memcached_server_instance_by_position(mc->st, s), 0);
            again = again || attempt == 0;
        } else
            mc->slow_until[s] = now + SLOW_RETRY_US;
    }
    if (moved)
        redistribute(mc);
    return again || moved;
}

/* Runs call (which sets rc) for one key, unless its server is skipped, and again while try_again()
 * says so. */
#define WITH_RETRY(mc, key, rc, call)                                                 \
    do {                                                                              \
        const char *keys_[] = {key};                                                  \
        size_t lens_[] = {strlen(key)};                                               \
        rc = MEMCACHED_SERVER_TEMPORARILY_DISABLED;                                   \
        for (int try_ = 0; try_ < ATTEMPTS && !skipped(mc, keys_, lens_, 1); try_++) { \
            uint64_t started_ = monotonic_us();                                       \
            (mc)->round_trips++;                                                      \
            rc = (call);                                                              \
            if (!try_again(mc, rc, started_, try_, keys_, lens_, 1))                  \
                break;                                                                \
        }                                                                             \
    } while (0)

static enum mc_status status_of(memcached_return_t rc)
{
    switch (rc) {
    case MEMCACHED_SUCCESS:
    case MEMCACHED_STORED:
    case MEMCACHED_DELETED:
        return MC_OK;
    case MEMCACHED_NOTFOUND:
        return MC_MISS;
    case MEMCACHED_NOTSTORED:
    case MEMCACHED_DATA_EXISTS:
        return MC_EXISTS;
    default:
        return MC_ERROR;
    }
}

static memcached_return_t get_once(struct mc *mc, const char *key, char **v, size_t *len)
{
    uint32_t flags = 0;
    memcached_return_t rc;
    *v = memcached_get(mc->st, key, strlen(key), len, &flags, &rc);
    return rc;
}

enum mc_status mc_get(struct mc *mc, const char *key, struct buf *out)
{
    size_t len = 0;
    char *v = NULL;
    memcached_return_t rc;
    WITH_RETRY(mc, key, rc, get_once(mc, key, &v, &len));
    if (!v)
        return rc == MEMCACHED_SUCCESS ? MC_MISS : status_of(rc);
    buf_reset(out);
    buf_append(out, v, len);
    free(v);
    return MC_OK;
}

/* One mget and its fetches; returns the failure (MEMCACHED_SUCCESS when there was none). */
static memcached_return_t get_multi_once(struct mc *mc, const char *const *keys, const size_t *lens, size_t n,
                                         struct buf *out, enum mc_status *st, uint64_t *cas)
{
    for (size_t i = 0; i < n; i++)
        st[i] = MC_MISS;
    memcached_return_t rc = memcached_mget(mc->st, keys, lens, n);
    if (rc != MEMCACHED_SUCCESS) {
        for (size_t i = 0; i < n; i++)
            st[i] = status_of(rc) == MC_MISS ? MC_MISS : MC_ERROR;
        return rc;
    }
    /* libmemcached's mget succeeds when it reached one of the keys' servers: one it could not connect
     * to is left without a connection, and its keys are not misses but failures. */
    bool unreached[MC_MULTI_MAX] = {false}, some_unreached = false;
    for (size_t i = 0; mc->nservers > 1 && i < n; i++) {
        const memcached_instance_st *server;
        if (server_of(mc, keys[i], lens[i], &server) < mc->nservers && memcached_server_srcport(server) == 0)
            unreached[i] = some_unreached = true;
    }
    memcached_result_st *res;
    while ((res = memcached_fetch_result(mc->st, NULL, &rc)) != NULL) {
        const char *k = memcached_result_key_value(res);
        size_t klen = memcached_result_key_length(res);
        for (size_t i = 0; i < n; i++)
            if (klen == lens[i] && !memcmp(k, keys[i], klen)) {
                buf_reset(&out[i]);
                buf_append(&out[i], memcached_result_value(res), memcached_result_length(res));
                st[i] = MC_OK;
                if (cas)
                    cas[i] = memcached_result_cas(res);
            }
        memcached_result_free(res);
    }
    if ((rc == MEMCACHED_END || rc == MEMCACHED_NOTFOUND || rc == MEMCACHED_SUCCESS) && !some_unreached)
        return MEMCACHED_SUCCESS;
    if (rc == MEMCACHED_END || rc == MEMCACHED_NOTFOUND || rc == MEMCACHED_SUCCESS) {
        for (size_t i = 0; i < n; i++)
            if (unreached[i] && st[i] != MC_OK)
                st[i] = MC_ERROR;
        return MEMCACHED_SOME_ERRORS;
    }
    for (size_t i = 0; i < n; i++)
        if (st[i] != MC_OK)
            st[i] = MC_ERROR;
    return rc;
}

void mc_get_multi(struct mc *mc, const char *const *keys, size_t n, struct buf *out, enum mc_status *st,
                  uint64_t *cas)
{
    size_t lens[MC_MULTI_MAX] = {0};
    if (n > MC_MULTI_MAX)
        n = MC_MULTI_MAX;
    for (size_t i = 0; i < n; i++)
        lens[i] = strlen(keys[i]);
    for (size_t i = 0; i < n; i++)
        st[i] = MC_ERROR;
    for (int attempt = 0; attempt < ATTEMPTS && !skipped(mc, keys, lens, n); attempt++) {
        uint64_t started = monotonic_us();
        mc->round_trips++;
        if (!try_again(mc, get_multi_once(mc, keys, lens, n, out, st, cas), started, attempt, keys, lens, n))
            break;
    }
}

enum mc_status mc_gets(struct mc *mc, const char *key, struct buf *out, uint64_t *cas)
{
    const char *keys[] = {key};
    size_t lens[] = {strlen(key)};
    enum mc_status st = MC_ERROR;
    for (int attempt = 0; attempt < ATTEMPTS && !skipped(mc, keys, lens, 1); attempt++) {
        uint64_t started = monotonic_us();
        mc->round_trips++;
        memcached_return_t rc = memcached_mget(mc->st, keys, lens, 1);
        if (rc != MEMCACHED_SUCCESS) {
            st = status_of(rc);
        } else {
            st = MC_MISS;
            memcached_result_st *res;
            while ((res = memcached_fetch_result(mc->st, NULL, &rc)) != NULL) {
                buf_reset(out);
                buf_append(out, memcached_result_value(res), memcached_result_length(res));
                *cas = memcached_result_cas(res);
                st = MC_OK;
                memcached_result_free(res);
            }
            if (st == MC_OK || rc == MEMCACHED_END || rc == MEMCACHED_NOTFOUND || rc == MEMCACHED_SUCCESS)
                rc = MEMCACHED_SUCCESS;
            else
                st = MC_ERROR;
        }
        if (!try_again(mc, rc, started, attempt, keys, lens, 1))
            break;
    }
    return st;
}

/* memcached reads an expiration over 30 days as an absolute Unix time, not a lifetime. */
static time_t expiration(time_t ttl)
{
    return ttl > 2592000 ? time(NULL) + ttl : ttl;
}

enum mc_status mc_set(struct mc *mc, const char *key, const void *val, size_t len, time_t ttl)
{
    memcached_return_t rc;
    WITH_RETRY(mc, key, rc, memcached_set(mc->st, key, strlen(key), val, len, expiration(ttl), 0));
    return status_of(rc);
}

enum mc_status mc_add(struct mc *mc, const char *key, const void *val, size_t len, time_t ttl)
{
    memcached_return_t rc;
    WITH_RETRY(mc, key, rc, memcached_add(mc->st, key, strlen(key), val, len, expiration(ttl), 0));
    return status_of(rc);
}

enum mc_status mc_cas(struct mc *mc, const char *key, const void *val, size_t len, time_t ttl, uint64_t cas)
{
    memcached_return_t rc;
    WITH_RETRY(mc, key, rc, memcached_cas(mc->st, key, strlen(key), val, len, expiration(ttl), 0, cas));
    return status_of(rc);
}

enum mc_status mc_delete(struct mc *mc, const char *key)
{
    memcached_return_t rc;
    WITH_RETRY(mc, key, rc, memcached_delete(mc->st, key, strlen(key), 0));
    return status_of(rc);
}

enum mc_status mc_incr(struct mc *mc, const char *key, uint64_t *value)
{
    memcached_return_t rc;
    WITH_RETRY(mc, key, rc, memcached_increment(mc->st, key, strlen(key), 1, value));
    return status_of(rc);
}

bool mc_ping(struct mc *mc)
{
    struct buf b = {0};
    enum mc_status st = mc_get(mc, "gh:ping", &b);
    buf_free(&b);
    return st == MC_OK || st == MC_MISS;
}

uint64_t mc_round_trips(const struct mc *mc)
{
    return mc ? mc->round_trips : 0;
}

int mc_server_count(struct mc *mc)
{
    return (int)memcached_server_count(mc->st);
}

bool cache_generation(struct mc *mc, const char *name, uint64_t *gen)
{
    char key[128], val[32];
    struct buf b = {0};
    snprintf(key, sizeof(key), "gen:%s", name);
    for (int attempt = 0; attempt < 2; attempt++) {
        enum mc_status st = mc_get(mc, key, &b);
        if (st == MC_OK) {
            *gen = strtoull(b.data, NULL, 10);
            buf_free(&b);
            return true;
        }
        if (st == MC_ERROR)
            break;
        int n = snprintf(val, sizeof(val), "%llu", (unsigned long long)now_us());
        if (mc_add(mc, key, val, (size_t)n, 0) == MC_ERROR)
            break;
    }
    buf_free(&b);
    return false;
}

bool cache_bump_generation(struct mc *mc, const char *name)
{
    char key[128], val[32];
    uint64_t v;
    snprintf(key, sizeof(key), "gen:%s", name);
    enum mc_status st = mc_incr(mc, key, &v);
    if (st == MC_MISS) {
        int n = snprintf(val, sizeof(val), "%llu", (unsigned long long)now_us());
        st = mc_add(mc, key, val, (size_t)n, 0);
        if (st == MC_EXISTS)
            st = mc_incr(mc, key, &v);
    }
    return st == MC_OK;
}
