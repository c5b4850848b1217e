/* schedule.h — the scheduler's four schedule types (CONTRACT 7.3): their config JSON, checked and
 * normalised, and the next run after an instant. Pure: no I/O, no clock; all times are Unix seconds, UTC. */
#ifndef GH_SCHEDULER_SCHEDULE_H
#define GH_SCHEDULER_SCHEDULE_H

#include "guildhall.h"
#include <json-c/json.h>

/* A parsed 5-field cron expression: one bit per allowed value. */
struct cron {
    uint64_t minutes;         /* bits 0..59 */
    uint32_t hours;           /* bits 0..23 */
    uint32_t days;            /* bits 1..31 */
    uint16_t months;          /* bits 1..12 */
    uint8_t weekdays;         /* bits 0..6, Sunday = 0 */
    bool days_restricted, weekdays_restricted;   /* the field did not start with '*' (for the OR rule) */
};

/* "minute hour day-of-month month day-of-week", as cron(8): lists, ranges, steps (`*`/15, 1-30/5,
 * and N/step = N-max/step), month names jan..dec and day names sun..sat (case-insensitive), day-of-week
 * 0 and 7 both Sunday. The macros @yearly @annually @monthly @weekly @daily @midnight @hourly are
 * accepted; @reboot is not. On failure err names the field:
 * "cron_expression: hour field: 25 is out of range 0-23". */
bool cron_parse(const char *expr, struct cron *out, char *err, size_t errlen) MUSTCHECK;

/* The first minute strictly after `after` that matches; -1 if none within 5 years (e.g. "0 0 31 2 *").
 * Day-of-month and day-of-week are OR-ed when both are restricted, AND-ed otherwise (cron(8)). */
int64_t cron_next(const struct cron *c, int64_t after);

enum schedule_type { SCHEDULE_DAILY, SCHEDULE_WEEKLY, SCHEDULE_INTERVAL, SCHEDULE_CRON };

struct schedule {
    enum schedule_type type;
    int hour, minute;          /* daily, weekly */
    uint8_t weekdays;          /* weekly: bits 0..6, Sunday = 0 */
    int64_t interval_s;        /* interval: hours*3600 + minutes*60, > 0 */
    struct cron cron;
};

/* "daily|weekly|interval|cron"; false with err for anything else. */
bool schedule_type_parse(const char *name, enum schedule_type *out, char *err, size_t errlen) MUSTCHECK;

/* The type's name as schedule_type_parse takes it. */
const char *schedule_type_name(enum schedule_type type);

/* Checks config (a JSON object, or NULL for {}) for the type, fills defaults, and on success sets
 * *normalized to a NEW object (the caller's to put) holding exactly the type's fields:
 *   daily    {"hour" 0-23 (8), "minute" 0-59 (0)}
 *   weekly   {"hour", "minute", "day_of_week" ("mon")}; day_of_week is a comma list of mon..sun or
 *            ranges of them (mon-fri), case-insensitive, returned deduplicated in week order "mon,wed,fri"
 *   interval {"hours" 0-8760 (1), "minutes" 0-59 (0)}, together at least one minute
 *   cron     {"cron_expression"} (required)
 * Unknown keys, wrong JSON types and out-of-range values fail with err naming the field:
 * "schedule_config.hour must be an integer 0-23". On failure *normalized is NULL. */
bool schedule_parse(enum schedule_type type, json_object *config, struct schedule *out, json_object **normalized,
                    char *err, size_t errlen) MUSTCHECK;

/* The next run strictly after `after`; -1 if none. Daily and weekly run at HH:MM:00. An interval runs
 * at anchor + k*interval_s for k >= 1 (the anchor is the creation or the last enable), so the result
 * is the first such instant after `after`. Cron: cron_next. */
int64_t schedule_next(const struct schedule *s, int64_t after, int64_t anchor);

#endif
