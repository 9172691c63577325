/* SPDX-License-Identifier: MIT
 *
 * The circuit breaker: see breaker.h. One mutex; every operation is a few comparisons.
 */
#include "core/breaker.h"

void breaker_init(breaker *b, int failures, int64_t cooldown_ms)
{
    *b = (breaker){.failures = failures > 0 ? failures : 1, .cooldown_ms = cooldown_ms};
    pthread_mutex_init(&b->lock, NULL);
}

void breaker_destroy(breaker *b)
{
    pthread_mutex_destroy(&b->lock);
}

bool breaker_allow(breaker *b, int64_t now_ms)
{
    pthread_mutex_lock(&b->lock);
    bool ok = true;
    if (b->state == BREAKER_OPEN && now_ms >= b->open_until_ms) {
        b->state = BREAKER_HALF_OPEN;
        b->probing = false;
    }
    if (b->state == BREAKER_OPEN || (b->state == BREAKER_HALF_OPEN && b->probing))
        ok = false;
    else if (b->state == BREAKER_HALF_OPEN)
        b->probing = true;
    if (!ok)
        b->rejected_total++;
    pthread_mutex_unlock(&b->lock);
    return ok;
}

void breaker_success(breaker *b)
{
    pthread_mutex_lock(&b->lock);
    b->consecutive = 0;
    b->state = BREAKER_CLOSED;
    b->probing = false;
    pthread_mutex_unlock(&b->lock);
}

void breaker_failure(breaker *b, int64_t now_ms)
{
    pthread_mutex_lock(&b->lock);
    b->consecutive++;
    if (b->state == BREAKER_HALF_OPEN || b->consecutive >= b->failures) {
        if (b->state != BREAKER_OPEN)
            b->opened_total++;
        b->state = BREAKER_OPEN;
        b->open_until_ms = now_ms + b->cooldown_ms;
        b->probing = false;
    }
    pthread_mutex_unlock(&b->lock);
}

void breaker_release(breaker *b)
{
    pthread_mutex_lock(&b->lock);
    b->probing = false;
    pthread_mutex_unlock(&b->lock);
}

breaker_state breaker_get_state(breaker *b, uint64_t *opened_total, uint64_t *rejected_total)
{
    pthread_mutex_lock(&b->lock);
    breaker_state s = b->state;
    if (opened_total)
        *opened_total = b->opened_total;
    if (rejected_total)
        *rejected_total = b->rejected_total;
    pthread_mutex_unlock(&b->lock);
    return s;
}
