/* test_idempotency.c — which Idempotency-Key values are accepted (CONTRACT 4): 1 to 255 printable
 * ASCII characters. */
#include "unit.h"
#include "idempotency.h"

static void printable_ascii_keys_of_1_to_255_characters(void **state)
{
    char longest[IDEMPOTENCY_KEY_MAX + 2];
    memset(longest, 'k', IDEMPOTENCY_KEY_MAX);
    longest[IDEMPOTENCY_KEY_MAX] = '\0';
    assert_true(idempotency_key_valid(longest));
    assert_true(idempotency_key_valid("8e03978e-40d5-43e8-bc93-6894a57f9324"));
    assert_true(idempotency_key_valid("a"));
    assert_true(idempotency_key_valid("\"quoted key\" ~!@#$%^&*()"));
    longest[IDEMPOTENCY_KEY_MAX] = 'k';
    longest[IDEMPOTENCY_KEY_MAX + 1] = '\0';
    assert_false(idempotency_key_valid(longest));
    assert_false(idempotency_key_valid(""));
    assert_false(idempotency_key_valid("tab\there"));
    assert_false(idempotency_key_valid("caf\xc3\xa9"));
    assert_false(idempotency_key_valid("del\x7f"));
    assert_false(idempotency_key_valid("line\nbreak"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(printable_ascii_keys_of_1_to_255_characters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
