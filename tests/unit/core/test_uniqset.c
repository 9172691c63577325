/* SPDX-License-Identifier: MIT
 *
 * The unique-count sets of the analytics rollup (src/core/uniqset.c): exact below the bound
 * (repeats, any order, unions of exact sets of any size), the text round trip, texts that are
 * not sets refused without touching the set, and the sketch's error within the documented bound
 * (1.6% standard error: every estimate here within 5%).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/uniqset.h"

static void test_exact_below_the_bound(void **state)
{
    uniqset s = {0};
    for (int round = 0; round < 3; round++)
        for (int64_t id = UNIQSET_EXACT_MAX; id >= 1; id--)
            uniqset_add(&s, id * 1000003);
    uniqset_add(&s, 0); /* not a member */
    uniqset_compact(&s, UNIQSET_EXACT_MAX);
    assert_true(uniqset_is_exact(&s));
    assert_int_equal(uniqset_count(&s), UNIQSET_EXACT_MAX);
    uniqset_add(&s, 7);
    uniqset_compact(&s, UNIQSET_EXACT_MAX);
    assert_false(uniqset_is_exact(&s));
    uniqset_free(&s);
}

static void test_text_round_trip(void **state)
{
    uniqset s = {0}, t = {0};
    assert_int_equal(uniqset_parse(&s, "5,3,3,1796289443632123"), 0);
    char *text = uniqset_encode(&s);
    assert_string_equal(text, "3,5,1796289443632123");
    assert_int_equal(uniqset_parse(&t, text), 0);
    assert_int_equal(uniqset_count(&t), 3);
    free(text);
    uniqset_free(&t);
    for (int64_t id = 1; id <= 5000; id++)
        uniqset_add(&s, id);
    uniqset_compact(&s, UNIQSET_EXACT_MAX);
    text = uniqset_encode(&s);
    assert_int_equal(text[0], 'H');
    assert_int_equal(strlen(text), UNIQSET_REGS + 1);
    assert_int_equal(uniqset_parse(&t, text), 0);
    assert_int_equal(uniqset_count(&t), uniqset_count(&s));
    free(text);
    uniqset_free(&s);
    uniqset_free(&t);
    assert_int_equal(uniqset_parse(&s, ""), 0);
    assert_int_equal(uniqset_count(&s), 0);
}

static void test_bad_text_is_refused(void **state)
{
    uniqset s = {0};
    uniqset_add(&s, 42);
    const char *bad[] = {"1,x", "-1", "H123", "1;2", "H", ",", "1,,2", "1,", ",1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(uniqset_parse(&s, bad[i]), -1);
    assert_int_equal(uniqset_count(&s), 1);
    uniqset_free(&s);
}

static void test_exact_unions_stay_exact(void **state)
{
    /* 100 hours of 200 viewers each, half of them the same people every hour */
    uniqset total = {0};
    for (int h = 0; h < 100; h++) {
        uniqset hour = {0};
        for (int i = 0; i < 200; i++)
            uniqset_add(&hour, i < 100 ? i + 1 : 1000 + h * 100 + i);
        uniqset_compact(&hour, UNIQSET_EXACT_MAX);
        uniqset_union(&total, &hour);
        uniqset_free(&hour);
    }
    assert_true(uniqset_is_exact(&total));
    assert_int_equal(uniqset_count(&total), 100 + 100 * 100);
    uniqset_free(&total);
}

static void test_sketch_error(void **state)
{
    const int64_t sizes[] = {300, 1000, 10000, 100000, 1000000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        uniqset a = {0}, b = {0};
        /* two overlapping halves merged: the union's estimate, as a day of hours is read */
        for (int64_t id = 1; id <= sizes[k] * 2 / 3; id++)
            uniqset_add(&a, id * 7919);
        for (int64_t id = sizes[k] / 3; id <= sizes[k]; id++)
            uniqset_add(&b, id * 7919);
        uniqset_compact(&a, UNIQSET_EXACT_MAX);
        uniqset_compact(&b, UNIQSET_EXACT_MAX);
        uniqset_union(&a, &b);
        double err = (double)(uniqset_count(&a) - sizes[k]) / (double)sizes[k];
        assert_true(err > -0.05 && err < 0.05);
        uniqset_free(&a);
        uniqset_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_below_the_bound),
        cmocka_unit_test(test_text_round_trip),
        cmocka_unit_test(test_bad_text_is_refused),
        cmocka_unit_test(test_exact_unions_stay_exact),
        cmocka_unit_test(test_sketch_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
