/* cors.h — browsers on another origin (CONTRACT 5.1). A family's public GETs (family
 * .public_reads_cors) are readable from any origin; every other route only from the origins of the
 * cors_origins setting, which are also the only ones whose preflights are answered. */
#ifndef GH_CORS_H
#define GH_CORS_H

struct request;
struct route;

/* An OPTIONS request with Access-Control-Request-Method for a path the table knows (allow: the
 * path's methods): answers the preflight, 204 with the CORS headers, or 403 without any. */
void cors_preflight(struct request *r, const struct route *table, size_t n, const char *allow);

/* Adds the CORS headers an answer of r->route carries for r->origin (none for a browser-less
 * caller of a route that is not public). */
void cors_headers(struct request *r);

/* Whether origin is one of list's comma- or blank-separated entries (exactly, as browsers send it). */
bool cors_origin_listed(const char *list, const char *origin);

#endif
