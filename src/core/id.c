/* SPDX-License-Identifier: MIT
 *
 * Snowflake id generator. A mutex keeps (millisecond, sequence) monotonic across threads; when
 * the 4096 ids of a millisecond are used up, or the clock steps backwards, we borrow from the
 * next millisecond instead of sleeping, so ids stay unique and ordered.
 */
#include "core/id.h"

#include "core/util.h"

#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t id_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t last_ms;
static int64_t seq;
static int64_t node_bits;

void id_set_node(unsigned node)
{
    node_bits = (int64_t)(node & 1023u) << 12;
}

int64_t id_next(void)
{
    int64_t ms = now_ms() - ID_EPOCH_MS;
    pthread_mutex_lock(&id_lock);
    if (ms > last_ms) {
        last_ms = ms;
        seq = 0;
    } else if (++seq > 4095) {
        last_ms++;
        seq = 0;
    }
    int64_t id = (last_ms << 22) | node_bits | seq;
    pthread_mutex_unlock(&id_lock);
    return id;
}

int64_t id_time_ms(int64_t id)
{
    return (id >> 22) + ID_EPOCH_MS;
}

void id_format(int64_t id, char out[ID_STR_MAX])
{
    snprintf(out, ID_STR_MAX, "%lld", (long long)id);
}

bool id_parse(const char *s, int64_t *out)
{
    if (!s || !*s || *s == '0')
        return false;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || p - s >= 19)
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > (uint64_t)INT64_MAX)
        return false;
    *out = (int64_t)v;
    return true;
}
