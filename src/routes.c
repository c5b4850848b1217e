/* routes.c — the families guildhall serves. A new family is one line here (and its folder). */
#include "guildhall.h"
#include "routes.h"
#include "config.h"
#include "envelope.h"
#include "keys.h"
#include "api/mikros/mikros.h"
#include "api/ops/ops.h"
#include "api/places/places.h"
#include "api/roblox/roblox.h"
#include "api/scheduler/jobs.h"
#include "api/test/test_routes.h"

static const struct family *const families[] = {
    &family_ops, &family_mikros, &family_places, &family_scheduler, &family_roblox, &family_test,
};

#define MAX_ROUTES 127   /* metrics keep one counter row per route (MAX_ROUTE_STATS) */

static struct route table[MAX_ROUTES];
static size_t table_len;

bool routes_declare_settings(void)
{
    for (size_t f = 0; f < ARRAY_LEN(families); f++)
        for (struct rate_limit *const *l = families[f]->limits; l && *l; l++)
            if (!config_declare((*l)->setting, (*l)->def, (*l)->help))
                return false;
    return true;
}

static bool family_has_limit(const struct family *f, const struct rate_limit *limit)
{
    for (struct rate_limit *const *l = f->limits; l && *l; l++)
        if (*l == limit)
            return true;
    return false;
}

static bool family_has_scopes(const struct family *f, const char *wanted)
{
    char alt[64];
    for (const char *p = wanted; p && *p;) {
        size_t n = strcspn(p, "|");
        bool found = false;
        snprintf(alt, sizeof(alt), "%.*s", (int)n, p);
        for (const char *const *s = f->scopes; s && *s && !found; s++)
            found = !strcmp(*s, alt);
        for (const char *const *s = f->caller_scopes; s && *s && !found; s++)
            found = !strcmp(*s, alt);
        if (!found)
            return false;
        p = p[n] ? p + n + 1 : NULL;
    }
    return true;
}

static bool check_route(const struct family *f, const struct route *r, char *err, size_t errlen)
{
    if (!route_path_valid(r->path, err, errlen))
        return false;
    if (r->auth && !family_has_scopes(f, r->auth)) {
        snprintf(err, errlen, "route %s %s: scope '%s' is not declared by family %s", r->method, r->path, r->auth,
                 f->name);
        return false;
    }
    for (int i = 0; i < MAX_ROUTE_LIMITS && r->limits[i]; i++)
        if (!family_has_limit(f, r->limits[i])) {
            snprintf(err, errlen, "route %s %s: limit %s is not in family %s's list", r->method, r->path,
                     r->limits[i]->setting, f->name);
            return false;
        }
    return true;
}

bool routes_init(const struct config *cfg, char *err, size_t errlen)
{
    for (size_t f = 0; f < ARRAY_LEN(families); f++)
        for (struct rate_limit *const *l = families[f]->limits; l && *l; l++) {
            const char *spec = config_declared(cfg, (*l)->setting);
            if (!spec || !gcra_parse_rule(spec, &(*l)->rule)) {
                snprintf(err, errlen, "%s: expected LIMIT/SECONDS[/BURST], got '%s'", (*l)->setting,
                         spec ? spec : "");
                return false;
            }
        }
    table_len = 0;
    for (size_t f = 0; f < ARRAY_LEN(families); f++)
        for (size_t i = 0; i < families[f]->n_routes; i++) {
            const struct route *r = &families[f]->routes[i];
            if (!check_route(families[f], r, err, errlen))
                return false;
            if ((r->flags & ROUTE_TEST_ONLY) && !cfg->test_routes)
                continue;
            if (table_len == MAX_ROUTES) {
                snprintf(err, errlen, "more than %d routes", MAX_ROUTES);
                return false;
            }
            table[table_len] = *r;
            table[table_len++].family = families[f];
        }
    return true;
}

const struct route *routes_table(size_t *n)
{
    *n = table_len;
    return table;
}

const struct family *const *routes_families(size_t *n)
{
    *n = ARRAY_LEN(families);
    return families;
}

const struct family *family_for_path(const char *path)
{
    const struct family *best = &family_generic;
    size_t best_len = 0;
    for (size_t f = 0; f < ARRAY_LEN(families); f++)
        for (const char *const *p = families[f]->prefixes; p && *p; p++) {
            size_t n = strlen(*p);
            if (n > best_len && !strncmp(path, *p, n) && (path[n] == '\0' || path[n] == '/')) {
                best = families[f];
                best_len = n;
            }
        }
    return best;
}

int family_index(const struct family *f)
{
    for (size_t i = 0; i < ARRAY_LEN(families); i++)
        if (families[i] == f)
            return (int)i + 1;
    return 0;
}

const char *routes_all_scopes(void)
{
    static char list[512];
    if (list[0])
        return list;
    size_t used = 0;
    for (size_t f = 0; f < ARRAY_LEN(families); f++)
        for (const char *const *s = families[f]->scopes; s && *s; s++) {
            if (scopes_include(list, *s))
                continue;
            int w = snprintf(list + used, sizeof(list) - used, "%s%s", used ? "," : "", *s);
            if (w > 0 && (size_t)w < sizeof(list) - used)
                used += (size_t)w;
        }
    return list;
}
