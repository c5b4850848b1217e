/* routes.h — the list of families, and the one route table built from their rows. */
#ifndef GH_ROUTES_H
#define GH_ROUTES_H

#include "family.h"
#include "router.h"

struct config;

/* Declares every family's rate-limit settings (config_declare); call once before config_load. */
bool routes_declare_settings(void) MUSTCHECK;
/* Builds the table (test-only rows when test_routes is on), applies the configured rate limits
 * and checks every row: path types known, scopes declared by the family, limits its own.
 * Returns false with a message otherwise. */
bool routes_init(const struct config *cfg, char *err, size_t errlen) MUSTCHECK;
const struct route *routes_table(size_t *n);

const struct family *const *routes_families(size_t *n);
/* Which family owns a path no route matched, by its longest prefix (family_generic when none). */
const struct family *family_for_path(const char *path);
/* 0 for family_generic, 1 + its place in the list otherwise (the metrics index). */
int family_index(const struct family *f);
/* Every scope some family declares, comma-separated in list order ("mikros,mikros_ingest,…"). */
const char *routes_all_scopes(void);

#endif
