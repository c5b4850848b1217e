/* test_router.c — path matching, parameters, 405 Allow lists and 404 families. */
#include "unit.h"
#include "router.h"

static int h(struct request *r) { (void)r; return 0; }

static const struct route table[] = {
    {.method = "GET", .path = "/health", .handler = h},
    {.method = "GET", .path = "/api/archives/{id}", .handler = h},
    {.method = "GET", .path = "/api/archives/{id}/canvas", .handler = h},
    {.method = "POST", .path = "/scheduler/jobs/{job_id}/run", .handler = h},
    {.method = "GET", .path = "/scheduler/jobs/{job_id}", .handler = h},
    {.method = "DELETE", .path = "/scheduler/jobs/{job_id}", .handler = h},
    {.method = "PUT", .path = "/api/v1/game/{game_id}/display/{display_id}", .handler = h},
    {.method = "GET", .path = "/typed/{id:uuid}/users/{discord_id:snowflake}", .handler = h},
    {.method = "POST", .path = "/typed/{game_id:slug}", .handler = h},
};

static enum match_result match(const char *method, const char *path, const struct route **found,
                               struct path_params *p, char *allow)
{
    return router_match(table, ARRAY_LEN(table), method, path, found, p, allow, 64);
}

static void literal_route_matches(void **state)
{
    const struct route *r = NULL;
    struct path_params p;
    char allow[64];
    assert_int_equal(match("GET", "/health", &r, &p, allow), MATCH_OK);
    assert_string_equal(r->path, "/health");
    assert_int_equal(p.n, 0);
}

static void trailing_slash_is_not_significant(void **state)
{
    const struct route *r = NULL;
    struct path_params p;
    char allow[64];
    assert_int_equal(match("GET", "/health/", &r, &p, allow), MATCH_OK);
    assert_int_equal(match("GET", "/api/archives/abc/", &r, &p, allow), MATCH_OK);
    assert_string_equal(path_param(&p, "id"), "abc");
    path_params_free(&p);
}

static void params_are_extracted_and_decoded(void **state)
{
    const struct route *r = NULL;
    struct path_params p;
    char allow[64];
    assert_int_equal(match("PUT", "/api/v1/game/game%5F001/display/d-9", &r, &p, allow), MATCH_OK);
    assert_string_equal(r->path, "/api/v1/game/{game_id}/display/{display_id}");
    assert_string_equal(path_param(&p, "game_id"), "game_001");
    assert_string_equal(path_param(&p, "display_id"), "d-9");
    assert_null(path_param(&p, "missing"));
    path_params_free(&p);
}

static void longer_and_shorter_paths_do_not_match(void **state)
{
    const struct route *r = NULL;
    struct path_params p;
    char allow[64];
    assert_int_equal(match("GET", "/api/archives", &r, &p, allow), MATCH_NO_PATH);
    assert_int_equal(match("GET", "/api/archives//canvas", &r, &p, allow), MATCH_NO_PATH);
    assert_int_equal(match("GET", "/api/archives/x/canvas/more", &r, &p, allow), MATCH_NO_PATH);
    assert_int_equal(match("GET", "/api/archives/x/canvas", &r, &p, allow), MATCH_OK);
    assert_string_equal(r->path, "/api/archives/{id}/canvas");
    path_params_free(&p);
}

static void wrong_method_lists_allowed_methods(void **state)
{
    const struct route *r = NULL;
    struct path_params p;
    char allow[64];
    assert_int_equal(match("POST", "/scheduler/jobs/7", &r, &p, allow), MATCH_BAD_METHOD);
    assert_string_equal(allow, "GET, HEAD, DELETE");
    assert_int_equal(match("POST", "/health", &r, &p, allow), MATCH_BAD_METHOD);
    assert_string_equal(allow, "GET, HEAD");
}

static void head_is_served_by_get(void **state)
{
    const struct route *r = NULL;
    struct path_params p;
    char allow[64];
    assert_int_equal(match("HEAD", "/health", &r, &p, allow), MATCH_OK);
}

