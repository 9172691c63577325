/* SPDX-License-Identifier: MIT
 *
 * The event log writer. Request handlers call event_log_emit, which only appends to an in-memory
 * queue under a mutex; one thread with its own database connection writes the queue in one
 * transaction every EVENT_LOG_FLUSH_MS (or sooner when it fills), so recording an action never
 * adds a database write to the request. The queue is capped: when the database cannot keep up,
 * events are dropped and counted rather than growing memory. A clean stop flushes what is queued.
 */
#ifndef STREAMHUB_JOBS_EVENT_LOG_H
#define STREAMHUB_JOBS_EVENT_LOG_H

#include <stdint.h>

#define EVENT_LOG_FLUSH_MS 200
#define EVENT_LOG_CAPACITY 32768

/* Starts the writer (one per process). Until then, and after stop, emit does nothing. */
int event_log_start(const char *database_url, char *err, unsigned long err_size);
void event_log_stop(void);
/* Records that actor did type to (object_type, object_id); props is a small JSON object or
 * NULL. Safe from any thread. */
void event_log_emit(int64_t actor, const char *type, const char *object_type, int64_t object_id,
                    const char *props);
/* Counters for /metrics. */
uint64_t event_log_written(void);
uint64_t event_log_dropped(void);

#endif
