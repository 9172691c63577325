/* SPDX-License-Identifier: MIT
 *
 * Exact sets and HyperLogLog sketches of member ids: see uniqset.h. The sketch follows Flajolet
 * et al. (2007) with the 64-bit hash of Heule et al. (2013), so no large-range correction is
 * needed; below 2.5 m the estimate is linear counting over the empty registers, which is the
 * accurate one in the range a set enters the sketch (just past UNIQSET_EXACT_MAX).
 */
#include "core/uniqset.h"

#include "core/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t mix(uint64_t x) /* splitmix64's finalizer: ids are sequential, ranks need noise */
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static void sketch_add(uint8_t *regs, int64_t id)
{
    uint64_t h = mix((uint64_t)id);
    uint64_t rest = h << UNIQSET_P;
    uint8_t rank = rest ? (uint8_t)(__builtin_clzll(rest) + 1) : (uint8_t)(64 - UNIQSET_P + 1);
    uint8_t *r = &regs[h >> (64 - UNIQSET_P)];
    if (*r < rank)
        *r = rank;
}

static void to_sketch(uniqset *s)
{
    s->regs = xcalloc(UNIQSET_REGS, 1);
    for (int i = 0; i < s->n; i++)
        sketch_add(s->regs, s->ids[i]);
    free(s->ids);
    s->ids = NULL;
    s->n = s->cap = 0;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

void uniqset_compact(uniqset *s, int max_exact)
{
    if (s->regs || s->n == 0)
        return;
    qsort(s->ids, (size_t)s->n, sizeof *s->ids, cmp_id);
    int k = 1;
    for (int i = 1; i < s->n; i++)
        if (s->ids[i] != s->ids[k - 1])
            s->ids[k++] = s->ids[i];
    s->n = k;
    if (s->n > max_exact)
        to_sketch(s);
}

void uniqset_add(uniqset *s, int64_t id)
{
    if (!id)
        return;
    if (s->regs) {
        sketch_add(s->regs, id);
        return;
    }
    if (s->n == s->cap) {
        /* dedup before growing: a set fed many repeats stays the size of its distinct members */
        if (s->n >= 64)
            uniqset_compact(s, INT32_MAX);
        if (s->cap == 0 || s->n * 2 > s->cap) {
            s->cap = s->cap ? s->cap * 2 : 8;
            s->ids = xrealloc(s->ids, sizeof *s->ids * (size_t)s->cap);
        }
    }
    s->ids[s->n++] = id;
}

void uniqset_union(uniqset *s, const uniqset *from)
{
    if (from->regs) {
        if (!s->regs)
            to_sketch(s);
        for (int i = 0; i < UNIQSET_REGS; i++)
            if (s->regs[i] < from->regs[i])
                s->regs[i] = from->regs[i];
        return;
    }
    for (int i = 0; i < from->n; i++)
        uniqset_add(s, from->ids[i]);
}

int uniqset_parse(uniqset *s, const char *text)
{
    if (text[0] == 'H') {
        if (strlen(text + 1) != UNIQSET_REGS)
            return -1;
        for (int i = 0; i < UNIQSET_REGS; i++)
            if (text[1 + i] < '0' || text[1 + i] > '0' + 64 - UNIQSET_P + 1)
                return -1;
        if (!s->regs)
            to_sketch(s);
        for (int i = 0; i < UNIQSET_REGS; i++)
            if (s->regs[i] < (uint8_t)(text[1 + i] - '0'))
                s->regs[i] = (uint8_t)(text[1 + i] - '0');
        return 0;
    }
    /* validate before adding anything, so a bad text leaves s as it was */
    for (const char *p = text; *p; p++)
        if (*p == ',' ? p == text || p[-1] == ',' || !p[1] : *p < '0' || *p > '9')
            return -1;
    for (const char *p = text; *p;) {
        char *end;
        long long id = strtoll(p, &end, 10);
        if (end == p)
            return -1;
        uniqset_add(s, id);
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

int64_t uniqset_count(uniqset *s)
{
    if (!s->regs) {
        uniqset_compact(s, INT32_MAX);
        return s->n;
    }
    double m = UNIQSET_REGS, sum = 0;
    int zeros = 0;
    for (int i = 0; i < UNIQSET_REGS; i++) {
        sum += ldexp(1.0, -s->regs[i]);
        zeros += s->regs[i] == 0;
    }
    double e = 0.7213 / (1 + 1.079 / m) * m * m / sum;
    if (e <= 2.5 * m && zeros)
        e = m * log(m / zeros);
    return (int64_t)llround(e);
}

bool uniqset_is_exact(const uniqset *s)
{
    return !s->regs;
}

char *uniqset_encode(uniqset *s)
{
    if (s->regs) {
        char *t = xmalloc(UNIQSET_REGS + 2);
        t[0] = 'H';
        for (int i = 0; i < UNIQSET_REGS; i++)
            t[1 + i] = (char)('0' + s->regs[i]);
        t[UNIQSET_REGS + 1] = 0;
        return t;
    }
    uniqset_compact(s, INT32_MAX);
    char *t = xmalloc((size_t)s->n * 21 + 1), *p = t;
    for (int i = 0; i < s->n; i++) {
        /* digits by hand: sprintf was a tenth of the rollup's instructions */
        char digits[20];
        int k = 0;
        for (uint64_t v = (uint64_t)s->ids[i]; v || !k; v /= 10)
            digits[k++] = (char)('0' + v % 10);
        if (i)
            *p++ = ',';
        while (k)
            *p++ = digits[--k];
    }
    *p = 0;
    return t;
}

void uniqset_free(uniqset *s)
{
    free(s->ids);
    free(s->regs);
    memset(s, 0, sizeof *s);
}
