/* SPDX-License-Identifier: MIT
 *
 * Creator snapshots, stats and leaderboards: see creator_stats.h. A day's snapshots and the
 * "snapshots" watermark (the last day done) commit together, so a day is computed once; a crash
 * in the middle leaves it for the next run, which recomputes it from the same rollups.
 */
#include "domain/creator_stats.h"

#include "core/util.h"
#include "domain/analytics.h"
#include "domain/graph.h"
#include "domain/notify.h"
#include "domain/tags.h"
#include "store/tags.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL
#define SNAPSHOT_WATERMARK "snapshots"

static creator_stats_settings settings = {.tiers = {.thresholds = {40, 60, 75, 90}, .margin = 2}};

void creator_stats_configure(const creator_stats_settings *s)
{
    settings = *s;
}

bool creator_stats_test_clock(void)
{
    return settings.test_clock;
}

typedef struct ranked {
    int index;
    double score;
    int64_t creator_id;
} ranked;

static int by_score(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return (x->creator_id < y->creator_id) - (x->creator_id > y->creator_id);
}

/* One creator's row of day; notifies a tier change from the previous snapshot. */
static int put_snapshot(db *d, int64_t day, const creator_inputs *in, double score, int rank)
{
    store_creator_snapshot prev, sn = {.creator_id = in->creator_id,
                                       .day = day,
                                       .score_tenths = llround(score * 10),
                                       .rank = rank,
                                       .in = *in};
    int rc = store_creator_snapshot_before(d, in->creator_id, day, &prev);
    if (rc < 0 && rc != ERR_NOT_FOUND)
        return rc;
    int before = rc == 0 ? creator_tier_index(prev.tier) : -1;
    int tier = creator_tier_of(&settings.tiers, score, before);
    snprintf(sn.tier, sizeof sn.tier, "%s", creator_tiers[tier]);
    if ((rc = store_creator_snapshot_put(d, &sn)) < 0)
        return rc;
    return before >= 0 && before != tier ? notify_self(d, in->creator_id, "creator_tier") : 0;
}

/* The snapshots of day (its start, UTC), in the caller's transaction. */
static int snapshot_day(db *d, int64_t day)
{
    creator_inputs *in = NULL;
    int n = store_creator_inputs_read(d, day - (CREATOR_SCORE_WINDOW_DAYS - 1) * DAY_MS,
                                      day + DAY_MS, &in);
    if (n <= 0) {
        free(in); /* an empty day still came with its (empty) array */
        return n;
    }
    double *scores = xcalloc((size_t)n, sizeof(double));
    ranked *order = xcalloc((size_t)n, sizeof *order);
    creator_score_compute(in, n, scores, NULL);
    for (int i = 0; i < n; i++)
        order[i] = (ranked){i, scores[i], in[i].creator_id};
    qsort(order, (size_t)n, sizeof *order, by_score);
    int rc = 0;
    for (int r = 0; r < n && rc == 0; r++)
        rc = put_snapshot(d, day, &in[order[r].index], order[r].score, r + 1);
    free(order);
    free(scores);
    free(in);
    return rc;
}

int creator_snapshots_run(db *d, int64_t now_ms, int *days)
{
    int64_t today = now_ms - now_ms % DAY_MS, done = 0, folded = 0;
    *days = 0;
    /* the rollups first, so the last day is complete */
    int rc = analytics_rollup(d, now_ms, 0, &folded);
    if (rc < 0 || (rc = store_analytics_watermark_get(d, SNAPSHOT_WATERMARK, &done)) < 0)
        return rc;
    int64_t first = done ? done + DAY_MS : today - DAY_MS;
    if (first < today - CREATOR_SNAPSHOT_CATCH_UP_DAYS * DAY_MS)
        first = today - CREATOR_SNAPSHOT_CATCH_UP_DAYS * DAY_MS;
    for (int64_t day = first; day < today; day += DAY_MS) {
        if (db_begin(d) < 0)
            return ERR_DB;
        int64_t again;
        rc = store_analytics_watermark_take(d, SNAPSHOT_WATERMARK, now_ms, &again);
        if (rc == 0 && again >= day) { /* another node did it meanwhile */
            db_rollback(d);
            continue;
        }
        if (rc == 0)
            rc = snapshot_day(d, day);
        if (rc == 0)
            rc = store_analytics_watermark_set(d, SNAPSHOT_WATERMARK, day, now_ms);
        if (rc == 0)
            rc = db_commit(d);
        if (rc < 0) {
            db_rollback(d);
            return rc;
        }
        (*days)++;
    }
    if (*days)
        creator_scores_forget(); /* this node reads the new scores at once, others within a minute */
    return 0;
}

