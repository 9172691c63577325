/* SPDX-License-Identifier: MIT
 *
 * 64-bit time-ordered ids (snowflake layout): 41 bits of milliseconds since 2024-01-01, 10 bits
 * of node id (so several API nodes never collide), 12 bits of per-millisecond sequence. Sorting
 * by id sorts by creation time, which cursor pagination relies on. Rendered to clients as
 * decimal strings because JavaScript numbers lose precision past 2^53.
 */
#ifndef STREAMHUB_CORE_ID_H
#define STREAMHUB_CORE_ID_H

#include <stdbool.h>
#include <stdint.h>

#define ID_EPOCH_MS 1704067200000LL /* 2024-01-01T00:00:00Z */
#define ID_STR_MAX 21

void id_set_node(unsigned node); /* 0..1023 */
int64_t id_next(void);
int64_t id_time_ms(int64_t id);
void id_format(int64_t id, char out[ID_STR_MAX]);
/* Parses a positive decimal id; rejects signs, spaces, leading zeros and overflow. */
bool id_parse(const char *s, int64_t *out);

#endif
