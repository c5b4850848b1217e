/* fuzz_cron — the scheduler's schedule input (POST/PATCH /scheduler/jobs): cron_parse and cron_next
 * on the bytes as an expression, schedule_parse for every type with the bytes as schedule_config
 * JSON and with {"cron_expression": bytes}, schedule_next of what parses. Invariants: the next run is
 * later than `after`, on a whole minute, and a normalised config parses again to the same text. */
#include "fuzz.h"
#include "scheduler/schedule.h"

#include <json-c/json.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

static const int64_t instants[] = {
    0, 1767225600 /* 2026-01-01 */, 1709164799 /* 2024-02-28T23:59:59 */, -1, 253402300000LL, 951782400 /* 2000-02-29 */,
};

static void check_next(int64_t next, int64_t after, const char *what)
{
    if (next == -1)
        return;
    FUZZ_CHECK(next > after, "%s: next %lld is not after %lld", what, (long long)next, (long long)after);
    FUZZ_CHECK(next % 60 == 0, "%s: next %lld is not on a minute", what, (long long)next);
}

static void cron_one(const char *expr)
{
    struct cron c;
    char err[256];
    if (!cron_parse(expr, &c, err, sizeof(err))) {
        FUZZ_CHECK(memchr(err, '\0', sizeof(err)) && err[0], "cron_parse failed without a message");
        return;
    }
    FUZZ_CHECK(!(c.minutes >> 60) && !(c.hours >> 24) && !(c.days & 1u) && !(c.months & 1u) && !(c.months >> 13) &&
                   !(c.weekdays >> 7), "cron bits out of range for '%s'", expr);
    for (size_t i = 0; i < ARRAY_LEN(instants); i++) {
        int64_t next = cron_next(&c, instants[i]);
        check_next(next, instants[i], expr);
        if (next != -1)   /* the one after that is later still */
            check_next(cron_next(&c, next), next, expr);
    }
}

static void schedule_one(enum schedule_type type, json_object *config)
{
    struct schedule s;
    json_object *norm = NULL;
    char err[256];
    if (!schedule_parse(type, config, &s, &norm, err, sizeof(err))) {
        FUZZ_CHECK(norm == NULL, "schedule_parse failed but returned a config");
        return;
    }
    FUZZ_CHECK(norm != NULL, "schedule_parse succeeded without a normalised config");
    for (size_t i = 0; i < ARRAY_LEN(instants); i++)
        check_next(schedule_next(&s, instants[i], instants[0]), instants[i], schedule_type_name(type));
    struct schedule s2;
    json_object *norm2 = NULL;
    FUZZ_CHECK(schedule_parse(type, norm, &s2, &norm2, err, sizeof(err)), "normalised config refused: %s", err);
    const char *a = json_object_to_json_string_ext(norm, JSON_C_TO_STRING_PLAIN);
    const char *b = json_object_to_json_string_ext(norm2, JSON_C_TO_STRING_PLAIN);
    FUZZ_CHECK(!strcmp(a, b), "normalising twice differs: %s vs %s", a, b);
    json_object_put(norm2);
    json_object_put(norm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    cron_one(text);

    json_tokener *tok = json_tokener_new_ex(32);
    json_object *config = json_tokener_parse_ex(tok, (const char *)data, (int)size);
    json_tokener_free(tok);
    static const enum schedule_type types[] = {SCHEDULE_DAILY, SCHEDULE_WEEKLY, SCHEDULE_INTERVAL, SCHEDULE_CRON};
    for (size_t i = 0; i < ARRAY_LEN(types); i++) {
        schedule_one(types[i], config);
        enum schedule_type t;
        char err[128];
        FUZZ_CHECK(schedule_type_parse(schedule_type_name(types[i]), &t, err, sizeof(err)) && t == types[i],
                   "schedule type name does not parse back");
    }
    json_object_put(config);

    json_object *wrapped = json_object_new_object();
    json_object_object_add(wrapped, "cron_expression", json_object_new_string_len(text, (int)strlen(text)));
    schedule_one(SCHEDULE_CRON, wrapped);
    json_object_put(wrapped);

    enum schedule_type t;
    char err[128];
    (void)schedule_type_parse(text, &t, err, sizeof(err));
    free(text);
    return 0;
}
