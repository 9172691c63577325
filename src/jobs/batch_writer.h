/* SPDX-License-Identifier: MIT
 *
 * A batched writer: producers (request threads, after-commit consumers) put fixed-size records
 * into an in-memory queue under a mutex and never touch the database; one thread with its own
 * connection hands the queue to a flush function every flush_ms (or sooner once it is a quarter
 * full), in transactions of at most max_per_tx records. Many small writes become one commit and one turn at the
 * SQLite writer lock. The queue is capped: when the database cannot keep up, records are
 * dropped and counted rather than growing memory. A failed batch is logged and dropped (what
 * goes through here is advisory: signals, not the action itself). A clean stop flushes.
 */
#ifndef STREAMHUB_JOBS_BATCH_WRITER_H
#define STREAMHUB_JOBS_BATCH_WRITER_H

#include "store/db.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct batch_writer batch_writer;

/* Writes items[0..n) (each item_size bytes); runs inside a transaction the writer opened, which
 * commits when it returns 0 and rolls back otherwise. */
typedef int (*batch_flush_fn)(db *d, const void *items, int n, void *arg);

typedef struct batch_writer_options {
    const char *name;         /* thread name and log field, e.g. "interests" */
    const char *database_url; /* the writer's own connection */
    size_t item_size;
    int capacity; /* records queued at most */
    int flush_ms;
    int max_per_tx; /* records per transaction at most (0 = the whole batch in one) */
    batch_flush_fn flush;
    void *arg;
} batch_writer_options;

batch_writer *batch_writer_start(const batch_writer_options *o, char *err, size_t err_size);
/* Flushes what is queued, stops the thread, frees w (NULL is fine). */
void batch_writer_stop(batch_writer *w);
/* Queues a copy of item; false (and counted) when the queue is full or w is NULL/stopping. */
bool batch_writer_put(batch_writer *w, const void *item);
uint64_t batch_writer_accepted(const batch_writer *w); /* queued by put */
uint64_t batch_writer_written(const batch_writer *w);
uint64_t batch_writer_dropped(const batch_writer *w);

#endif
