/* SPDX-License-Identifier: MIT
 *
 * The table is split into shards, each with its own mutex, so threads checking different clients
 * rarely contend; a shard is an array of sets of SET_WAYS buckets (set-associative, like a CPU
 * cache), and a key lives only in the one set its hash names. Entries store a 64-bit key hash
 * rather than the key: a collision between two clients would merely make them share a bucket.
 *
 * Why keyed hashing and a per-set floor. With a public hash (FNV) an attacker could compute
 * offline a handful of identifiers that land next to a victim's key and, by sending them, evict
 * the victim's throttled bucket: the victim's next attempt found no entry and got a full one, so
 * eight cheap requests reset a login or OTP budget. Now the hash is SipHash-2-4 keyed with a
 * secret drawn from the OS per limiter (nobody can aim at a set), and even a set flooded by luck
 * or by volume cannot hand out tokens: when an entry is evicted, its set's floor becomes the
 * lower of the floor and the evicted bucket (both refilled to now), and a key that is not found
 * starts from the floor. A floor is never fuller than the emptiest bucket evicted from its set,
 * refilled at the limiter's rate, which is exactly what the evicted key would have had by waiting.
 */
#include "core/ratelimit.h"

#include "core/util.h"

#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHARDS 16
#define SET_WAYS 8 /* buckets per set: the most keys one set tracks at once */

typedef struct bucket {
    uint64_t key; /* 0 = empty */
    double tokens;
    int64_t last_us;
} bucket;

typedef struct shard {
    pthread_mutex_t lock;
    bucket *slots;  /* n_sets * SET_WAYS */
    bucket *floors; /* one per set: the state a key not found starts from (key unused) */
} shard;

struct ratelimit {
    double rate, burst;
    char scope[32]; /* shared by the cluster when set and a store is installed */
    size_t n_sets; /* per shard, power of two */
    unsigned char secret[crypto_shorthash_KEYBYTES];
    shard shards[SHARDS];
};

static uint64_t hash_key(const ratelimit *rl, const char *s)
{
    unsigned char out[crypto_shorthash_BYTES];
    crypto_shorthash(out, (const unsigned char *)s, strlen(s), rl->secret);
    uint64_t h;
    memcpy(&h, out, sizeof h);
    return h ? h : 1;
}

ratelimit *ratelimit_new(double rate, double burst, size_t slots)
{
    if (sodium_init() < 0)
        abort(); /* no randomness: refuse rather than run with a guessable key */
    ratelimit *rl = xcalloc(1, sizeof *rl);
    rl->rate = rate;
    rl->burst = burst < 1 ? 1 : burst;
    randombytes_buf(rl->secret, sizeof rl->secret);
    size_t sets = 2;
    while (sets * SET_WAYS * SHARDS < slots)
        sets *= 2;
    rl->n_sets = sets;
    for (int i = 0; i < SHARDS; i++)
        pthread_mutex_init(&rl->shards[i].lock, NULL);
    return rl;
}

/* A shard's table is allocated when its first key arrives, not by ratelimit_new: a server holds
 * seven limiters of ~1.5 MiB each, which an idle process would otherwise keep resident (the
 * floors are written at once). The bound is the same; only when it is paid changes. Caller
 * holds the shard's lock. */
static void shard_fill(const ratelimit *rl, shard *sh)
{
    sh->slots = xcalloc(rl->n_sets * SET_WAYS, sizeof(bucket));
    sh->floors = xcalloc(rl->n_sets, sizeof(bucket));
    for (size_t k = 0; k < rl->n_sets; k++)
        sh->floors[k].tokens = rl->burst;
}

void ratelimit_free(ratelimit *rl)
{
    if (!rl)
        return;
    for (int i = 0; i < SHARDS; i++) {
        pthread_mutex_destroy(&rl->shards[i].lock);
        free(rl->shards[i].slots);
        free(rl->shards[i].floors);
    }
    free(rl);
}

/* Tokens in b at now_us (refilled, capped at the burst), without changing b. */
static double tokens_at(const ratelimit *rl, const bucket *b, int64_t now_us)
{
    double elapsed = (double)(now_us - b->last_us) / 1e6;
    return elapsed > 0 ? fmin(rl->burst, b->tokens + elapsed * rl->rate) : b->tokens;
}

