/* SPDX-License-Identifier: MIT
 *
 * The table is split into shards, each with its own mutex, so threads checking different clients
 * rarely contend. Entries store a 64-bit key hash rather than the key: a collision between two
 * clients would merely make them share a bucket.
 */
#include "core/ratelimit.h"

#include "core/util.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SHARDS 16
#define PROBE 8

typedef struct bucket {
    uint64_t key; /* 0 = empty */
    double tokens;
    int64_t last_us;
} bucket;

typedef struct shard {
    pthread_mutex_t lock;
    bucket *slots;
} shard;

struct ratelimit {
    double rate, burst;
    size_t per_shard; /* power of two */
    shard shards[SHARDS];
};

static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h ? h : 1;
}

ratelimit *ratelimit_new(double rate, double burst, size_t slots)
{
    ratelimit *rl = xcalloc(1, sizeof *rl);
    rl->rate = rate;
    rl->burst = burst < 1 ? 1 : burst;
    size_t per = 16;
    while (per * SHARDS < slots)
        per *= 2;
    rl->per_shard = per;
    for (int i = 0; i < SHARDS; i++) {
        pthread_mutex_init(&rl->shards[i].lock, NULL);
        rl->shards[i].slots = xcalloc(per, sizeof(bucket));
    }
    return rl;
}

void ratelimit_free(ratelimit *rl)
{
    if (!rl)
        return;
    for (int i = 0; i < SHARDS; i++) {
        pthread_mutex_destroy(&rl->shards[i].lock);
        free(rl->shards[i].slots);
    }
    free(rl);
}

bool ratelimit_take(ratelimit *rl, const char *key, int64_t now_us, int *retry_after_s)
{
    uint64_t h = hash_key(key);
    shard *sh = &rl->shards[h % SHARDS];
    size_t mask = rl->per_shard - 1, start = (size_t)(h >> 8) & mask;
    pthread_mutex_lock(&sh->lock);
    bucket *b = NULL, *oldest = NULL;
    for (size_t i = 0; i < PROBE; i++) {
        bucket *c = &sh->slots[(start + i) & mask];
        if (c->key == h) {
            b = c;
            break;
        }
        if (!oldest || c->key == 0 || (oldest->key != 0 && c->last_us < oldest->last_us))
            oldest = c;
    }
    if (!b) {
        b = oldest;
        b->key = h;
        b->tokens = rl->burst;
        b->last_us = now_us;
    }
    double elapsed = (double)(now_us - b->last_us) / 1e6;
    if (elapsed > 0) {
        b->tokens = fmin(rl->burst, b->tokens + elapsed * rl->rate);
        b->last_us = now_us;
    }
    bool ok = b->tokens >= 1.0;
    if (ok)
        b->tokens -= 1.0;
    else if (retry_after_s) {
        double wait = (1.0 - b->tokens) / rl->rate;
        *retry_after_s = (int)ceil(wait) < 1 ? 1 : (int)ceil(wait);
    }
    pthread_mutex_unlock(&sh->lock);
    return ok;
}
