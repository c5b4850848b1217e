/* test_body.c — body limits, gzip (bombs included), UTF-8 and JSON depth. */
#include "unit.h"
#include "body.h"

#include <zlib.h>

static int decode(const char *raw, size_t len, const char *enc, long max, json_object **out)
{
    char err[256];
    return body_decode(raw, len, "application/json; charset=utf-8", enc, max, 32, out, err, sizeof(err));
}

static size_t gzip(const char *in, size_t len, unsigned char *out, size_t cap)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t n = zs.total_out;
    deflateEnd(&zs);
    return n;
}

static void valid_json_parses(void **state)
{
    json_object *o = NULL;
    assert_int_equal(decode("{\"a\":[1,2]} \n", 13, NULL, 1024, &o), 0);
    assert_non_null(o);
    json_object_put(o);
}

static void numbers_and_words_are_strict_json(void **state)
{
    json_object *o = NULL;
    const char *json = "[1e5, 2.5E-3, -0, true, false, null, \"it's NaN\"]";
    assert_int_equal(decode(json, strlen(json), NULL, 1024, &o), 0);
    json_object_put(o);
}

static void empty_body_is_no_object(void **state)
{
    json_object *o = (json_object *)1;
    assert_int_equal(decode("", 0, NULL, 1024, &o), 0);
    assert_null(o);
}

