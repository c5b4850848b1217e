/* auth.c — key lookup. The cached record holds the secret's hash, never the secret. */
#include "guildhall.h"
#include "auth.h"
#include "cache.h"
#include "config.h"
#include "db.h"
#include "keys.h"
#include "metrics.h"
#include "request.h"

#include <strings.h>

DB_STMT(select_key, 1, true,
        "SELECT encode(secret_hash, 'hex'), array_to_string(scopes, ','), revoked_at IS NOT NULL, "
        "coalesce(subject_type || ':' || subject_id, '-') FROM api_keys WHERE id = $1");

/* Cached record: "<64 hex hash> <revoked 0|1> <scopes> <subject>", or "-" for an unknown id.
 * The subject ("user:<uuid>", "agent:<uuid>" or "-") is who a places_user/places_agent key acts as. */
static bool lookup(struct request *r, const char *id, struct buf *rec)
{
    char mkey[32];
    snprintf(mkey, sizeof(mkey), "key:%s", id);
    if (mc_get(r->svc->mc, mkey, rec) == MC_OK)
        return true;
    const char *params[] = {id};
    PGresult *res = query(r, &select_key, params);
    if (!res)
        return false;
    buf_reset(rec);
    if (PQntuples(res) == 1)
        buf_printf(rec, "%s %d %s %s", PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 2)[0] == 't', PQgetvalue(res, 0, 1),
                   PQgetvalue(res, 0, 3));
    else
        buf_puts(rec, "-");
    PQclear(res);
    int ttl = r->svc->cfg->key_cache_seconds;
    if (ttl > 0)
        mc_set(r->svc->mc, mkey, rec->data, rec->len, ttl);
    return true;
}

const char *auth_bearer(const struct request *r)
{
    const char *h = r->authorization;
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    return *h ? h : NULL;
}

static const char *presented_key(const struct request *r)
{
    return r->route->family->key_header == KEY_X_API_KEY ? r->api_key_header : auth_bearer(r);
}

/* A route's scope may list alternatives ("places_user|places_agent"). */
static bool route_scope_allowed(const char *wanted, const char *scopes)
{
    char alt[64];
    for (const char *p = wanted; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        snprintf(alt, sizeof(alt), "%.*s", (int)n, p);
        if (scopes_include(scopes, alt))
            return true;
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

bool auth_refuse(struct request *r, int status, const char *msg)
{
    if (status == 401)
        metrics_count(r->svc, M_AUTH_FAILURES);
    fail(r, status, "%s", msg);
    if (status == 401 && r->route->family->key_header == KEY_BEARER)
        add_header(r, "WWW-Authenticate: Bearer");
    return false;
}

bool auth_check(struct request *r)
{
    if (r->route->family->authenticate)
        return r->route->family->authenticate(r);
    return auth_check_key(r, presented_key(r), r->route->auth);
}

bool auth_check_key(struct request *r, const char *key, const char *wanted)
{
    const char *secret;
    char id[KEY_ID_LEN + 1];
    uint8_t stored[KEY_HASH_LEN];
    struct buf rec = {0};
    bool ok = false;

    if (!key)
        return auth_refuse(r, 401, r->route->family->key_header == KEY_X_API_KEY ? "Missing X-API-Key header"
                                                                             : "Missing Authorization: Bearer API key");
    if (!key_parse(key, id, &secret))
        return auth_refuse(r, 401, "Invalid API key");
    if (!lookup(r, id, &rec))
        goto out;   /* query() already replied 503/500 */
    if (rec.len < 2 * KEY_HASH_LEN + 4 || rec.data[0] == '-' ||
        key_hash_from_hex(rec.data, stored) == false || !key_verify(secret, stored)) {
        auth_refuse(r, 401, "Invalid API key");
        goto out;
    }
    if (rec.data[2 * KEY_HASH_LEN + 1] == '1') {
        auth_refuse(r, 401, "API key has been revoked");
        goto out;
    }
    char *scopes = rec.data + 2 * KEY_HASH_LEN + 3, *subject = strchr(scopes, ' ');
    if (subject) {
        *subject++ = '\0';
        if (strcmp(subject, "-") != 0)
            r->key_subject = xstrdup(subject);
    }
    if (!route_scope_allowed(wanted, scopes)) {
        fail(r, 403, "API key lacks the '%s' scope", wanted);
        goto out;
    }
    memcpy(r->key_id, id, sizeof(r->key_id));
    r->key_scopes = xstrdup(scopes);
    ok = true;
out:
    buf_free(&rec);
    return ok;
}
