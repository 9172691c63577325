/* SPDX-License-Identifier: MIT
 *
 * Token-bucket rate limiter keyed by strings (client address, account, user id...). Memory is
 * bounded at creation (each of its 16 shards is allocated when its first key arrives, so an
 * idle limiter costs almost nothing): keys are hashed (SipHash with a secret drawn per limiter, so nobody outside
 * the process can aim keys at one place) into sets of a bounded table, and a key arriving at a
 * full set evicts the entry seen longest ago. Eviction never grants a budget: each set remembers
 * the emptiest bucket it ever evicted (refilling at the normal rate), and a key that is not in
 * the table starts from that state, not from a full bucket. So evicting a throttled key by
 * flooding its set gives it back nothing that waiting would not; the price is that a new key
 * landing in such a set may briefly share the evicted key's restriction (docs/operations.md).
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
/* As ratelimit_take, but the wait is in milliseconds (at least 1). */
bool ratelimit_take_ms(ratelimit *rl, const char *key, int64_t now_us, int64_t *retry_after_ms);

/* Limits shared by the cluster. A limiter given a scope with ratelimit_share takes its tokens
 * from the store installed by ratelimit_set_store (app.c installs the Redis one with --redis),
 * one bucket per scope and key for all nodes; when the store answers -1 (unreachable) the
 * limiter falls back to its own table, so a node keeps limiting (per node) while Redis is down.
 * A store returns 1 (allowed), 0 (refused, *retry_after_ms set) or -1. */
typedef int (*ratelimit_store_fn)(const char *scope, const char *key, double rate, double burst,
                                  int64_t *retry_after_ms);
void ratelimit_set_store(ratelimit_store_fn store); /* NULL: every limiter is local */
void ratelimit_share(ratelimit *rl, const char *scope); /* before the limiter is used */

/* Tests only: replaces the secret hash key (16 bytes) so that keys falling into one set can be
 * found offline, as an attacker who knew the key could; and names the set a key falls into. */
void ratelimit_test_set_secret(ratelimit *rl, const unsigned char secret[16]);
size_t ratelimit_test_set_of(const ratelimit *rl, const char *key);

#endif
