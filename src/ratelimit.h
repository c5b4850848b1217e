/* ratelimit.h — GCRA state in memcached, shared by every worker and host. */
#ifndef GH_RATELIMIT_H
#define GH_RATELIMIT_H

#include "gcra.h"
#include "cache.h"

struct mc;

enum rl_outcome { RL_PASS, RL_REJECT, RL_BYPASS };

/* bucket names the limit, who the client (IP or key id). RL_BYPASS: memcached could not be used
 * (fail open). */
enum rl_outcome ratelimit_check(struct mc *mc, const char *bucket, const struct gcra_rule *rule, const char *who,
                                uint64_t now, struct gcra_result *res);

/* The memcached key of a rule's state for who (what ratelimit_check reads), for a caller that
 * fetches it together with other keys in one round trip. */
void ratelimit_key(char key[200], const char *bucket, const char *who);
/* ratelimit_check starting from a state already read with its CAS value (st MC_OK or MC_MISS; the
 * value in cur): no read of its own unless another worker changed the state in between. */
enum rl_outcome ratelimit_check_from(struct mc *mc, const char *bucket, const struct gcra_rule *rule,
                                     const char *who, uint64_t now, struct gcra_result *res,
                                     enum mc_status st, const struct buf *cur, uint64_t cas);

/* Whether a request would pass now, spending nothing: for limits that count only some outcomes
 * (failed logins) — peek first, then ratelimit_check() when the outcome is one that counts. */
enum rl_outcome ratelimit_peek(struct mc *mc, const char *bucket, const struct gcra_rule *rule, const char *who,
                               uint64_t now, struct gcra_result *res);

#endif
