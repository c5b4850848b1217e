/* test_routes.c — the real families and their route tables: every row is well formed, every body
 * schema passes its own check, unknown paths belong to the right family. */
#include "unit.h"
#include "config.h"
#include "envelope.h"
#include "routes.h"
#include "schema.h"
#include "api/mikros/mikros.h"
#include "api/ops/ops.h"
#include "api/places/places.h"
#include "api/roblox/roblox.h"
#include "api/scheduler/jobs.h"
#include "api/test/test_routes.h"

static struct config cfg;

static int load(bool test_routes)
{
    char err[256];
    config_free(&cfg);
    if (!config_load(&cfg, NULL, err, sizeof(err)))
        return -1;
    cfg.test_routes = test_routes;
    return routes_init(&cfg, err, sizeof(err)) ? 0 : -1;
}

static void tables_build_with_and_without_test_routes(void **state)
{
    size_t with, without;
    assert_int_equal(load(true), 0);
    routes_table(&with);
    assert_int_equal(load(false), 0);
    const struct route *t = routes_table(&without);
    assert_true(with > without);
    for (size_t i = 0; i < without; i++) {
        assert_false(t[i].flags & ROUTE_TEST_ONLY);
        assert_non_null(t[i].family);
    }
}

static void every_body_schema_is_sound(void **state)
{
    size_t nf, checked = 0;
    const struct family *const *families = routes_families(&nf);
    for (size_t f = 0; f < nf; f++)
        for (size_t i = 0; i < families[f]->n_routes; i++) {
            const struct route *r = &families[f]->routes[i];
            if (!r->body)
                continue;
            char err[256] = "";
            if (!body_schema_check(r->body, err, sizeof(err)))
                fail_msg("%s %s: %s", r->method, r->path, err);
            assert_true(r->body->size > 0);
            assert_true(r->flags & (ROUTE_JSON_BODY | ROUTE_OPTIONAL_BODY));
            checked++;
        }
    assert_true(checked >= 7);
}

static void every_family_is_complete(void **state)
{
    size_t nf;
    const struct family *const *families = routes_families(&nf);
    for (size_t f = 0; f < nf; f++) {
        const struct family *fam = families[f];
        assert_non_null(fam->name);
        assert_non_null(fam->render_error);
        assert_true(fam->bad_path_id_status == 400 || fam->bad_path_id_status == 404);
        assert_true(fam->max_field_errors >= 1);
        assert_int_equal(family_index(fam), (int)f + 1);
    }
    assert_int_equal(family_index(&family_generic), 0);
    /* CONTRACT 4: malformed path ids are 400 in mikros and places, 404 in scheduler and roblox */
    assert_int_equal(family_places.bad_path_id_status, 400);
    assert_int_equal(family_mikros.bad_path_id_status, 400);
    assert_int_equal(family_scheduler.bad_path_id_status, 404);
    assert_int_equal(family_roblox.bad_path_id_status, 404);
    int on_ops = 0;
    for (size_t f = 0; f < nf; f++)
        on_ops += families[f]->ops_listener;
    assert_int_equal(on_ops, 1);
}

static void unknown_paths_belong_to_their_prefix_family(void **state)
{
    const struct {
        const char *path;
        const struct family *family;
    } cases[] = {
        {"/api/gamestats/nope", &family_mikros},     {"/api/archives/x/y/z", &family_places},
        {"/scheduler/nope", &family_scheduler},       {"/api/v1/x", &family_roblox},
        {"/api/game-ads", &family_roblox},            {"/api/unknown", &family_generic},
        {"/elsewhere", &family_generic},              {"/api/leaderboards/x", &family_mikros},
        {"/api/leaderboard/current", &family_places}, {"/api/archivesx", &family_generic},
        {"/_test/nope", &family_generic},            {"/api", &family_generic},
        {"/api/stats/x", &family_ops},                {"/api/logs", &family_ops},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        if (family_for_path(cases[i].path) != cases[i].family)
            fail_msg("%s: %s", cases[i].path, family_for_path(cases[i].path)->name);
}

static void scopes_are_listed_once(void **state)
{
    assert_string_equal(routes_all_scopes(),
                        "mikros,mikros_ingest,service_role,places_user,places_agent,scheduler,roblox_admin");
}

static void a_malformed_limit_names_its_setting(void **state)
{
    char err[256] = "";
    config_free(&cfg);
    assert_true(config_load(&cfg, NULL, err, sizeof(err)));
    assert_true(config_set(&cfg, "ratelimit_places_admin", "five per minute", err, sizeof(err)));
    assert_false(routes_init(&cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "ratelimit_places_admin"));
    assert_true(config_set(&cfg, "ratelimit_places_admin", "7/60/3", err, sizeof(err)));
    assert_true(routes_init(&cfg, err, sizeof(err)));
    size_t n;
    const struct route *t = routes_table(&n);
    bool seen = false;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(t[i].path, "/api/admin/reset-week")) {
            assert_int_equal(t[i].limits[0]->rule.limit, 7);
            assert_int_equal(t[i].limits[0]->rule.burst, 3);
            seen = true;
        }
    assert_true(seen);
}

static int teardown(void **state)
{
    config_free(&cfg);
    body_schema_release_defaults();
    return 0;
}

int main(void)
{
    if (!routes_declare_settings())
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tables_build_with_and_without_test_routes),
        cmocka_unit_test(every_body_schema_is_sound),
        cmocka_unit_test(every_family_is_complete),
        cmocka_unit_test(unknown_paths_belong_to_their_prefix_family),
        cmocka_unit_test(scopes_are_listed_once),
        cmocka_unit_test(a_malformed_limit_names_its_setting),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
