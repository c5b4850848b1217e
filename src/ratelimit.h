/* ratelimit.h — GCRA state in memcached, shared by every worker and host. */
#ifndef GH_RATELIMIT_H
#define GH_RATELIMIT_H

#include "gcra.h"

struct mc;

enum rl_outcome { RL_PASS, RL_REJECT, RL_BYPASS };

/* bucket names the limit, who the client (IP or key id). RL_BYPASS: memcached could not be used
 * (fail open). */
enum rl_outcome ratelimit_check(struct mc *mc, const char *bucket, const struct gcra_rule *rule, const char *who,
                                uint64_t now, struct gcra_result *res);

/* Whether a request would pass now, spending nothing: for limits that count only some outcomes
 * (failed logins) — peek first, then ratelimit_check() when the outcome is one that counts. */
enum rl_outcome ratelimit_peek(struct mc *mc, const char *bucket, const struct gcra_rule *rule, const char *who,
                               uint64_t now, struct gcra_result *res);

#endif
