/* dispatch.c — the one path every request takes. */
#include "guildhall.h"
#include "dispatch.h"
#include "auth.h"
#include "body.h"
#include "cache.h"
#include "config.h"
#include "cors.h"
#include "db.h"
#include "envelope.h"
#include "idempotency.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "representation.h"
#include "request.h"
#include "routes.h"
#include "schema.h"

#include <sodium.h>
#include <unistd.h>

DB_STMT(insert_error_outbox, 3, false,
        "INSERT INTO outbox (kind, payload) VALUES ('error_webhook', jsonb_build_object('embeds', "
        "jsonb_build_array(jsonb_build_object('title', 'Critical Error', 'description', $1::text, "
        "'color', 16711680, 'fields', jsonb_build_array("
        "jsonb_build_object('name', 'Error Type', 'value', 'InternalError', 'inline', true), "
        "jsonb_build_object('name', 'Route', 'value', $2::text, 'inline', true), "
        "jsonb_build_object('name', 'Request Id', 'value', $3::text, 'inline', false)), "
        "'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')))))");

static const char *client_id(const struct request *r, const struct rate_limit *limit)
{
    if (limit->by == RL_BY_KEY && r->key_id[0])
        return r->key_id;
    return r->remote_addr ? r->remote_addr : "-";
}

static void rate_headers(struct request *r, const struct rate_limit *limit, const struct gcra_result *g)
{
    add_header(r, "X-RateLimit-Limit: %ld", limit->rule.limit);
    add_header(r, "X-RateLimit-Remaining: %ld", g->remaining);
    add_header(r, "X-RateLimit-Reset: %llu", (unsigned long long)g->reset_s);
}

/* Whether this worker's rate limits are failing open (memcached unreachable): logged once when it
 * starts and once when it ends, not once per request. */
static bool failing_open;

static void note_failopen(bool now_failing, const char *setting)
{
    if (now_failing == failing_open)
        return;
    failing_open = now_failing;
    if (now_failing)
        log_warn("rate limits failing open: memcached unavailable (first skipped: %s)", setting);
    else
        log_warn("rate limits recovered: memcached answers again");
}

/* What a cacheable public GET reads from memcached in one round trip before its limits run: each
 * per-IP rule's GCRA state with its CAS value (slot i for route->limits[i]) and the cached answer
 * with its generation counter (slots CACHE_SLOT and GEN_SLOT). The limits then cost one write each
 * and a hit nothing more: two round trips instead of three, and the limits as exact as before. */
enum { CACHE_SLOT = MAX_ROUTE_LIMITS, GEN_SLOT, PREFETCH_SLOTS };
struct prefetch {
    bool limit_read[MAX_ROUTE_LIMITS];
    bool cache_read;
    struct buf vals[PREFETCH_SLOTS];
    enum mc_status st[PREFETCH_SLOTS];
    uint64_t cas[PREFETCH_SLOTS];
};

static void prefetch_free(struct prefetch *pf)
{
    for (int i = 0; i < PREFETCH_SLOTS; i++)
        buf_free(&pf->vals[i]);
}

/* Every rule of the given kind must pass; headers describe the rule closest to refusing. Per-IP
 * rules run before authentication (so refused callers are counted too), per-key rules after it. */
static bool apply_rate_limits(struct request *r, enum rl_key by, const struct prefetch *pf)
{
    const struct rate_limit *shown = NULL;
    struct gcra_result shown_res = {0};
    uint64_t now = now_us();
    for (int i = 0; i < MAX_ROUTE_LIMITS && r->route->limits[i]; i++) {
        const struct rate_limit *rule = r->route->limits[i];
        if (rule->by != by)
            continue;
        struct gcra_result g;
        enum rl_outcome o = pf && pf->limit_read[i]
                                ? ratelimit_check_from(r->svc->mc, rule->bucket, &rule->rule, client_id(r, rule), now,
                                                       &g, pf->st[i], &pf->vals[i], pf->cas[i])
                                : ratelimit_check(r->svc->mc, rule->bucket, &rule->rule, client_id(r, rule), now, &g);
        if (o == RL_BYPASS) {
            metrics_count(r->svc, M_RL_FAILOPEN);
            note_failopen(true, rule->setting);
            log_debug("rate limit %s skipped: memcached unavailable", rule->setting);
            continue;
        }
        note_failopen(false, rule->setting);
        if (o == RL_REJECT) {
            metrics_count(r->svc, M_RL_REJECTED);
            fail(r, 429, "Rate limit exceeded: retry in %ld seconds", g.retry_after_s);
            rate_headers(r, rule, &g);
            add_header(r, "Retry-After: %ld", g.retry_after_s);
            return false;
        }
        if (!shown || g.remaining < shown_res.remaining) {
            shown = rule;
            shown_res = g;
        }
    }
    if (shown)
        rate_headers(r, shown, &shown_res);
    return true;
}

