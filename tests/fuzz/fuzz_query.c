/* fuzz_query — a query string (QUERY_STRING as nginx passes it) through query_validate,
 * query_canonical and query_values_free over every route's parameter table, plus url_decode and
 * parse_timestamp on the raw bytes: memory safety.
 * Built with -DFUZZ_QUERY_CANONICAL it is fuzz_query_canonical, which also checks that the canonical
 * form (the response cache key) reads back as the same values: two different queries must not share
 * one cached answer. Two harnesses, so that a canonical-form defect does not stop the fuzzing of the
 * parser for memory errors. */
#include "fuzz.h"
#include "router.h"
#include "routes.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

static void one_table(const struct qparam *spec, const char *query)
{
    struct qvalue vals[MAX_QPARAMS];
    char err[256];
    memset(vals, 0xA5, sizeof(vals));   /* query_validate must initialise every slot itself */
    bool ok = query_validate(spec, query, vals, err, sizeof(err));
    struct buf canon = {0};
    if (ok) {
        query_canonical(spec, vals, &canon);
        FUZZ_CHECK(canon.len == strlen(canon.data ? canon.data : ""), "canonical query holds a NUL");
#ifdef FUZZ_QUERY_CANONICAL
        /* The canonical text is the response cache's key (dispatch.c): split back into its
         * name=value pairs and decoded, it must give exactly the normalised values (a timestamp's
         * value is its microseconds), or two different queries could share one cached answer. */
        const char *p = canon.data ? canon.data : "";
        for (int i = 0; spec[i].name; i++) {
            if (!vals[i].present)
                continue;
            size_t n = strlen(spec[i].name);
            FUZZ_CHECK(!strncmp(p, spec[i].name, n) && p[n] == '=', "canonical query '%s' (of '%s') lacks %s where expected",
                       canon.data, query, spec[i].name);
            const char *v = p + n + 1, *amp = strchr(v, '&');
            size_t vlen = amp ? (size_t)(amp - v) : strlen(v);
            char *decoded = NULL;
            FUZZ_CHECK(url_decode(v, vlen, false, &decoded), "canonical value of %s does not decode",
                       spec[i].name);
            FUZZ_CHECK(decoded && !strcmp(decoded, vals[i].s), "canonical query '%s' (of '%s') reads back %s as '%s', not '%s'",
                       canon.data, query, spec[i].name, decoded ? decoded : "(undecodable)", vals[i].s);
            free(decoded);
            p = amp ? amp + 1 : v + vlen;
        }
        FUZZ_CHECK(!*p, "canonical query '%s' (of '%s') has trailing text '%s'", canon.data, query, p);
#endif
    } else {
        FUZZ_CHECK(memchr(err, '\0', sizeof(err)) && err[0], "query_validate failed without a message");
    }
    query_values_free(spec, vals);
    buf_free(&canon);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *query = fuzz_cstr(data, size);
    size_t nf;
    const struct family *const *families = routes_families(&nf);
    for (size_t f = 0; f < nf; f++)
        for (size_t i = 0; i < families[f]->n_routes; i++)
            if (families[f]->routes[i].query)
                one_table(families[f]->routes[i].query, query);

    for (int plus = 0; plus < 2; plus++) {
        char *out = NULL;
        if (url_decode((const char *)data, size, plus, &out)) {
            FUZZ_CHECK(out != NULL, "url_decode succeeded without output");
            FUZZ_CHECK(strlen(out) <= size, "url_decode grew the input");
        }
        free(out);
    }
    uint64_t us;
    (void)parse_timestamp(query, &us);
    free(query);
    return 0;
}
