/* SPDX-License-Identifier: MIT
 *
 * The Redis bus's publish path (src/core/bus_redis.c) under many publishing threads: THREADS
 * threads each publish COUNT messages of 200 bytes (a DM envelope's size) through bus_publish,
 * over the connection pool the URL's ?publishers=N sets; prints publishes per second and the
 * mean time per publish. Also times bus_user_listened for a user subscribed on another
 * connection ("another node"): the first call asks Redis (PUBSUB NUMSUB), later ones within
 * the cache's second do not, and the hop itself: publish to delivery on a local subscriber,
 * through Redis and the reader thread. This is what chose the pool's default size
 * (docs/BENCHMARKS.md).
 *
 * Usage: build/streamhub-bus-bench redis://127.0.0.1:PORT [threads 16] [count 5000]
 */
#include "core/bus.h"
#include "core/util.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int count;
static char payload[201];

static void *publisher(void *arg)
{
    (void)arg;
    for (int i = 0; i < count; i++)
        bus_publish("user:1", payload, 200);
    return NULL;
}

static pthread_mutex_t hop_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hop_cv = PTHREAD_COND_INITIALIZER;
static bool hop_done;

static void delivered(void *ctx, const char *topic, const char *msg, size_t len)
{
    (void)ctx, (void)topic, (void)msg, (void)len;
    pthread_mutex_lock(&hop_lock);
    hop_done = true;
    pthread_cond_signal(&hop_cv);
    pthread_mutex_unlock(&hop_lock);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s redis://host:port [threads] [count]\n", argv[0]);
        return 2;
    }
    int threads = argc > 2 ? atoi(argv[2]) : 16;
    count = argc > 3 ? atoi(argv[3]) : 5000;
    memset(payload, 'x', 200);
    static const int pools[] = {1, 2, 4, 8, 16};
    for (size_t k = 0; k < sizeof pools / sizeof pools[0]; k++) {
        char url[512], err[256];
        snprintf(url, sizeof url, "%s?publishers=%d", argv[1], pools[k]);
        if (bus_open(&bus_redis, url, err, sizeof err) < 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        pthread_t t[256];
        int64_t start = monotonic_us();
        for (int i = 0; i < threads && i < 256; i++)
            pthread_create(&t[i], NULL, publisher, NULL);
        for (int i = 0; i < threads && i < 256; i++)
            pthread_join(t[i], NULL);
        double s = (double)(monotonic_us() - start) / 1e6;
        double n = (double)threads * count;
        printf("publishers=%-2d threads=%d: %.0f publishes/s, %.1f us per publish per thread\n",
               pools[k], threads, n / s, s * 1e6 / count);
        bus_close();
    }

    char err[256];
    bus_open(&bus_redis, argv[1], err, sizeof err);
    /* the hop itself: publish -> Redis -> this node's reader -> the subscriber, one at a time */
    enum { HOPS = 2000 };
    static double hop_us[HOPS];
    bus_sub *s = bus_subscribe("user:3", delivered, NULL);
    for (int i = 0; i < HOPS; i++) {
        int64_t start = monotonic_us();
        pthread_mutex_lock(&hop_lock);
        hop_done = false;
        pthread_mutex_unlock(&hop_lock);
        bus_publish("user:3", payload, 200);
        pthread_mutex_lock(&hop_lock);
        while (!hop_done)
            pthread_cond_wait(&hop_cv, &hop_lock);
        pthread_mutex_unlock(&hop_lock);
        hop_us[i] = (double)(monotonic_us() - start);
    }
    bus_unsubscribe(s);
    qsort(hop_us, HOPS, sizeof hop_us[0], by_value);
    printf("publish -> delivery through Redis (%d, one at a time): p50 %.0f us, p99 %.0f us\n", HOPS,
           hop_us[HOPS / 2], hop_us[HOPS * 99 / 100]);
    redisContext *other = NULL;
    {
        char host[256] = "127.0.0.1";
        int port = atoi(strrchr(argv[1], ':') + 1);
        other = redisConnect(host, port);
        freeReplyObject(redisCommand(other, "SUBSCRIBE user:2"));
    }
    int64_t t0 = monotonic_us();
    bus_user_listened(2);
    int64_t t1 = monotonic_us();
    for (int i = 0; i < 1000; i++)
        bus_user_listened(2);
    int64_t t2 = monotonic_us();
    printf("listened (subscribed elsewhere): first %.1f us (PUBSUB NUMSUB), cached %.3f us\n",
           (double)(t1 - t0), (double)(t2 - t1) / 1000);
    redisFree(other);
    bus_close();
    return 0;
}
