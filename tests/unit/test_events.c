/* SPDX-License-Identifier: MIT
 *
 * domain/events.c, the domain event registry, on a real SQLite file: consumers run in the
 * order they subscribed, in-transaction ones at once and after-commit ones only once the commit
 * is through (never after a rollback, at once outside a transaction); an in-transaction error
 * stops the consumers after it and rolls the action back (checked through graph_follow, a real
 * emitter); after-commit consumers see the scalar fields but not the borrowed rows. And the
 * event log's read for the recommender's training: events about posts, impressions left out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h needs the headers above; the blank line keeps clang-format from sorting it first */
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "domain/events.h"
#include "domain/graph.h"
#include "store/db.h"
#include "store/events.h"
#include "store/graph.h"
#include "store/migrate.h"
#include "store/users.h"
#include "testdb.h"

static char trace[64];
static int fail_with;

/* Appends its tag (the arg) to trace; "!" consumers also write a row (inside the emitter's
 * transaction) and the "x" one fails with fail_with. */
static int consumer(db *d, const domain_event *ev, void *arg)
{
    const char *tag = arg;
    size_t n = strlen(trace);
    if (n + 1 < sizeof trace)
        trace[n] = tag[0];
    if (tag[0] == 'x')
        return fail_with;
    if (tag[0] == '!') {
        db_stmt *s = db_prepare(d, "INSERT INTO hashtags (id, tag, post_count, created_at) "
                                   "VALUES (?, 'written', 0, 0)");
        assert_non_null(s);
        db_bind_int64(s, 1, ev->post_id);
        return db_run(s);
    }
    return 0;
}

static const domain_event *seen_after;
static domain_event seen_copy;

static int after_consumer(db *d, const domain_event *ev, void *arg)
{
    (void)d;
    seen_after = ev;
    seen_copy = *ev;
    return consumer(d, ev, arg);
}

static int64_t rows_written(db *d)
{
    int64_t n = -1;
    db_stmt *s = db_prepare(d, "SELECT COUNT(*) FROM hashtags WHERE tag = 'written'");
    assert_non_null(s);
    assert_int_equal(db_query_int64(s, &n), 0);
    return n;
}

static int setup(void **state)
{
    (void)state;
    events_reset();
    memset(trace, 0, sizeof trace);
    fail_with = 0;
    seen_after = NULL;
    memset(&seen_copy, 0, sizeof seen_copy);
    return 0;
}

static void test_order_and_phases(void **state)
{
    (void)state;
    char dir[] = "/tmp/sh-unit-XXXXXX";
    db *d = testdb_open(NULL, dir, TESTDB_ALL);
    assert_int_equal(events_on(EV_POST_CREATED, EVENTS_IN_TRANSACTION, consumer, "a"), 0);
    assert_int_equal(events_on(EV_POST_CREATED, EVENTS_AFTER_COMMIT, after_consumer, "B"), 0);
    assert_int_equal(events_on(EV_POST_DELETED, EVENTS_IN_TRANSACTION, consumer, "z"), 0);
    assert_int_equal(events_on(EV_POST_CREATED, EVENTS_IN_TRANSACTION, consumer, "c"), 0);
    assert_int_equal(events_on(EV_POST_CREATED, EVENTS_AFTER_COMMIT, consumer, "D"), 0);

    store_post post = {.id = 42};
    int64_t mentioned[] = {7};
    domain_event ev = {.type = EV_POST_CREATED,
                       .actor = 5,
                       .post_id = 42,
                       .value = 9,
                       .source_kind = "duet",
                       .post = &post,
                       .mentioned = mentioned,
                       .n_mentioned = 1};
    assert_int_equal(db_begin(d), 0);
    assert_int_equal(events_emit(d, &ev), 0);
    /* in-transaction consumers ran, in order; the other type's did not; after-commit wait */
    assert_string_equal(trace, "ac");
    ev.post_id = 0; /* the emitter's stack changes before the commit: the copy is what counts */
    assert_int_equal(db_commit(d), 0);
    assert_string_equal(trace, "acBD");
    assert_non_null(seen_after);
    assert_ptr_not_equal(seen_after, &ev);
    assert_int_equal(seen_copy.type, EV_POST_CREATED);
    assert_int_equal(seen_copy.actor, 5);
    assert_int_equal(seen_copy.post_id, 42);
    assert_int_equal(seen_copy.value, 9);
    assert_string_equal(seen_copy.source_kind, "duet");
    /* the rows are the emitter's and gone by now: never handed to after-commit consumers */
    assert_null(seen_copy.post);
    assert_null(seen_copy.mentioned);
    assert_int_equal(seen_copy.n_mentioned, 0);

    /* outside a transaction both phases run at once */
    memset(trace, 0, sizeof trace);
    ev.post_id = 43;
    assert_int_equal(events_emit(d, &ev), 0);
    assert_string_equal(trace, "acBD");
    testdb_close(d, dir);
}

