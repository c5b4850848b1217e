/* test_jobs.c — bot_config validation and the defaults of CONTRACT 7.3. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_filled),
        cmocka_unit_test(given_values_are_kept),
        cmocka_unit_test(bad_values_name_the_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
