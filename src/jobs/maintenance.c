/* SPDX-License-Identifier: MIT
 *
 * Housekeeping loop: see maintenance.h.
 */
#include "jobs/maintenance.h"

#include "core/log.h"
#include "core/util.h"
#include "store/db.h"
#include "store/posts.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define PURGE_BATCH 500

struct maintenance {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopping;
    char *database_url;
    db *d;
    int64_t retention_ms, interval_ms;
    maintenance_sweep_fn sweep;
};

static atomic_uint_least64_t purged_total;

uint64_t maintenance_purged_total(void)
{
    return atomic_load(&purged_total);
}

/* Purges in batches until nothing is left or the loop is asked to stop. */
static void purge(maintenance *m)
{
    if (!m->d) {
        char err[256];
        if (db_open(m->database_url, &m->d, err, sizeof err) < 0)
            return; /* the database is away; try again next round */
    }
    if (m->sweep)
        m->sweep(m->d, now_ms()); /* unfinished uploads past their expiry (app.c) */
    int64_t cutoff = now_ms() - m->retention_ms;
    for (;;) {
        int n = store_posts_purge(m->d, cutoff, cutoff, PURGE_BATCH);
        if (n < 0) {
            char esc[512];
            log_warn("purge failed", "\"detail\":\"%s\"",
                     log_escape(db_errmsg(m->d), esc, sizeof esc));
            db_close(m->d);
            m->d = NULL;
            return;
        }
        atomic_fetch_add(&purged_total, (uint64_t)n);
        if (n > 0)
            log_info("posts purged", "\"count\":%d", n);
        pthread_mutex_lock(&m->lock);
        bool stop = m->stopping;
        pthread_mutex_unlock(&m->lock);
        if (n < PURGE_BATCH || stop)
            return;
    }
}

static void *maintenance_main(void *arg)
{
    maintenance *m = arg;
    pthread_setname_np(pthread_self(), "sh-maint");
    for (;;) {
        purge(m);
        pthread_mutex_lock(&m->lock);
        if (!m->stopping) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += m->interval_ms / 1000;
            ts.tv_nsec += (m->interval_ms % 1000) * 1000000L;
            ts.tv_sec += ts.tv_nsec / 1000000000L;
            ts.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&m->cond, &m->lock, &ts);
        }
        bool stop = m->stopping;
        pthread_mutex_unlock(&m->lock);
        if (stop)
            break;
    }
    return NULL;
}

maintenance *maintenance_start(const char *database_url, int64_t retention_s, int64_t interval_s,
                               maintenance_sweep_fn sweep, char *err, unsigned long err_size)
{
    maintenance *m = xcalloc(1, sizeof *m);
    m->sweep = sweep;
    m->database_url = xstrdup(database_url);
    m->retention_ms = retention_s * 1000;
    m->interval_ms = interval_s * 1000;
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->cond, NULL);
    if (pthread_create(&m->thread, NULL, maintenance_main, m) != 0) {
        snprintf(err, err_size, "cannot start the maintenance thread");
        free(m->database_url);
        free(m);
        return NULL;
    }
    return m;
}

void maintenance_stop(maintenance *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    m->stopping = true;
    pthread_cond_signal(&m->cond);
    pthread_mutex_unlock(&m->lock);
    pthread_join(m->thread, NULL);
    db_close(m->d);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->cond);
    free(m->database_url);
    free(m);
}
