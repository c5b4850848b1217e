/* test_webhook.c — the unix:SOCKET:/LOCATION form of an outbound URL (the nchan publisher's). */
#include "unit.h"
#include "webhook.h"

static void a_unix_url_splits_into_socket_and_location(void **state)
{
    (void)state;
    char sock[64], http[64];
    assert_true(webhook_unix_url("unix:/run/gh/nchan/publish.sock:/_nchan/pub/places", sock, sizeof(sock), http,
                                 sizeof(http)));
    assert_string_equal(sock, "/run/gh/nchan/publish.sock");
    assert_string_equal(http, "http://localhost/_nchan/pub/places");
}

static void other_urls_are_not_unix_urls(void **state)
{
    (void)state;
    char sock[64], http[64];
    assert_false(webhook_unix_url("http://127.0.0.1:9090/_nchan/pub/places", sock, sizeof(sock), http, sizeof(http)));
    assert_false(webhook_unix_url("unix:/run/gh/publish.sock", sock, sizeof(sock), http, sizeof(http)));
    assert_false(webhook_unix_url("unix::/x", sock, sizeof(sock), http, sizeof(http)));
    assert_false(webhook_unix_url("unix:/a/much/too/long/socket/path/for/the/buffer/given/here/x.sock:/x", sock,
                                  16, http, sizeof(http)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_unix_url_splits_into_socket_and_location),
        cmocka_unit_test(other_urls_are_not_unix_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
