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
#ifdef FUZZ_QUERY_CANONICAL
    struct qvalue again[MAX_QPARAMS];
#endif
    char err[256];
    memset(vals, 0xA5, sizeof(vals));   /* query_validate must initialise every slot itself */
    bool ok = query_validate(spec, query, vals, err, sizeof(err));
    struct buf canon = {0};
    if (ok) {
        query_canonical(spec, vals, &canon);
        FUZZ_CHECK(canon.len == strlen(canon.data ? canon.data : ""), "canonical query holds a NUL");
#ifdef FUZZ_QUERY_CANONICAL
        /* The canonical text is the response cache's key (dispatch.c): read back as a query it must
         * give the same values, or two different queries share one cached answer. */
        char err2[256];
        bool ok2 = query_validate(spec, canon.data ? canon.data : "", again, err2, sizeof(err2));
        FUZZ_CHECK(ok2, "canonical query '%s' (of '%s') is refused: %s", canon.data, query, err2);
        for (int i = 0; spec[i].name; i++) {
            bool same = vals[i].present == again[i].present &&
                        (!vals[i].present || !strcmp(vals[i].s ? vals[i].s : "", again[i].s ? again[i].s : ""));
            FUZZ_CHECK(same, "canonical query '%s' (of '%s') reads back %s as '%s', not '%s'", canon.data, query,
                       spec[i].name, again[i].present ? again[i].s : "(absent)",
                       vals[i].present ? vals[i].s : "(absent)");
        }
        query_values_free(spec, again);
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
