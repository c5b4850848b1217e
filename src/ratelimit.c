/* ratelimit.c — one stored TAT per (rule, who), updated with gets/cas so concurrent workers never
 * both spend the same slot. */
#include "guildhall.h"
#include "ratelimit.h"
#include "cache.h"

void ratelimit_key(char key[200], const char *bucket, const char *who)
{
    snprintf(key, 200, "rl:%s:%s", bucket, who);
}

enum rl_outcome ratelimit_peek(struct mc *mc, const char *bucket, const struct gcra_rule *rule, const char *who,
                               uint64_t now, struct gcra_result *res)
{
    char key[200];
    struct buf cur = {0};
    ratelimit_key(key, bucket, who);
    enum mc_status st = mc_get(mc, key, &cur);
    if (st == MC_ERROR) {
        buf_free(&cur);
        return RL_BYPASS;
    }
    gcra_decide(rule, st == MC_OK ? strtoull(cur.data, NULL, 10) : 0, now, res);
    buf_free(&cur);
    return res->allowed ? RL_PASS : RL_REJECT;
}

/* One GCRA decision on the state read (st, its value in cur, cas) and, when it passes, the write of
 * the new state: RL_PASS or RL_REJECT when decided; RL_BYPASS with *retry set when another worker
 * wrote in between (read again), or with *retry clear when memcached failed. */
static enum rl_outcome decide_and_store(struct mc *mc, const char *key, const struct gcra_rule *rule, uint64_t now,
                                        struct gcra_result *res, enum mc_status st, const struct buf *cur,
                                        uint64_t cas, bool *retry)
{
    char val[32];
    *retry = false;
    if (st == MC_ERROR)
        return RL_BYPASS;
    gcra_decide(rule, st == MC_OK ? strtoull(cur->data, NULL, 10) : 0, now, res);
    if (!res->allowed)
        return RL_REJECT;
    int n = snprintf(val, sizeof(val), "%llu", (unsigned long long)res->new_tat_us);
    st = st == MC_OK ? mc_cas(mc, key, val, (size_t)n, (time_t)res->ttl_s, cas)
                     : mc_add(mc, key, val, (size_t)n, (time_t)res->ttl_s);
    if (st == MC_OK)
        return RL_PASS;
    *retry = st == MC_EXISTS || st == MC_MISS;
    return RL_BYPASS;
}

#define RL_ATTEMPTS 8

enum rl_outcome ratelimit_check_from(struct mc *mc, const char *bucket, const struct gcra_rule *rule,
                                     const char *who, uint64_t now, struct gcra_result *res,
                                     enum mc_status st, const struct buf *cur, uint64_t cas)
{
    char key[200];
    struct buf again = {0};
    bool retry;
    ratelimit_key(key, bucket, who);
    enum rl_outcome outcome = decide_and_store(mc, key, rule, now, res, st, cur, cas, &retry);
    for (int attempt = 1; retry && attempt < RL_ATTEMPTS; attempt++) {
        st = mc_gets(mc, key, &again, &cas);
        outcome = decide_and_store(mc, key, rule, now, res, st, &again, cas, &retry);
    }
    buf_free(&again);
    return outcome;
}

enum rl_outcome ratelimit_check(struct mc *mc, const char *bucket, const struct gcra_rule *rule, const char *who,
                                uint64_t now, struct gcra_result *res)
{
    char key[200];
    struct buf cur = {0};
    uint64_t cas = 0;
    ratelimit_key(key, bucket, who);
    enum mc_status st = mc_gets(mc, key, &cur, &cas);
    enum rl_outcome outcome = ratelimit_check_from(mc, bucket, rule, who, now, res, st, &cur, cas);
    buf_free(&cur);
    return outcome;
}
