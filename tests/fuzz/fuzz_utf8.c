/* fuzz_utf8 — utf8_valid (body.c) against an independent decoder written from the Unicode
 * standard's table of well-formed byte sequences (Table 3-7): any disagreement is a crash with the
 * input. Also: a string is valid iff each of its halves split at a character boundary is. */
#include "fuzz.h"
#include "body.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

/* Length of the well-formed sequence at s (1-4), or 0 if none starts there. */
static size_t well_formed_at(const unsigned char *s, size_t left)
{
    unsigned char b0 = s[0];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t n;
    if (b0 <= 0x7F)
        return 1;
    if (b0 >= 0xC2 && b0 <= 0xDF)
        n = 2;
    else if (b0 >= 0xE0 && b0 <= 0xEF) {
        n = 3;
        if (b0 == 0xE0)
            lo = 0xA0;
        else if (b0 == 0xED)
            hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        n = 4;
        if (b0 == 0xF0)
            lo = 0x90;
        else if (b0 == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (left < n)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k < n; k++)
        if (s[k] < 0x80 || s[k] > 0xBF)
            return 0;
    return n;
}

static bool reference_valid(const unsigned char *s, size_t len, size_t *boundary)
{
    size_t i = 0;
    *boundary = 0;
    while (i < len) {
        size_t n = well_formed_at(s + i, len - i);
        if (!n)
            return false;
        i += n;
        if (i <= len / 2)
            *boundary = i;
    }
    return true;
}

static void hex(const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < n && i < 64; i++)
        fprintf(stderr, "%02x ", d[i]);
    fputc('\n', stderr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a heap copy of exactly size bytes: ASan catches a read one past the end */
    char *copy = xmalloc(size ? size : 1);
    if (size)
        memcpy(copy, data, size);
    size_t boundary;
    bool want = reference_valid(data, size, &boundary);
    bool got = utf8_valid(copy, size);
    if (got != want) {
        fprintf(stderr, "utf8_valid says %s, the reference decoder %s, for %zu bytes: ", got ? "valid" : "invalid",
                want ? "valid" : "invalid", size);
        hex(data, size);
    }
    FUZZ_CHECK(got == want, "utf8_valid disagrees with the reference decoder");
    if (want) {
        FUZZ_CHECK(utf8_valid(copy, boundary) && utf8_valid(copy + boundary, size - boundary),
                   "valid text split at a character boundary (%zu) is not valid", boundary);
    }
    free(copy);
    return 0;
}
