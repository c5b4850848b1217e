/* gcra.h — the generic cell rate algorithm: pure maths over one stored instant (the TAT). */
#ifndef GH_GCRA_H
#define GH_GCRA_H

/* A rate: `limit` requests per `period_s` seconds, `burst` of them back to back. */
struct gcra_rule {
    long limit;
    long period_s;
    long burst;
};

struct gcra_result {
    bool allowed;
    long remaining;          /* requests that would pass right now, after this one */
    uint64_t reset_s;        /* Unix seconds when the bucket is full again */
    long retry_after_s;      /* on rejection: seconds until the next request passes (>= 1) */
    uint64_t new_tat_us;     /* what to store */
    uint64_t ttl_s;          /* how long the stored TAT matters */
};

/* tat_us is the stored theoretical arrival time (0 when none). */
void gcra_decide(const struct gcra_rule *rule, uint64_t tat_us, uint64_t now_us, struct gcra_result *out);
/* Parses "LIMIT/PERIOD_SECONDS[/BURST]" into rule; false on a malformed spec. */
bool gcra_parse_rule(const char *spec, struct gcra_rule *rule) MUSTCHECK;

#endif
