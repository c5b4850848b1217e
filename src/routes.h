/* routes.h — the route table: the map of the API. */
#ifndef GH_ROUTES_H
#define GH_ROUTES_H

#include "router.h"

struct config;

/* Builds the table (production routes, then the test routes when enabled) and applies the
 * configured rate limits. Returns false with a message when a limit setting is malformed. */
bool routes_init(const struct config *cfg, char *err, size_t errlen) MUSTCHECK;
const struct route *routes_table(size_t *n);
/* Production routes only (what --print-routes prints and the OpenAPI document must match). */
size_t routes_production_count(void);

#endif
