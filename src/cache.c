/* cache.c — libmemcached on the text protocol, with timeouts in tens of milliseconds and a
 * retry interval so a dead server is skipped instead of waited for. */
#include "guildhall.h"
#include "cache.h"

#include <libmemcached/memcached.h>
#include <time.h>

struct mc {
    memcached_st *st;
};

struct mc *mc_open(const char *servers, int timeout_ms)
{
    struct mc *mc = xcalloc(1, sizeof(*mc));
    mc->st = memcached_create(NULL);
    memcached_server_st *list = memcached_servers_parse(servers);
    if (list) {
        memcached_server_push(mc->st, list);
        memcached_server_list_free(list);
    }
    memcached_behavior_set(mc->st, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, (uint64_t)timeout_ms);
    memcached_behavior_set(mc->st, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, (uint64_t)timeout_ms);
    memcached_behavior_set(mc->st, MEMCACHED_BEHAVIOR_SND_TIMEOUT, (uint64_t)timeout_ms * 1000);
    memcached_behavior_set(mc->st, MEMCACHED_BEHAVIOR_RCV_TIMEOUT, (uint64_t)timeout_ms * 1000);
    memcached_behavior_set(mc->st, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 1);
    memcached_behavior_set(mc->st, MEMCACHED_BEHAVIOR_DEAD_TIMEOUT, 1);
    memcached_behavior_set(mc->st, MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT, 2);
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
    free(mc);
}

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

enum mc_status mc_get(struct mc *mc, const char *key, struct buf *out)
{
    size_t len = 0;
    uint32_t flags = 0;
    memcached_return_t rc;
    char *v = memcached_get(mc->st, key, strlen(key), &len, &flags, &rc);
    if (!v)
        return rc == MEMCACHED_SUCCESS ? MC_MISS : status_of(rc);
    buf_reset(out);
    buf_append(out, v, len);
    free(v);
    return MC_OK;
}

void mc_get_multi(struct mc *mc, const char *const *keys, size_t n, struct buf *out, enum mc_status *st)
{
    size_t lens[8] = {0};
    if (n > 8)
        n = 8;
    for (size_t i = 0; i < n; i++) {
        lens[i] = strlen(keys[i]);
        st[i] = MC_MISS;
    }
    memcached_return_t rc = memcached_mget(mc->st, keys, lens, n);
    if (rc != MEMCACHED_SUCCESS) {
        for (size_t i = 0; i < n; i++)
            st[i] = status_of(rc) == MC_MISS ? MC_MISS : MC_ERROR;
        return;
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
            }
        memcached_result_free(res);
    }
    if (rc != MEMCACHED_END && rc != MEMCACHED_NOTFOUND && rc != MEMCACHED_SUCCESS)
        for (size_t i = 0; i < n; i++)
            if (st[i] != MC_OK)
                st[i] = MC_ERROR;
}

enum mc_status mc_gets(struct mc *mc, const char *key, struct buf *out, uint64_t *cas)
{
    const char *keys[] = {key};
    size_t lens[] = {strlen(key)};
    memcached_return_t rc = memcached_mget(mc->st, keys, lens, 1);
    if (rc != MEMCACHED_SUCCESS)
        return status_of(rc);
    enum mc_status st = MC_MISS;
    memcached_result_st *res;
    while ((res = memcached_fetch_result(mc->st, NULL, &rc)) != NULL) {
        buf_reset(out);
        buf_append(out, memcached_result_value(res), memcached_result_length(res));
        *cas = memcached_result_cas(res);
        st = MC_OK;
        memcached_result_free(res);
    }
    if (st != MC_OK && rc != MEMCACHED_END && rc != MEMCACHED_NOTFOUND && rc != MEMCACHED_SUCCESS)
        return MC_ERROR;
    return st;
}

/* memcached reads an expiration over 30 days as an absolute Unix time, not a lifetime. */
static time_t expiration(time_t ttl)
{
    return ttl > 2592000 ? time(NULL) + ttl : ttl;
}

enum mc_status mc_set(struct mc *mc, const char *key, const void *val, size_t len, time_t ttl)
{
    return status_of(memcached_set(mc->st, key, strlen(key), val, len, expiration(ttl), 0));
}

enum mc_status mc_add(struct mc *mc, const char *key, const void *val, size_t len, time_t ttl)
{
    return status_of(memcached_add(mc->st, key, strlen(key), val, len, expiration(ttl), 0));
}

enum mc_status mc_cas(struct mc *mc, const char *key, const void *val, size_t len, time_t ttl, uint64_t cas)
{
    return status_of(memcached_cas(mc->st, key, strlen(key), val, len, expiration(ttl), 0, cas));
}

enum mc_status mc_delete(struct mc *mc, const char *key)
{
    return status_of(memcached_delete(mc->st, key, strlen(key), 0));
}

enum mc_status mc_incr(struct mc *mc, const char *key, uint64_t *value)
{
    return status_of(memcached_increment(mc->st, key, strlen(key), 1, value));
}

bool mc_ping(struct mc *mc)
{
    struct buf b = {0};
    enum mc_status st = mc_get(mc, "gh:ping", &b);
    buf_free(&b);
    return st == MC_OK || st == MC_MISS;
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
