/* SPDX-License-Identifier: MIT
 *
 * The durable job queue against a real database: SQLite in a temporary file by default, or the
 * PostgreSQL database named by STREAMHUB_JOBS_TEST_DB (tests/run-all.sh runs both). Claims follow
 * priority, leases expire and are taken over with the attempt counted, a lost lease cannot finish
 * a job, and a runner with several threads (separate connections) runs every job exactly once,
 * retries transient failures with backoff and fails a job after its last attempt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/id.h"
#include "core/util.h"
#include "jobs/queue.h"
#include "store/db.h"
#include "store/jobs.h"
#include "store/migrate.h"

static char url[512];

static db *open_db(void)
{
    char err[256];
    db *d = NULL;
    assert_int_equal(db_open(url, &d, err, sizeof err), 0);
    return d;
}

static int setup(void **state)
{
    const char *pg = getenv("STREAMHUB_JOBS_TEST_DB");
    if (pg && *pg) {
        snprintf(url, sizeof url, "%s", pg);
    } else {
        static char dir[] = "/tmp/sh-jobs-XXXXXX";
        assert_non_null(mkdtemp(dir));
        snprintf(url, sizeof url, "sqlite:%s/jobs.db", dir);
    }
    db *d = open_db();
    char err[256];
    assert_true(store_migrate(d, err, sizeof err) >= 0);
    db_close(d);
    return 0;
}

/* Empties the table between tests so each sees only its own jobs. */
static void clear(db *d)
{
    assert_int_equal(db_exec(d, "DELETE FROM jobs"), 0);
}

static void test_claim_order_and_leases(void **state)
{
    db *d = open_db();
    clear(d);
    int64_t t = now_ms();
    assert_int_equal(store_job_insert(d, 1, "k", "{\"n\":1}", 0, 3, t, t, NULL), 0);
    assert_int_equal(store_job_insert(d, 2, "k", "{\"n\":2}", 5, 3, t, t, NULL), 0);
    assert_int_equal(store_job_insert(d, 3, "k", "{}", 9, 3, t + 60000, t, NULL), 0); /* not due */
    store_job a, b, c;
    assert_int_equal(store_job_claim(d, "A", t, 1000, &a), 0);
    assert_int_equal(a.id, 2); /* the higher priority first */
    assert_int_equal(a.attempts, 1);
    assert_string_equal(a.state, "running");
    assert_int_equal(store_job_claim(d, "A", t, 1000, &b), 0);
    assert_int_equal(b.id, 1);
    assert_string_equal(b.payload, "{\"n\":1}");
    assert_int_equal(store_job_claim(d, "A", t, 1000, &c), ERR_NOT_FOUND);

    /* A's lease on job 2 runs out; B takes it over as a second attempt. */
    assert_int_equal(store_job_heartbeat(d, 1, "A", 50, t + 5000, t + 500), 0);
    store_job taken;
    assert_int_equal(store_job_claim(d, "B", t + 1500, 1000, &taken), 0);
    assert_int_equal(taken.id, 2);
    assert_int_equal(taken.attempts, 2);
    assert_string_equal(taken.lease_owner, "B");
    /* A may neither extend nor finish what it lost. */
    assert_int_equal(store_job_heartbeat(d, 2, "A", 10, t + 9000, t + 1600), ERR_NOT_FOUND);
    assert_int_equal(store_job_finish(d, 2, "A", "done", NULL, t + 1600), ERR_NOT_FOUND);
    assert_int_equal(store_job_finish(d, 2, "B", "done", NULL, t + 1700), 0);
    store_job got;
    assert_int_equal(store_job_get(d, 2, &got), 0);
    assert_string_equal(got.state, "done");
    assert_int_equal(got.progress, 100);
    store_job_free(&got);

    /* A retry goes back to the queue at its time; cancelling stops a running job's lease. */
    assert_int_equal(store_job_retry_later(d, 1, "A", "flaky", t + 3000, t + 600), 0);
    assert_int_equal(store_job_claim(d, "B", t + 2000, 1000, &c), ERR_NOT_FOUND);
    assert_int_equal(store_job_claim(d, "B", t + 3000, 1000, &c), 0);
    assert_int_equal(c.id, 1);
    assert_string_equal(c.last_error, "flaky");
    assert_int_equal(store_job_cancel(d, 1, t + 3100), 0);
    assert_int_equal(store_job_heartbeat(d, 1, "B", 20, t + 9000, t + 3200), ERR_NOT_FOUND);
    assert_int_equal(store_job_cancel(d, 2, t + 3300), ERR_NOT_FOUND); /* already done */
    for (store_job *j = &a; j; j = j == &a ? &b : j == &b ? &taken : j == &taken ? &c : NULL)
        store_job_free(j);
    db_close(d);
}

