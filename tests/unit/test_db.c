/* test_db.c — how a plain command's answer reads (db_command_status): above all, a COMMIT that
 * PostgreSQL answered with ROLLBACK (the transaction had already failed) is a failure. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(commit_answered_rollback_is_a_failure),
        cmocka_unit_test(other_commands_read_their_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
