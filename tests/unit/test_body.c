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
        cmocka_unit_test(gzip_bodies_are_inflated),
        cmocka_unit_test(gzip_bomb_is_413),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
