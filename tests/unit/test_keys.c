/* test_keys.c — key format, hashing at rest and verification. */
#include "unit.h"
#include "keys.h"

static int setup(void **state)
{
    return keys_init() ? 0 : -1;
}

static void generated_keys_parse_and_verify(void **state)
{
    char key[KEY_MAX_LEN], id[KEY_ID_LEN + 1], parsed_id[KEY_ID_LEN + 1];
    uint8_t hash[KEY_HASH_LEN];
    const char *secret;
    key_generate(key, id, hash);
    assert_int_equal(strncmp(key, "gh_", 3), 0);
    assert_true(key_parse(key, parsed_id, &secret));
    assert_string_equal(parsed_id, id);
    assert_true(strlen(secret) >= 43);   /* 256 bits */
    assert_true(key_verify(secret, hash));
}

static void a_changed_secret_fails(void **state)
{
    char key[KEY_MAX_LEN], id[KEY_ID_LEN + 1];
    uint8_t hash[KEY_HASH_LEN];
    const char *secret;
    key_generate(key, id, hash);
    assert_true(key_parse(key, id, &secret));
    char *tampered = xstrdup(secret);
    tampered[0] = tampered[0] == 'A' ? 'B' : 'A';
    assert_false(key_verify(tampered, hash));
    free(tampered);
}

static void keys_are_unique(void **state)
{
    char a[KEY_MAX_LEN], b[KEY_MAX_LEN], ida[KEY_ID_LEN + 1], idb[KEY_ID_LEN + 1];
    uint8_t ha[KEY_HASH_LEN], hb[KEY_HASH_LEN];
    key_generate(a, ida, ha);
    key_generate(b, idb, hb);
    assert_string_not_equal(a, b);
    assert_string_not_equal(ida, idb);
    assert_memory_not_equal(ha, hb, KEY_HASH_LEN);
}

static void hash_is_not_the_secret(void **state)
{
    uint8_t h[KEY_HASH_LEN];
    key_hash("abcdefghijklmnopqrstuvwxyz012345", h);
    assert_memory_not_equal(h, "abcdefghijklmnopqrstuvwxyz012345", KEY_HASH_LEN);
    uint8_t parsed[KEY_HASH_LEN];
    char hex[2 * KEY_HASH_LEN + 1];
    for (int i = 0; i < KEY_HASH_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    assert_true(key_hash_from_hex(hex, parsed));
    assert_memory_equal(parsed, h, KEY_HASH_LEN);
    assert_false(key_hash_from_hex("zz", parsed));
}

static void malformed_keys_are_refused(void **state)
{
    char id[KEY_ID_LEN + 1];
    const char *secret;
    const char *bad[] = {"", "gh_", "Bearer x", "gh_0123456789ab", "gh_0123456789ab_short",
                         "gh_0123456789AB_abcdefghijklmnopqrstuvwxyz", "gh_0123456789ab_abc def ghijklmnopqrstu",
                         "xx_0123456789ab_abcdefghijklmnopqrstuvwxyz"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        assert_false(key_parse(bad[i], id, &secret));
    assert_true(key_parse("gh_0123456789ab_abcdefghijklmnopqrstuvwxyz", id, &secret));
}

static void scopes_match_whole_names(void **state)
{
    assert_true(scopes_include("mikros,scheduler", "scheduler"));
    assert_true(scopes_include("mikros", "mikros"));
    assert_false(scopes_include("mikros_ingest", "mikros"));
    assert_false(scopes_include("", "mikros"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(generated_keys_parse_and_verify),
        cmocka_unit_test(a_changed_secret_fails),
        cmocka_unit_test(keys_are_unique),
        cmocka_unit_test(hash_is_not_the_secret),
        cmocka_unit_test(malformed_keys_are_refused),
        cmocka_unit_test(scopes_match_whole_names),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