int creator_stats_get(db *d, const store_user *viewer, const char *handle, store_user *user,
                      creator_stats *out, domain_error *err)
{
    memset(out, 0, sizeof *out);
    int rc = graph_find_user(d, viewer ? viewer->id : 0, handle, user, err);
    if (rc < 0)
        return rc;
    rc = store_creator_snapshot_before(d, user->id, INT64_MAX, &out->latest);
    if (rc < 0 && rc != ERR_NOT_FOUND)
        return domain_db_failed(err, d, "creator stats");
    out->has_score = rc == 0;
    out->private_view = viewer && (viewer->id == user->id || !strcmp(viewer->role, "admin"));
    if (!out->private_view || !out->has_score)
        return 0;
    out->history = xcalloc(CREATOR_HISTORY_MAX, sizeof *out->history);
    out->n_history = store_creator_history(d, user->id, out->history, CREATOR_HISTORY_MAX);
    /* the percentiles are recomputed from that day's inputs of every active creator */
    creator_inputs *in = NULL;
    int64_t day = out->latest.day;
    int n = store_creator_inputs_read(d, day - (CREATOR_SCORE_WINDOW_DAYS - 1) * DAY_MS,
                                      day + DAY_MS, &in);
    if (out->n_history < 0 || n < 0) {
        creator_stats_free(out);
        free(in);
        return domain_db_failed(err, d, "creator history");
    }
    double *scores = xcalloc((size_t)n + 1, sizeof(double));
    double *pcts = xcalloc(((size_t)n + 1) * SCORE__COMPONENTS, sizeof(double));
    creator_score_compute(in, n, scores, pcts);
    for (int i = 0; i < n; i++)
        if (in[i].creator_id == user->id)
            memcpy(out->percentiles, &pcts[i * SCORE__COMPONENTS], sizeof out->percentiles);
    free(pcts);
    free(scores);
    free(in);
    return 0;
}

void creator_stats_free(creator_stats *s)
{
    free(s->history);
    s->history = NULL;
    s->n_history = 0;
}

const char *const leaderboard_metrics[] = {"score", "views", "tips", "growth", NULL};
const char *const leaderboard_periods[] = {"day", "week", "month", "all", NULL};

/* The cursor is "value:creator_id:rank" of the last entry of the previous page. */
static bool parse_cursor(const char *cursor, int64_t *value, int64_t *id, int64_t *rank)
{
    int used = 0;
    return sscanf(cursor, "%" SCNd64 ":%" SCNd64 ":%" SCNd64 "%n", value, id, rank, &used) == 3 &&
           !cursor[used] && *id > 0 && *rank > 0;
}

/* Leaderboards of views and growth sum every creator's hour rows over the period: tens of
 * milliseconds a page with a few thousand creators, far from the thousands of pages a second
 * a leaderboard is read at. Those rows change only when the rollup moves its watermark, so each
 * node keeps recent pages' rows with the watermark they were read at and serves them again
 * while it has not moved (one point read a request; right across nodes, the watermark is in
 * the database). Who is shown is still read live, and a creator who turned private since is
 * left out; a post under a topic made since shows once the rollup has moved on (a minute). */
#define LB_CACHE 64
typedef struct lb_cached {
    char key[160];
    int64_t watermark;
    int n;
    store_leader rows[LEADERBOARD_MAX + 1];
} lb_cached;
static lb_cached lb_cache[LB_CACHE];
static pthread_mutex_t lb_lock = PTHREAD_MUTEX_INITIALIZER;

