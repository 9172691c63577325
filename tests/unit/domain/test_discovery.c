/* SPDX-License-Identifier: MIT
 *
 * The math of For You and the interest graph with known inputs (docs/discovery.md): decay by
 * the half-life, the signal a view carries and the documented weights, topics of a caption, the
 * score's terms one at a time, and the diversity pass (no creator twice in a row, a topic at
 * most half a page, rules relaxed only when nothing else is left). Then the profile on an
 * in-memory database: a signal moves topic, type and creator rows by the weight, a second one
 * adds to the first, seeding and "not interested" with its undo.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h needs the headers above; the blank line keeps clang-format from sorting it first */
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "fixture.h"

#include "core/util.h"
#include "domain/creator_score.h"
#include "domain/foryou.h"
#include "domain/interests.h"
#include "store/interests.h"

#include <stdio.h>

#define DAY ((int64_t)24 * 3600 * 1000)

static void test_decay(void **state)
{
    (void)state;
    assert_float_equal(interests_decay(8.0, 0, INTERESTS_HALF_LIFE_MS), 8.0, 1e-12);
    assert_float_equal(interests_decay(8.0, 7 * DAY, INTERESTS_HALF_LIFE_MS), 4.0, 1e-9);
    assert_float_equal(interests_decay(8.0, 21 * DAY, INTERESTS_HALF_LIFE_MS), 1.0, 1e-9);
    assert_float_equal(interests_decay(-2.0, 14 * DAY, INTERESTS_HALF_LIFE_MS), -0.5, 1e-9);
    assert_float_equal(interests_decay(3.0, -5, INTERESTS_HALF_LIFE_MS), 3.0, 1e-12);
}

static void test_signals(void **state)
{
    (void)state;
    assert_int_equal(interests_view_signal(1999, false, true), SIGNAL_SKIP);
    assert_int_equal(interests_view_signal(2000, false, true), SIGNAL_VIEW);
    assert_int_equal(interests_view_signal(500, true, true), SIGNAL_COMPLETED);
    assert_int_equal(interests_view_signal(9000, true, false), SIGNAL_REPLAY);
    assert_true(interests_signal_weight(SIGNAL_SKIP) < 0);
    assert_true(interests_signal_weight(SIGNAL_NOT_INTERESTED) < 0);
    /* the documented order of strength */
    assert_true(interests_signal_weight(SIGNAL_VIEW) < interests_signal_weight(SIGNAL_COMPLETED));
    assert_true(interests_signal_weight(SIGNAL_COMPLETED) < interests_signal_weight(SIGNAL_REPLAY));
    assert_true(interests_signal_weight(SIGNAL_LIKE) < interests_signal_weight(SIGNAL_COMMENT));
    assert_true(interests_signal_weight(SIGNAL_SAVE) < interests_signal_weight(SIGNAL_SHARE));
    assert_float_equal(interests_signal_weight(SIGNAL__COUNT), 0, 0);
}

static void test_caption_topics(void **state)
{
    (void)state;
    interests_topic t[INTERESTS_TOPICS_PER_POST];
    int n = interests_caption_topics("Morning #Cats and #coffee with my kitten, kitten again "
                                     "@someone about baking bread",
                                     t, INTERESTS_TOPICS_PER_POST);
    assert_int_equal(n, 5);
    assert_string_equal(t[0].name, "cats");
    assert_float_equal(t[0].share, 1.0, 0);
    assert_string_equal(t[1].name, "coffee");
    /* terms: four letters or more, common words and mentions out, no repeats, at most three */
    assert_string_equal(t[2].name, "morning");
    assert_float_equal(t[2].share, 0.5, 0);
    assert_string_equal(t[3].name, "kitten");
    assert_string_equal(t[4].name, "again");
    assert_int_equal(interests_caption_topics("", t, INTERESTS_TOPICS_PER_POST), 0);
    /* the common words, first, last and longest of the sorted table included, are no topics;
     * longer words that start with one are */
    assert_int_equal(interests_caption_topics("About your THERE with also", t,
                                              INTERESTS_TOPICS_PER_POST),
                     0);
    assert_int_equal(interests_caption_topics("abouts yours withal", t, INTERESTS_TOPICS_PER_POST),
                     3);
    assert_string_equal(t[0].name, "abouts");
    assert_string_equal(t[2].name, "withal");
    /* the cap holds */
    assert_int_equal(interests_caption_topics("#a #b #c #d #e #f #g #h", t, 4), 4);
}

