/* test_kinds.c — the scheduler's job kinds table: what each kind runs, and the bots' jobs without
 * a network (dry run, no webhook configured). */
#include "guildhall.h"
#include "config.h"
#include "request.h"   /* before cmocka, whose fail() macro would rename request.h's fail() */
#include "scheduler/kinds.h"
#include "api/mikros/mikros.h"
#include "api/places/places.h"
#include "unit.h"

static void every_kind_is_named_once_and_runs_something(void **state)
{
    size_t n;
    const struct job_kind *t = job_kinds(&n);
    assert_true(n >= 5);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(t[i].kind);
        assert_true(t[i].kind[0] != '\0');
        assert_non_null(t[i].run);
        assert_ptr_equal(job_kind_find(t[i].kind), &t[i]);
        for (size_t j = i + 1; j < n; j++)
            assert_string_not_equal(t[i].kind, t[j].kind);
    }
}

static void built_in_kinds_point_at_their_family(void **state)
{
    assert_ptr_equal(job_kind_find("places.reset_week")->run, places_job_reset_week);
    assert_ptr_equal(job_kind_find("places.snapshot_stats")->run, places_job_snapshot_stats);
    assert_ptr_equal(job_kind_find("places.cleanup_archives")->run, places_job_cleanup_archives);
    assert_ptr_equal(job_kind_find("birthday")->run, scheduler_run_birthday);
    assert_ptr_equal(job_kind_find("visitor")->run, scheduler_run_visitor);
    assert_ptr_equal(job_kind_find("mikros.game_reset")->run, mikros_job_game_reset);
    assert_ptr_equal(job_kind_find("mikros.monthly_report")->run, mikros_job_monthly_report);
    assert_ptr_equal(job_kind_find("mikros.promotion_check")->run, mikros_job_promotion_check);
}

static void unknown_kinds_are_not_found(void **state)
{
    assert_null(job_kind_find("outbox.drain"));   /* the outbox has its own process */
    assert_null(job_kind_find("places.reset"));
    assert_null(job_kind_find("PLACES.RESET_WEEK"));
    assert_null(job_kind_find(""));
    assert_null(job_kind_find(NULL));
}

static void bots_without_a_network(void **state)
{
    struct config cfg;
    char err[256];
    assert_true(config_load(&cfg, NULL, err, sizeof(err)));
    struct services svc = {.cfg = &cfg};

    struct job_outcome o = {.status = "failed"};
    job_kind_find("birthday")->run(&svc, "{\"dry_run\":true}", &o);
    assert_string_equal(o.status, "success");
    assert_string_equal(json_object_to_json_string_ext(o.result, JSON_C_TO_STRING_PLAIN), "{\"dry_run\":true}");
    json_object_put(o.result);

    struct job_outcome v = {.status = "failed"};
    job_kind_find("visitor")->run(&svc, "{\"dry_run\":false,\"limit\":5}", &v);   /* no URL by default */
    assert_string_equal(v.status, "failed");
    assert_string_equal(v.error, "no webhook is configured for visitor jobs");
    assert_null(v.result);
    config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_kind_is_named_once_and_runs_something),
        cmocka_unit_test(built_in_kinds_point_at_their_family),
        cmocka_unit_test(unknown_kinds_are_not_found),
        cmocka_unit_test(bots_without_a_network),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