static void test_after_commit_not_after_rollback(void **state)
{
    (void)state;
    char dir[] = "/tmp/sh-unit-XXXXXX";
    db *d = testdb_open(NULL, dir, TESTDB_ALL);
    assert_int_equal(events_on(EV_COMMENT_CREATED, EVENTS_IN_TRANSACTION, consumer, "!"), 0);
    assert_int_equal(events_on(EV_COMMENT_CREATED, EVENTS_AFTER_COMMIT, after_consumer, "A"), 0);
    domain_event ev = {.type = EV_COMMENT_CREATED, .actor = 1, .post_id = 100};
    assert_int_equal(db_begin(d), 0);
    assert_int_equal(events_emit(d, &ev), 0);
    assert_int_equal(db_rollback(d), 0);
    /* the in-transaction write rolled back with the action; the after-commit one never ran */
    assert_string_equal(trace, "!");
    assert_null(seen_after);
    assert_int_equal(rows_written(d), 0);

    ev.post_id = 101;
    assert_int_equal(db_begin(d), 0);
    assert_int_equal(events_emit(d, &ev), 0);
    assert_int_equal(db_commit(d), 0);
    assert_string_equal(trace, "!!A");
    assert_int_equal(seen_copy.post_id, 101);
    assert_int_equal(rows_written(d), 1);
    testdb_close(d, dir);
}

static void test_in_transaction_error_aborts(void **state)
{
    (void)state;
    char dir[] = "/tmp/sh-unit-XXXXXX";
    db *d = testdb_open(NULL, dir, TESTDB_ALL);
    assert_int_equal(events_on(EV_POST_EDITED, EVENTS_IN_TRANSACTION, consumer, "!"), 0);
    assert_int_equal(events_on(EV_POST_EDITED, EVENTS_IN_TRANSACTION, consumer, "x"), 0);
    assert_int_equal(events_on(EV_POST_EDITED, EVENTS_IN_TRANSACTION, consumer, "n"), 0);
    assert_int_equal(events_on(EV_POST_EDITED, EVENTS_AFTER_COMMIT, after_consumer, "A"), 0);
    fail_with = ERR_DB;
    domain_event ev = {.type = EV_POST_EDITED, .actor = 1, .post_id = 200};
    assert_int_equal(db_begin(d), 0);
    /* the error comes back to the emitter; consumers after the failing one do not run */
    assert_int_equal(events_emit(d, &ev), ERR_DB);
    assert_string_equal(trace, "!x");
    assert_int_equal(db_rollback(d), 0);
    assert_int_equal(rows_written(d), 0);
    assert_null(seen_after); /* not queued at all: nothing to run even had it committed */
    testdb_close(d, dir);
}

static int64_t add_user(db *d, int64_t id, const char *handle)
{
    char sql[300];
    snprintf(sql, sizeof sql,
             "INSERT INTO users (id, email, email_norm, handle, handle_norm, display_name, "
             "created_at, updated_at) VALUES (%lld, '%s', '%s', '%s', '%s', '%s', 0, 0)",
             (long long)id, handle, handle, handle, handle, handle);
    assert_int_equal(db_exec(d, sql), 0);
    return id;
}

/* A real emitter: graph_follow fails with its event's consumer and leaves no follow behind;
 * with no failing consumer it follows and the after-commit consumer runs once. */
