/* test_slots.c — the master's request_timeout decision (slot_request_stuck) on a slot's request
 * word: only a busy slot whose request started more than the limit before `now` is stuck. */
#include "unit.h"
#include "metrics.h"

#define SEC 1000000ULL

static void a_request_that_started_after_now_is_never_stuck(void **state)
{
    (void)state;
    uint64_t now = 1000 * SEC;
    /* the master read `now`, then the worker started a request: unsigned, its age wrapped to 2^64 - 7 */
    assert_false(slot_request_stuck(slot_request_word(true, now + 7), now, 1 * SEC));
    assert_false(slot_request_stuck(slot_request_word(true, now + 30 * SEC), now, 1 * SEC));
}

static void a_busy_request_past_the_limit_is_stuck(void **state)
{
    (void)state;
    uint64_t now = 1000 * SEC;
    assert_true(slot_request_stuck(slot_request_word(true, now - 30 * SEC - 1), now, 30 * SEC));
    assert_false(slot_request_stuck(slot_request_word(true, now - 30 * SEC), now, 30 * SEC));
    assert_false(slot_request_stuck(slot_request_word(true, now - 7000), now, 30 * SEC));
}

static void an_idle_slot_with_an_old_start_is_not_stuck(void **state)
{
    (void)state;
    uint64_t now = 1000 * SEC;
    assert_false(slot_request_stuck(slot_request_word(false, now - 900 * SEC), now, 1 * SEC));
    assert_false(slot_request_stuck(slot_request_word(false, 0), now, 1 * SEC));
    assert_false(slot_request_stuck(0, now, 1 * SEC));
}

/* One word holds both: a worker that finished an old request and started a new one is seen
 * busy with the new start, never busy with the old one. */
static void the_word_pairs_busy_with_its_own_start(void **state)
{
    (void)state;
    uint64_t now = 1000 * SEC, new_start = now - 5;
    uint64_t word = slot_request_word(true, new_start);
    assert_int_equal(word >> 1, new_start);
    assert_int_equal(word & 1, 1);
    assert_false(slot_request_stuck(word, now, 1 * SEC));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_request_that_started_after_now_is_never_stuck),
        cmocka_unit_test(a_busy_request_past_the_limit_is_stuck),
        cmocka_unit_test(an_idle_slot_with_an_old_start_is_not_stuck),
        cmocka_unit_test(the_word_pairs_busy_with_its_own_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
