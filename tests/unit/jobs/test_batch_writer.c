/* SPDX-License-Identifier: MIT
 *
 * The batched writer (jobs/batch_writer.c) on a real SQLite file: what is put is handed to the
 * flush function in transactions of at most max_per_tx records that commit, a stop flushes what is still queued, a
 * full queue drops and counts, and a failing flush rolls its batch back and counts it dropped.
 */
#include "jobs/batch_writer.h"

#include "../testdb.h"
#include "store/db.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

typedef struct record {
    int64_t value;
} record;

/* Inserts each record into a table, so the test can see what committed. */
static int insert_all(db *d, const void *items, int n, void *arg)
{
    int *calls = arg;
    (*calls)++;
    const record *r = items;
    for (int i = 0; i < n; i++) {
        db_stmt *s = db_prepare(d, "INSERT INTO t (v) VALUES (?)");
        if (!s)
            return -1;
        db_bind_int64(s, 1, r[i].value);
        if (db_run(s) < 0)
            return -1;
    }
    return 0;
}

/* Writes one row, then fails: the batch must roll back. */
static int insert_then_fail(db *d, const void *items, int n, void *arg)
{
    int rc = insert_all(d, items, n > 0 ? 1 : 0, arg);
    return rc < 0 ? rc : -1;
}

static int64_t count_rows(db *d)
{
    db_stmt *s = db_prepare(d, "SELECT COUNT(*), COALESCE(SUM(v), 0) FROM t");
    assert_non_null(s);
    assert_int_equal(db_step(s), 1);
    int64_t n = db_col_int64(s, 0);
    db_reset(s);
    return n;
}

static db *open_with_table(char *dir, char *url, size_t n)
{
    db *d = testdb_open(NULL, dir, TESTDB_NONE);
    assert_int_equal(db_exec(d, "CREATE TABLE t (v BIGINT NOT NULL)"), 0);
    snprintf(url, n, "sqlite:%s/t.db", dir);
    return d;
}

/* A writer into url's table t with a flush_ms no test waits for (stops flush). */
static batch_writer *start(const char *url, int capacity, int max_per_tx, batch_flush_fn flush,
                           int *calls)
{
    char err[256];
    batch_writer *w = batch_writer_start(&(batch_writer_options){.name = "test",
                                                                 .database_url = url,
                                                                 .item_size = sizeof(record),
                                                                 .capacity = capacity,
                                                                 .flush_ms = 60000,
                                                                 .max_per_tx = max_per_tx,
                                                                 .flush = flush,
                                                                 .arg = calls},
                                         err, sizeof err);
    assert_non_null(w);
    return w;
}

static void test_put_then_stop_commits_everything(void **state)
{
    (void)state;
    char dir[] = "/tmp/sh-batch-XXXXXX", url[256];
    db *d = open_with_table(dir, url, sizeof url);
    int calls = 0;
    batch_writer *w = start(url, 1000, 10, insert_all, &calls);
    for (int i = 1; i <= 100; i++)
        assert_true(batch_writer_put(w, &(record){i}));
    assert_int_equal(batch_writer_accepted(w), 100);
    batch_writer_stop(w); /* the long flush_ms never came: the stop flushed */
    assert_int_equal(count_rows(d), 100);
    assert_int_equal(calls, 10); /* ten transactions of ten */
    testdb_close(d, dir);
}

static void test_a_full_queue_drops_and_counts(void **state)
{
    (void)state;
    char dir[] = "/tmp/sh-batch-XXXXXX", url[256];
    db *d = open_with_table(dir, url, sizeof url);
    int calls = 0;
    /* a quarter of 8 wakes the writer, which may take some; never more than 8 wait */
    batch_writer *w = start(url, 8, 0, insert_all, &calls);
    int accepted = 0;
    for (int i = 0; i < 1000; i++)
        accepted += batch_writer_put(w, &(record){1});
    assert_int_equal(batch_writer_accepted(w), (uint64_t)accepted);
    assert_int_equal(batch_writer_dropped(w), (uint64_t)(1000 - accepted));
    batch_writer_stop(w);
    assert_int_equal(count_rows(d), accepted);
    testdb_close(d, dir);
}

static void test_a_failed_flush_rolls_back(void **state)
{
    (void)state;
    char dir[] = "/tmp/sh-batch-XXXXXX", url[256];
    db *d = open_with_table(dir, url, sizeof url);
    int calls = 0;
    batch_writer *w = start(url, 100, 0, insert_then_fail, &calls);
    for (int i = 0; i < 5; i++)
        assert_true(batch_writer_put(w, &(record){7}));
    batch_writer_stop(w);
    assert_int_equal(count_rows(d), 0); /* the one row the flush wrote rolled back */
    testdb_close(d, dir);
}

static void test_no_writer(void **state)
{
    (void)state;
    assert_false(batch_writer_put(NULL, &(record){1}));
    batch_writer_stop(NULL);
    assert_int_equal(batch_writer_written(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_then_stop_commits_everything),
        cmocka_unit_test(test_a_full_queue_drops_and_counts),
        cmocka_unit_test(test_a_failed_flush_rolls_back),
        cmocka_unit_test(test_no_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