static void test_score(void **state)
{
    (void)state;
    foryou_features base = {.creator_score = CREATOR_SCORE_NEUTRAL};
    /* brand new, no engagement, no relation, neutral creator: freshness alone */
    assert_float_equal(foryou_score(&base), 1.0, 1e-12);
    foryou_features day = base;
    day.age_ms = DAY;
    assert_float_equal(foryou_score(&day), 0.5, 1e-12);
    foryou_features liked = base;
    liked.likes = 1023; /* log2(1024) / 10 = 1, the engagement cap */
    assert_float_equal(foryou_score(&liked), 2.0, 1e-12);
    liked.likes = 1000000;
    assert_float_equal(foryou_score(&liked), 2.0, 1e-12);
    foryou_features follows = base;
    follows.follows = true;
    assert_float_equal(foryou_score(&follows), 3.0, 1e-12);
    foryou_features topic = base;
    topic.topic_affinity = 5.0;
    assert_float_equal(foryou_score(&topic), 1.0 + 2.0 * tanh(1.0), 1e-12);
    topic.topic_affinity = -5.0;
    assert_float_equal(foryou_score(&topic), 1.0 - 2.0 * tanh(1.0), 1e-12);
    foryou_features star = base;
    star.creator_score = 100;
    assert_float_equal(foryou_score(&star), 1.5, 1e-12);
    star.creator_score = 0;
    assert_float_equal(foryou_score(&star), 0.5, 1e-12);
    foryou_features explore = base;
    explore.exploration = true;
    assert_float_equal(foryou_score(&explore), 1.3, 1e-12);
}

static void test_diversity(void **state)
{
    (void)state;
    /* creator 1 has the three best; topics: 7 for the first four */
    foryou_pick c[] = {{9, 1, 7}, {8, 1, 7}, {7, 1, 7}, {6, 2, 7}, {5, 3, 0}, {4, 2, 0}};
    int order[6];
    int n = foryou_diversify(c, 6, 4, order);
    assert_int_equal(n, 4);
    /* 9 (c1), then not c1: 6 (c2; topic 7 twice is half of 4), then 8 and 7 (c1) would be
     * topic 7 a third time, over half the page: 5 (c3), then 4 (c2) */
    assert_int_equal(order[0], 0);
    assert_int_equal(order[1], 3);
    assert_int_equal(order[2], 4);
    assert_int_equal(order[3], 5);
    /* a longer page relaxes nothing it need not: c1's 8 comes back once the spread allows */
    assert_int_equal(foryou_diversify(c, 6, 6, order), 6);
    assert_int_equal(order[1], 3);
    assert_int_equal(order[2], 1);
    /* one creator only: the rules give way rather than leave the page short */
    foryou_pick solo[] = {{3, 5, 1}, {2, 5, 1}, {1, 5, 1}};
    assert_int_equal(foryou_diversify(solo, 3, 10, order), 3);
    assert_int_equal(order[0], 0);
    assert_int_equal(order[1], 1);
    assert_int_equal(order[2], 2);
    assert_int_equal(foryou_diversify(solo, 0, 10, order), 0);
}

static double topic_weight(int64_t user, const char *topic)
{
    interests_weight w[INTERESTS_TOPICS_KEPT];
    int n = interests_load(fx_db, user, "topic", w, INTERESTS_TOPICS_KEPT);
    for (int i = 0; i < n; i++)
        if (!strcmp(w[i].item, topic))
            return w[i].weight;
    return NAN;
}

static void test_profile(void **state)
{
    (void)state;
    store_user me = fx_user("taster", false), creator = fx_user("maker", false);
    store_post p = fx_post(&creator, "public", 0);
    domain_error err = {0};
    /* fixture posts have no caption: give the signal topics through seeding and marks */
    const char *topics[] = {"#Cats", "dogs"};
    assert_int_equal(interests_seed(fx_db, me.id, topics, 2, &err), 0);
    assert_float_equal(topic_weight(me.id, "cats"), INTERESTS_SEED_WEIGHT, 1e-3);
    assert_int_equal(interests_seed(fx_db, me.id, topics, 1, &err), 0);
    assert_float_equal(topic_weight(me.id, "cats"), 2 * INTERESTS_SEED_WEIGHT, 1e-3);
    const char *bad[] = {"two words"};
    assert_int_equal(interests_seed(fx_db, me.id, bad, 1, &err), ERR_INVALID);
    assert_string_equal(err.code, "invalid_topic");

    domain_event like = {.type = EV_REACTION_ADDED, .actor = me.id, .post_id = p.id};
    assert_int_equal(interests_on_event(fx_db, &like, NULL), 0);
    interests_profile prof;
    assert_int_equal(interests_profile_get(fx_db, me.id, &prof, &err), 0);
    assert_int_equal(prof.n_creators, 1);
    assert_float_equal(prof.creators[0].weight, interests_signal_weight(SIGNAL_LIKE), 1e-3);
    assert_int_equal(prof.n_styles, 1);
    assert_string_equal(prof.styles[0].item, "liker");

    assert_int_equal(interests_not_interested_post(fx_db, me.id, p.id, true, &err), 0);
    assert_int_equal(interests_not_interested_post(fx_db, me.id, p.id, true, &err), 0);
    assert_int_equal(interests_profile_get(fx_db, me.id, &prof, &err), 0);
    assert_float_equal(prof.creators[0].weight,
                       interests_signal_weight(SIGNAL_LIKE) +
                           interests_signal_weight(SIGNAL_NOT_INTERESTED),
                       1e-3);
    assert_int_equal(interests_not_interested_post(fx_db, me.id, p.id, false, &err), 0);
    assert_int_equal(interests_profile_get(fx_db, me.id, &prof, &err), 0);
    assert_float_equal(prof.creators[0].weight, interests_signal_weight(SIGNAL_LIKE), 1e-3);

    assert_int_equal(interests_reset(fx_db, me.id, &err), 0);
    assert_int_equal(interests_profile_get(fx_db, me.id, &prof, &err), 0);
    assert_int_equal(prof.n_topics + prof.n_creators + prof.n_styles + prof.n_hours, 0);
}

