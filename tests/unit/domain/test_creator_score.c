// SPDX-License-Identifier: MIT
// The creator score math (domain/creator_score.h): percentile normalisation with ties, the
// weights, one creator alone, and tiers with hysteresis, including a score that oscillates
// around a threshold without the tier flapping.
#include "domain/creator_score.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first */
#include <cmocka.h>

static creator_inputs creator(int64_t id, int64_t views, int64_t plays, int64_t engagements,
                              int64_t completions, int64_t followers, int64_t days)
{
    return (creator_inputs){.creator_id = id,
                            .views = views,
                            .plays = plays,
                            .engagements = engagements,
                            .completions = completions,
                            .followers_net = followers,
                            .posting_days = days};
}

/* Three creators strictly ordered on reach, engagement and growth, tied on completion and
 * consistency: by hand, 100 * (.30*p + .25*p + .15*.5 + .20*p + .10*.5) with p = 1, .5, 0. */
static void test_hand_computed(void **state)
{
    (void)state;
    creator_inputs in[] = {creator(1, 3, 3, 3, 0, 2, 1), creator(2, 2, 2, 1, 0, 1, 1),
                           creator(3, 1, 1, 0, 0, 0, 1)};
    double scores[3], pcts[3 * SCORE__COMPONENTS];
    creator_score_compute(in, 3, scores, pcts);
    assert_float_equal(scores[0], 87.5, 1e-9);
    assert_float_equal(scores[1], 50.0, 1e-9);
    assert_float_equal(scores[2], 12.5, 1e-9);
    assert_float_equal(pcts[0 * SCORE__COMPONENTS + SCORE_REACH], 1.0, 1e-9);
    assert_float_equal(pcts[2 * SCORE__COMPONENTS + SCORE_GROWTH], 0.0, 1e-9);
    assert_float_equal(pcts[1 * SCORE__COMPONENTS + SCORE_COMPLETION], 0.5, 1e-9);
}

static void test_alone_and_all_equal(void **state)
{
    (void)state;
    creator_inputs one = creator(1, 100, 100, 10, 5, 3, 2);
    double s;
    creator_score_compute(&one, 1, &s, NULL);
    assert_float_equal(s, 50.0, 1e-9);
    creator_inputs same[4] = {one, one, one, one};
    double four[4];
    creator_score_compute(same, 4, four, NULL);
    for (int i = 0; i < 4; i++)
        assert_float_equal(four[i], 50.0, 1e-9);
}

static void test_weights_sum_to_one(void **state)
{
    (void)state;
    double sum = 0;
    for (int i = 0; i < SCORE__COMPONENTS; i++)
        sum += creator_score_weights[i];
    assert_float_equal(sum, 1.0, 1e-12);
}

static void test_rules_parse(void **state)
{
    (void)state;
    creator_tier_rules r;
    assert_true(creator_tier_rules_parse("40,60,75,90", 2, &r));
    assert_float_equal(r.thresholds[3], 90, 0);
    assert_false(creator_tier_rules_parse("60,40,75,90", 2, &r));
    assert_false(creator_tier_rules_parse("40,60,75", 2, &r));
    assert_false(creator_tier_rules_parse("40,60,75,190", 2, &r));
    assert_false(creator_tier_rules_parse("40,60,75,90x", 2, &r));
    assert_false(creator_tier_rules_parse("40,60,75,90", -1, &r));
}

static void test_tiers_and_hysteresis(void **state)
{
    (void)state;
    creator_tier_rules r;
    assert_true(creator_tier_rules_parse("40,60,75,90", 2, &r));
    /* without a previous tier: the plain boundaries */
    assert_int_equal(creator_tier_of(&r, 39.9, -1), 0);
    assert_int_equal(creator_tier_of(&r, 40, -1), 1);
    assert_int_equal(creator_tier_of(&r, 74.9, -1), 2);
    assert_int_equal(creator_tier_of(&r, 90, -1), 4);
    /* up only at threshold + margin */
    assert_int_equal(creator_tier_of(&r, 61.9, 1), 1);
    assert_int_equal(creator_tier_of(&r, 62, 1), 2);
    /* down only below threshold - margin */
    assert_int_equal(creator_tier_of(&r, 58.1, 2), 2);
    assert_int_equal(creator_tier_of(&r, 57.9, 2), 1);
    /* a jump crosses several tiers, stopping where the margin is not cleared */
    assert_int_equal(creator_tier_of(&r, 91, 0), 3);
    assert_int_equal(creator_tier_of(&r, 92, 0), 4);
    assert_int_equal(creator_tier_of(&r, 10, 4), 0);
    /* a score oscillating around 60 from silver never flaps */
    int tier = 1;
    double walk[] = {59.5, 60.5, 61.9, 59, 60, 58.5, 61};
    for (size_t i = 0; i < sizeof walk / sizeof walk[0]; i++) {
        tier = creator_tier_of(&r, walk[i], tier);
        assert_int_equal(tier, 1);
    }
    assert_int_equal(creator_tier_index("platinum"), 3);
    assert_int_equal(creator_tier_index("wood"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_computed),        cmocka_unit_test(test_alone_and_all_equal),
        cmocka_unit_test(test_weights_sum_to_one),   cmocka_unit_test(test_rules_parse),
        cmocka_unit_test(test_tiers_and_hysteresis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
