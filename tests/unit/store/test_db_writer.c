/* SPDX-License-Identifier: MIT
 *
 * The SQLite writer lock (src/store/db_sqlite.c) on a real file: writers on separate
 * connections queue in the process, in arrival order, and never nap in SQLite's busy handler;
 * read statements never take the lock; a commit hook that writes does not deadlock on it; the
 * background checkpoint gets the WAL started over; db_write's callers that arrive together share
 * one transaction, and one of them failing undoes only its own writes and hooks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h needs the headers above; the blank line keeps clang-format from sorting it first */
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "store/db.h"

static char dir[64], url[128];

static db *open_db(void)
{
    db *d = NULL;
    char err[256];
    assert_int_equal(db_open(url, &d, err, sizeof err), 0);
    return d;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/sh-unit-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(url, sizeof url, "sqlite:%s/w.db", dir);
    db *d = open_db();
    assert_int_equal(db_exec(d, "CREATE TABLE t (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                                "who TEXT NOT NULL)"),
                     0);
    db_close(d);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static int insert(db *d, const char *who)
{
    db_stmt *s = db_prepare(d, "INSERT INTO t (who) VALUES (?)");
    if (!s)
        return ERR_DB;
    db_bind_text(s, 1, who);
    return db_run(s);
}

static int64_t count_rows(db *d)
{
    int64_t n = -1;
    assert_int_equal(db_query_int64(db_prepare(d, "SELECT COUNT(*) FROM t"), &n), 0);
    return n;
}

/* Waits until counter (a member of db_write_stats, by offsetof) reads n. */
static void wait_for_stat(size_t counter, int64_t n)
{
    db_write_stats w;
    for (;;) {
        db_write_stats_get(&w);
        if (*(int64_t *)((char *)&w + counter) == n)
            return;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

static void wait_for_waiting(int64_t n)
{
    wait_for_stat(offsetof(db_write_stats, waiting), n);
}

typedef struct writer {
    pthread_t thread;
    const char *who;
    bool in_transaction; /* db_begin + read + write + commit, or one autocommit INSERT */
    int rounds;
    int failures;
} writer;

static void *writer_main(void *arg)
{
    writer *w = arg;
    db *d = open_db();
    for (int i = 0; i < w->rounds; i++) {
        if (!w->in_transaction) {
            w->failures += insert(d, w->who) < 0;
            continue;
        }
        if (db_begin(d) < 0) {
            w->failures++;
            continue;
        }
        (void)count_rows(d); /* read, then write: the lock taken at BEGIN makes this safe */
        if (insert(d, w->who) < 0 || db_commit(d) < 0) {
            w->failures++;
            db_rollback(d);
        }
    }
    db_close(d);
    return NULL;
}

/* The lock is held by a transaction; two writers arrive one after the other and are served in
 * that order once it commits. */
static void test_fifo_order(void **state)
{
    (void)state;
    db *d = open_db();
    db_write_stats before;
    db_write_stats_get(&before);
    assert_int_equal(db_begin(d), 0);
    assert_int_equal(insert(d, "holder"), 0);
    writer a = {.who = "a", .in_transaction = true, .rounds = 1};
    writer b = {.who = "b", .in_transaction = false, .rounds = 1};
    assert_int_equal(pthread_create(&a.thread, NULL, writer_main, &a), 0);
    wait_for_waiting(1);
    assert_int_equal(pthread_create(&b.thread, NULL, writer_main, &b), 0);
    wait_for_waiting(2);
    assert_int_equal(db_commit(d), 0);
    pthread_join(a.thread, NULL);
    pthread_join(b.thread, NULL);
    assert_int_equal(a.failures + b.failures, 0);

    const char *want[] = {"holder", "a", "b"};
    db_stmt *s = db_prepare(d, "SELECT who FROM t ORDER BY seq DESC LIMIT 3");
    for (int i = 2; i >= 0; i--) {
        assert_int_equal(db_step(s), DB_ROW);
        assert_string_equal(db_col_text(s, 0), want[i]);
    }
    db_reset(s);
    db_write_stats after;
    db_write_stats_get(&after);
    assert_int_equal(after.busy_waits, before.busy_waits);
    assert_int_equal(after.waiting, 0);
    db_close(d);
}

/* Four threads write at once, in transactions and autocommit: none sees SQLITE_BUSY (ERR_BUSY)
 * and none naps in the busy handler. */
static void test_no_busy(void **state)
{
    (void)state;
    db *d = open_db();
    int64_t rows0 = count_rows(d);
    db_write_stats before;
    db_write_stats_get(&before);
    enum { THREADS = 4, ROUNDS = 150 };
    writer w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (writer){.who = "w", .in_transaction = i % 2 == 0, .rounds = ROUNDS};
        assert_int_equal(pthread_create(&w[i].thread, NULL, writer_main, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(w[i].thread, NULL);
        assert_int_equal(w[i].failures, 0);
    }
    assert_int_equal(count_rows(d), rows0 + THREADS * ROUNDS);
    db_write_stats after;
    db_write_stats_get(&after);
    assert_int_equal(after.busy_waits, before.busy_waits);
    assert_int_equal(after.lock_timeouts, before.lock_timeouts);
    assert_true(after.lock_acquired >= before.lock_acquired + THREADS * ROUNDS);
    db_close(d);
}

static void *reader_main(void *arg)
{
    int64_t *rows = arg;
    db *d = open_db();
    *rows = count_rows(d);
    db_close(d);
    return NULL;
}

/* A read on another connection neither waits for nor takes the writer lock. */
static void test_reads_skip_the_lock(void **state)
{
    (void)state;
    db *d = open_db();
    int64_t rows0 = count_rows(d);
    assert_int_equal(db_begin(d), 0);
    assert_int_equal(insert(d, "uncommitted"), 0);
    db_write_stats before;
    db_write_stats_get(&before);
    int64_t seen = -1;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, reader_main, &seen), 0);
    pthread_join(t, NULL); /* would wait for the commit below if reads took the lock */
    assert_int_equal(seen, rows0);
    db_write_stats after;
    db_write_stats_get(&after);
    assert_int_equal(after.lock_acquired, before.lock_acquired);
    assert_int_equal(db_commit(d), 0);
    db_close(d);
}

static void write_after_commit(void *arg, bool committed)
{
    db *d = arg;
    if (committed)
        assert_int_equal(insert(d, "hook"), 0);
}

/* A commit hook writes on the connection that just committed: the lock is free by then. */
static void test_hook_writes(void **state)
{
    (void)state;
    db *d = open_db();
    int64_t rows0 = count_rows(d);
    assert_int_equal(db_begin(d), 0);
    assert_int_equal(insert(d, "tx"), 0);
    db_on_commit(d, write_after_commit, d);
    assert_int_equal(db_commit(d), 0);
    assert_int_equal(count_rows(d), rows0 + 2);
    /* and a rolled-back transaction gives the lock back too */
    assert_int_equal(db_begin(d), 0);
    assert_int_equal(insert(d, "gone"), 0);
    assert_int_equal(db_rollback(d), 0);
    writer w = {.who = "after", .in_transaction = true, .rounds = 1};
    writer_main(&w);
    assert_int_equal(w.failures, 0);
    assert_int_equal(count_rows(d), rows0 + 3);
    db_close(d);
}

/* One db_write caller of test_group_commit. */
typedef struct grouped {
    pthread_t thread;
    const char *who;
    int fail;         /* 0: succeed; 1: insert, then report a failure; 2: break a constraint */
    int rc;
    int hook;         /* -1: not run; 0: ran with committed false; 1: with true */
    pthread_t ran_on; /* the thread fn ran on */
} grouped;

static void grouped_hook(void *arg, bool committed)
{
    ((grouped *)arg)->hook = committed;
}

static int grouped_write(db *w, void *arg)
{
    grouped *g = arg;
    g->ran_on = pthread_self();
    int rc = insert(w, g->who);
    if (rc < 0)
        return rc;
    db_on_commit(w, grouped_hook, g);
    if (g->fail == 1)
        return ERR_CONFLICT;
    if (g->fail == 2) /* the row with seq 1 exists: a primary-key violation mid-function */
        return db_run(db_prepare(w, "INSERT INTO t (seq, who) VALUES (1, 'dup')"));
    return 0;
}

static void *grouped_main(void *arg)
{
    grouped *g = arg;
    db *d = open_db();
    g->rc = db_write(d, grouped_write, g);
    db_close(d);
    return NULL;
}

static int64_t rows_of(db *d, const char *who)
{
    int64_t n = -1;
    db_stmt *s = db_prepare(d, "SELECT COUNT(*) FROM t WHERE who = ?");
    db_bind_text(s, 1, who);
    assert_int_equal(db_query_int64(s, &n), 0);
    return n;
}

/* The writer lock is held by a transaction while five db_write callers arrive: the first leads
 * and queues for the lock, the rest queue behind it; when the lock frees, one transaction runs
 * all five, on the leader's thread. Two of them fail (one returning an error after its insert,
 * one breaking a primary key mid-statement): their rows are gone and their hooks ran with
 * committed false; the other three committed, their hooks with true. */
static void test_group_commit(void **state)
{
    (void)state;
    db *d = open_db();
    assert_int_equal(insert(d, "first"), 0); /* seq 1, for the constraint case */
    assert_int_equal(db_begin(d), 0);
    db_write_stats before, after;
    db_write_stats_get(&before);
    grouped g[5] = {{.who = "g0"}, {.who = "g1", .fail = 1}, {.who = "g2"},
                    {.who = "g3", .fail = 2}, {.who = "g4"}};
    for (int i = 0; i < 5; i++) {
        g[i].hook = -1;
        assert_int_equal(pthread_create(&g[i].thread, NULL, grouped_main, &g[i]), 0);
        if (i == 0)
            wait_for_waiting(before.waiting + 1); /* the leader queues for the writer lock */
        wait_for_stat(offsetof(db_write_stats, group_waiting), before.group_waiting + i + 1);
    }
    assert_int_equal(db_commit(d), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(pthread_join(g[i].thread, NULL), 0);
    db_write_stats_get(&after);
    assert_int_equal(after.group_writes - before.group_writes, 5);
    assert_int_equal(after.group_commits - before.group_commits, 1);
    for (int i = 0; i < 5; i++) {
        assert_true(pthread_equal(g[i].ran_on, g[0].thread));
        bool ok = g[i].fail == 0;
        assert_int_equal(g[i].rc, ok ? 0 : ERR_CONFLICT);
        assert_int_equal(g[i].hook, ok ? 1 : 0);
        assert_int_equal(rows_of(d, g[i].who), ok ? 1 : 0);
    }
    assert_int_equal(rows_of(d, "dup"), 0);
    /* inside a transaction of the caller's, fn is simply part of it */
    grouped inner = {.who = "inner", .hook = -1};
    assert_int_equal(db_begin(d), 0);
    assert_int_equal(db_write(d, grouped_write, &inner), 0);
    assert_int_equal(inner.hook, -1);
    assert_int_equal(db_rollback(d), 0);
    assert_int_equal(inner.hook, 0);
    assert_int_equal(rows_of(d, "inner"), 0);
    db_close(d);
}

/* Commits of 4,000-byte rows, in transactions of 100. */
static void write_mib(db *d, int mib)
{
    char *big = xmalloc(4001);
    memset(big, 'x', 4000);
    big[4000] = '\0';
    for (int tx = 0; tx < mib * 1024 * 1024 / (100 * 4000) + 1; tx++) {
        assert_int_equal(db_begin(d), 0);
        for (int i = 0; i < 100; i++)
            assert_int_equal(insert(d, big), 0);
        assert_int_equal(db_commit(d), 0);
    }
    free(big);
}

/* Waits until counter (a member of db_write_stats) moves past its value in before; no timing
 * asserted: as long as it takes (meson's test timeout is the backstop). */
static void wait_for(const db_write_stats *before, size_t counter)
{
    db_write_stats now;
    do {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
        db_write_stats_get(&now);
    } while (*(int64_t *)((char *)&now + counter) == *(int64_t *)((char *)before + counter));
}

static int64_t wal_frames(db *d)
{
    db_stmt *s = db_prepare(d, "PRAGMA wal_checkpoint(PASSIVE)");
    assert_int_equal(db_step(s), DB_ROW);
    int64_t log_frames = db_col_int64(s, 1);
    db_reset(s);
    return log_frames;
}

/* 16+ MiB of commits wake the checkpoint thread for a PASSIVE pass, which does not take the
 * writer lock (below 64 MiB of WAL no pass does). And however much is written, the WAL stays
 * bounded: a writer starts it over whenever it finds every frame copied and no reader in it, and
 * from 64 MiB a pass holds the writer lock to make that happen (under a steady load with readers,
 * the only way; bench/social.sh's tails rows count those passes). */
static void test_checkpoints_bound_the_wal(void **state)
{
    (void)state;
    db *d = open_db();
    db_write_stats before, now;
    db_write_stats_get(&before);
    write_mib(d, 18);
    wait_for(&before, offsetof(db_write_stats, checkpoints));
    db_write_stats_get(&now);
    assert_int_equal(now.checkpoint_restarts, before.checkpoint_restarts);

    write_mib(d, 100); /* 25,600 pages if the WAL never started over */
    assert_true(wal_frames(d) < 16000 + 4000);
    db_close(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fifo_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads_skip_the_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hook_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoints_bound_the_wal, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
