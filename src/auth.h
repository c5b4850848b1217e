/* auth.h — resolves a presented API key to its scopes: memcached first (key_cache_seconds),
 * PostgreSQL on a miss. */
#ifndef GH_AUTH_H
#define GH_AUTH_H

struct request;

/* Checks the route's scope. On failure replies 401/403 (503 when the key store is unreachable)
 * in the family's envelope and returns false. */
bool auth_check(struct request *r) MUSTCHECK;
/* The same for a guildhall key the caller found (NULL: missing) and the scope(s) wanted ("a|b"). */
bool auth_check_key(struct request *r, const char *key, const char *wanted) MUSTCHECK;
/* The credential in `Authorization: Bearer <x>` (scheme case-insensitive); NULL when none. */
const char *auth_bearer(const struct request *r);
/* Refuses as auth_check does (401 adds WWW-Authenticate for Bearer families); returns false. */
bool auth_refuse(struct request *r, int status, const char *msg);

#endif
