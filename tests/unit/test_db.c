/* test_db.c — how a plain command's answer reads (db_command_status): above all, a COMMIT that
 * PostgreSQL answered with ROLLBACK (the transaction had already failed) is a failure. And what a
 * connection sends at startup, direct or through a transaction pooler (db_connect_params). */
#include "unit.h"
#include "db.h"

static void commit_answered_rollback_is_a_failure(void **state)
{
    assert_int_equal(db_command_status("COMMIT", PGRES_COMMAND_OK, "ROLLBACK"), DB_FAILED);
    assert_int_equal(db_command_status("COMMIT", PGRES_COMMAND_OK, "COMMIT"), DB_OK);
}

static void other_commands_read_their_status(void **state)
{
    assert_int_equal(db_command_status("ROLLBACK", PGRES_COMMAND_OK, "ROLLBACK"), DB_OK);
    assert_int_equal(db_command_status("BEGIN", PGRES_COMMAND_OK, "BEGIN"), DB_OK);
    assert_int_equal(db_command_status("LISTEN guildhall_jobs", PGRES_COMMAND_OK, "LISTEN"), DB_OK);
    assert_int_equal(db_command_status("COMMIT", PGRES_FATAL_ERROR, ""), DB_FAILED);
    assert_int_equal(db_command_status("BEGIN", PGRES_FATAL_ERROR, NULL), DB_FAILED);
}

static const char *param(const char **keywords, const char **values, const char *name)
{
    for (size_t i = 0; keywords[i]; i++)
        if (!strcmp(keywords[i], name))
            return values[i];
    return NULL;
}

/* Direct: TimeZone and statement_timeout ride on `options`. */
static void direct_connections_send_options(void **state)
{
    struct db *db = db_open("host=db dbname=guildhall", 2500, false);
    const char *k[DB_CONNECT_PARAMS], *v[DB_CONNECT_PARAMS];
    size_t n = db_connect_params(db, k, v);
    assert_null(k[n]);
    assert_string_equal(param(k, v, "dbname"), "host=db dbname=guildhall");
    assert_string_equal(param(k, v, "options"), "-c TimeZone=UTC -c statement_timeout=2500");
    assert_string_equal(param(k, v, "application_name"), "guildhalld");
    db_close(db);
}

/* Pooled: PgBouncer refuses a startup packet with `options` ("unsupported startup parameter"). */
static void pooled_connections_send_no_options(void **state)
{
    struct db *db = db_open("host=pgbouncer dbname=guildhall", 2500, true);
    const char *k[DB_CONNECT_PARAMS], *v[DB_CONNECT_PARAMS];
    size_t n = db_connect_params(db, k, v);
    assert_null(k[n]);
    assert_null(param(k, v, "options"));
    assert_string_equal(param(k, v, "dbname"), "host=pgbouncer dbname=guildhall");
    assert_string_equal(param(k, v, "application_name"), "guildhalld");
    db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(commit_answered_rollback_is_a_failure),
        cmocka_unit_test(other_commands_read_their_status),
        cmocka_unit_test(direct_connections_send_options),
        cmocka_unit_test(pooled_connections_send_no_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