static atomic_int runs_ok, runs_flaky, runs_bad;
static atomic_int seen[1000];

static job_result handle_ok(job_ctx *ctx, const store_job *job, char *err, size_t n)
{
    int i = atoi(strchr(job->payload, ':') + 1);
    atomic_fetch_add(&seen[i], 1);
    atomic_fetch_add(&runs_ok, 1);
    return job_progress(ctx, 50) ? JOB_OK : JOB_RETRY;
}

static job_result handle_flaky(job_ctx *ctx, const store_job *job, char *err, size_t n)
{
    atomic_fetch_add(&runs_flaky, 1);
    if (job->attempts < 3) {
        snprintf(err, n, "transient failure %lld", (long long)job->attempts);
        return JOB_RETRY;
    }
    return JOB_OK;
}

static job_result handle_bad(job_ctx *ctx, const store_job *job, char *err, size_t n)
{
    atomic_fetch_add(&runs_bad, 1);
    snprintf(err, n, "always fails");
    return JOB_RETRY;
}

static int64_t count_state(db *d, const char *state)
{
    static const char *sql = "SELECT COUNT(*) FROM jobs WHERE state = ?";
    db_stmt *s = db_prepare(d, sql);
    db_bind_text(s, 1, state);
    int64_t n = -1;
    db_query_int64(s, &n);
    return n;
}

static void test_runner_exactly_once_with_retries(void **state)
{
    db *d = open_db();
    clear(d);
    job_register("test.ok", handle_ok);
    job_register("test.flaky", handle_flaky);
    job_register("test.bad", handle_bad);
    enum { N = 300 };
    int64_t flaky_id = 0, bad_id = 0, orphan_id = 0;
    assert_int_equal(db_begin(d), 0);
    for (int i = 0; i < N; i++) {
        char payload[32];
        snprintf(payload, sizeof payload, "{\"i\":%d}", i);
        assert_int_equal(job_enqueue(d, "test.ok", payload, NULL, NULL), 0);
    }
    assert_int_equal(job_enqueue(d, "test.flaky", "{}", &(job_options){.max_attempts = 5},
                                 &flaky_id), 0);
    assert_int_equal(job_enqueue(d, "test.bad", "{}", &(job_options){.max_attempts = 3},
                                 &bad_id), 0);
    assert_int_equal(job_enqueue(d, "test.nobody", "{}", NULL, &orphan_id), 0);
    assert_int_equal(db_commit(d), 0);

    char err[256];
    job_runner_options o = {.database_url = url, .threads = 4, .lease_ms = 5000,
                            .backoff_base_ms = 20, .poll_ms = 20};
    job_runner *r = job_runner_start(&o, err, sizeof err);
    assert_non_null(r);
    job_runner_wakeup(r);
    for (int i = 0; i < 1000 && count_state(d, "done") + count_state(d, "failed") < N + 3; i++)
        usleep(20000);
    job_runner_stop(r);

    assert_int_equal(count_state(d, "done"), N + 1);
    assert_int_equal(count_state(d, "failed"), 2);
    assert_int_equal(atomic_load(&runs_ok), N);
    for (int i = 0; i < N; i++)
        assert_int_equal(atomic_load(&seen[i]), 1);
    assert_int_equal(atomic_load(&runs_flaky), 3);
    assert_int_equal(atomic_load(&runs_bad), 3);
    store_job j;
    assert_int_equal(store_job_get(d, bad_id, &j), 0);
    assert_string_equal(j.state, "failed");
    assert_int_equal(j.attempts, 3);
    assert_string_equal(j.last_error, "always fails");
    store_job_free(&j);
    assert_int_equal(store_job_get(d, orphan_id, &j), 0);
    assert_string_equal(j.state, "failed");
    assert_non_null(strstr(j.last_error, "no handler"));
    store_job_free(&j);
    assert_int_equal(store_job_get(d, flaky_id, &j), 0);
    assert_string_equal(j.state, "done");
    assert_int_equal(j.attempts, 3);
    store_job_free(&j);
    db_close(d);
}

int main(void)
{
    id_set_node(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claim_order_and_leases),
        cmocka_unit_test(test_runner_exactly_once_with_retries),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