static bool read_and_decode_body(struct request *r)
{
    long max = r->route->max_body ? r->route->max_body : r->svc->cfg->max_body_bytes;
    if (r->content_length > max) {
        fail(r, 413, "Request body exceeds %ld bytes", max);
        return false;
    }
    struct buf raw = {0};
    char chunk[16384];
    long got;
    while ((long)raw.len < r->content_length &&
           (got = r->read_body(r, chunk, sizeof(chunk))) > 0) {
        if ((long)raw.len + got > max) {
            buf_free(&raw);
            fail(r, 413, "Request body exceeds %ld bytes", max);
            return false;
        }
        buf_append(&raw, chunk, (size_t)got);
    }
    char err[256], field[128];
    int status = body_decode_field(raw.data ? raw.data : "", raw.len, r->content_type, r->content_encoding, max,
                                   r->svc->cfg->json_max_depth, &r->body, field, sizeof(field), err, sizeof(err));
    buf_free(&raw);
    if (status) {
        if (field[0])
            fail_field(r, status, field, "%s", err);
        else
            fail(r, status, "%s", err);
        return false;
    }
    if (!r->body && (r->route->flags & ROUTE_JSON_BODY)) {
        fail(r, 400, "Request body is required");
        return false;
    }
    return true;
}

/* A cached response lives under "rc<format>:<hash of method, path and normalised query>" and records
 * the generation it was rendered under; it is fetched together with the route's generation counter in
 * one round trip and used only while the two agree. Stored as "<gen>\n<status>\n<type>\n<ETag stem>\n
 * <1: body is gzip, 0: as rendered>\n<Last-Modified, Unix seconds, 0: none>\n<header bytes>\n
 * <headers the handler added><body>" (the body as representation_render left it, so a gzip-accepting
 * client gets the stored bytes). The format number in the key keeps a new build from reading an
 * older build's entries. */
#define CACHE_ENTRY_FORMAT 3
struct cached {
    char key[64];
    size_t handler_headers;  /* where the handler's own headers start in r->headers */
    uint64_t generation;     /* current generation (0: the route has none) */
    bool usable;             /* memcached answered: the entry may be stored */
};

static void response_cache_key(struct request *r, char *key, size_t keylen)
{
    struct buf id = {0};
    buf_printf(&id, "%s %s?", r->route->method, r->path);
    query_canonical(r->route->query, r->q, &id);
    unsigned char h[16];
    char hex[33];
    crypto_generichash(h, sizeof(h), (const unsigned char *)id.data, id.len, NULL, 0);
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    buf_free(&id);
    snprintf(key, keylen, "rc%d:%s", CACHE_ENTRY_FORMAT, hex);
}

static void generation_key(const struct route *route, char *key, size_t len)
{
    snprintf(key, len, "gen:%s", route->cache->generation ? route->cache->generation : "");
}

/* Reads the route's cached answer (vals[0], st[0]) and its generation (vals[1], st[1]) from pf, or
 * fetches them now. */
static void read_cache(struct request *r, const struct cached *c, const struct prefetch *pf, struct buf *vals,
                       enum mc_status *st)
{
    if (pf && pf->cache_read) {
        for (int i = 0; i < 2; i++) {
            st[i] = pf->st[CACHE_SLOT + i];
            buf_append(&vals[i], pf->vals[CACHE_SLOT + i].data ? pf->vals[CACHE_SLOT + i].data : "",
                       pf->vals[CACHE_SLOT + i].len);
        }
        return;
    }
    char gen_key[96];
    generation_key(r->route, gen_key, sizeof(gen_key));
    const char *keys[2] = {c->key, gen_key};
    mc_get_multi(r->svc->mc, keys, r->route->cache->generation ? 2 : 1, vals, st, NULL);
}

