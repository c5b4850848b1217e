/* ratelimit.c — one stored TAT per (rule, who), updated with gets/cas so concurrent workers never
 * both spend the same slot. */
#include "guildhall.h"
#include "ratelimit.h"
#include "cache.h"

static void bucket_key(char key[200], const char *bucket, const char *who)
{
    snprintf(key, 200, "rl:%s:%s", bucket, who);
}

enum rl_outcome ratelimit_peek(struct mc *mc, const char *bucket, const struct gcra_rule *rule, const char *who,
                               uint64_t now, struct gcra_result *res)
{
    char key[200];
    struct buf cur = {0};
    bucket_key(key, bucket, who);
    enum mc_status st = mc_get(mc, key, &cur);
    if (st == MC_ERROR) {
        buf_free(&cur);
        return RL_BYPASS;
    }
    gcra_decide(rule, st == MC_OK ? strtoull(cur.data, NULL, 10) : 0, now, res);
    buf_free(&cur);
    return res->allowed ? RL_PASS : RL_REJECT;
}

enum rl_outcome ratelimit_check(struct mc *mc, const char *bucket, const struct gcra_rule *rule, const char *who,
                                uint64_t now, struct gcra_result *res)
{
    char key[200], val[32];
    struct buf cur = {0};
    enum rl_outcome outcome = RL_BYPASS;
    bucket_key(key, bucket, who);
    for (int attempt = 0; attempt < 8; attempt++) {
        uint64_t cas = 0, tat = 0;
        enum mc_status st = mc_gets(mc, key, &cur, &cas);
        if (st == MC_ERROR)
            break;
        if (st == MC_OK)
            tat = strtoull(cur.data, NULL, 10);
        gcra_decide(rule, tat, now, res);
        if (!res->allowed) {
            outcome = RL_REJECT;
            break;
        }
        int n = snprintf(val, sizeof(val), "%llu", (unsigned long long)res->new_tat_us);
        st = st == MC_OK ? mc_cas(mc, key, val, (size_t)n, (time_t)res->ttl_s, cas)
                         : mc_add(mc, key, val, (size_t)n, (time_t)res->ttl_s);
        if (st == MC_OK) {
            outcome = RL_PASS;
            break;
        }
        if (st != MC_EXISTS && st != MC_MISS)
            break;
    }
    buf_free(&cur);
    return outcome;
}
