/* test_routes.h — routes served only with test_routes = on: they exercise the dispatcher's
 * rules (auth per family, limits, caching, bodies) for the test suite and the benchmarks. */
#ifndef GH_API_TEST_ROUTES_H
#define GH_API_TEST_ROUTES_H

#include "family.h"

struct request;

extern const struct family family_test;

int test_ping(struct request *r);
int test_query(struct request *r);
int test_session(struct request *r);
int test_bump(struct request *r);
int test_echo(struct request *r);
int test_whoami(struct request *r);
int test_sleep(struct request *r);
int test_fail(struct request *r);

#endif
