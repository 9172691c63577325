/* SPDX-License-Identifier: MIT
 *
 * The in-process bus (see bus.h): a fixed hash table of topics, each with a list of
 * subscriptions, under one reader/writer lock. Publishing takes the read lock, so publishers on
 * many threads run in parallel; subscribing and unsubscribing take the write lock, which is also
 * what guarantees that no callback is running for a subscription once bus_unsubscribe returns.
 */
#include "core/bus.h"

#include "core/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUS_BUCKETS 4096
#define BUS_TOPIC_MAX 128

struct bus_sub {
    struct bus_sub *next;
    unsigned bucket;
    bus_deliver_fn fn;
    void *ctx;
    char topic[BUS_TOPIC_MAX];
};

/* A deliver callback may publish again (a room's delivery tells a banned member's socket, the
 * control topic sends "room.removed"): that takes the read lock a second time on the same
 * thread. With a writer-preferring lock a subscriber waiting between the two would deadlock
 * both, so the lock is explicitly reader-preferring (glibc's default today, but stated here
 * rather than relied on). Writers (subscribe, unsubscribe) are rare; they may wait. */
static pthread_rwlock_t lock;
static pthread_once_t lock_once = PTHREAD_ONCE_INIT;
static bus_sub *buckets[BUS_BUCKETS];
static atomic_uint_fast64_t n_published, n_delivered;

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

bus_sub *bus_subscribe(const char *topic, bus_deliver_fn fn, void *ctx)
{
    size_t len = topic ? strlen(topic) : 0;
    if (!len || len >= BUS_TOPIC_MAX || !fn)
        return NULL;
    bus_sub *s = xcalloc(1, sizeof *s);
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

void bus_unsubscribe(bus_sub *s)
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

int bus_publish(const char *topic, const char *msg, size_t len)
{
    if (!topic || !*topic)
        return 0;
    int n = 0;
    atomic_fetch_add(&n_published, 1);
    rdlock();
    for (bus_sub *s = buckets[topic_bucket(topic)]; s; s = s->next)
        if (!strcmp(s->topic, topic)) {
            s->fn(s->ctx, topic, msg, len);
            n++;
        }
    pthread_rwlock_unlock(&lock);
    atomic_fetch_add(&n_delivered, (uint_fast64_t)n);
    return n;
}

bool bus_user_listened(int64_t user_id)
{
    char topic[32];
    snprintf(topic, sizeof topic, "user:%lld", (long long)user_id);
    return bus_subscribers(topic) > 0;
}

int bus_subscribers(const char *topic)
{
    if (!topic || !*topic)
        return 0;
    int n = 0;
    rdlock();
    for (bus_sub *s = buckets[topic_bucket(topic)]; s; s = s->next)
        n += !strcmp(s->topic, topic);
    pthread_rwlock_unlock(&lock);
    return n;
}

static int publish_envelope(const char *topic, const char *type, json_t *data)
{
    json_t *env = json_pack("{s:s, s:o}", "type", type, "data", data ? data : json_object());
    if (!env)
        return 0;
    char *text = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    if (!text)
        return 0;
    int n = bus_publish(topic, text, strlen(text));
    free(text);
    return n;
}

int bus_publish_user(int64_t user_id, const char *type, json_t *data)
{
    char topic[32];
    snprintf(topic, sizeof topic, "user:%lld", (long long)user_id);
    return publish_envelope(topic, type, data);
}

int bus_publish_room(const char *room, const char *type, json_t *data)
{
    char topic[BUS_TOPIC_MAX];
    if (snprintf(topic, sizeof topic, "room:%s", room) >= (int)sizeof topic) {
        json_decref(data);
        return 0;
    }
    return publish_envelope(topic, type, data);
}

void bus_session_topic(int64_t session_id, char out[BUS_SESSION_TOPIC_LEN])
{
    snprintf(out, BUS_SESSION_TOPIC_LEN, "session:%lld", (long long)session_id);
}

int bus_publish_session_ended(int64_t session_id, const char *reason)
{
    char topic[BUS_SESSION_TOPIC_LEN];
    bus_session_topic(session_id, topic);
    return publish_envelope(topic, "session.revoked", json_pack("{s:s}", "reason", reason));
}

uint64_t bus_published(void)
{
    return atomic_load(&n_published);
}

uint64_t bus_delivered(void)
{
    return atomic_load(&n_delivered);
}
