/* jobs.h — the scheduler family's job API (spec 003 + CONTRACT 7.3). */
#ifndef GH_API_SCHEDULER_JOBS_H
#define GH_API_SCHEDULER_JOBS_H

#include <json-c/json.h>

#include "family.h"
#include "schema.h"

struct request;

extern const struct family family_scheduler;
extern const struct body_schema scheduler_create_body, scheduler_update_body, scheduler_toggle_body;

int scheduler_list_jobs(struct request *r);
int scheduler_get_job(struct request *r);
int scheduler_create_job(struct request *r);
int scheduler_update_job(struct request *r);
int scheduler_delete_job(struct request *r);
int scheduler_toggle_job(struct request *r);
int scheduler_run_job(struct request *r);
int scheduler_job_history(struct request *r);
int scheduler_health(struct request *r);

/* Validates a bot's config for its type and fills the defaults of CONTRACT 7.3; returns a new
 * object, or NULL with a message naming the field. Pure (tested in tests/unit/test_jobs.c). */
json_object *scheduler_bot_config(const char *bot_type, json_object *given, char *err, size_t errlen);

/* RFC 7396 JSON Merge Patch of patch over target (neither is changed): how a partial update's
 * bot_config and schedule_config apply to the stored ones. Returns a new reference (NULL when
 * patch is JSON null). Pure (tested in tests/unit/test_jobs.c). */
json_object *scheduler_merge_patch(json_object *target, json_object *patch);

#endif
