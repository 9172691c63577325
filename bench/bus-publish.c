/* SPDX-License-Identifier: MIT
 *
 * The Redis bus's publish path (src/core/bus_redis.c) under many publishing threads: THREADS
 * threads each publish COUNT messages of 200 bytes (a DM envelope's size) through bus_publish,
 * over the connection pool the URL's ?publishers=N sets; prints publishes per second and the
 * mean time per publish. Also times bus_user_listened for a user subscribed on another
 * connection ("another node"): the first call asks Redis (PUBSUB NUMSUB), later ones within
 * the cache's second do not. This is what chose the pool's default size (docs/BENCHMARKS.md).
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
