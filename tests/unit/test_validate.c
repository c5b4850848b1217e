/* test_validate.c — query-string validation: integers, clamping, enums, timestamps, defaults. */
#include "unit.h"
#include "router.h"

static const char *const cats[] = {"admin", "security", "user_action", NULL};
static const struct qparam spec[] = {
    {"limit", Q_INT, "50", 1, 500, false, NULL},
    {"category", Q_ENUM, NULL, 0, 0, false, cats},
    {"before", Q_TIMESTAMP, NULL, 0, 0, false, NULL},
    {"name", Q_STRING, NULL, 0, 8, false, NULL},
    {"flag", Q_BOOL, "false", 0, 0, false, NULL},
    {NULL, 0, NULL, 0, 0, false, NULL},
};
static const struct qparam strict[] = {
    {"limit", Q_INT, "50", 1, 200, true, NULL},
    {"since_id", Q_INT, NULL, 0, 1000, false, NULL},
    {NULL, 0, NULL, 0, 0, false, NULL},
};

static const struct qparam discord[] = {
    {"server_id", Q_SNOWFLAKE, NULL, 0, 0, false, NULL},
    {NULL, 0, NULL, 0, 0, false, NULL},
};

static bool check(const struct qparam *s, const char *q, struct qvalue *v, char *err)
{
    return query_validate(s, q, v, err, 256);
}

static void defaults_fill_absent_parameters(void **state)
{
    struct qvalue v[MAX_QPARAMS];
    char err[256];
    assert_true(check(spec, "", v, err));
    assert_true(v[0].present);
    assert_int_equal(v[0].i, 50);
    assert_false(v[1].present);
    assert_int_equal(v[4].i, 0);
    query_values_free(spec, v);
}

static void integers_are_validated_and_clamped(void **state)
{
    struct qvalue v[MAX_QPARAMS];
    char err[256];
    assert_true(check(spec, "limit=7", v, err));
    assert_int_equal(v[0].i, 7);
    query_values_free(spec, v);
    assert_true(check(spec, "limit=100000", v, err));
    assert_int_equal(v[0].i, 500);
    query_values_free(spec, v);
    assert_true(check(spec, "limit=99999999999999999999999", v, err));
    assert_int_equal(v[0].i, 500);
    query_values_free(spec, v);
    const char *bad[] = {"limit=0", "limit=-1", "limit=abc", "limit=", "limit=1.5", "limit=12x", "limit=+3"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        assert_false(check(spec, bad[i], v, err));
        assert_non_null(strstr(err, "limit"));
        query_values_free(spec, v);
    }
}

static void strict_maximum_is_an_error(void **state)
{
    struct qvalue v[MAX_QPARAMS];
    char err[256];
    assert_false(check(strict, "limit=201", v, err));
    assert_non_null(strstr(err, "between 1 and 200"));
    query_values_free(strict, v);
    assert_true(check(strict, "limit=200&since_id=0", v, err));
    assert_int_equal(v[1].i, 0);
    query_values_free(strict, v);
}

static void snowflakes_are_15_to_21_digits(void **state)
{
    struct qvalue v[MAX_QPARAMS];
    char err[256];
    assert_true(check(discord, "server_id=123456789012345678", v, err));
    assert_string_equal(v[0].s, "123456789012345678");
    query_values_free(discord, v);
    const char *bad[] = {"server_id=12345678901234", "server_id=1234567890123456789012", "server_id=12345678901234567x",
                         "server_id=", "server_id=-12345678901234567"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        assert_false(check(discord, bad[i], v, err));
        assert_string_equal(err, "Invalid parameter: server_id must be a Discord id (15 to 21 digits)");
        query_values_free(discord, v);
    }
}

static void enums_name_the_accepted_values(void **state)
{
    struct qvalue v[MAX_QPARAMS];
    char err[256];
    assert_true(check(spec, "category=security", v, err));
    assert_string_equal(v[1].s, "security");
    query_values_free(spec, v);
    assert_false(check(spec, "category=nope", v, err));
    assert_non_null(strstr(err, "admin, security, user_action"));
    query_values_free(spec, v);
}

