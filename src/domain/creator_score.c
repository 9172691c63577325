/* SPDX-License-Identifier: MIT
 *
 * Creator score math and the latest snapshot's score: see creator_score.h.
 */
#include "domain/creator_score.h"

#include "core/util.h"
#include "store/analytics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double creator_score_weights[SCORE__COMPONENTS] = {0.30, 0.25, 0.15, 0.20, 0.10};
const char *const creator_score_components[SCORE__COMPONENTS] = {
    "reach", "engagement", "completion", "growth", "consistency"};
const char *const creator_tiers[CREATOR_TIERS] = {"bronze", "silver", "gold", "platinum",
                                                  "diamond"};

/* The latest scores as read, per node: For You asks for the creators of every candidate of
 * every page (a couple of hundred index probes), and a score moves once a day, when the
 * snapshot job runs. Direct-mapped (a creator whose slot is taken by another is read again);
 * an entry is kept SCORE_CACHE_MS, and the job on this node empties it at once. */
#define SCORE_CACHE_SLOTS 8192 /* power of two */
#define SCORE_CACHE_MS 60000
static struct score_slot {
    int64_t creator, tenths, until;
} score_cache[SCORE_CACHE_SLOTS];
static pthread_mutex_t score_lock = PTHREAD_MUTEX_INITIALIZER;

static struct score_slot *score_slot_of(int64_t creator)
{
    return &score_cache[((uint64_t)creator * 0x9E3779B97F4A7C15ULL >> 40) &
                        (SCORE_CACHE_SLOTS - 1)];
}

void creator_scores_forget(void)
{
    pthread_mutex_lock(&score_lock);
    memset(score_cache, 0, sizeof score_cache);
    pthread_mutex_unlock(&score_lock);
}

int creator_scores_get(db *d, const int64_t *creator_ids, int n, double *scores)
{
    int64_t now = now_ms();
    int64_t *tenths = xmalloc((size_t)(n ? n : 1) * sizeof *tenths);
    bool *known = xcalloc((size_t)(n ? n : 1), sizeof *known);
    pthread_mutex_lock(&score_lock);
    for (int i = 0; i < n; i++) {
        const struct score_slot *e = score_slot_of(creator_ids[i]);
        if (e->creator == creator_ids[i] && e->until > now) {
            tenths[i] = e->tenths;
            known[i] = true;
        }
    }
    pthread_mutex_unlock(&score_lock);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (!known[i]) {
            tenths[i] = -1;
            rc = store_creator_latest_score(d, creator_ids[i], &tenths[i]);
        }
        scores[i] = tenths[i] < 0 ? CREATOR_SCORE_NEUTRAL : (double)tenths[i] / 10.0;
    }
    if (rc == 0) {
        pthread_mutex_lock(&score_lock);
        for (int i = 0; i < n; i++)
            if (!known[i])
                *score_slot_of(creator_ids[i]) =
                    (struct score_slot){creator_ids[i], tenths[i], now + SCORE_CACHE_MS};
        pthread_mutex_unlock(&score_lock);
    }
    free(tenths);
    free(known);
    return rc;
}

void creator_score_values(const creator_inputs *in, double out[SCORE__COMPONENTS])
{
    double plays = in->plays > 0 ? (double)in->plays : 1.0;
    out[SCORE_REACH] = (double)in->views;
    out[SCORE_ENGAGEMENT] = (double)in->engagements / plays;
    out[SCORE_COMPLETION] = (double)in->completions / plays;
    out[SCORE_GROWTH] = (double)in->followers_net;
    out[SCORE_CONSISTENCY] = (double)in->posting_days;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* How many of sorted[0..n) are below v, and how many equal it. */
static void rank_of(const double *sorted, int n, double v, int *below, int *equal)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (sorted[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    *below = lo;
    hi = n;
    int first_above = lo;
    while (first_above < hi) {
        int mid = (first_above + hi) / 2;
        if (sorted[mid] <= v)
            first_above = mid + 1;
        else
            hi = mid;
    }
    *equal = first_above - lo;
}

void creator_score_compute(const creator_inputs *in, int n, double *scores, double *pcts)
{
    double *values = xcalloc((size_t)n * SCORE__COMPONENTS, sizeof(double));
    double *sorted = xcalloc((size_t)n, sizeof(double));
    for (int i = 0; i < n; i++)
        creator_score_values(&in[i], &values[i * SCORE__COMPONENTS]);
    for (int i = 0; i < n; i++)
        scores[i] = 0;
    for (int c = 0; c < SCORE__COMPONENTS; c++) {
        for (int i = 0; i < n; i++)
            sorted[i] = values[i * SCORE__COMPONENTS + c];
        qsort(sorted, (size_t)n, sizeof(double), cmp_double);
        for (int i = 0; i < n; i++) {
            int below, equal;
            rank_of(sorted, n, values[i * SCORE__COMPONENTS + c], &below, &equal);
            /* mid-rank: ties share the middle of their places */
            double pct = n > 1 ? (below + (equal - 1) / 2.0) / (n - 1) : 0.5;
            if (pcts)
                pcts[i * SCORE__COMPONENTS + c] = pct;
            scores[i] += creator_score_weights[c] * pct;
        }
    }
    for (int i = 0; i < n; i++)
        scores[i] = round(scores[i] * 1000.0) / 10.0;
    free(sorted);
    free(values);
}

bool creator_tier_rules_parse(const char *text, double margin, creator_tier_rules *out)
{
    double t[CREATOR_TIERS - 1];
    int used = 0;
    if (sscanf(text, "%lf , %lf , %lf , %lf%n", &t[0], &t[1], &t[2], &t[3], &used) != 4 ||
        text[used] || margin < 0)
        return false;
    for (int i = 0; i < CREATOR_TIERS - 1; i++)
        if (t[i] <= 0 || t[i] > 100 || (i && t[i] <= t[i - 1]))
            return false;
    memcpy(out->thresholds, t, sizeof t);
    out->margin = margin;
    return true;
}

/* The lower bound of tier i (bronze: none). */
static double floor_of(const creator_tier_rules *r, int i)
{
    return i == 0 ? -INFINITY : r->thresholds[i - 1];
}

int creator_tier_of(const creator_tier_rules *r, double score, int previous)
{
    int raw = 0;
    while (raw < CREATOR_TIERS - 1 && score >= r->thresholds[raw])
        raw++;
    if (previous < 0 || raw == previous)
        return raw;
    if (raw > previous) { /* up: as far as the score clears a floor by the margin */
        int t = previous;
        while (t < raw && score >= floor_of(r, t + 1) + r->margin)
            t++;
        return t;
    }
    int t = previous; /* down: only below a floor minus the margin */
    while (t > raw && score < floor_of(r, t) - r->margin)
        t--;
    return t;
}

int creator_tier_index(const char *name)
{
    for (int i = 0; i < CREATOR_TIERS; i++)
        if (!strcmp(creator_tiers[i], name))
            return i;
    return -1;
}
