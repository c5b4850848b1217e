/* test_config.c — defaults, the file, environment overrides and bad values. */
#include "unit.h"
#include "config.h"
#include "routes.h"

#include <unistd.h>

static char *write_temp(const char *text)
{
    char *path = xstrdup("/tmp/gh-config-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void defaults_apply(void **state)
{
    struct config c;
    char err[256];
    unsetenv("GUILDHALL_WORKERS");
    assert_true(config_load(&c, NULL, err, sizeof(err)));
    assert_int_equal(c.workers, 2);
    assert_int_equal(c.max_body_bytes, 1048576);
    assert_int_equal(c.json_max_depth, 32);
    assert_true(c.scheduler);
    assert_false(c.test_routes);
    assert_string_equal(config_declared(&c, "ratelimit_mikros"), "100/60/200");
    assert_null(config_declared(&c, "ratelimit_nonesuch"));
    config_free(&c);
}

static void file_then_environment(void **state)
{
    char *path = write_temp("# comment\nworkers = 5\n  test_routes=on\nlog_level = debug\n");
    struct config c;
    char err[256];
    setenv("GUILDHALL_WORKERS", "7", 1);
    assert_true(config_load(&c, path, err, sizeof(err)));
    assert_int_equal(c.workers, 7);
    assert_true(c.test_routes);
    assert_string_equal(c.log_level, "debug");
    config_free(&c);
    unsetenv("GUILDHALL_WORKERS");
    unlink(path);
    free(path);
}

static void bad_values_are_reported_with_the_line(void **state)
{
    const char *bad[] = {"workers = 0\n", "workers = many\n", "nonsense = 1\n", "scheduler = maybe\n",
                         "just text\n", "database_pooler = session\n", "database_pooler = \n"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        char *path = write_temp(bad[i]);
        struct config c;
        char err[256] = "";
        assert_false(config_load(&c, path, err, sizeof(err)));
        assert_non_null(strstr(err, ":1:"));
        config_free(&c);
        unlink(path);
        free(path);
    }
}

static void docs_cover_every_key(void **state)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    config_print_docs(f);
    fclose(f);
    const char *keys[] = {"listen", "workers", "max_requests", "request_timeout", "database_url",
                          "memcached_servers", "max_body_bytes", "ratelimit_ops_minute", "fcgi_close_poll_timeout_ms"};
    for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
        char needle[64];
        snprintf(needle, sizeof(needle), "| `%s` |", keys[i]);
        assert_non_null(strstr(buf, needle));
    }
    free(buf);
}

/* A declared setting is read from the file and the environment like a built-in one. */
static void declared_settings_behave_like_built_in_ones(void **state)
{
    assert_true(config_declare("ratelimit_probe", "1/60", "A probe."));
    assert_true(config_declare("ratelimit_probe", "2/60", "Declared twice: the first wins."));
    char *path = write_temp("ratelimit_probe = 9/60\n");
    struct config c;
    char err[256];
    assert_true(config_load(&c, NULL, err, sizeof(err)));
    assert_string_equal(config_declared(&c, "ratelimit_probe"), "1/60");
    config_free(&c);
    assert_true(config_load(&c, path, err, sizeof(err)));
    assert_string_equal(config_declared(&c, "ratelimit_probe"), "9/60");
    config_free(&c);
    setenv("GUILDHALL_RATELIMIT_PROBE", "3/60", 1);
    assert_true(config_load(&c, path, err, sizeof(err)));
    assert_string_equal(config_declared(&c, "ratelimit_probe"), "3/60");
    unsetenv("GUILDHALL_RATELIMIT_PROBE");
    config_free(&c);
    unlink(path);
    free(path);
}

/* database_pooler: off by default; `transaction` needs a direct connection string for the
 * processes that keep a session (the scheduler, the outbox, guildhall-admin). */
static void pooler_needs_a_direct_url(void **state)
{
    struct config c;
    char err[256] = "";
    assert_true(config_load(&c, NULL, err, sizeof(err)));
    assert_false(config_pooled(&c));
    assert_string_equal(config_direct_url(&c), "dbname=guildhall");   /* empty: database_url */
    config_free(&c);

    char *path = write_temp("database_url = host=pgbouncer dbname=guildhall\ndatabase_pooler = transaction\n");
    assert_false(config_load(&c, path, err, sizeof(err)));
    assert_non_null(strstr(err, "database_direct_url"));
    config_free(&c);
    unlink(path);
    free(path);

    path = write_temp("database_url = host=pgbouncer dbname=guildhall\ndatabase_pooler = transaction\n"
                      "database_direct_url = host=db dbname=guildhall\n");
    assert_true(config_load(&c, path, err, sizeof(err)));
    assert_true(config_pooled(&c));
    assert_string_equal(c.database_url, "host=pgbouncer dbname=guildhall");
    assert_string_equal(config_direct_url(&c), "host=db dbname=guildhall");
    config_free(&c);
    setenv("GUILDHALL_DATABASE_POOLER", "none", 1);   /* the environment can turn it off again */
    assert_true(config_load(&c, path, err, sizeof(err)));
    assert_false(config_pooled(&c));
    unsetenv("GUILDHALL_DATABASE_POOLER");
    config_free(&c);
    unlink(path);
    free(path);
}

int main(void)
{
    if (!routes_declare_settings())
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_apply),
        cmocka_unit_test(file_then_environment),
        cmocka_unit_test(bad_values_are_reported_with_the_line),
        cmocka_unit_test(docs_cover_every_key),
        cmocka_unit_test(declared_settings_behave_like_built_in_ones),
        cmocka_unit_test(pooler_needs_a_direct_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
