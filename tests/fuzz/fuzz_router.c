/* fuzz_router — a request path (DOCUMENT_URI) matched against the production route table, built
 * once as guildhalld builds it (routes_declare_settings, config_load(NULL), routes_init), with every
 * method the table knows and one taken from the input ("METHOD path" when the input has a space). */
#include "fuzz.h"
#include "config.h"
#include "router.h"
#include "routes.h"

static struct config cfg;
static const struct route *table;
static size_t n_routes;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];
    if (!routes_declare_settings() || !config_load(&cfg, NULL, err, sizeof(err)) ||
        !routes_init(&cfg, err, sizeof(err))) {
        fprintf(stderr, "fuzz_router: cannot build the route table: %s\n", err);
        abort();
    }
    table = routes_table(&n_routes);
    return 0;
}

static void match(const char *method, const char *path)
{
    const struct route *found = NULL;
    struct path_params params;
    char allow[64];
    memset(&params, 0, sizeof(params));
    enum match_result m = router_match(table, n_routes, method, path, &found, &params, allow, sizeof(allow));
    switch (m) {
    case MATCH_OK:
    case MATCH_BAD_PARAM:
        FUZZ_CHECK(found >= table && found < table + n_routes, "match outside the table");
        FUZZ_CHECK(params.n >= 0 && params.n <= MAX_PATH_PARAMS, "%d path params", params.n);
        for (int i = 0; i < params.n; i++) {
            char name[64];
            size_t len = params.name_lens[i] < sizeof(name) - 1 ? params.name_lens[i] : sizeof(name) - 1;
            memcpy(name, params.names[i], len);
            name[len] = '\0';
            /* typed names are "id:uuid": path_param takes what the handler asks for */
            char *colon = strchr(name, ':');
            if (colon)
                *colon = '\0';
            (void)path_param(&params, name);
            if (m == MATCH_OK && params.values[i])
                FUZZ_CHECK(strlen(params.values[i]) <= strlen(path), "a parameter longer than the path");
        }
        if (m == MATCH_BAD_PARAM)
            FUZZ_CHECK(memchr(params.bad, '\0', sizeof(params.bad)) != NULL, "bad name not terminated");
        break;
    case MATCH_BAD_METHOD:
        FUZZ_CHECK(memchr(allow, '\0', sizeof(allow)) != NULL && allow[0], "405 without Allow");
        break;
    case MATCH_NO_PATH:
        break;
    default:
        FUZZ_CHECK(false, "router_match returned %d", (int)m);
    }
    path_params_free(&params);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    char *path = fuzz_cstr(data, size);
    for (size_t i = 0; i < ARRAY_LEN(methods); i++)
        match(methods[i], path);
    char *space = strchr(path, ' ');
    if (space) {
        *space = '\0';
        match(path, space + 1);
    }
    (void)family_for_path(space ? space + 1 : path);
    free(path);
    return 0;
}