static lb_cached *lb_slot(const char *key)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return &lb_cache[h % LB_CACHE];
}

static int leaders_read(db *d, const char *metric, int64_t day, int64_t from, int64_t to,
                        int64_t hashtag, int64_t after_value, int64_t after_id, store_leader *rows,
                        int max)
{
    int64_t wm = 0;
    if (!strcmp(metric, "score") || store_analytics_watermark_get(d, ANALYTICS_WATERMARK, &wm) < 0)
        return store_leaderboard(d, metric, day, from, to, hashtag, after_value, after_id, rows,
                                 max);
    char key[160];
    snprintf(key, sizeof key, "%s:%" PRId64 ":%" PRId64 ":%" PRId64 ":%" PRId64 ":%" PRId64 ":%d",
             metric, from, to, hashtag, after_value, after_id, max);
    lb_cached *c = lb_slot(key);
    int n = -1;
    pthread_mutex_lock(&lb_lock);
    if (c->watermark == wm && !strcmp(c->key, key)) {
        n = c->n;
        memcpy(rows, c->rows, sizeof *rows * (size_t)n);
    }
    pthread_mutex_unlock(&lb_lock);
    if (n >= 0)
        return n;
    n = store_leaderboard(d, metric, day, from, to, hashtag, after_value, after_id, rows, max);
    if (n < 0)
        return n;
    pthread_mutex_lock(&lb_lock);
    snprintf(c->key, sizeof c->key, "%s", key);
    c->watermark = wm;
    c->n = n;
    memcpy(c->rows, rows, sizeof *rows * (size_t)n);
    pthread_mutex_unlock(&lb_lock);
    return n;
}

int leaderboard_page(db *d, const char *metric, const char *period, const char *topic,
                     const char *cursor, int limit, int64_t now_ms, leaderboard_entry *out,
                     char next[64], domain_error *err)
{
    int64_t after_value = 0, after_id = 0, rank = 0, hashtag = 0, day = 0;
    next[0] = 0;
    if (cursor && *cursor && !parse_cursor(cursor, &after_value, &after_id, &rank))
        return domain_invalid(err, "cursor", "invalid");
    if (topic && *topic) {
        char norm[404];
        store_hashtag h;
        if (!tags_normalize_hashtag(topic, norm, sizeof norm))
            return domain_invalid(err, "topic", "invalid");
        int rc = store_hashtag_get(d, norm, &h);
        if (rc == ERR_NOT_FOUND)
            return 0; /* nobody posted under it */
        if (rc < 0)
            return domain_db_failed(err, d, "topic");
        hashtag = h.id;
    }
    int64_t today = now_ms - now_ms % DAY_MS;
    int64_t from = !strcmp(period, "day")     ? today
                   : !strcmp(period, "week")  ? today - 6 * DAY_MS
                   : !strcmp(period, "month") ? today - 29 * DAY_MS
                                              : 0;
    if (!strcmp(metric, "score") && store_creator_latest_day(d, &day) < 0)
        return domain_db_failed(err, d, "leaderboard");
    store_leader rows[LEADERBOARD_MAX + 1];
    int n = leaders_read(d, metric, day, from, today + DAY_MS, hashtag, after_value, after_id, rows,
                         limit + 1);
    if (n < 0)
        return domain_db_failed(err, d, "leaderboard");
    int kept = 0;
    for (int i = 0; i < n && kept < limit; i++) {
        if (store_user_by_id(d, rows[i].creator_id, &out[kept].user) < 0 ||
            out[kept].user.is_private)
            continue;
        out[kept].value = rows[i].value;
        out[kept].rank = rank + i + 1;
        kept++;
    }
    if (n > limit && kept)
        snprintf(next, 64, "%" PRId64 ":%" PRId64 ":%" PRId64, out[kept - 1].value,
                 out[kept - 1].user.id, out[kept - 1].rank);
    return kept;
}
