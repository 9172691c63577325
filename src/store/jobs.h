/* SPDX-License-Identifier: MIT
 *
 * The durable job queue's table. A job is claimed with a lease (owner + expiry) in one statement:
 * PostgreSQL skips rows another transaction holds (FOR UPDATE SKIP LOCKED), SQLite serializes
 * writers, so two workers never hold the same job. A worker that dies leaves its lease to run
 * out, and the job is claimed again; every claim counts an attempt. All functions take `now`
 * so tests can move time.
 */
#ifndef STREAMHUB_STORE_JOBS_H
#define STREAMHUB_STORE_JOBS_H

#include "store/db.h"

#include <stdint.h>

#define STORE_JOB_KIND_BYTES 48
#define STORE_JOB_OWNER_BYTES 64

typedef struct store_job {
    int64_t id;
    char kind[STORE_JOB_KIND_BYTES];
    char *payload; /* JSON text, owned (free it) */
    char state[16]; /* queued | running | done | failed | cancelled */
    int64_t priority;
    int64_t attempts, max_attempts;
    int64_t run_after;
    char lease_owner[STORE_JOB_OWNER_BYTES];
    int64_t lease_until;
    int64_t progress; /* 0..100 */
    char last_error[512];
    int64_t created_at, updated_at, finished_at;
    char traceparent[64]; /* of the span that queued it; "" when none */
} store_job;

/* traceparent: the W3C trace context of whoever queues it, or NULL. */
int store_job_insert(db *d, int64_t id, const char *kind, const char *payload, int64_t priority,
                     int64_t max_attempts, int64_t run_after, int64_t now,
                     const char *traceparent);
/* Claims the most urgent runnable job (queued and due, or running with an expired lease):
 * 0 and *out filled, ERR_NOT_FOUND when there is none. */
int store_job_claim(db *d, const char *owner, int64_t now, int64_t lease_ms, store_job *out);
/* Extends the lease and records progress; ERR_NOT_FOUND when the lease was lost (expired and
 * taken by another worker, or the job was cancelled): the caller must stop working on it. */
int store_job_heartbeat(db *d, int64_t id, const char *owner, int64_t progress,
                        int64_t lease_until, int64_t now);
/* Ends a claimed job: done, or failed with its error; a retry puts it back in the queue at
 * retry_at. ERR_NOT_FOUND when the lease was lost. */
int store_job_finish(db *d, int64_t id, const char *owner, const char *state, const char *error,
                     int64_t now);
int store_job_retry_later(db *d, int64_t id, const char *owner, const char *error,
                          int64_t retry_at, int64_t now);
/* Cancels a job that has not finished (a running one stops at its next heartbeat). */
int store_job_cancel(db *d, int64_t id, int64_t now);
/* Cancels the unfinished jobs of a kind with exactly this payload (the jobs working on one
 * object); returns how many. */
int store_job_cancel_matching(db *d, const char *kind, const char *payload, int64_t now);
int store_job_get(db *d, int64_t id, store_job *out);
/* 1 when a job of kind is queued or running, 0 when none, or ERR_*. */
int store_job_active(db *d, const char *kind);
void store_job_free(store_job *j);

#endif
