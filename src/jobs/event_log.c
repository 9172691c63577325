/* SPDX-License-Identifier: MIT
 *
 * Event log writer: see event_log.h. Two buffers swap under the lock so emitters never wait for
 * the database; a failed batch is retried on the next round while it fits under the cap.
 */
#include "jobs/event_log.h"

#include "core/id.h"
#include "core/log.h"
#include "core/util.h"
#include "store/db.h"
#include "store/events.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH_WAKE 1024 /* wake the writer early once this many are queued */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    bool running, stopping;
    db *d;
    store_event *queue; /* EVENT_LOG_CAPACITY slots */
    int queued;
    atomic_uint_least64_t written, dropped;
} w = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

uint64_t event_log_written(void)
{
    return atomic_load(&w.written);
}

uint64_t event_log_dropped(void)
{
    return atomic_load(&w.dropped);
}

void event_log_emit(int64_t actor, const char *type, const char *object_type, int64_t object_id,
                    const char *props)
{
    pthread_mutex_lock(&w.lock);
    if (!w.running || w.stopping) {
        pthread_mutex_unlock(&w.lock);
        return;
    }
    if (w.queued == EVENT_LOG_CAPACITY) {
        pthread_mutex_unlock(&w.lock);
        atomic_fetch_add(&w.dropped, 1);
        return;
    }
    store_event *e = &w.queue[w.queued++];
    e->id = id_next();
    e->actor_id = actor;
    snprintf(e->type, sizeof e->type, "%s", type);
    snprintf(e->object_type, sizeof e->object_type, "%s", object_type);
    e->object_id = object_id;
    snprintf(e->props, sizeof e->props, "%s", props && strlen(props) < sizeof e->props ? props
                                                                                       : "{}");
    e->created_at = now_ms();
    if (w.queued == BATCH_WAKE)
        pthread_cond_signal(&w.cond);
    pthread_mutex_unlock(&w.lock);
}

/* Writes batch[0..n); on failure keeps it for the next round when it still fits. */
static void write_batch(store_event *batch, int n)
{
    if (store_events_append(w.d, batch, n) == 0) {
        atomic_fetch_add(&w.written, (uint64_t)n);
        return;
    }
    char esc[512];
    log_warn("event log write failed", "\"events\":%d,\"detail\":\"%s\"", n,
             log_escape(db_errmsg(w.d), esc, sizeof esc));
    pthread_mutex_lock(&w.lock);
    int room = EVENT_LOG_CAPACITY - w.queued;
    int keep = n < room ? n : room;
    memmove(w.queue + keep, w.queue, (size_t)w.queued * sizeof *w.queue);
    memcpy(w.queue, batch, (size_t)keep * sizeof *batch);
    w.queued += keep;
    pthread_mutex_unlock(&w.lock);
    atomic_fetch_add(&w.dropped, (uint64_t)(n - keep));
}

static void *writer_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "sh-events");
    store_event *batch = xcalloc(EVENT_LOG_CAPACITY, sizeof *batch);
    for (;;) {
        pthread_mutex_lock(&w.lock);
        if (!w.stopping && w.queued < BATCH_WAKE) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += EVENT_LOG_FLUSH_MS * 1000000L;
            ts.tv_sec += ts.tv_nsec / 1000000000L;
            ts.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&w.cond, &w.lock, &ts);
        }
        int n = w.queued;
        memcpy(batch, w.queue, (size_t)n * sizeof *batch);
        w.queued = 0;
        bool stop = w.stopping;
        pthread_mutex_unlock(&w.lock);
        if (n)
            write_batch(batch, n);
        if (stop)
            break;
    }
    free(batch);
    return NULL;
}

int event_log_start(const char *database_url, char *err, unsigned long err_size)
{
    if (w.running)
        return 0;
    int rc = db_open(database_url, &w.d, err, err_size);
    if (rc < 0)
        return rc;
    w.queue = xcalloc(EVENT_LOG_CAPACITY, sizeof *w.queue);
    w.queued = 0;
    w.stopping = false;
    w.running = true;
    if (pthread_create(&w.thread, NULL, writer_main, NULL) != 0) {
        w.running = false;
        free(w.queue);
        db_close(w.d);
        snprintf(err, err_size, "cannot start the event log thread");
        return ERR_IO;
    }
    return 0;
}

void event_log_stop(void)
{
    if (!w.running)
        return;
    pthread_mutex_lock(&w.lock);
    w.stopping = true;
    pthread_cond_signal(&w.cond);
    pthread_mutex_unlock(&w.lock);
    pthread_join(w.thread, NULL);
    pthread_mutex_lock(&w.lock);
    w.running = false;
    pthread_mutex_unlock(&w.lock);
    free(w.queue);
    w.queue = NULL;
    db_close(w.d);
    w.d = NULL;
}
