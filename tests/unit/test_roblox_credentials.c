/* test_roblox_credentials.c — game keys and tokens (src/api/roblox/credentials.c): their exact form,
 * that each is new, and that the stored hash is the presented value's. */
#include "unit.h"
#include "api/roblox/credentials.h"

#include <sodium.h>

static void keys_are_rbxg_and_48_lowercase_hex(void **state)
{
    char key[ROBLOX_KEY_LEN + 1], other[ROBLOX_KEY_LEN + 1], hash[ROBLOX_HASH_HEX], again[ROBLOX_HASH_HEX];
    roblox_key_generate(key, hash);
    assert_int_equal(strlen(key), 53);
    assert_memory_equal(key, "RBXG-", 5);
    for (const char *p = key + 5; *p; p++)
        assert_true((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'));
    assert_true(roblox_key_valid(key));
    assert_false(roblox_token_valid(key));
    roblox_credential_hash(key, again);
    assert_string_equal(hash, again);
    assert_int_equal(strlen(hash), 64);
    roblox_key_generate(other, again);
    assert_string_not_equal(key, other);
    assert_string_not_equal(hash, again);
}

static void tokens_are_rbxt_and_64_lowercase_hex(void **state)
{
    char token[ROBLOX_TOKEN_LEN + 1], hash[ROBLOX_HASH_HEX];
    roblox_token_generate(token, hash);
    assert_int_equal(strlen(token), 69);
    assert_memory_equal(token, "RBXT-", 5);
    assert_true(roblox_token_valid(token));
    assert_false(roblox_key_valid(token));
}

static void malformed_keys_are_refused(void **state)
{
    char key[ROBLOX_KEY_LEN + 1], hash[ROBLOX_HASH_HEX];
    roblox_key_generate(key, hash);
    char upper[sizeof key];
    memcpy(upper, key, sizeof key);
    for (char *p = upper + 5; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    bool changed = strcmp(upper, key) != 0;
    if (changed)
        assert_false(roblox_key_valid(upper));
    const char *bad[] = {"", "RBXG-", "rbxg-0123456789abcdef0123456789abcdef0123456789abcdef",
                         "RBXG-0123456789abcdef0123456789abcdef0123456789abcde",     /* 47 */
                         "RBXG-0123456789abcdef0123456789abcdef0123456789abcdef0",   /* 49 */
                         "RBXG-0123456789abcdef0123456789abcdef0123456789abcdeg",
                         "RBXG 0123456789abcdef0123456789abcdef0123456789abcdef"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        assert_false(roblox_key_valid(bad[i]));
    assert_false(roblox_key_valid(NULL));
    assert_true(roblox_key_valid("RBXG-0123456789abcdef0123456789abcdef0123456789abcdef"));
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_are_rbxg_and_48_lowercase_hex),
        cmocka_unit_test(tokens_are_rbxt_and_64_lowercase_hex),
        cmocka_unit_test(malformed_keys_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
