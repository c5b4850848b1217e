/* test_representation.c — the header parsing behind gzip-once, conditional GETs and CORS
 * (CONTRACT 5.1 and 6): Accept-Encoding, If-None-Match, the cors_origins list, and gzip that
 * inflates back to the same bytes. */
#include "unit.h"
#include "body.h"
#include "cors.h"
#include "representation.h"

static void gzip_is_taken_when_named_or_starred_with_a_q_above_zero(void **state)
{
    (void)state;
    assert_true(accepts_gzip("gzip"));
    assert_true(accepts_gzip("gzip, deflate, br"));
    assert_true(accepts_gzip("br;q=1.0, GZIP;q=0.5"));
    assert_true(accepts_gzip("x-gzip"));
    assert_true(accepts_gzip("*"));
    assert_true(accepts_gzip("deflate , gzip ; q=0.001"));
    assert_false(accepts_gzip(NULL));
    assert_false(accepts_gzip(""));
    assert_false(accepts_gzip("identity"));
    assert_false(accepts_gzip("deflate, br"));
    assert_false(accepts_gzip("gzip;q=0"));
    assert_false(accepts_gzip("gzip;q=0.000, *"));   /* named beats the wildcard */
    assert_false(accepts_gzip("*;q=0"));
    assert_false(accepts_gzip("gzipped"));
}

static void if_none_match_compares_weakly_and_takes_lists_and_star(void **state)
{
    (void)state;
    const char *etag = "\"0123abcd\"";
    assert_true(etag_matches("\"0123abcd\"", etag));
    assert_true(etag_matches("W/\"0123abcd\"", etag));
    assert_true(etag_matches("\"other\", \"0123abcd\"", etag));
    assert_true(etag_matches("*", etag));
    assert_false(etag_matches(NULL, etag));
    assert_false(etag_matches("", etag));
    assert_false(etag_matches("\"0123abcd-gz\"", etag));
    assert_false(etag_matches("0123abcd", etag));
    assert_false(etag_matches("\"0123abc\"", etag));
}

static void cors_origins_match_whole_entries_only(void **state)
{
    (void)state;
    const char *list = "https://app.example, http://localhost:3000 https://b.example";
    assert_true(cors_origin_listed(list, "https://app.example"));
    assert_true(cors_origin_listed(list, "http://localhost:3000"));
    assert_true(cors_origin_listed(list, "https://b.example"));
    assert_false(cors_origin_listed(list, "https://app.example.evil"));
    assert_false(cors_origin_listed(list, "https://app.exampl"));
    assert_false(cors_origin_listed(list, "http://localhost"));
    assert_false(cors_origin_listed(list, ""));
    assert_false(cors_origin_listed(list, NULL));
    assert_false(cors_origin_listed("", "https://app.example"));
}

static void gzip_inflates_back_to_the_same_bytes(void **state)
{
    (void)state;
    struct buf plain = {0}, gz = {0}, back = {0};
    for (int i = 0; i < 5000; i++)
        buf_printf(&plain, "{\"rank\":%d,\"name\":\"agent-%d\"},", i, i % 97);
    assert_true(gzip_compress(plain.data, plain.len, &gz));
    assert_true(gz.len < plain.len / 4);
    assert_int_equal(gunzip_capped(gz.data, gz.len, (long)plain.len, &back), 0);
    assert_int_equal(back.len, plain.len);
    assert_memory_equal(back.data, plain.data, plain.len);
    buf_free(&plain);
    buf_free(&gz);
    buf_free(&back);
}

static void http_dates_round_trip_and_only_imf_fixdate_parses(void **state)
{
    (void)state;
    char date[HTTP_DATE_LEN];
    http_date_format(date, 784111777);
    assert_string_equal(date, "Sun, 06 Nov 1994 08:49:37 GMT");
    int64_t t = 0;
    assert_true(http_date_parse(date, &t));
    assert_int_equal(t, 784111777);
    http_date_format(date, 1798761599);   /* the last second of 2026 */
    assert_string_equal(date, "Thu, 31 Dec 2026 23:59:59 GMT");
    assert_true(http_date_parse(date, &t));
    assert_int_equal(t, 1798761599);
    assert_true(http_date_parse("Thu, 29 Feb 2024 00:00:00 GMT", &t));
    assert_int_equal(t, 1709164800);
    const char *refused[] = {
        "Sunday, 06-Nov-94 08:49:37 GMT",    /* RFC 850: obsolete, ignored */
        "Sun Nov  6 08:49:37 1994",          /* asctime: obsolete, ignored */
        "Sun, 06 Nov 1994 08:49:37 UTC",     /* the zone must be GMT */
        "Sun, 31 Feb 1994 08:49:37 GMT",     /* no such day */
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nob 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT ",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        assert_false(http_date_parse(refused[i], &t));
    assert_false(http_date_parse(NULL, &t));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gzip_is_taken_when_named_or_starred_with_a_q_above_zero),
        cmocka_unit_test(if_none_match_compares_weakly_and_takes_lists_and_star),
        cmocka_unit_test(cors_origins_match_whole_entries_only),
        cmocka_unit_test(gzip_inflates_back_to_the_same_bytes),
        cmocka_unit_test(http_dates_round_trip_and_only_imf_fixdate_parses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
