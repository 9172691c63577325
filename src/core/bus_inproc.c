/* SPDX-License-Identifier: MIT
 *
 * The in-process bus backend (see bus.h): a fixed hash table of topics, each with a list of
 * subscriptions, under one reader/writer lock. Publishing takes the read lock, so publishers on
 * many threads run in parallel; subscribing and unsubscribing take the write lock, which is also
 * what guarantees that no callback is running for a subscription once unsubscribe returns.
 * "Listened" and "subscribers" are the same question here: this node is the whole cluster.
 */
#include "core/bus.h"

#include "core/topics.h"
#include "core/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define BUS_BUCKETS 4096

struct bus_sub {
    struct bus_sub *next;
    unsigned bucket;
    bus_deliver_fn fn;
    void *ctx;
    char topic[]; /* its own length: every socket holds two, most topics are short */
};

/* A deliver callback may publish again (a room's delivery tells a banned member's socket, the
 * control topic sends "room.removed"): that takes the read lock a second time on the same
 * thread. With a writer-preferring lock a subscriber waiting between the two would deadlock
 * both, so the lock is explicitly reader-preferring (glibc's default today, but stated here
 * rather than relied on). Writers (subscribe, unsubscribe) are rare; they may wait. */
static pthread_rwlock_t lock;
static pthread_once_t lock_once = PTHREAD_ONCE_INIT;
static bus_sub *buckets[BUS_BUCKETS];

static void lock_init(void)
{
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_READER_NP);
    pthread_rwlock_init(&lock, &attr);
    pthread_rwlockattr_destroy(&attr);
}

static void rdlock(void)
{
    pthread_once(&lock_once, lock_init);
    pthread_rwlock_rdlock(&lock);
}

static void wrlock(void)
{
    pthread_once(&lock_once, lock_init);
    pthread_rwlock_wrlock(&lock);
}

static unsigned topic_bucket(const char *topic)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)topic; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % BUS_BUCKETS;
}

static int inproc_open(const char *url, char *err, size_t err_size)
{
    (void)url, (void)err, (void)err_size;
    return 0;
}

static void inproc_close(void)
{
    /* subscriptions belong to their owners, who unsubscribe them */
}

static bus_sub *inproc_subscribe(const char *topic, bus_deliver_fn fn, void *ctx)
{
    size_t len = topic ? strlen(topic) : 0;
    if (!len || len >= TOPIC_MAX || !fn)
        return NULL;
    bus_sub *s = xcalloc(1, sizeof *s + len + 1);
    memcpy(s->topic, topic, len + 1);
    s->fn = fn;
    s->ctx = ctx;
    s->bucket = topic_bucket(topic);
    wrlock();
    s->next = buckets[s->bucket];
    buckets[s->bucket] = s;
    pthread_rwlock_unlock(&lock);
    return s;
}

static void inproc_unsubscribe(bus_sub *s)
{
    if (!s)
        return;
    wrlock();
    for (bus_sub **p = &buckets[s->bucket]; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    pthread_rwlock_unlock(&lock);
    free(s);
}

static int inproc_publish(const char *topic, const char *msg, size_t len)
{
    int n = 0;
    rdlock();
    for (bus_sub *s = buckets[topic_bucket(topic)]; s; s = s->next)
        if (!strcmp(s->topic, topic)) {
            s->fn(s->ctx, topic, msg, len);
            n++;
        }
    pthread_rwlock_unlock(&lock);
    return n;
}

static int inproc_subscribers(const char *topic)
{
    int n = 0;
    rdlock();
    for (bus_sub *s = buckets[topic_bucket(topic)]; s; s = s->next)
        n += !strcmp(s->topic, topic);
    pthread_rwlock_unlock(&lock);
    return n;
}

static bool inproc_listened(const char *topic)
{
    return inproc_subscribers(topic) > 0;
}

const bus_backend bus_inproc = {
    .name = "inproc",
    .open = inproc_open,
    .close = inproc_close,
    .subscribe = inproc_subscribe,
    .unsubscribe = inproc_unsubscribe,
    .publish = inproc_publish,
    .subscribers = inproc_subscribers,
    .listened = inproc_listened,
};
