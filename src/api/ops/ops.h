/* ops.h — the ops family (spec 002 + CONTRACT 7.5): health, readiness, metrics, stats, audit log. */
#ifndef GH_API_OPS_H
#define GH_API_OPS_H

#include "family.h"

struct request;

extern const struct family family_ops;

int ops_health(struct request *r);
int ops_ready(struct request *r);
int ops_metrics(struct request *r);
int ops_stats(struct request *r);
int ops_logs(struct request *r);
int ops_api_health(struct request *r);

#endif
