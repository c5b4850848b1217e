/* test_gcra.c — the burst and sustained-rate semantics of CONTRACT section 5. */
#include "unit.h"
#include "gcra.h"

#define SEC 1000000ULL

/* Runs n requests at `at`, threading the TAT; returns how many passed. */
static int burst(const struct gcra_rule *rule, uint64_t *tat, uint64_t at, int n, struct gcra_result *last)
{
    int passed = 0;
    for (int i = 0; i < n; i++) {
        gcra_decide(rule, *tat, at, last);
        if (last->allowed) {
            *tat = last->new_tat_us;
            passed++;
        }
    }
    return passed;
}

static void mikros_full_bucket_passes_200_then_one_per_600ms(void **state)
{
    struct gcra_rule r = {100, 60, 200};
    struct gcra_result g;
    uint64_t t0 = 1700000000 * SEC, tat = 0;
    assert_int_equal(burst(&r, &tat, t0, 250, &g), 200);
    assert_false(g.allowed);
    assert_int_equal(g.retry_after_s, 1);
    assert_int_equal(burst(&r, &tat, t0 + 599999, 1, &g), 0);
    assert_int_equal(burst(&r, &tat, t0 + 600000, 1, &g), 1);
    assert_int_equal(burst(&r, &tat, t0 + 600000, 1, &g), 0);
    assert_int_equal(burst(&r, &tat, t0 + 1200000, 1, &g), 1);
}

static void remaining_counts_down_from_the_burst(void **state)
{
    struct gcra_rule r = {100, 60, 200};
    struct gcra_result g;
    uint64_t t0 = 1700000000 * SEC, tat = 0;
    burst(&r, &tat, t0, 1, &g);
    assert_int_equal(g.remaining, 199);
    burst(&r, &tat, t0, 198, &g);
    assert_int_equal(g.remaining, 1);
    burst(&r, &tat, t0, 1, &g);
    assert_int_equal(g.remaining, 0);
    /* full again 200 * 0.6 s = 120 s later */
    assert_int_equal(g.reset_s, t0 / SEC + 120);
}

static void per_minute_limit_without_burst(void **state)
{
    struct gcra_rule r = {30, 60, 30};
    struct gcra_result g;
    uint64_t t0 = 1700000000 * SEC, tat = 0;
    assert_int_equal(burst(&r, &tat, t0, 31, &g), 30);
    assert_false(g.allowed);
    assert_int_equal(g.remaining, 0);
    assert_int_equal(g.retry_after_s, 2);
    /* a quiet minute refills the bucket completely */
    assert_int_equal(burst(&r, &tat, t0 + 60 * SEC, 31, &g), 30);
}

static void hourly_bucket_spreads_over_the_hour(void **state)
{
    struct gcra_rule r = {1000, 3600, 1000};
    struct gcra_result g;
    uint64_t t0 = 1700000000 * SEC, tat = 0;
    assert_int_equal(burst(&r, &tat, t0, 1001, &g), 1000);
    assert_int_equal(g.retry_after_s, 4);   /* 3.6 s per request, rounded up */
}

static void stale_tat_in_the_past_means_full_bucket(void **state)
{
    struct gcra_rule r = {10, 60, 10};
    struct gcra_result g;
    gcra_decide(&r, 5 * SEC, 1700000000 * SEC, &g);
    assert_true(g.allowed);
    assert_int_equal(g.remaining, 9);
    assert_true(g.ttl_s >= 6 && g.ttl_s <= 8);
}

static void rule_specs_parse(void **state)
{
    struct gcra_rule r = {0, 0, 0};
    assert_true(gcra_parse_rule("100/60/200", &r));
    assert_int_equal(r.limit, 100);
    assert_int_equal(r.period_s, 60);
    assert_int_equal(r.burst, 200);
    assert_true(gcra_parse_rule("30/60", &r));
    assert_int_equal(r.burst, 30);
    assert_false(gcra_parse_rule("0/60", &r));
    assert_false(gcra_parse_rule("abc", &r));
    assert_false(gcra_parse_rule("5/0", &r));
    assert_false(gcra_parse_rule("100000000/60", &r));   /* under 1 µs per request */
    assert_true(gcra_parse_rule("60000000/60", &r));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mikros_full_bucket_passes_200_then_one_per_600ms),
        cmocka_unit_test(remaining_counts_down_from_the_burst),
        cmocka_unit_test(per_minute_limit_without_burst),
        cmocka_unit_test(hourly_bucket_spreads_over_the_hour),
        cmocka_unit_test(stale_tat_in_the_past_means_full_bucket),
        cmocka_unit_test(rule_specs_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
