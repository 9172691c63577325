/* SPDX-License-Identifier: MIT
 *
 * A circuit breaker for calls to a remote service (the S3 object store): after `failures`
 * consecutive failures it opens and every call fails fast for `cooldown_ms`, so a slow or dead
 * service costs callers nothing instead of a timeout each; then it lets exactly one call through
 * as a probe (half-open): its success closes the breaker, its failure opens it for another
 * cool-down. Thread-safe; times are passed in (monotonic milliseconds) so tests drive the clock.
 */
#ifndef STREAMHUB_CORE_BREAKER_H
#define STREAMHUB_CORE_BREAKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN } breaker_state;

typedef struct breaker {
    pthread_mutex_t lock;
    int failures;        /* consecutive failures that open it */
    int64_t cooldown_ms; /* how long it stays open */
    int consecutive;
    breaker_state state;
    int64_t open_until_ms;
    bool probing; /* half-open: the one probe is out */
    uint64_t opened_total, rejected_total;
} breaker;

void breaker_init(breaker *b, int failures, int64_t cooldown_ms);
void breaker_destroy(breaker *b);
/* Whether a call may go out now; false means fail fast (counted in rejected_total). A true in
 * the half-open state makes the caller the probe: it must report breaker_success or
 * breaker_failure. */
bool breaker_allow(breaker *b, int64_t now_ms);
void breaker_success(breaker *b);
void breaker_failure(breaker *b, int64_t now_ms);
/* A call that was allowed but ended without saying anything about the service's health (a 4xx
 * answer is health; a local error is not): frees the probe slot. */
void breaker_release(breaker *b);
breaker_state breaker_get_state(breaker *b, uint64_t *opened_total, uint64_t *rejected_total);

#endif