static bool serve_from_cache(struct request *r, struct cached *c, const struct prefetch *pf)
{
    const char *gen_name = r->route->cache->generation;
    struct buf vals[2] = {{0}, {0}};
    enum mc_status st[2] = {MC_MISS, MC_MISS};
    bool hit = false;

    response_cache_key(r, c->key, sizeof(c->key));
    read_cache(r, c, pf, vals, st);
    if (st[0] == MC_ERROR || (gen_name && st[1] == MC_ERROR)) {
        metrics_count(r->svc, M_CACHE_ERROR);
        goto out;
    }
    c->usable = true;
    if (gen_name && st[1] == MC_OK)
        c->generation = strtoull(vals[1].data, NULL, 10);
    else if (gen_name && !cache_generation(r->svc->mc, gen_name, &c->generation))
        c->usable = false;
    if (st[0] != MC_OK) {
        metrics_count(r->svc, M_CACHE_MISS);
        goto out;
    }
    struct buf *v = &vals[0];
    enum { GEN, STATUS, TYPE, TAG, GZIPPED, LAST_MODIFIED, HEADER_BYTES, PAYLOAD, FIELDS };
    char *field[FIELDS] = {v->data};
    for (int i = 1; i < FIELDS && field[i - 1]; i++) {
        char *nl = memchr(field[i - 1], '\n', v->len - (size_t)(field[i - 1] - v->data));
        field[i] = nl ? nl + 1 : NULL;
    }
    char *payload = field[PAYLOAD];
    size_t hdr_len = payload ? strtoul(field[HEADER_BYTES], NULL, 10) : 0;
    if (!payload || hdr_len > v->len - (size_t)(payload - v->data) ||
        field[GZIPPED] - field[TAG] != REPRESENTATION_TAG_LEN + 1 ||
        strtoull(field[GEN], NULL, 10) != c->generation) {
        metrics_count(r->svc, M_CACHE_MISS);
        goto out;
    }
    metrics_count(r->svc, M_CACHE_HIT);
    r->status = atoi(field[STATUS]);
    field[TAG][-1] = '\0';
    snprintf(r->out_type_buf, sizeof(r->out_type_buf), "%s", field[TYPE]);
    r->out_type = r->out_type_buf;
    memcpy(r->out_tag, field[TAG], REPRESENTATION_TAG_LEN);
    r->out_tag[REPRESENTATION_TAG_LEN] = '\0';
    r->out_gzipped = field[GZIPPED][0] == '1';
    r->out_last_modified = strtoll(field[LAST_MODIFIED], NULL, 10);
    buf_append(&r->headers, payload, hdr_len);
    buf_reset(&r->out);
    buf_append(&r->out, payload + hdr_len, v->len - (size_t)(payload + hdr_len - v->data));
    hit = true;
out:
    buf_free(&vals[0]);
    buf_free(&vals[1]);
    return hit;
}

static void store_in_cache(struct request *r, const struct cached *c)
{
    struct buf v = {0};
    size_t hdr_len = r->headers.len - c->handler_headers;
    buf_printf(&v, "%llu\n%d\n%s\n%s\n%d\n%lld\n%zu\n", (unsigned long long)c->generation, r->status,
               r->out_type ? r->out_type : "application/json", r->out_tag, r->out_gzipped ? 1 : 0,
               (long long)r->out_last_modified, hdr_len);
    if (hdr_len)
        buf_append(&v, r->headers.data + c->handler_headers, hdr_len);
    buf_append(&v, r->out.data ? r->out.data : "", r->out.len);
    if (mc_set(r->svc->mc, c->key, v.data, v.len, r->route->cache->ttl_s) == MC_ERROR)
        metrics_count(r->svc, M_CACHE_ERROR);
    buf_free(&v);
}

/* A typed path parameter that is malformed: the family's status (CONTRACT 4), before the handler. */
static void reject_path_param(struct request *r)
{
    const struct family *f = r->route->family;
    if (f->bad_path_id_status == 404)
        fail(r, 404, "%s", r->route->not_found ? r->route->not_found : "Not found");
    else
        fail(r, f->bad_path_id_status, "Invalid parameter: %s must be %s", r->params.bad,
             path_type_noun(r->params.bad_type));
}

/* Checks the body against the route's schema and binds it for the handler (r->input). */
static bool bind_body(struct request *r)
{
    const struct body_schema *schema = r->route->body;
    struct field_error errs[16];
    int max = r->route->family->max_field_errors;
    r->input = xcalloc(1, schema->size);
    int n = body_bind(schema, r->body, r->input, NULL, errs, max < 1 ? 1 : max > 16 ? 16 : max);
    if (n > 0)
        fail_fields(r, errs, n);
    return n == 0;
}

