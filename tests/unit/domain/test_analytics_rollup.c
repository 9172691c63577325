/* SPDX-License-Identifier: MIT
 *
 * The analytics rollup (src/domain/analytics.c) on a real database: SQLite here, PostgreSQL when
 * STREAMHUB_ANALYTICS_TEST_DB names one (tests/run-all.sh). A window touches more than
 * STORE_ANALYTICS_CHUNK rows of every kind, so the multi-row statements run (the e2e suites'
 * small traffic only reaches the row-by-row tail); a second rollup over the same hour merges
 * into the stored member sets without counting a viewer twice; a post with more viewers in an
 * hour than UNIQSET_EXACT_MAX is counted by its sketch within the documented error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../testdb.h"
#include "core/id.h"
#include "core/uniqset.h"
#include "core/util.h"
#include "domain/analytics.h"
#include "store/db.h"

#define POSTS 100 /* more than STORE_ANALYTICS_CHUNK post rows, sets and last views */
#define BIG 300   /* viewers of post 1 in one hour: past UNIQSET_EXACT_MAX */

static int64_t next_id;

static void exec_ok(db *d, const char *sql, const int64_t *v, int n, const char *text)
{
    db_stmt *s = db_prepare(d, sql);
    assert_non_null(s);
    for (int i = 0; i < n; i++)
        db_bind_int64(s, i + 1, v[i]);
    if (text)
        db_bind_text(s, n + 1, text);
    assert_true(db_run(s) >= 0);
}

/* An event about a post in the log, as the event-log writer stores it */
static void log_post_event(db *d, const char *type, int64_t actor, int64_t post, int64_t at,
                           const char *props)
{
    db_stmt *s = db_prepare(d, "INSERT INTO events (id, actor_id, type, object_type, object_id, "
                               "created_at, props) VALUES (?, ?, ?, 'post', ?, ?, ?)");
    assert_non_null(s);
    db_bind_int64(s, 1, ++next_id);
    db_bind_int64(s, 2, actor);
    db_bind_text(s, 3, type);
    db_bind_int64(s, 4, post);
    db_bind_int64(s, 5, at);
    db_bind_text(s, 6, props);
    assert_true(db_run(s) >= 0);
}

static void view(db *d, int64_t viewer, int64_t post, int64_t at)
{
    log_post_event(d, "view", viewer, post, at,
                   "{\"watch_ms\":1000,\"source\":\"for_you\",\"counted\":true}");
}

/* For You's record of a served item (domain/foryou.c): counted by no post row */
static void impression(db *d, int64_t viewer, int64_t post, int64_t at)
{
    log_post_event(d, "impression", viewer, post, at,
                   "{\"position\":0,\"source\":\"trending\",\"session\":\"1\"}");
}

static void seed(db *d, int64_t now)
{
    for (int64_t u = 1; u <= BIG + 10; u++) {
        char h[16];
        snprintf(h, sizeof h, "u%lld", (long long)u);
        db_stmt *s = db_prepare(d, "INSERT INTO users (id, handle, handle_norm, display_name, "
                                   "created_at, updated_at) VALUES (?, ?, ?, '', ?, ?)");
        db_bind_int64(s, 1, u);
        db_bind_text(s, 2, h);
        db_bind_text(s, 3, h);
        db_bind_int64(s, 4, now);
        db_bind_int64(s, 5, now);
        assert_true(db_run(s) >= 0);
    }
    for (int64_t p = 1; p <= POSTS; p++) {
        int64_t v[] = {p, 1 + p % 5, now, now}; /* five creators, 1..5 */
        exec_ok(d,
                "INSERT INTO posts (id, author_id, type, visibility, created_at, updated_at, "
                "media_duration_ms) VALUES (?, ?, 'video', 'public', ?, ?, 30000)",
                v, 4, NULL);
    }
}

static int64_t col(db *d, const char *sql, int64_t key, int64_t hour)
{
    db_stmt *s = db_prepare(d, sql);
    assert_non_null(s);
    db_bind_int64(s, 1, key);
    db_bind_int64(s, 2, hour);
    int64_t v = -1;
    assert_int_equal(db_query_int64(s, &v), 0);
    return v;
}

