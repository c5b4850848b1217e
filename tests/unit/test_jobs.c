/* test_jobs.c — bot_config validation and the defaults of CONTRACT 7.3; the JSON Merge Patch a
 * partial update applies to the stored configs (RFC 7396). */
#include "unit.h"
#include "api/scheduler/jobs.h"

static char *config(const char *bot, const char *given_json, char *err)
{
    json_object *given = given_json ? json_tokener_parse(given_json) : NULL;
    json_object *out = scheduler_bot_config(bot, given, err, 256);
    char *text = out ? xstrdup(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN)) : NULL;
    json_object_put(out);
    json_object_put(given);
    return text;
}

static void defaults_are_filled(void **state)
{
    char err[256];
    char *b = config("birthday", NULL, err), *v = config("visitor", "{}", err);
    assert_string_equal(b, "{\"dry_run\":false,\"process_late\":false,\"max_days_late\":7,\"max_messages_per_run\":10}");
    assert_string_equal(v, "{\"dry_run\":false,\"limit\":50}");
    free(b);
    free(v);
}

static void given_values_are_kept(void **state)
{
    char err[256];
    char *b = config("birthday", "{\"dry_run\":true,\"max_days_late\":365}", err);
    assert_string_equal(b, "{\"dry_run\":true,\"process_late\":false,\"max_days_late\":365,\"max_messages_per_run\":10}");
    free(b);
}

static void bad_values_name_the_field(void **state)
{
    const struct { const char *bot, *json, *field; } cases[] = {
        {"birthday", "{\"max_days_late\":0}", "bot_config.max_days_late"},
        {"birthday", "{\"max_days_late\":366}", "bot_config.max_days_late"},
        {"birthday", "{\"max_messages_per_run\":0}", "bot_config.max_messages_per_run"},
        {"birthday", "{\"dry_run\":\"yes\"}", "bot_config.dry_run"},
        {"visitor", "{\"limit\":501}", "bot_config.limit"},
        {"visitor", "{\"limit\":1.5}", "bot_config.limit"},
        {"visitor", "{\"process_late\":true}", "bot_config.process_late"},
        {"visitor", "[]", "bot_config"},
        {"mailer", "{}", "bot_type"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char err[256] = "";
        assert_null(config(cases[i].bot, cases[i].json, err));
        assert_non_null(strstr(err, cases[i].field));
    }
}

static char *merged(const char *target_json, const char *patch_json)
{
    json_object *target = json_tokener_parse(target_json), *patch = json_tokener_parse(patch_json);
    json_object *out = scheduler_merge_patch(target, patch);
    char *text = xstrdup(out ? json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN) : "null");
    json_object_put(out);
    json_object_put(target);
    json_object_put(patch);
    return text;
}

/* RFC 7396 appendix A, and what a partial update does with a stored bot_config. */
static void merge_patch_follows_rfc_7396(void **state)
{
    const struct { const char *target, *patch, *result; } cases[] = {
        {"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
        {"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
        {"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
        {"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}"},
        {"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
        {"[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"},
        {"{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"},
        {"{\"a\":\"foo\"}", "\"bar\"", "\"bar\""},
        {"{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"},
        {"[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"},
        {"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
        {"{\"dry_run\":true,\"limit\":50}", "{\"limit\":500}", "{\"dry_run\":true,\"limit\":500}"},
        {"{\"dry_run\":true,\"limit\":50}", "{}", "{\"dry_run\":true,\"limit\":50}"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char *got = merged(cases[i].target, cases[i].patch);
        assert_string_equal(got, cases[i].result);
        free(got);
    }
    /* a JSON null patch: the member goes (the caller fills its defaults) */
    json_object *target = json_tokener_parse("{\"a\":1}");
    assert_null(scheduler_merge_patch(target, NULL));
    /* the target is not changed */
    json_object *patch = json_tokener_parse("{\"a\":null,\"b\":2}"), *out = scheduler_merge_patch(target, patch);
    assert_string_equal(json_object_to_json_string_ext(target, JSON_C_TO_STRING_PLAIN), "{\"a\":1}");
    assert_string_equal(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN), "{\"b\":2}");
    json_object_put(out);
    json_object_put(patch);
    json_object_put(target);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_filled),
        cmocka_unit_test(given_values_are_kept),
        cmocka_unit_test(bad_values_name_the_field),
        cmocka_unit_test(merge_patch_follows_rfc_7396),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