static void report_server_error(struct request *r)
{
    if (!db_connected(r->svc->db))
        return;
    const char *params[] = {"A request failed with an internal error", r->route ? r->route->path : r->path,
                            r->request_id ? r->request_id : "-"};
    enum db_status st;
    PQclear(db_exec(r->svc->db, &insert_error_outbox, params, &st));
}

/* For a cacheable GET without authentication whose limits are all per IP (the public reads): fills
 * pf in one round trip (see struct prefetch). query_ok: the query is valid, so the answer's cache
 * key is known. */
static void prefetch_public_read(struct request *r, bool query_ok, struct prefetch *pf)
{
    const struct route *route = r->route;
    if (!route->cache || route->auth || strcmp(route->method, "GET") != 0)
        return;
    char rl_keys[MAX_ROUTE_LIMITS][200], cache_key[64], gen_key[96];
    const char *keys[PREFETCH_SLOTS];
    int slot_of[PREFETCH_SLOTS], n = 0;
    for (int i = 0; i < MAX_ROUTE_LIMITS && route->limits[i]; i++) {
        if (route->limits[i]->by != RL_BY_IP)
            return;
        ratelimit_key(rl_keys[i], route->limits[i]->bucket, client_id(r, route->limits[i]));
        slot_of[n] = i;
        keys[n++] = rl_keys[i];
    }
    if (query_ok) {
        response_cache_key(r, cache_key, sizeof(cache_key));
        generation_key(route, gen_key, sizeof(gen_key));
        slot_of[n] = CACHE_SLOT;
        keys[n++] = cache_key;
        if (route->cache->generation) {
            slot_of[n] = GEN_SLOT;
            keys[n++] = gen_key;
        }
    }
    struct buf vals[PREFETCH_SLOTS] = {{0}};
    enum mc_status st[PREFETCH_SLOTS];
    uint64_t cas[PREFETCH_SLOTS] = {0};
    mc_get_multi(r->svc->mc, keys, (size_t)n, vals, st, cas);
    for (int k = 0; k < n; k++) {
        pf->vals[slot_of[k]] = vals[k];
        pf->st[slot_of[k]] = st[k];
        pf->cas[slot_of[k]] = cas[k];
        if (slot_of[k] < MAX_ROUTE_LIMITS)
            pf->limit_read[slot_of[k]] = true;
    }
    pf->cache_read = query_ok;
}

static void serve_route(struct request *r, bool bad_path_param, struct prefetch *pf);

static void run_route(struct request *r)
{
    char allow[64];
    size_t n;
    const struct route *table = routes_table(&n);
    const struct route *route = NULL;
    enum match_result m = router_match(table, n, r->method, r->path, &route, &r->params, allow, sizeof(allow));
    /* ops internals are invisible on the public listener; the ops listener serves only them */
    if ((m == MATCH_OK || m == MATCH_BAD_PARAM) && (route->flags & ROUTE_OPS_ONLY) && !r->ops_listener)
        m = MATCH_NO_PATH;
    if ((m == MATCH_OK || m == MATCH_BAD_PARAM) && r->ops_listener && !route->family->ops_listener)
        m = MATCH_NO_PATH;
    if (m == MATCH_NO_PATH) {
        fail(r, 404, "Not found");
        return;
    }
    if (m == MATCH_BAD_METHOD && r->cors_request_method && !strcmp(r->method, "OPTIONS")) {
        cors_preflight(r, table, n, allow);
        return;
    }
    if (m == MATCH_BAD_METHOD) {
        fail(r, 405, "Method %s not allowed", r->method);
        add_header(r, "Allow: %s", allow);
        return;
    }
    r->route = route;
    r->route_index = (int)(route - table) + 1;
    r->svc->shm->slots[r->svc->slot].route = r->route_index;
    struct prefetch pf = {0};
    serve_route(r, m == MATCH_BAD_PARAM, &pf);
    prefetch_free(&pf);
}