static void timestamps_accept_offsets_and_convert_to_utc(void **state)
{
    uint64_t us;
    assert_true(parse_timestamp("2024-01-01T00:00:00.000Z", &us));
    assert_int_equal(us, 1704067200000000ULL);
    assert_true(parse_timestamp("2024-01-01T02:00:00+02:00", &us));
    assert_int_equal(us, 1704067200000000ULL);
    assert_true(parse_timestamp("2024-02-29", &us));
    assert_false(parse_timestamp("2023-02-29", &us));
    assert_false(parse_timestamp("2024-13-01T00:00:00Z", &us));
    assert_false(parse_timestamp("yesterday", &us));
    assert_false(parse_timestamp("2024-01-01T00:00:00Zjunk", &us));
    /* an offset cut short inside its hours (found by fuzz_query: it read past the string) */
    const char *cut[] = {"2025-01-27T12:00-", "2025-01-27T12:00+1", "2025-01-27T12:00:00+", "2025-01-27T12:00+01:"};
    for (size_t i = 0; i < ARRAY_LEN(cut); i++) {
        char *exact = xstrdup(cut[i]);   /* its own allocation, so ASan sees a read past the end */
        assert_false(parse_timestamp(exact, &us));
        free(exact);
    }
}

static void strings_are_decoded_and_bounded(void **state)
{
    struct qvalue v[MAX_QPARAMS];
    char err[256];
    assert_true(check(spec, "name=a%20b+c", v, err));
    assert_string_equal(v[3].s, "a b c");
    query_values_free(spec, v);
    assert_false(check(spec, "name=123456789", v, err));
    query_values_free(spec, v);
    assert_false(check(spec, "name=%zz", v, err));
    query_values_free(spec, v);
}

/* Regression: a query value that is not UTF-8 went to PostgreSQL and came back a 500. */
static void invalid_utf8_in_a_text_value_is_refused_naming_it(void **state)
{
    struct qvalue v[MAX_QPARAMS];
    char err[256];
    assert_false(check(spec, "name=%ff", v, err));
    assert_string_equal(err, "Invalid parameter: name must be valid UTF-8");
    query_values_free(spec, v);
    assert_false(check(spec, "name=ab%c3", v, err));
    assert_non_null(strstr(err, "name must be valid UTF-8"));
    query_values_free(spec, v);
    assert_false(check(spec, "category=%ed%a0%80", v, err));   /* a UTF-16 surrogate, encoded */
    assert_string_equal(err, "Invalid parameter: category must be valid UTF-8");
    query_values_free(spec, v);
    assert_true(check(spec, "name=%c3%a9t%c3%a9", v, err));
    assert_string_equal(v[3].s, "\xc3\xa9t\xc3\xa9");
    query_values_free(spec, v);
}

static void canonical_form_is_order_independent(void **state)
{
    struct qvalue v[MAX_QPARAMS];
    char err[256];
    struct buf a = {0}, b = {0};
    assert_true(check(spec, "category=admin&limit=3", v, err));
    query_canonical(spec, v, &a);
    query_values_free(spec, v);
    assert_true(check(spec, "limit=3&unknown=1&category=admin&flag=0", v, err));
    query_canonical(spec, v, &b);
    query_values_free(spec, v);
    assert_string_equal(a.data, b.data);
    assert_string_equal(a.data, "limit=3&category=admin&flag=false");
    buf_free(&a);
    buf_free(&b);
}

/* The canonical form is a cache key: two different queries must never share one. */
static void canonical_form_encodes_values(void **state)
{
    struct qvalue v[MAX_QPARAMS];
    char err[256];
    struct buf a = {0}, b = {0};
    assert_true(check(spec, "name=x%26flag%3D1", v, err));   /* one name, "x&flag=1" */
    query_canonical(spec, v, &a);
    query_values_free(spec, v);
    assert_true(check(spec, "name=x&flag=1", v, err));
    query_canonical(spec, v, &b);
    query_values_free(spec, v);
    assert_string_not_equal(a.data, b.data);
    assert_string_equal(a.data, "limit=50&name=x%26flag%3D1&flag=false");
    buf_free(&a);
    buf_reset(&b);
    assert_true(check(spec, "name=%c3%a9+%25", v, err));
    query_canonical(spec, v, &b);
    query_values_free(spec, v);
    assert_string_equal(b.data, "limit=50&name=%C3%A9%20%25&flag=false");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_fill_absent_parameters),
        cmocka_unit_test(integers_are_validated_and_clamped),
        cmocka_unit_test(strict_maximum_is_an_error),
        cmocka_unit_test(snowflakes_are_15_to_21_digits),
        cmocka_unit_test(enums_name_the_accepted_values),
        cmocka_unit_test(timestamps_accept_offsets_and_convert_to_utc),
        cmocka_unit_test(strings_are_decoded_and_bounded),
        cmocka_unit_test(invalid_utf8_in_a_text_value_is_refused_naming_it),
        cmocka_unit_test(canonical_form_is_order_independent),
        cmocka_unit_test(canonical_form_encodes_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
