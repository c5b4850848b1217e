/* cache.h — memcached: response cache, generation counters, rate-limit state and key lookups.
 * memcached may vanish at any time: every call fails fast and reads as a miss. */
#ifndef GH_CACHE_H
#define GH_CACHE_H

struct mc;

enum mc_status { MC_OK, MC_MISS, MC_EXISTS, MC_ERROR };

struct mc *mc_open(const char *servers, int timeout_ms);
void mc_close(struct mc *mc);
enum mc_status mc_get(struct mc *mc, const char *key, struct buf *out);
/* Fetches n keys (at most MC_MULTI_MAX) in one round trip; out[i], st[i] and (when cas is not NULL)
 * the CAS value cas[i] per key. */
#define MC_MULTI_MAX 8
void mc_get_multi(struct mc *mc, const char *const *keys, size_t n, struct buf *out, enum mc_status *st,
                  uint64_t *cas);
enum mc_status mc_gets(struct mc *mc, const char *key, struct buf *out, uint64_t *cas);
enum mc_status mc_set(struct mc *mc, const char *key, const void *val, size_t len, time_t ttl);
enum mc_status mc_add(struct mc *mc, const char *key, const void *val, size_t len, time_t ttl);
enum mc_status mc_cas(struct mc *mc, const char *key, const void *val, size_t len, time_t ttl, uint64_t cas);
enum mc_status mc_delete(struct mc *mc, const char *key);
enum mc_status mc_incr(struct mc *mc, const char *key, uint64_t *value);
bool mc_ping(struct mc *mc);
/* Calls sent to memcached so far (each attempt of each call; a multi-get is one). */
uint64_t mc_round_trips(const struct mc *mc);
int mc_server_count(struct mc *mc);

/* Generation counters: a cached response's key embeds its generation, so bumping it orphans them.
 * A missing counter starts at the current time in µs, which is larger than any earlier value, so an
 * evicted counter can never bring back stale entries. */
bool cache_generation(struct mc *mc, const char *name, uint64_t *gen);
bool cache_bump_generation(struct mc *mc, const char *name);

#endif