/* The matched route: limits, authentication, inputs, the cache, the handler. */
static void serve_route(struct request *r, bool bad_path_param, struct prefetch *pf)
{
    const struct route *route = r->route;
    /* validated first, refused in its turn: a bad query still counts against the limits */
    char err[256];
    bool query_ok = query_validate(route->query, r->query, r->q, err, sizeof(err));
    if (route->limits[0])
        prefetch_public_read(r, query_ok && !bad_path_param, pf);
    if (route->limits[0] && !apply_rate_limits(r, RL_BY_IP, pf))
        return;
    if (route->auth && !auth_check(r))
        return;
    if (route->limits[0] && !apply_rate_limits(r, RL_BY_KEY, NULL))
        return;
    if (bad_path_param) {
        reject_path_param(r);
        return;
    }
    if (!query_ok) {
        fail(r, 400, "%s", err);
        return;
    }
    if ((route->flags & (ROUTE_JSON_BODY | ROUTE_OPTIONAL_BODY)) && !read_and_decode_body(r))
        return;
    /* from here every answer, a body's 400 included, is the one a replay gets */
    bool idempotent = r->idempotency_key && route->family->idempotent_posts && route->auth &&
                      !strcmp(r->method, "POST");   /* scoped to a caller: unauthenticated POSTs have none */
    if (idempotent && idempotency_begin(r) == IDEM_ANSWERED)
        return;
    if (route->body && !bind_body(r)) {
        if (idempotent)
            idempotency_finish(r);
        return;
    }

    struct cached c = {.usable = false};
    bool cacheable = route->cache && strcmp(r->method, "POST") != 0;
    if (cacheable && serve_from_cache(r, &c, pf)) {
        r->x_cache = "HIT";
        r->cache_control = route->cache->cache_control;
        representation_send(r);
        return;
    }
    r->status = 0;
    c.handler_headers = r->headers.len;
    if (route->handler(r) == 0 && r->status == 0)
        r->status = 200;
    if (idempotent)
        idempotency_finish(r);
    if (r->status >= 200 && r->status < 300)
        for (int i = 0; i < MAX_ROUTE_BUMPS && route->bumps[i]; i++)
            cache_bump_generation(r->svc->mc, route->bumps[i]);
    bool ok = r->status >= 200 && r->status < 300;
    if (ok && (cacheable || r->out_gzipped))
        representation_render(r);
    if (route->cache) {
        r->x_cache = "MISS";
        if (ok) {
            r->cache_control = route->cache->cache_control;
            if (cacheable && c.usable)
                store_in_cache(r, &c);
        }
    }
    if (ok && (cacheable || r->out_gzipped))
        representation_send(r);
}

void dispatch(struct request *r)
{
    r->start_us = monotonic_us();
    uint64_t mc_before = mc_round_trips(r->svc->mc);
    log_set_request_id(r->request_id);
    run_route(r);
    if (!r->status)
        fail(r, 500, "Internal error");
    if (r->status >= 500 && r->status != 503)
        report_server_error(r);
    cors_headers(r);
    metrics_add(r->svc, M_MC_ROUND_TRIPS, mc_round_trips(r->svc->mc) - mc_before);
    if (!r->cache_control)
        r->cache_control = "no-store";

    uint64_t dur = monotonic_us() - r->start_us;
    metrics_request(r->svc, r->route ? r->route_index : 0, family_index(request_family(r)), r->status, dur);
    if (log_enabled(LOG_INFO)) {
        char line[1024];
        snprintf(line, sizeof(line),
                 "%d:access rid=%s ip=%s method=%s path=\"%.300s\" route=\"%s\" status=%d dur_ms=%.3f cache=%s key=%s",
                 (int)log_pid(), r->request_id ? r->request_id : "-", r->remote_addr ? r->remote_addr : "-",
                 r->method, r->path, r->route ? r->route->path : "-", r->status, (double)dur / 1000.0,
                 r->x_cache ? r->x_cache : "-", r->key_id[0] ? r->key_id : "-");
        log_raw_line(line);
    }
    log_set_request_id(NULL);
}

void dispatch_render_head(struct request *r, struct buf *head)
{
    buf_printf(head, "Status: %d %s\r\n", r->status, http_reason(r->status));
    if (r->status != 204 && r->status != 304)
        buf_printf(head, "Content-Type: %s\r\nContent-Length: %zu\r\n",
                   r->out_type ? r->out_type : "application/json", r->out.len);
    if (r->request_id)
        buf_printf(head, "X-Request-Id: %s\r\n", r->request_id);
    buf_printf(head, "Cache-Control: %s\r\n", r->cache_control ? r->cache_control : "no-store");
    if (r->x_cache)
        buf_printf(head, "X-Cache: %s\r\n", r->x_cache);
    if (r->headers.len)
        buf_append(head, r->headers.data, r->headers.len);
    buf_puts(head, "\r\n");
}
