/* test_mikros_window.c — the analytics' windows (src/api/mikros/window.c): "the period ending now"
 * split into whole UTC days (rollups) and two raw edges, and the previous period of equal length. */
#include "unit.h"
#include "api/mikros/window.h"

#define DAY MIKROS_DAY_SECONDS
/* 2026-12-02T00:00:00Z */
#define MIDNIGHT 1796169600LL

static void a_window_ending_mid_day_has_two_raw_edges(void **state)
{
    (void)state;
    int64_t end = MIDNIGHT + 12 * 3600 + 34;
    struct mikros_window w = mikros_window_before(end, 30 * DAY, 0);
    assert_int_equal(w.end, end);
    assert_int_equal(w.start, end - 30 * DAY);
    /* the first whole day starts at the midnight after start; the last ends at today's midnight */
    assert_int_equal(w.whole_from, MIDNIGHT - 29 * DAY);
    assert_int_equal(w.whole_to, MIDNIGHT);
    assert_true(w.whole_from > w.start && w.whole_from - w.start < DAY);
    assert_true(w.end - w.whole_to < DAY);
}

static void a_window_on_midnights_is_all_whole_days(void **state)
{
    (void)state;
    struct mikros_window w = mikros_window_before(MIDNIGHT, 7 * DAY, 0);
    assert_int_equal(w.start, MIDNIGHT - 7 * DAY);
    assert_int_equal(w.whole_from, w.start);
    assert_int_equal(w.whole_to, MIDNIGHT);
}

static void the_previous_period_ends_where_the_current_starts(void **state)
{
    (void)state;
    int64_t end = MIDNIGHT + 5;
    struct mikros_window cur = mikros_window_before(end, 7 * DAY, 0), prev = mikros_window_before(end, 7 * DAY, 1);
    assert_int_equal(prev.end, cur.start);
    assert_int_equal(prev.end - prev.start, 7 * DAY);
    assert_int_equal(prev.whole_from, MIDNIGHT - 13 * DAY);
    assert_int_equal(prev.whole_to, MIDNIGHT - 7 * DAY);
}

static void a_window_shorter_than_a_day_is_all_raw(void **state)
{
    (void)state;
    /* 10:00 to 10:00 the next day never holds a whole day from midnight to midnight */
    struct mikros_window w = mikros_window_before(MIDNIGHT + 10 * 3600, DAY, 0);
    assert_int_equal(w.whole_from, w.end);
    assert_int_equal(w.whole_to, w.end);
    /* within one day */
    w = mikros_window_before(MIDNIGHT + 20 * 3600, 3600, 0);
    assert_int_equal(w.whole_from, w.end);
    assert_int_equal(w.whole_to, w.end);
}

static void a_leap_day_is_one_day_like_any_other(void **state)
{
    (void)state;
    /* 2028-03-01T06:00:00Z: the 2 days before hold 2028-02-29 whole */
    int64_t mar1 = 1835481600LL;
    struct mikros_window w = mikros_window_before(mar1 + 6 * 3600, 2 * DAY, 0);
    assert_int_equal(w.whole_from, mar1 - DAY);
    assert_int_equal(w.whole_to, mar1);
}

static void periods_are_the_specs_three(void **state)
{
    (void)state;
    assert_int_equal(mikros_period_seconds("7d"), 7 * DAY);
    assert_int_equal(mikros_period_seconds("30d"), 30 * DAY);
    assert_int_equal(mikros_period_seconds("90d"), 90 * DAY);
    assert_int_equal(mikros_period_seconds("1d"), 0);
    assert_int_equal(mikros_period_seconds(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_window_ending_mid_day_has_two_raw_edges),
        cmocka_unit_test(a_window_on_midnights_is_all_whole_days),
        cmocka_unit_test(the_previous_period_ends_where_the_current_starts),
        cmocka_unit_test(a_window_shorter_than_a_day_is_all_raw),
        cmocka_unit_test(a_leap_day_is_one_day_like_any_other),
        cmocka_unit_test(periods_are_the_specs_three),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
