/* scramble.c — see scramble.h. Fisher–Yates over randombytes_uniform, drawn again when the shuffle
 * gives the word back (for a word of n ≥ 4 distinct-enough letters that is rare). */
#include "api/mikros/scramble.h"

#include <sodium.h>
#include <string.h>

static bool has_two_letters(const char *word)
{
    for (const char *p = word; *p; p++)
        if (*p != word[0])
            return true;
    return false;
}

bool mikros_scramble(const char *word, char *out, size_t outlen)
{
    size_t n = strlen(word);
    if (n < 2 || outlen < n + 1 || !has_two_letters(word))
        return false;
    do {
        memcpy(out, word, n + 1);
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = randombytes_uniform((uint32_t)(i + 1));
            char t = out[i];
            out[i] = out[j];
            out[j] = t;
        }
    } while (!strcmp(out, word));
    return true;
}
