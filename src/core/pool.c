/* SPDX-License-Identifier: MIT
 *
 * Thread pool: a ring buffer of tasks under one mutex and condition variable. Tasks are short
 * (a database request or a password hash), so a single lock is not the bottleneck at our sizes.
 */
#include "core/pool.h"

#include "core/util.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef struct pool_item {
    pool_task_fn fn;
    void *task;
} pool_item;

struct pool {
    pool_options opts;
    pthread_t *threads;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pool_item *ring;
    size_t head, len, cap;
    size_t busy;
    bool stopping;
};

static void *pool_main(void *arg)
{
    pool *p = arg;
    char name[16];
    snprintf(name, sizeof name, "%.15s", p->opts.name);
    pthread_setname_np(pthread_self(), name);
    if (p->opts.nice)
        setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), p->opts.nice);
    void *ctx = p->opts.thread_init ? p->opts.thread_init(p->opts.arg) : NULL;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->len == 0 && !p->stopping)
            pthread_cond_wait(&p->cond, &p->lock);
        if (p->len == 0 && p->stopping)
            break;
        pool_item it = p->ring[p->head];
        p->head = (p->head + 1) % p->cap;
        p->len--;
        p->busy++;
        pthread_mutex_unlock(&p->lock);
        it.fn(it.task, ctx);
        pthread_mutex_lock(&p->lock);
        p->busy--;
    }
    pthread_mutex_unlock(&p->lock);
    if (p->opts.thread_done)
        p->opts.thread_done(ctx);
    return NULL;
}

pool *pool_create(const pool_options *opts)
{
    pool *p = xcalloc(1, sizeof *p);
    p->opts = *opts;
    p->cap = opts->queue_limit ? opts->queue_limit : 1;
    p->ring = xcalloc(p->cap, sizeof *p->ring);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->threads = xcalloc((size_t)opts->threads, sizeof *p->threads);
    for (int i = 0; i < opts->threads; i++)
        if (pthread_create(&p->threads[i], NULL, pool_main, p) != 0) {
            fprintf(stderr, "pool %s: cannot start thread\n", opts->name);
            abort();
        }
    return p;
}

int pool_submit(pool *p, pool_task_fn fn, void *task)
{
    pthread_mutex_lock(&p->lock);
    if (p->len == p->cap || p->stopping) {
        pthread_mutex_unlock(&p->lock);
        return ERR_BUSY;
    }
    p->ring[(p->head + p->len) % p->cap] = (pool_item){fn, task};
    p->len++;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

size_t pool_queue_length(pool *p)
{
    pthread_mutex_lock(&p->lock);
    size_t n = p->len;
    pthread_mutex_unlock(&p->lock);
    return n;
}

size_t pool_busy_threads(pool *p)
{
    pthread_mutex_lock(&p->lock);
    size_t n = p->busy;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void pool_destroy(pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->opts.threads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    free(p->threads);
    free(p->ring);
    free(p);
}
