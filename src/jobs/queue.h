/* SPDX-License-Identifier: MIT
 *
 * The durable job queue: work that must not be lost (transcoding, thumbnails, cleanups) is a row
 * in the jobs table, enqueued in the same transaction as whatever asked for it, and run by worker
 * threads inside `streamhub serve` (--job-workers) and `streamhub worker` processes alike, all
 * against the same database. A worker claims a job with a lease and extends it through
 * job_progress; if the worker dies, the lease runs out and another worker takes the job again.
 * A failed attempt is retried with exponential backoff (and jitter, so a burst of failures does
 * not come back at once) until max_attempts, then the job is failed with its error recorded.
 * Handlers are therefore written to be safe to run more than once.
 */
#ifndef STREAMHUB_JOBS_QUEUE_H
#define STREAMHUB_JOBS_QUEUE_H

#include "store/db.h"
#include "store/jobs.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct job_ctx job_ctx;

/* What a handler returns: done, try again later (a transient failure), or give up now. */
typedef enum { JOB_OK = 0, JOB_RETRY = 1, JOB_FAIL = 2 } job_result;
/* Runs one attempt of a job; err (err_size bytes) says why on RETRY/FAIL. */
typedef job_result (*job_handler)(job_ctx *ctx, const store_job *job, char *err,
                                  size_t err_size);

/* Registers the handler of a kind; call before starting runners. A claimed job of an unknown
 * kind fails at once with "no handler". */
void job_register(const char *kind, job_handler fn);

typedef struct job_options {
    int priority;     /* higher runs first; default 0 */
    int max_attempts; /* default 5 */
    int64_t delay_ms; /* run no earlier than now + delay */
} job_options;

/* Queues a job on the caller's connection (inside the caller's transaction if one is open, so
 * the job exists exactly when what it works on does). opts may be NULL. */
int job_enqueue(db *d, const char *kind, const char *payload, const job_options *opts,
                int64_t *id);

/* For handlers: the worker's own connection, and progress (0..100) that also extends the lease.
 * job_progress returns false when the job was cancelled, its lease lost or the runner is
 * stopping: the handler should stop and return JOB_RETRY. */
db *job_db(job_ctx *ctx);
bool job_progress(job_ctx *ctx, int percent);

typedef struct job_runner_options {
    const char *database_url;
    int threads;             /* worker threads, each with its own connection */
    int64_t lease_ms;        /* how long a claim lasts without progress; default 60 s */
    int64_t backoff_base_ms; /* first retry delay, doubling per attempt up to 1 h; default 5 s */
    int64_t poll_ms;         /* idle wait between claims; default 1 s */
} job_runner_options;

typedef struct job_runner job_runner;
job_runner *job_runner_start(const job_runner_options *opts, char *err, size_t err_size);
/* Wakes idle workers now (after enqueueing); safe from any thread and with NULL. */
void job_runner_wakeup(job_runner *r);
/* Stops claiming, waits for running attempts to return, closes connections. */
void job_runner_stop(job_runner *r);

#endif
