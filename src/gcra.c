/* gcra.c — GCRA: a request passes when max(TAT, now) - now <= tau, where each request costs one
 * emission interval T = period/limit and tau = T * (burst - 1) lets a full bucket pass `burst`
 * requests back to back. */
#include "guildhall.h"
#include "gcra.h"

static uint64_t ceil_div(uint64_t a, uint64_t b)
{
    return (a + b - 1) / b;
}

void gcra_decide(const struct gcra_rule *rule, uint64_t tat_us, uint64_t now, struct gcra_result *out)
{
    uint64_t burst = (uint64_t)(rule->burst > 0 ? rule->burst : rule->limit);
    uint64_t T = (uint64_t)rule->period_s * 1000000u / (uint64_t)rule->limit;
    uint64_t tau = T * (burst - 1);
    uint64_t tat = tat_us > now ? tat_us : now;

    memset(out, 0, sizeof(*out));
    if (tat - now > tau) {
        out->allowed = false;
        out->remaining = 0;
        out->new_tat_us = tat;
        out->reset_s = ceil_div(tat, 1000000u);
        uint64_t wait = tat - tau - now;
        out->retry_after_s = (long)ceil_div(wait ? wait : 1, 1000000u);
    } else {
        out->allowed = true;
        out->new_tat_us = tat + T;
        uint64_t used = out->new_tat_us - now;
        out->remaining = used > tau ? 0 : (long)((tau - used) / T + 1);
        out->reset_s = ceil_div(out->new_tat_us, 1000000u);
    }
    out->ttl_s = ceil_div(out->new_tat_us - now, 1000000u) + 1;
}

bool gcra_parse_rule(const char *spec, struct gcra_rule *rule)
{
    long limit = 0, period = 0, burst = 0;
    int n = sscanf(spec, "%ld/%ld/%ld", &limit, &period, &burst);
    /* the emission interval is whole microseconds: a finer rate would make it 0 */
    if (n < 2 || limit <= 0 || period <= 0 || (n == 3 && burst <= 0) || limit > period * 1000000L)
        return false;
    rule->limit = limit;
    rule->period_s = period;
    rule->burst = n == 3 ? burst : limit;
    return true;
}