static int creator_rows(int64_t user)
{
    static store_interest rows[2 * INTERESTS_CREATORS_KEPT];
    return store_interests_list(fx_db, user, "creator", rows, 2 * INTERESTS_CREATORS_KEPT);
}

/* me likes a post of a new creator (the i-th); the like event, already consumed once. */
static domain_event like_a_new_creator(const store_user *me, int i, store_user *creator)
{
    char handle[32];
    snprintf(handle, sizeof handle, "maker%03d", i);
    *creator = fx_user(handle, false);
    store_post p = fx_post(creator, "public", 0);
    domain_event like = {.type = EV_REACTION_ADDED, .actor = me->id, .post_id = p.id};
    assert_int_equal(interests_on_event(fx_db, &like, NULL), 0);
    return like;
}

/* The creators kind grows to kept + slack rows, then the next new creator trims it back to the
 * kept number, keeping the strongest (the first creator, liked twice, survives). */
static void test_creator_cap(void **state)
{
    (void)state;
    enum { KEPT = INTERESTS_CREATORS_KEPT, MOST = KEPT + INTERESTS_TRIM_SLACK(KEPT) };
    store_user me = fx_user("fan", false);
    int64_t first_creator = 0;
    for (int i = 0; i <= MOST; i++) {
        store_user creator;
        domain_event like = like_a_new_creator(&me, i, &creator);
        if (i == 0) {
            first_creator = creator.id;
            assert_int_equal(interests_on_event(fx_db, &like, NULL), 0); /* twice as strong */
        }
        assert_int_equal(creator_rows(me.id), i < MOST ? i + 1 : KEPT);
    }
    static store_interest rows[2 * KEPT];
    int n = store_interests_list(fx_db, me.id, "creator", rows, 2 * KEPT);
    char first[24];
    snprintf(first, sizeof first, "%lld", (long long)first_creator);
    bool kept_first = false;
    for (int i = 0; i < n; i++)
        kept_first |= strcmp(rows[i].item, first) == 0;
    assert_true(kept_first);
}

/* On the batching writer (as in the server) a kind is probed every INTERESTS_PROBE_EVERY new rows,
 * not after each: it may pass kept + slack by fewer than that many rows, and is trimmed back. */
static void test_creator_cap_on_the_writer(void **state)
{
    (void)state;
    enum {
        KEPT = INTERESTS_CREATORS_KEPT,
        BOUND = KEPT + INTERESTS_TRIM_SLACK(KEPT) + INTERESTS_PROBE_EVERY - 1,
        LIKES = BOUND + 3 * INTERESTS_PROBE_EVERY, /* without a probe, that many rows */
    };
    char err[256];
    assert_int_equal(interests_start(fx_url, err, sizeof err), 0);
    store_user me = fx_user("fan", false);
    uint64_t queued = interests_signals_queued();
    for (int i = 0; i < LIKES; i++) {
        store_user creator;
        like_a_new_creator(&me, i, &creator);
    }
    assert_int_equal(interests_signals_queued(), queued + LIKES);
    interests_stop(); /* flushes what is queued */
    int rows = creator_rows(me.id);
    assert_true(rows <= BOUND);
    assert_true(rows >= KEPT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decay),
        cmocka_unit_test(test_signals),
        cmocka_unit_test(test_caption_topics),
        cmocka_unit_test(test_score),
        cmocka_unit_test(test_diversity),
        cmocka_unit_test_setup_teardown(test_profile, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_creator_cap, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_creator_cap_on_the_writer, fx_setup_file,
                                        fx_teardown_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