static void malformed_escapes_do_not_match(void **state)
{
    const struct route *r = NULL;
    struct path_params p;
    char allow[64];
    assert_int_equal(match("GET", "/api/archives/%zz", &r, &p, allow), MATCH_NO_PATH);
    assert_int_equal(match("GET", "/api/archives/%00", &r, &p, allow), MATCH_NO_PATH);
}

static void typed_parameters_are_checked(void **state)
{
    const struct route *r = NULL;
    struct path_params p;
    char allow[64];
    const char *uuid = "550e8400-e29b-41d4-a716-446655440000";
    char path[160];
    snprintf(path, sizeof(path), "/typed/%s/users/123456789012345678", uuid);
    assert_int_equal(match("GET", path, &r, &p, allow), MATCH_OK);
    assert_string_equal(path_param(&p, "id"), uuid);
    assert_string_equal(path_param(&p, "discord_id"), "123456789012345678");
    path_params_free(&p);

    const struct {
        const char *path, *bad, *type;
    } cases[] = {
        {"/typed/not-a-uuid/users/123456789012345678", "id", "uuid"},
        {"/typed/550e8400-e29b-41d4-a716-446655440000/users/12345", "discord_id", "snowflake"},
        {"/typed/550e8400-e29b-41d4-a716-446655440000/users/1234567890123456789012", "discord_id", "snowflake"},
        {"/typed/550e8400-e29b-41d4-a716-446655440000/users/12345678901234567x", "discord_id", "snowflake"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        assert_int_equal(match("GET", cases[i].path, &r, &p, allow), MATCH_BAD_PARAM);
        assert_string_equal(p.bad, cases[i].bad);
        assert_string_equal(p.bad_type, cases[i].type);
        path_params_free(&p);
    }
    assert_int_equal(match("POST", "/typed/game_001", &r, &p, allow), MATCH_OK);
    path_params_free(&p);
    assert_int_equal(match("POST", "/typed/game%20001", &r, &p, allow), MATCH_BAD_PARAM);
    path_params_free(&p);
    /* a typed route still answers 405 for another method: the type is checked once the route is known */
    assert_int_equal(match("DELETE", "/typed/not-a-slug!", &r, &p, allow), MATCH_BAD_METHOD);
}

static void route_paths_name_known_types(void **state)
{
    char err[256];
    assert_true(route_path_valid("/a/{id:uuid}/{x}", err, sizeof(err)));
    assert_false(route_path_valid("/a/{id:uuidd}", err, sizeof(err)));
    assert_non_null(strstr(err, "/a/{id:uuidd}"));
    assert_false(route_path_valid("/a/{id", err, sizeof(err)));
    assert_false(route_path_valid("/a/{}", err, sizeof(err)));
}

static void uuids_are_checked_before_the_database(void **state)
{
    assert_true(uuid_valid("550e8400-e29b-41d4-a716-446655440000"));
    assert_true(uuid_valid("550E8400-E29B-41D4-A716-446655440000"));
    const char *bad[] = {"", "550e8400e29b41d4a716446655440000", "550e8400-e29b-41d4-a716-44665544000",
                         "550e8400-e29b-41d4-a716-4466554400000", "550e8400-e29b-41d4-a716_446655440000",
                         "g50e8400-e29b-41d4-a716-446655440000", "not-a-uuid"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        assert_false(uuid_valid(bad[i]));
    assert_false(uuid_valid(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(literal_route_matches),
        cmocka_unit_test(trailing_slash_is_not_significant),
        cmocka_unit_test(params_are_extracted_and_decoded),
        cmocka_unit_test(longer_and_shorter_paths_do_not_match),
        cmocka_unit_test(wrong_method_lists_allowed_methods),
        cmocka_unit_test(head_is_served_by_get),
        cmocka_unit_test(malformed_escapes_do_not_match),
        cmocka_unit_test(typed_parameters_are_checked),
        cmocka_unit_test(route_paths_name_known_types),
        cmocka_unit_test(uuids_are_checked_before_the_database),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
