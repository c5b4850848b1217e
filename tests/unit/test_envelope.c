/* test_envelope.c — each family's error body, parsed back to check its exact shape. */
#include "unit.h"
#include "envelope.h"
#include "body.h"
#undef fail   /* cmocka's; request.h declares guildhall's fail() */
#include "request.h"
#include "schema.h"
#include "api/mikros/mikros.h"
#include "api/ops/ops.h"
#include "api/places/places.h"
#include "api/roblox/roblox.h"
#include "api/scheduler/jobs.h"

#include <json-c/json.h>

static json_object *render_fields(const struct family *f, int status, const char *msg, const struct field_error *errs,
                                  int n)
{
    struct buf b = {0};
    envelope_render(f, status, msg, errs, n, &b);
    json_object *o = json_tokener_parse(b.data);
    buf_free(&b);
    assert_non_null(o);
    return o;
}

static json_object *render(const struct family *f, int status, const char *msg, const char *field)
{
    struct field_error e = {.field = "", .message = ""};
    if (field) {
        snprintf(e.field, sizeof(e.field), "%s", field);
        snprintf(e.message, sizeof(e.message), "%s", msg);
    }
    return render_fields(f, status, msg, &e, field ? 1 : 0);
}

static const char *str(json_object *o, const char *path1, const char *path2)
{
    json_object *v = NULL;
    assert_true(json_object_object_get_ex(o, path1, &v));
    if (path2)
        assert_true(json_object_object_get_ex(v, path2, &v));
    return json_object_get_string(v);
}

static void mikros_envelope(void **state)
{
    json_object *o = render(&family_mikros, 429, "slow down", NULL);
    json_object *v;
    assert_true(json_object_object_get_ex(o, "success", &v));
    assert_false(json_object_get_boolean(v));
    assert_string_equal(str(o, "error", "code"), "RATE_LIMIT_EXCEEDED");
    assert_string_equal(str(o, "error", "message"), "slow down");
    assert_true(json_object_object_get_ex(o, "error", &v) && json_object_object_get_ex(v, "details", &v));
    assert_int_equal(strlen(str(o, "timestamp", NULL)), 20);   /* 2025-01-27T12:00:00Z */
    json_object_put(o);
}

static void places_envelope(void **state)
{
    json_object *o = render(&family_places, 400, "Invalid parameter: limit", NULL);
    assert_string_equal(str(o, "error", NULL), "Invalid parameter: limit");
    assert_string_equal(str(o, "code", NULL), "INVALID_PARAMS");
    assert_int_equal(json_object_object_length(o), 3);
    json_object_put(o);
    o = render(&family_places, 500, "x", NULL);
    assert_string_equal(str(o, "code", NULL), "SERVER_ERROR");
    json_object_put(o);
}

static void ops_envelope_uses_application_codes(void **state)
{
    const struct { int status; const char *code; } cases[] = {
        {400, "E004"}, {404, "E006"}, {429, "E003"}, {503, "E001"}, {405, "E004"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        json_object *o = render(&family_ops, cases[i].status, "m", NULL);
        assert_string_equal(str(o, "code", NULL), cases[i].code);
        assert_int_equal(json_object_object_length(o), 2);
        json_object_put(o);
    }
}

static void scheduler_envelope_is_detail_only(void **state)
{
    json_object *o = render(&family_scheduler, 409, "Job is already running", NULL);
    assert_string_equal(str(o, "detail", NULL), "Job is already running");
    assert_int_equal(json_object_object_length(o), 1);
    json_object_put(o);
}

static void roblox_validation_lists_the_field(void **state)
{
    json_object *o = render(&family_roblox, 400, "must be image or video", "asset_type");
    assert_string_equal(str(o, "error", NULL), "Validation failed");
    json_object *d;
    assert_true(json_object_object_get_ex(o, "details", &d));
    assert_int_equal(json_object_array_length(d), 1);
    assert_string_equal(str(json_object_array_get_idx(d, 0), "field", NULL), "asset_type");
    json_object_put(o);
    const struct field_error two[] = {{"asset_type", "asset_type must be one of: image, video"},
                                      {"name", "Missing required field: name"}};
    o = render_fields(&family_roblox, 400, two[0].message, two, 2);
    assert_true(json_object_object_get_ex(o, "details", &d));
    assert_int_equal(json_object_array_length(d), 2);
    assert_string_equal(str(json_object_array_get_idx(d, 1), "field", NULL), "name");
    assert_string_equal(str(json_object_array_get_idx(d, 1), "message", NULL), "Missing required field: name");
    json_object_put(o);
    o = render(&family_roblox, 404, "Game not found", NULL);
    assert_string_equal(str(o, "error", NULL), "Game not found");
    assert_int_equal(json_object_object_length(o), 1);
    json_object_put(o);
}

/* Codes are looked up by error class: every family with codes names every class. */
static void code_tables_are_complete(void **state)
{
    const struct family *const with_codes[] = {&family_mikros, &family_places, &family_ops};
    for (size_t f = 0; f < ARRAY_LEN(with_codes); f++)
        for (int c = 0; c < E_CODE_COUNT; c++)
            assert_non_null(with_codes[f]->codes[c]);
    assert_null(family_code(&family_scheduler, 400));
    assert_string_equal(family_code(&family_places, 418), "INVALID_PARAMS");
    assert_string_equal(family_code(&family_places, 502), "SERVER_ERROR");
    assert_string_equal(family_code(&family_mikros, 504), "SERVICE_UNAVAILABLE");
}

static void messages_are_escaped(void **state)
{
    json_object *o = render(&family_generic, 404, "quote \" backslash \\ newline \n", NULL);
    assert_string_equal(str(o, "error", NULL), "quote \" backslash \\ newline \n");
    json_object_put(o);
}

/* Regression: an error message quoting part of a character was sent as invalid UTF-8. fail()
 * renders every error, so it scrubs: a stray byte becomes U+FFFD, valid characters stay. */
static void failures_render_valid_utf8_whatever_they_quote(void **state)
{
    struct request r = {.family = &family_roblox};
    assert_int_equal(fail(&r, 400, "cut \xc3 stray \xff\xfe caf\xc3\xa9 \xed\xa0\x80 end"), -1);
    assert_true(utf8_valid(r.out.data, r.out.len));
    json_object *o = json_tokener_parse(r.out.data);
    assert_non_null(o);
    assert_string_equal(str(o, "error", NULL), "cut \xef\xbf\xbd stray \xef\xbf\xbd\xef\xbf\xbd caf\xc3\xa9 "
                                               "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd end");
    json_object_put(o);
    assert_int_equal(fail_field(&r, 400, "f\xc3", "f\xc3 is bad"), -1);
    assert_true(utf8_valid(r.out.data, r.out.len));
    request_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mikros_envelope),
        cmocka_unit_test(places_envelope),
        cmocka_unit_test(ops_envelope_uses_application_codes),
        cmocka_unit_test(scheduler_envelope_is_detail_only),
        cmocka_unit_test(roblox_validation_lists_the_field),
        cmocka_unit_test(code_tables_are_complete),
        cmocka_unit_test(messages_are_escaped),
        cmocka_unit_test(failures_render_valid_utf8_whatever_they_quote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
