/* fuzz.h — shared by the libFuzzer harnesses in tests/fuzz (configure CC=clang --enable-fuzzers).
 * A harness checks memory safety (ASan/UBSan do) and the invariants it states with FUZZ_CHECK:
 * a broken one prints what failed and aborts, which libFuzzer reports as a crash with the input. */
#ifndef GH_FUZZ_H
#define GH_FUZZ_H

#include "guildhall.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond, ...)                                                              \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "fuzz check failed at %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* The input as a NUL-terminated string (cut at its first NUL, as a C caller would see it). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = xmalloc(size + 1);
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif
