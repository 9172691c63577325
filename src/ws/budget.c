/* SPDX-License-Identifier: MIT
 *
 * Per-user budgets of socket commands (ws.h, docs/realtime.md#limits). Before a command runs,
 * the hub's dispatch takes one token from its sender's bucket in the command's budget; an empty
 * bucket answers "rate_limited" with the wait, so no handler (and no database write) runs.
 * Budgets are keyed by user id, not by socket, so opening more sockets buys nothing; they are
 * per node, like the sockets. A budget is a core/ratelimit.h table (bounded memory, keyed
 * hashing, eviction that never refills a bucket), so millions of users cost nothing more.
 * Budgets are made once at start-up and live as long as the process: handlers may hold them
 * without references.
 */
#include "ws/ws.h"

#include "core/ratelimit.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>

#define BUDGET_SLOTS 65536 /* users tracked per budget and node (about 1.5 MiB) */

struct ws_budget {
    ratelimit *rl;
    int64_t per_minute;
    char name[32];
    char option[40];
};

ws_budget *ws_budget_new(const char *name, const char *option, int64_t per_minute)
{
    if (per_minute <= 0)
        return NULL;
    ws_budget *b = xcalloc(1, sizeof *b);
    b->rl = ratelimit_new((double)per_minute / 60.0, (double)per_minute, BUDGET_SLOTS);
    b->per_minute = per_minute;
    snprintf(b->name, sizeof b->name, "%s", name);
    snprintf(b->option, sizeof b->option, "%s", option);
    return b;
}

bool ws_budget_take(ws_budget *b, int64_t user, int64_t *retry_after_ms)
{
    if (!b)
        return true;
    char key[24];
    snprintf(key, sizeof key, "%lld", (long long)user);
    return ratelimit_take_ms(b->rl, key, monotonic_us(), retry_after_ms);
}

json_t *ws_budget_refusal(const ws_budget *b, int64_t retry_after_ms, char *message, size_t n)
{
    snprintf(message, n, "more than %lld %s a minute (%s); retry in %lld ms",
             (long long)b->per_minute, b->name, b->option, (long long)retry_after_ms);
    return json_pack("{s:I, s:s, s:I, s:i}", "retry_after_ms", (json_int_t)retry_after_ms, "budget",
                     b->name, "limit", (json_int_t)b->per_minute, "window_seconds", 60);
}