static void test_emitter_rolls_back(void **state)
{
    (void)state;
    char dir[] = "/tmp/sh-unit-XXXXXX";
    db *d = testdb_open(NULL, dir, TESTDB_ALL);
    store_user ana, bo;
    assert_int_equal(store_user_by_id(d, add_user(d, 1, "ana"), &ana), 0);
    assert_int_equal(store_user_by_id(d, add_user(d, 2, "bo"), &bo), 0);
    assert_int_equal(events_on(EV_FOLLOWED, EVENTS_IN_TRANSACTION, consumer, "x"), 0);
    assert_int_equal(events_on(EV_FOLLOWED, EVENTS_AFTER_COMMIT, after_consumer, "A"), 0);
    fail_with = ERR_DB;
    const char *state_out = NULL;
    domain_error err;
    memset(&err, 0, sizeof err);
    assert_int_equal(graph_follow(d, &ana, &bo, &state_out, &err), ERR_DB);
    assert_false(store_follows(d, 1, 2));
    assert_null(seen_after);

    fail_with = 0;
    memset(trace, 0, sizeof trace);
    assert_int_equal(graph_follow(d, &ana, &bo, &state_out, &err), 0);
    assert_string_equal(state_out, "following");
    assert_true(store_follows(d, 1, 2));
    assert_string_equal(trace, "xA");
    assert_int_equal(seen_copy.actor, 1);
    assert_int_equal(seen_copy.user_id, 2);
    assert_true(seen_copy.changed);
    testdb_close(d, dir);
}

static void test_registry_limits(void **state)
{
    (void)state;
    assert_int_equal(events_on(EV__COUNT, EVENTS_IN_TRANSACTION, consumer, "a"), ERR_INVALID);
    assert_int_equal(events_on((domain_event_type)-1, EVENTS_IN_TRANSACTION, consumer, "a"),
                     ERR_INVALID);
    assert_int_equal(events_on(EV_MUTED, (events_phase)7, consumer, "a"), ERR_INVALID);
    assert_int_equal(events_on(EV_MUTED, EVENTS_AFTER_COMMIT, NULL, "a"), ERR_INVALID);
    for (int i = 0; i < EVENTS_MAX_CONSUMERS; i++)
        assert_int_equal(events_on(EV_MUTED, EVENTS_IN_TRANSACTION, consumer, "m"), 0);
    assert_int_equal(events_on(EV_MUTED, EVENTS_IN_TRANSACTION, consumer, "m"), ERR_INVALID);
    /* reset empties the table: an emit runs nothing */
    events_reset();
    domain_event ev = {.type = EV_MUTED};
    assert_int_equal(events_emit(NULL, &ev), 0);
    assert_string_equal(trace, "");
    assert_string_equal(events_name(EV_POST_CREATED), "post_created");
    assert_string_equal(events_name(EV_MEDIA_SETTLED), "media_settled");
}

static void test_log_on_posts(void **state)
{
    (void)state;
    char dir[] = "/tmp/sh-evlog-XXXXXX";
    db *d = testdb_open(NULL, dir, TESTDB_ALL);
    static const char *const kinds[][2] = {{"like", "post"},       {"impression", "post"},
                                           {"follow", "user"},     {"view", "post"},
                                           {"impression", "post"}, {"message", "conversation"},
                                           {"unlike", "post"}};
    enum { N = sizeof kinds / sizeof kinds[0] };
    store_event in[N];
    for (int i = 0; i < N; i++) {
        in[i] = (store_event){.id = 100 + i, .actor_id = 7, .object_id = 50 + i, .created_at = i};
        str_copy(in[i].type, sizeof in[i].type, kinds[i][0]);
        str_copy(in[i].object_type, sizeof in[i].object_type, kinds[i][1]);
        str_copy(in[i].props, sizeof in[i].props, "{}");
    }
    assert_int_equal(store_events_append(d, in, N), 0);
    store_event out[N];
    /* newest first, about posts, no impressions */
    assert_int_equal(store_events_on_posts(d, "impression", 0, out, N), 3);
    assert_int_equal(out[0].id, 106);
    assert_string_equal(out[0].type, "unlike");
    assert_int_equal(out[1].id, 103);
    assert_int_equal(out[2].id, 100);
    /* pages: below an id, at most max */
    assert_int_equal(store_events_on_posts(d, "impression", 103, out, 1), 1);
    assert_int_equal(out[0].id, 100);
    testdb_close(d, dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_on_posts),
        cmocka_unit_test_setup(test_order_and_phases, setup),
        cmocka_unit_test_setup(test_after_commit_not_after_rollback, setup),
        cmocka_unit_test_setup(test_in_transaction_error_aborts, setup),
        cmocka_unit_test_setup(test_emitter_rolls_back, setup),
        cmocka_unit_test_setup(test_registry_limits, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