/* The bucket for h in its set: found, or a free or evicted way starting from the set's floor.
 * Caller holds the shard's lock. */
static bucket *find_or_claim(ratelimit *rl, shard *sh, size_t set, uint64_t h, int64_t now_us)
{
    bucket *ways = &sh->slots[set * SET_WAYS], *victim = NULL;
    for (size_t i = 0; i < SET_WAYS; i++) {
        bucket *c = &ways[i];
        if (c->key == h)
            return c;
        if (!victim || c->key == 0 || (victim->key != 0 && c->last_us < victim->last_us))
            victim = c;
    }
    bucket *floor = &sh->floors[set];
    double level = tokens_at(rl, floor, now_us);
    if (victim->key != 0) /* an eviction: the floor keeps the lower of the two */
        level = fmin(level, tokens_at(rl, victim, now_us));
    floor->tokens = level;
    if (now_us > floor->last_us) /* callers' clocks may race a little: never refill twice */
        floor->last_us = now_us;
    victim->key = h;
    victim->tokens = level;
    victim->last_us = now_us;
    return victim;
}

static bool take(ratelimit *rl, const char *key, int64_t now_us, double *wait_s)
{
    uint64_t h = hash_key(rl, key);
    shard *sh = &rl->shards[h % SHARDS];
    size_t set = (size_t)(h >> 8) & (rl->n_sets - 1);
    pthread_mutex_lock(&sh->lock);
    if (!sh->slots)
        shard_fill(rl, sh);
    bucket *b = find_or_claim(rl, sh, set, h, now_us);
    b->tokens = tokens_at(rl, b, now_us);
    if (now_us > b->last_us)
        b->last_us = now_us;
    bool ok = b->tokens >= 1.0;
    if (ok)
        b->tokens -= 1.0;
    else
        *wait_s = (1.0 - b->tokens) / rl->rate;
    pthread_mutex_unlock(&sh->lock);
    return ok;
}

static _Atomic(ratelimit_store_fn) shared_store;

void ratelimit_set_store(ratelimit_store_fn store)
{
    atomic_store(&shared_store, store);
}

void ratelimit_share(ratelimit *rl, const char *scope)
{
    snprintf(rl->scope, sizeof rl->scope, "%s", scope);
}

/* The shared bucket when there is one and it answers, else this node's. */
static bool take_any(ratelimit *rl, const char *key, int64_t now_us, double *wait_s)
{
    ratelimit_store_fn store = rl->scope[0] ? atomic_load(&shared_store) : NULL;
    if (store) {
        int64_t retry_ms = 0;
        int rc = store(rl->scope, key, rl->rate, rl->burst, &retry_ms);
        if (rc >= 0) {
            *wait_s = (double)retry_ms / 1000.0;
            return rc == 1;
        }
    }
    return take(rl, key, now_us, wait_s);
}

bool ratelimit_take(ratelimit *rl, const char *key, int64_t now_us, int *retry_after_s)
{
    double wait = 0;
    bool ok = take_any(rl, key, now_us, &wait);
    if (!ok && retry_after_s)
        *retry_after_s = (int)ceil(wait) < 1 ? 1 : (int)ceil(wait);
    return ok;
}

bool ratelimit_take_ms(ratelimit *rl, const char *key, int64_t now_us, int64_t *retry_after_ms)
{
    double wait = 0;
    bool ok = take_any(rl, key, now_us, &wait);
    if (!ok && retry_after_ms) {
        int64_t ms = (int64_t)ceil(wait * 1000.0);
        *retry_after_ms = ms < 1 ? 1 : ms;
    }
    return ok;
}

void ratelimit_test_set_secret(ratelimit *rl, const unsigned char secret[16])
{
    memcpy(rl->secret, secret, sizeof rl->secret);
}

size_t ratelimit_test_set_of(const ratelimit *rl, const char *key)
{
    uint64_t h = hash_key(rl, key);
    return (size_t)(h % SHARDS) * rl->n_sets + ((size_t)(h >> 8) & (rl->n_sets - 1));
}
