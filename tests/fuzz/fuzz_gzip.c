/* fuzz_gzip — a gzip request body (Content-Encoding: gzip): gunzip_capped with a small and a
 * large cap, and body_decode with gzip. A cap is a hard limit, a smaller cap never yields other
 * bytes than a larger one, and a failure says 400 or 413. */
#include "fuzz.h"
#include "body.h"

#include <json-c/json.h>

#define SMALL_CAP 512L
#define LARGE_CAP (256L * 1024)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf small = {0}, large = {0};
    int rs = gunzip_capped((const char *)data, size, SMALL_CAP, &small);
    int rl = gunzip_capped((const char *)data, size, LARGE_CAP, &large);
    FUZZ_CHECK(rs == 0 || rs == 400 || rs == 413, "gunzip_capped(small) = %d", rs);
    FUZZ_CHECK(rl == 0 || rl == 400 || rl == 413, "gunzip_capped(large) = %d", rl);
    FUZZ_CHECK(small.len <= (size_t)SMALL_CAP, "small cap exceeded: %zu bytes", small.len);
    FUZZ_CHECK(large.len <= (size_t)LARGE_CAP, "large cap exceeded: %zu bytes", large.len);
    if (rs == 0) {
        FUZZ_CHECK(rl == 0, "fits in %ld bytes but fails (%d) with %ld", SMALL_CAP, rl, LARGE_CAP);
        FUZZ_CHECK(small.len == large.len && (!small.len || !memcmp(small.data, large.data, small.len)),
                   "the same stream inflates differently under two caps");
    }
    if (rl == 0 && large.len <= (size_t)SMALL_CAP)
        FUZZ_CHECK(rs == 0, "%zu inflated bytes fit the small cap, yet it says %d", large.len, rs);
    buf_free(&small);
    buf_free(&large);

    json_object *body = NULL;
    char err[256] = "";
    int st = body_decode((const char *)data, size, "application/json; charset=utf-8", "gzip", 64 * 1024, 32, &body,
                         err, sizeof(err));
    FUZZ_CHECK(st == 0 || st == 400 || st == 413, "body_decode(gzip) = %d (%s)", st, err);
    FUZZ_CHECK(st == 0 || (body == NULL && err[0]), "failure %d with a body or without a message", st);
    json_object_put(body);
    return 0;
}