static void malformed_json_is_400(void **state)
{
    json_object *o = NULL;
    const char *bad[] = {"{", "{\"a\":}", "[1,2]x", "nul", "{'a':1}", "{\"a\":1}}", "[NaN]", "[Infinity]", "[1,]", "[True]"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        assert_int_equal(decode(bad[i], strlen(bad[i]), NULL, 1024, &o), 400);
}

static void too_large_is_413(void **state)
{
    json_object *o = NULL;
    assert_int_equal(decode("[1,2,3,4,5,6,7,8]", 17, NULL, 16, &o), 413);
}

static void wrong_content_type_is_415(void **state)
{
    json_object *o = NULL;
    char err[256];
    assert_int_equal(body_decode("{}", 2, "text/plain", NULL, 1024, 32, &o, err, sizeof(err)), 415);
    assert_int_equal(body_decode("{}", 2, NULL, NULL, 1024, 32, &o, err, sizeof(err)), 415);
    assert_int_equal(body_decode("{}", 2, "application/json", "br", 1024, 32, &o, err, sizeof(err)), 415);
}

static void depth_32_passes_and_33_fails(void **state)
{
    char deep[80];
    json_object *o = NULL;
    memset(deep, '[', 32);
    memset(deep + 32, ']', 32);
    assert_int_equal(decode(deep, 64, NULL, 1024, &o), 0);
    json_object_put(o);
    memset(deep, '[', 33);
    memset(deep + 33, ']', 33);
    assert_int_equal(decode(deep, 66, NULL, 1024, &o), 400);
}

static void invalid_utf8_is_400(void **state)
{
    json_object *o = NULL;
    const char *bad[] = {"\"\xff\"", "\"\xc3\"", "\"\xed\xa0\x80\"", "\"\xc0\xaf\""};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        assert_int_equal(decode(bad[i], strlen(bad[i]), NULL, 1024, &o), 400);
    assert_int_equal(decode("\"h\xc3\xa9llo \xf0\x9f\x98\x80\"", 13, NULL, 1024, &o), 0);
    json_object_put(o);
}

/* decode() naming the field at fault; the message in err. */
static int decode_named(const char *raw, char *field, char *err)
{
    json_object *o = NULL;
    int st = body_decode_field(raw, strlen(raw), "application/json", NULL, 4096, 32, &o, field, 128, err, 256);
    json_object_put(o);
    return st;
}

/* Regression: "a\u0000b" reached handlers as "a" (json-c keeps the NUL; C strings end at it). */
static void nul_escape_anywhere_is_400_naming_the_field(void **state)
{
    char field[128], err[256];
    assert_int_equal(decode_named("{\"name\":\"a\\u0000b\"}", field, err), 400);
    assert_string_equal(field, "name");
    assert_string_equal(err, "name must not contain NUL characters");
    assert_int_equal(decode_named("{\"a\":1,\"cfg\":{\"x\":[1,{\"d\":\"mon\\u0000\"}]}}", field, err), 400);
    assert_string_equal(field, "cfg.x[1].d");
    assert_string_equal(err, "cfg.x[1].d must not contain NUL characters");
    assert_int_equal(decode_named("{\"k\\u0000\":1}", field, err), 400);
    assert_string_equal(field, "k\\u0000");
    assert_int_equal(decode_named("[\"ok\",\"\\u0000\"]", field, err), 400);
    assert_string_equal(field, "[1]");
    assert_int_equal(decode_named("\"\\u0000\"", field, err), 400);
    assert_string_equal(field, "");
    assert_string_equal(err, "Request body must not contain NUL characters");
    /* an escaped backslash before u0000 is text, not an escape */
    assert_int_equal(decode_named("{\"s\":\"\\\\u0000\",\"t\":\"\\u0001\"}", field, err), 0);
    assert_string_equal(field, "");
}

/* Regression: json-c stored a lone surrogate escape as U+FFFD; CONTRACT 4 wants valid UTF-8. */
static void lone_surrogate_escape_is_400(void **state)
{
    char field[128], err[256];
    const char *bad[] = {"{\"s\":\"\\ud800\"}", "{\"s\":\"\\udc00\"}", "{\"s\":\"\\uD800x\"}",
                         "{\"s\":\"\\ud800\\u0041\"}", "{\"s\":\"\\udbff\\udbff\"}", "{\"s\":\"\\ude00\\ud83d\"}",
                         "{\"s\":\"\\ud800\\\\udc00\"}", "{\"s\":\"a\\ud800\"}"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        assert_int_equal(decode_named(bad[i], field, err), 400);
        assert_string_equal(field, "s");
        assert_non_null(strstr(err, "surrogate"));
    }
    const char *good[] = {"{\"s\":\"\\ud83d\\ude00\"}", "{\"s\":\"\\uD83D\\uDE00\"}", "{\"s\":\"\\\\ud800\"}",
                          "{\"s\":\"\\\\\\\\ud800\"}", "{\"s\":\"\\ufffd\\ud7ff\\ue000\"}"};
    for (size_t i = 0; i < ARRAY_LEN(good); i++)
        assert_int_equal(decode_named(good[i], field, err), 0);
}

static void gzip_bodies_are_inflated(void **state)
{
    unsigned char z[256];
    const char *json = "{\"hello\":\"world\"}";
    size_t n = gzip(json, strlen(json), z, sizeof(z));
    json_object *o = NULL;
    assert_int_equal(decode((const char *)z, n, "gzip", 1024, &o), 0);
    json_object *v;
    assert_true(json_object_object_get_ex(o, "hello", &v));
    assert_string_equal(json_object_get_string(v), "world");
    json_object_put(o);
    assert_int_equal(decode("not gzip", 8, "gzip", 1024, &o), 400);
}

static void gzip_bomb_is_413(void **state)
{
    size_t big = 4 * 1024 * 1024;
    char *zeros = xcalloc(1, big);
    zeros[0] = '"';
    memset(zeros + 1, 'a', big - 2);
    zeros[big - 1] = '"';
    unsigned char *z = xmalloc(big);
    size_t n = gzip(zeros, big, z, big);
    assert_true(n < 65536);
    json_object *o = NULL;
    assert_int_equal(decode((const char *)z, n, "gzip", 1048576, &o), 413);
    free(zeros);
    free(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_json_parses),
        cmocka_unit_test(numbers_and_words_are_strict_json),
        cmocka_unit_test(empty_body_is_no_object),
        cmocka_unit_test(malformed_json_is_400),
        cmocka_unit_test(too_large_is_413),
        cmocka_unit_test(wrong_content_type_is_415),
        cmocka_unit_test(depth_32_passes_and_33_fails),
        cmocka_unit_test(invalid_utf8_is_400),
        cmocka_unit_test(nul_escape_anywhere_is_400_naming_the_field),
        cmocka_unit_test(lone_surrogate_escape_is_400),
        cmocka_unit_test(gzip_bodies_are_inflated),
        cmocka_unit_test(gzip_bomb_is_413),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
