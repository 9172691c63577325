/* SPDX-License-Identifier: MIT
 *
 * Node ids leased from the database (store/nodes.c, jobs/node_lease.c), on a real SQLite file or
 * the PostgreSQL database STREAMHUB_NODES_TEST_DB names: distinct ids for concurrent holders, an
 * expired lease passes on and cannot be renewed by its old holder, a clean stop gives the id
 * back, and a holder whose lease was taken is told to stop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "jobs/node_lease.h"
#include "store/nodes.h"
#include "core/util.h"
#include "../testdb.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ENV "STREAMHUB_NODES_TEST_DB"

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A fresh database, or PostgreSQL's shared one with no lease left by an earlier test. */
static db *open_empty(char *dir)
{
    static bool pg_migrated; /* PostgreSQL's database is migrated by the first test only */
    const char *pg = getenv(ENV);
    bool on_pg = pg && *pg;
    db *d = testdb_open(ENV, dir, on_pg && pg_migrated ? TESTDB_NONE : TESTDB_ALL);
    pg_migrated = on_pg;
    assert_int_equal(db_exec(d, "DELETE FROM node_leases"), 0);
    return d;
}

static void test_claims_are_distinct_and_reused_after_release(void **state)
{
    (void)state;
    char dir[] = "/tmp/sh-lease.XXXXXX";
    db *d = open_empty(dir);
    int a = -1, b = -1, c = -1;
    assert_int_equal(store_nodes_claim(d, "a", 60000, &a), 0);
    assert_int_equal(store_nodes_claim(d, "b", 60000, &b), 0);
    assert_int_equal(a, 0);
    assert_int_equal(b, 1);
    assert_int_equal(store_nodes_release(d, a, "b"), 0); /* not b's: nothing happens */
    assert_int_equal(store_nodes_claim(d, "c", 60000, &c), 0);
    assert_int_equal(c, 2);
    assert_int_equal(store_nodes_release(d, a, "a"), 0);
    assert_int_equal(store_nodes_claim(d, "d", 60000, &c), 0);
    assert_int_equal(c, 0); /* the lowest free id again */
    assert_int_equal(store_nodes_renew(d, b, "b", 60000), 0);
    assert_int_equal(store_nodes_renew(d, b, "a", 60000), ERR_NOT_FOUND);
    testdb_close(d, dir);
}

static void test_an_expired_lease_passes_on(void **state)
{
    (void)state;
    char dir[] = "/tmp/sh-lease.XXXXXX";
    db *d = open_empty(dir);
    int a = -1, b = -1;
    assert_int_equal(store_nodes_claim(d, "old", 1, &a), 0);
    sleep_ms(20);
    assert_int_equal(store_nodes_claim(d, "new", 60000, &b), 0);
    assert_int_equal(b, a);
    /* the old holder may have been paused: it cannot take the id back by renewing */
    assert_int_equal(store_nodes_renew(d, a, "old", 60000), ERR_NOT_FOUND);
    assert_int_equal(store_nodes_renew(d, a, "new", 60000), 0);
    testdb_close(d, dir);
}

static void test_every_id_held(void **state)
{
    (void)state;
    char dir[] = "/tmp/sh-lease.XXXXXX";
    db *d = open_empty(dir);
    assert_int_equal(db_begin(d), 0);
    for (int i = 0; i < NODE_ID_COUNT; i++) {
        char holder[16];
        int id;
        snprintf(holder, sizeof holder, "h%d", i);
        assert_int_equal(store_nodes_claim(d, holder, 60000, &id), 0);
        assert_int_equal(id, i);
    }
    assert_int_equal(db_commit(d), 0);
    int id = -1;
    assert_int_equal(store_nodes_claim(d, "one too many", 60000, &id), ERR_CONFLICT);
    testdb_close(d, dir);
}

static atomic_int lost;
static void on_lost(void)
{
    atomic_fetch_add(&lost, 1);
}

/* The URL testdb_open used, for node_lease_start's own connection. */
static void url_of(const char *dir, char *url, size_t n)
{
    const char *pg = getenv(ENV);
    if (pg && *pg)
        snprintf(url, n, "%s", pg);
    else
        snprintf(url, n, "sqlite:%s/t.db", dir);
}

static int64_t holders(db *d)
{
    db_stmt *s = db_prepare(d, "SELECT COUNT(*) FROM node_leases");
    int64_t n = -1;
    assert_int_equal(db_query_int64(s, &n), 0);
    return n;
}

static void test_lease_thread_renews_releases_and_reports_loss(void **state)
{
    (void)state;
    char dir[] = "/tmp/sh-lease.XXXXXX", url[512], err[256];
    db *d = open_empty(dir);
    url_of(dir, url, sizeof url);
    atomic_store(&lost, 0);

    int first = -1, second = -1;
    node_lease *l1 = node_lease_start(url, 60000, on_lost, &first, err, sizeof err);
    assert_non_null(l1);
    node_lease *l2 = node_lease_start(url, 60000, on_lost, &second, err, sizeof err);
    assert_non_null(l2);
    assert_int_not_equal(first, second);
    assert_int_equal(holders(d), 2);
    node_lease_stop(l2);
    assert_int_equal(holders(d), 1); /* a clean stop gives the id back at once */
    node_lease_stop(l1);
    assert_int_equal(holders(d), 0);

    /* A short lease renews itself (every ttl/6) for longer than its ttl... */
    int id = -1;
    node_lease *l = node_lease_start(url, 600, on_lost, &id, err, sizeof err);
    assert_non_null(l);
    sleep_ms(1500);
    assert_int_equal(atomic_load(&lost), 0);
    int other = -1;
    assert_int_equal(store_nodes_claim(d, "other", 60000, &other), 0);
    assert_int_not_equal(other, id);
    /* ...and when another holder has its id (here: written over), the process is told to stop */
    db_stmt *s = db_prepare(d, "UPDATE node_leases SET holder = 'thief' WHERE node_id = ?");
    db_bind_int64(s, 1, id);
    assert_int_equal(db_run(s), 0);
    for (int i = 0; i < 500 && !atomic_load(&lost); i++)
        sleep_ms(10);
    assert_int_equal(atomic_load(&lost), 1);
    node_lease_stop(l);
    testdb_close(d, dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claims_are_distinct_and_reused_after_release),
        cmocka_unit_test(test_an_expired_lease_passes_on),
        cmocka_unit_test(test_every_id_held),
        cmocka_unit_test(test_lease_thread_renews_releases_and_reports_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
