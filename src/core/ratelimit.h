/* SPDX-License-Identifier: MIT
 *
 * Token-bucket rate limiter keyed by strings (client address, account, ...). Memory is fixed at
 * creation: keys are hashed into a bounded table, and when a neighbourhood is full the entry
 * seen longest ago is evicted. An evicted bucket comes back full, which only ever errs towards
 * letting a request through, never towards blocking an innocent client.
 */
#ifndef STREAMHUB_CORE_RATELIMIT_H
#define STREAMHUB_CORE_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ratelimit ratelimit;

/* rate: tokens added per second; burst: bucket size. slots: table size (rounded up). */
ratelimit *ratelimit_new(double rate, double burst, size_t slots);
void ratelimit_free(ratelimit *rl);
/* Takes one token for key at time now_us. Returns true if allowed; otherwise false and, if
 * retry_after_s is not NULL, the whole seconds until a token is available (at least 1). */
bool ratelimit_take(ratelimit *rl, const char *key, int64_t now_us, int *retry_after_s);

#endif