static void test_rollup_windows_and_sets(void **state)
{
    char dir[] = "/tmp/sh-analytics-XXXXXX";
    db *d = testdb_open("STREAMHUB_ANALYTICS_TEST_DB", dir, TESTDB_ALL);
    analytics_configure(&(analytics_settings){.settle_ms = 0});
    int64_t now = now_ms(), hour = now - now % ANALYTICS_HOUR_MS - 2 * ANALYTICS_HOUR_MS;
    next_id = (hour - ID_EPOCH_MS) << 22;
    seed(d, now);
    assert_int_equal(db_begin(d), 0);
    /* every post viewed by users 11, 12, 13; post 1 also by BIG others */
    for (int64_t p = 1; p <= POSTS; p++)
        for (int64_t u = 11; u <= 13; u++)
            view(d, u, p, hour + p * 1000 + u);
    for (int64_t u = 11; u <= BIG + 10; u++)
        view(d, u, 1, hour + 600000 + u);
    assert_int_equal(db_commit(d), 0);
    int64_t folded = 0;
    assert_int_equal(analytics_rollup(d, now, 0, &folded), 0);
    assert_int_equal(folded, POSTS * 3 + BIG);

    /* more of the same hour in a second rollup: user 11 again (known), user 14 (new) */
    assert_int_equal(db_begin(d), 0);
    for (int64_t p = 2; p <= POSTS; p++) {
        view(d, 11, p, hour + 1200000 + p);
        view(d, 14, p, hour + 1300000 + p);
    }
    assert_int_equal(db_commit(d), 0);
    assert_int_equal(analytics_rollup(d, now, 0, &folded), 0);
    assert_int_equal(folded, (POSTS - 1) * 2);

    const char *viewers = "SELECT viewers FROM analytics_post_hours WHERE post_id = ? AND hour = ?";
    const char *plays = "SELECT plays FROM analytics_post_hours WHERE post_id = ? AND hour = ?";
    for (int64_t p = 2; p <= POSTS; p++) {
        assert_int_equal(col(d, viewers, p, hour), 4); /* 11, 12, 13, 14: exact */
        assert_int_equal(col(d, plays, p, hour), 5);
    }
    /* post 1: BIG distinct viewers (11..BIG+10 include 11-13), a sketch past 256 */
    int64_t big = col(d, viewers, 1, hour);
    assert_true(big > BIG * 95 / 100 && big < BIG * 105 / 100);
    assert_int_equal(col(d, plays, 1, hour), 3 + BIG);
    /* creators: post p belongs to 1 + p % 5; creator 2 has posts 1, 6, ...: its viewers are
     * the BIG of post 1 (14 among them), so a sketch too; creator 3's are exactly 11-14 */
    assert_int_equal(col(d,
                         "SELECT viewers FROM analytics_creator_hours WHERE creator_id = ? "
                         "AND hour = ?",
                         3, hour),
                     4);
    assert_int_equal(col(d,
                         "SELECT plays FROM analytics_creator_hours WHERE creator_id = ? AND "
                         "hour = ?",
                         3, hour),
                     POSTS / 5 * 5);
    /* the platform's active users: BIG distinct actors, a sketch */
    int64_t active = col(d,
                         "SELECT active_users FROM analytics_platform_hours WHERE scope = ? "
                         "AND hour = ?",
                         0, hour);
    assert_true(active > BIG * 95 / 100 && active < BIG * 105 / 100);
    /* last views: one per viewer and creator, the latest post */
    assert_int_equal(col(d,
                         "SELECT post_id FROM analytics_last_views WHERE viewer_id = ? AND "
                         "creator_id = ?",
                         14, 1 + POSTS % 5),
                     POSTS);
    /* impressions in the next hour, by user 15 and anonymous readers: platform events of their
     * actors (the signed-in one active), but no post or creator row and no viewer */
    int64_t next = hour + ANALYTICS_HOUR_MS;
    assert_int_equal(db_begin(d), 0);
    for (int64_t p = 2; p <= 4; p++) {
        impression(d, 15, p, next + p);
        impression(d, 0, p, next + 100 + p);
    }
    assert_int_equal(db_commit(d), 0);
    assert_int_equal(analytics_rollup(d, now, 0, &folded), 0);
    assert_int_equal(folded, 6);
    assert_int_equal(col(d, "SELECT COUNT(*) FROM analytics_post_hours WHERE post_id = ? AND hour = ?",
                         2, next),
                     0);
    assert_int_equal(col(d,
                         "SELECT COUNT(*) FROM analytics_creator_hours WHERE creator_id = ? "
                         "AND hour = ?",
                         3, next),
                     0);
    assert_int_equal(col(d,
                         "SELECT events FROM analytics_platform_hours WHERE scope = ? AND hour = ?",
                         0, next),
                     6);
    assert_int_equal(col(d,
                         "SELECT active_users FROM analytics_platform_hours WHERE scope = ? "
                         "AND hour = ?",
                         0, next),
                     1);
    /* nothing left: another rollup folds nothing and changes nothing */
    assert_int_equal(analytics_rollup(d, now, 0, &folded), 0);
    assert_int_equal(folded, 0);
    assert_int_equal(col(d, viewers, 2, hour), 4);
    testdb_close(d, dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rollup_windows_and_sets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
