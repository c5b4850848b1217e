/* fuzz_body_bind — a request body through what the dispatcher does with it: body_decode (JSON,
 * UTF-8, depth cap), then every body schema of every family (routes_families() → routes[i].body)
 * bound with max_errs 1 and 16, body_to_json of a successful bind, and body_unbind. */
#include "fuzz.h"
#include "body.h"
#include "routes.h"
#include "schema.h"

#include <json-c/json.h>

#define MAX_BODY (1L << 20)   /* config's max_body_bytes default order; the input is smaller anyway */
#define MAX_DEPTH 32

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

static void bind_one(const struct body_schema *s, json_object *body, int max_errs)
{
    struct field_error errs[16];
    void *out = xcalloc(1, s->size);
    memset(errs, 0, sizeof(errs));
    int n = body_bind(s, body, out, NULL, errs, max_errs);
    FUZZ_CHECK(n >= 0 && n <= max_errs, "body_bind returned %d with max_errs %d", n, max_errs);
    for (int i = 0; i < n; i++) {
        FUZZ_CHECK(memchr(errs[i].field, '\0', sizeof(errs[i].field)) != NULL, "field path not terminated");
        FUZZ_CHECK(memchr(errs[i].message, '\0', sizeof(errs[i].message)) != NULL, "message not terminated");
        FUZZ_CHECK(errs[i].message[0] != '\0', "empty message for field '%s'", errs[i].field);
    }
    if (n == 0) {
        json_object *j = body_to_json(s, out);
        FUZZ_CHECK(j != NULL, "body_to_json of a bound struct is NULL");
        const char *text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
        FUZZ_CHECK(text != NULL, "body_to_json result does not serialise");
        json_object_put(j);
    }
    body_unbind(s, out);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_object *body = NULL;
    char err[256];
    int status = body_decode((const char *)data, size, "application/json", NULL, MAX_BODY, MAX_DEPTH, &body, err,
                             sizeof(err));
    FUZZ_CHECK(status == 0 || status == 400 || status == 413 || status == 415, "body_decode status %d", status);
    if (status != 0) {
        FUZZ_CHECK(body == NULL, "body_decode failed (%d) but set a body", status);
        return 0;
    }
    size_t nf;
    const struct family *const *families = routes_families(&nf);
    for (size_t f = 0; f < nf; f++)
        for (size_t i = 0; i < families[f]->n_routes; i++) {
            const struct body_schema *s = families[f]->routes[i].body;
            if (!s)
                continue;
            bind_one(s, body, 1);
            bind_one(s, body, 16);
        }
    json_object_put(body);
    return 0;
}
