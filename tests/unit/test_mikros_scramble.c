/* test_mikros_scramble.c — the word_unscramble puzzle (src/api/mikros/scramble.c): a permutation of
 * the word, never the word itself, with every letter moving over many draws. */
#include "unit.h"
#include "api/mikros/scramble.h"

#include <sodium.h>

static void sorted(const char *in, char *out)
{
    size_t n = strlen(in);
    memcpy(out, in, n + 1);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && out[j - 1] > out[j]; j--) {
            char t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
}

static void a_scramble_is_a_different_permutation(void **state)
{
    (void)state;
    const char *words[] = {"GAMING", "AB", "LEADERBOARD", "AAB", "TREASURE"};
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++)
        for (int run = 0; run < 500; run++) {
            char out[32], a[32], b[32];
            assert_true(mikros_scramble(words[w], out, sizeof out));
            assert_string_not_equal(out, words[w]);
            sorted(out, a);
            sorted(words[w], b);
            assert_string_equal(a, b);
        }
}

static void every_position_varies(void **state)
{
    (void)state;
    const char *word = "ABCDEFGH";
    unsigned seen[8] = {0};   /* bit k: letter k landed at position i */
    for (int run = 0; run < 2000; run++) {
        char out[16];
        assert_true(mikros_scramble(word, out, sizeof out));
        for (int i = 0; i < 8; i++)
            seen[i] |= 1u << (out[i] - 'A');
    }
    for (int i = 0; i < 8; i++)
        assert_int_equal(seen[i], 0xffu);
}

static void a_word_without_another_order_is_refused(void **state)
{
    (void)state;
    char out[16];
    assert_false(mikros_scramble("AAAA", out, sizeof out));
    assert_false(mikros_scramble("A", out, sizeof out));
    assert_false(mikros_scramble("ABCDEF", out, 4));
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_scramble_is_a_different_permutation),
        cmocka_unit_test(every_position_varies),
        cmocka_unit_test(a_word_without_another_order_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
