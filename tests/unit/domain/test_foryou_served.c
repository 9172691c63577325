/* SPDX-License-Identifier: MIT
 *
 * For You's served sets in memory (domain/foryou_served.h) against an in-memory database: a
 * node's copy serves the next page without reading the set, and any write it did not make
 * itself (another node's page in the same session, or another session of the same user, or a
 * refresh) moves the version so that the copy is read again. "Another node" writes through
 * store/ as foryou_served_record does: the page's rows and the version bump in a transaction.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h needs the headers above; the blank line keeps clang-format from sorting it first */
#include <cmocka.h>
#include <string.h>

#include "fixture.h"

#include "core/util.h"
#include "domain/foryou.h"
#include "domain/foryou_served.h"
#include "store/interests.h"

#define DAY ((int64_t)24 * 3600 * 1000)

static int64_t got[FORYOU_SERVED_MAX];

static int served(int64_t viewer, int64_t session, bool fresh)
{
    return foryou_served_get(fx_db, viewer, session, fresh, now_ms() - FORYOU_SERVED_DAYS * DAY,
                             got, FORYOU_SERVED_MAX);
}

static bool has(int n, int64_t id)
{
    for (int i = 0; i < n; i++)
        if (got[i] == id)
            return true;
    return false;
}

/* What another node does for a page. */
static void elsewhere(int64_t viewer, int64_t session, const int64_t *ids, int n)
{
    int64_t version;
    assert_int_equal(db_begin(fx_db), 0);
    if (viewer) {
        assert_int_equal(store_served_add(fx_db, session, viewer, ids, n, now_ms()), 0);
        assert_int_equal(store_served_bump(fx_db, viewer, 0, now_ms(), &version), 0);
    } else /* an anonymous session's set is in its head row */
        assert_int_equal(store_served_anon_append(fx_db, session, ids, n, now_ms(), &version), 0);
    assert_int_equal(db_commit(fx_db), 0);
}

/* Deletes the rows behind the node's back (no version bump): what the node then returns tells
 * whether it read its copy or the database. */
static void delete_rows(void)
{
    db_stmt *s = db_prepare(fx_db, "DELETE FROM for_you_served");
    assert_non_null(s);
    assert_int_equal(db_run(s), 0);
    s = db_prepare(fx_db, "UPDATE for_you_served_heads SET posts = NULL");
    assert_non_null(s);
    assert_int_equal(db_run(s), 0);
}

static void test_anonymous_session(void **state)
{
    (void)state;
    foryou_served_reset();
    int64_t s = 1001, page1[] = {11, 12, 13}, page2[] = {21, 22};
    assert_int_equal(served(0, s, true), 0); /* a new session: nothing to read */
    assert_int_equal(foryou_served_record(fx_db, 0, s, true, page1, 3, now_ms()), 0);
    delete_rows();
    int n = served(0, s, false); /* the copy, not the (emptied) table */
    assert_int_equal(n, 3);
    assert_true(has(n, 11) && has(n, 13));
    /* the next page from another node: the version moved, the set is read again */
    elsewhere(0, s, page2, 2);
    n = served(0, s, false);
    assert_int_equal(n, 2);
    assert_true(has(n, 21) && has(n, 22) && !has(n, 11));
    /* this node's own next page keeps its copy current */
    int64_t page3[] = {31};
    assert_int_equal(foryou_served_record(fx_db, 0, s, false, page3, 1, now_ms()), 0);
    delete_rows();
    n = served(0, s, false);
    assert_int_equal(n, 3);
    assert_true(has(n, 21) && has(n, 31));
}

static void test_signed_in_across_sessions(void **state)
{
    (void)state;
    foryou_served_reset();
    int64_t me = 77, s1 = 2001, s2 = 2003, s3 = 2005, a[] = {1, 2}, b[] = {3}, c[] = {4, 5};
    assert_int_equal(served(me, s1, true), 0);
    assert_int_equal(foryou_served_record(fx_db, me, s1, true, a, 2, now_ms()), 0);
    /* a new session of the same user sees what the first served (their window) */
    int n = served(me, s2, true);
    assert_int_equal(n, 2);
    assert_true(has(n, 1) && has(n, 2));
    assert_int_equal(foryou_served_record(fx_db, me, s2, true, b, 1, now_ms()), 0);
    /* another node serves a page of a third session: every session of the user reads again */
    elsewhere(me, s3, c, 2);
    n = served(me, s1, false);
    assert_int_equal(n, 5);
    assert_true(has(n, 3) && has(n, 4) && has(n, 5));
    /* a refresh (from any node) empties it */
    assert_int_equal(foryou_served_forget(fx_db, me), 0);
    assert_int_equal(served(me, s1, false), 0);
    /* the copy read for s1 serves s1, but a session it was not read for (an old one resumed)
     * is read from the database */
    assert_int_equal(foryou_served_record(fx_db, me, s1, false, a, 2, now_ms()), 0);
    delete_rows();
    assert_int_equal(served(me, s1, false), 2);
    assert_int_equal(served(me, 2007, false), 0);
}

/* Another user's set never shows, and a session's rows older than the window stay in it. */
static void test_owners_and_window(void **state)
{
    (void)state;
    foryou_served_reset();
    int64_t old_ids[] = {8}, mine[] = {9}, theirs[] = {10};
    int64_t long_ago = now_ms() - 3 * DAY, version;
    assert_int_equal(db_begin(fx_db), 0);
    assert_int_equal(store_served_add(fx_db, 3001, 5, old_ids, 1, long_ago), 0);
    assert_int_equal(store_served_bump(fx_db, 5, 0, long_ago, &version), 0);
    assert_int_equal(db_commit(fx_db), 0);
    assert_int_equal(foryou_served_record(fx_db, 5, 3001, false, mine, 1, now_ms()), 0);
    assert_int_equal(foryou_served_record(fx_db, 6, 3003, true, theirs, 1, now_ms()), 0);
    int n = served(5, 3001, false);
    assert_true(has(n, 9) && !has(n, 10));
    n = served(5, 3005, true); /* a new session: the window only */
    assert_true(has(n, 9) && !has(n, 8) && !has(n, 10));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_anonymous_session, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_signed_in_across_sessions, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_owners_and_window, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
