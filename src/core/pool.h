/* SPDX-License-Identifier: MIT
 *
 * A fixed-size thread pool with a bounded FIFO queue. Each thread may own a context made by an
 * init callback (StreamHub gives every worker its own database connection), which is handed to
 * every task the thread runs. A full queue refuses work (ERR_BUSY) instead of growing, so an
 * overload turns into quick 503s rather than unbounded memory and latency.
 */
#ifndef STREAMHUB_CORE_POOL_H
#define STREAMHUB_CORE_POOL_H

#include <stddef.h>

typedef struct pool pool;
typedef void (*pool_task_fn)(void *task, void *thread_ctx);

typedef struct pool_options {
    const char *name;   /* for logs and thread names */
    int threads;
    size_t queue_limit;
    int nice;           /* added to each thread's nice value (Linux per-thread priority) */
    void *(*thread_init)(void *arg); /* may return NULL; failures should be logged by it */
    void (*thread_done)(void *ctx);
    void *arg;
} pool_options;

pool *pool_create(const pool_options *opts);
/* Queues fn(task, ctx). ERR_BUSY when the queue is full. */
int pool_submit(pool *p, pool_task_fn fn, void *task);
size_t pool_queue_length(pool *p);
size_t pool_busy_threads(pool *p);
/* Runs what is queued, then joins the threads and frees the pool. */
void pool_destroy(pool *p);

#endif
