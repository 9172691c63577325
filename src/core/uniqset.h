/* SPDX-License-Identifier: MIT
 *
 * A set of 64-bit member ids for unique counts (the analytics rollup's unique viewers and active
 * users), exact while it is small and a HyperLogLog sketch once it is not.
 *
 * Exact: the ids themselves, counted exactly. A set goes to a sketch only when uniqset_compact is
 * given a bound and the set holds more distinct ids than that (the rollup stores each hour's set
 * with UNIQSET_EXACT_MAX); a union of exact sets stays exact whatever its size, so a day or a
 * range built from hours that were all small is exact. Sketch: HyperLogLog with 2^UNIQSET_P
 * registers, a standard error of 1.04 / sqrt(4096) = 1.6% (within 3.3% for 95% of counts); a
 * union with a sketch is a sketch.
 *
 * Stored as text, so both databases keep it in a TEXT column with no blob binding: exact is the
 * ids in decimal, comma-separated (ascending when written by uniqset_encode; any order and
 * duplicates are accepted on parse, which keeps a SQL-built set from group_concat valid), and a
 * sketch is 'H' followed by one character per register ('0' + rank).
 */
#ifndef STREAMHUB_CORE_UNIQSET_H
#define STREAMHUB_CORE_UNIQSET_H

#include <stdbool.h>
#include <stdint.h>

#define UNIQSET_EXACT_MAX 256 /* an hour's set is exact up to this many members */
#define UNIQSET_P 12
#define UNIQSET_REGS (1 << UNIQSET_P)

typedef struct uniqset {
    int64_t *ids; /* exact members (unsorted, maybe repeated until uniqset_compact) */
    int n, cap;
    uint8_t *regs; /* the sketch (UNIQSET_REGS ranks), NULL while exact */
} uniqset;

/* Adds one member (0 is not a member and is ignored). */
void uniqset_add(uniqset *s, int64_t id);
/* Adds every member of from. */
void uniqset_union(uniqset *s, const uniqset *from);
/* Adds the members of a stored text; -1 (s unchanged) if the text is not a set. */
int uniqset_parse(uniqset *s, const char *text);
/* Sorts and deduplicates the exact ids; past max_exact of them, turns the set into a sketch. */
void uniqset_compact(uniqset *s, int max_exact);
/* The number of distinct members: exact, or the sketch's estimate. */
int64_t uniqset_count(uniqset *s);
bool uniqset_is_exact(const uniqset *s);
/* The stored text (malloc'ed); compacts first. */
char *uniqset_encode(uniqset *s);
/* Empties the set, keeping nothing allocated. */
void uniqset_free(uniqset *s);

#endif
