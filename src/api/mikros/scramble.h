/* scramble.h — the word_unscramble puzzle: a uniformly random permutation of a word that differs
 * from it. Pure apart from libsodium's random numbers. */
#ifndef GH_API_MIKROS_SCRAMBLE_H
#define GH_API_MIKROS_SCRAMBLE_H

#include <stdbool.h>
#include <stddef.h>

/* Writes into out (strlen(word) + 1 bytes) a shuffle of word that is not word itself; false when
 * none exists (every letter the same, or shorter than two). */
bool mikros_scramble(const char *word, char *out, size_t outlen);

#endif
