/* SPDX-License-Identifier: MIT
 *
 * Creator analytics: see analytics.h. The rollup adds each batch's counts up in memory first
 * (one row per table, key and hour) and writes each row once, so a batch of views of one post
 * costs one upsert, not one per view; the same goes for the members behind unique counts (one
 * set per kind, key and hour, merged with the stored set once per batch: core/uniqset.h) and
 * for each viewer's last view of a creator (follow attribution). docs/analytics.md has the
 * guarantees (a batch and its watermark commit together) and the error bound of the sketches.
 */
#include "domain/analytics.h"

#include "core/id.h"
#include "core/ratelimit.h"
#include "core/uniqset.h"
#include "core/util.h"
#include "domain/auth.h"
#include "domain/posts.h"
#include "jobs/event_log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hash slots (int32 indexes into dense arrays, so memory follows the keys a window used): a
 * power of two at least twice the most entries a window can make. */
#define MAX_ROWS (3 * ANALYTICS_BATCH + 16) /* post, creator (or a credited post) and platform */
#define MAX_UNIQ (3 * ANALYTICS_BATCH + 16) /* post viewers, creator viewers, active users */
#define MAX_LAST (ANALYTICS_BATCH + 16)
#define ROW_SLOTS (1 << 19)
#define UNIQ_SLOTS (1 << 19)
#define LAST_SLOTS (1 << 17)
#define READ_CHUNK 5000 /* events read at a time within a window */
#define POST_CACHE 4096
#define PURGE_BATCH 5000
#define DAY_MS 86400000LL
#define READ_EXACT_MAX 100000 /* a read's union stays exact up to this many members (or more) */

static analytics_settings settings = {.settle_ms = 5000, .retention_ms = 0};

void analytics_configure(const analytics_settings *s)
{
    settings = *s;
}

/* ---- the rollup ---- */

typedef struct agg_row {
    int slot;
    analytics_table_id table;
    int64_t key, hour, creator_id;
    int64_t vals[ANALYTICS_MAX_COLS];
} agg_row;

/* The members a window saw of one (kind, key, hour); merged into the stored set at the flush. */
typedef struct uniq_slot {
    int slot;
    int kind;
    int64_t key, hour;
    uniqset set;
} uniq_slot;

/* A viewer's last view of a creator's posts in this window (follow attribution). */
typedef struct last_view {
    int slot;
    int64_t viewer, creator, post, at;
} last_view;

typedef struct post_info {
    int64_t id, author, duration_ms; /* author 0: purged */
} post_info;

/* Each map: hash slots holding index + 1 into a dense array in order of first use (0: empty).
 * The arrays are allocated at their largest and touched only as far as a window fills them. */
typedef struct rollup {
    db *d;
    int32_t *row_at, *uniq_at, *last_at;
    agg_row *rows;
    uniq_slot *uniq;
    last_view *last;
    int n_rows, n_uniq, n_last;
    int *order; /* the flush's sort of one array */
    store_unique_set *put; /* the changed member sets, merged before the transaction */
    int n_put;
    post_info cache[POST_CACHE];
} rollup;

static uint64_t slot_hash(int64_t a, int64_t b, int64_t c)
{
    uint64_t h = ((uint64_t)a * 0x9E3779B97F4A7C15ULL) ^ ((uint64_t)b * 0xC2B2AE3D27D4EB4FULL);
    return (h ^ (h >> 29) ^ (uint64_t)c * 31) * 0x165667B19E3779F9ULL >> 20;
}

static int64_t *agg(rollup *r, analytics_table_id table, int64_t key, int64_t hour)
{
    for (uint64_t i = slot_hash(key, hour, table) & (ROW_SLOTS - 1);;
         i = (i + 1) & (ROW_SLOTS - 1)) {
        if (!r->row_at[i]) {
            agg_row *a = &r->rows[r->n_rows];
            memset(a, 0, sizeof *a);
            a->slot = (int)i;
            a->table = table;
            a->key = key;
            a->hour = hour;
            r->row_at[i] = ++r->n_rows;
            return a->vals;
        }
        agg_row *a = &r->rows[r->row_at[i] - 1];
        if (a->table == table && a->key == key && a->hour == hour)
            return a->vals;
    }
}

static void add_member(rollup *r, int kind, int64_t key, int64_t hour, int64_t member)
{
    if (!member)
        return;
    for (uint64_t i = slot_hash(key, hour, kind) & (UNIQ_SLOTS - 1);;
         i = (i + 1) & (UNIQ_SLOTS - 1)) {
        uniq_slot *u;
        if (!r->uniq_at[i]) {
            u = &r->uniq[r->n_uniq];
            *u = (uniq_slot){.slot = (int)i, .kind = kind, .key = key, .hour = hour};
            r->uniq_at[i] = ++r->n_uniq;
        } else {
            u = &r->uniq[r->uniq_at[i] - 1];
            if (u->kind != kind || u->key != key || u->hour != hour)
                continue;
        }
        uniqset_add(&u->set, member);
        return;
    }
}

static last_view *last_view_slot(rollup *r, int64_t viewer, int64_t creator, bool create)
{
    for (uint64_t i = slot_hash(viewer, creator, 0) & (LAST_SLOTS - 1);;
         i = (i + 1) & (LAST_SLOTS - 1)) {
        if (!r->last_at[i]) {
            if (!create)
                return NULL;
            last_view *l = &r->last[r->n_last];
            *l = (last_view){.slot = (int)i, .viewer = viewer, .creator = creator};
            r->last_at[i] = ++r->n_last;
            return l;
        }
        last_view *l = &r->last[r->last_at[i] - 1];
        if (l->viewer == viewer && l->creator == creator)
            return l;
    }
}

/* The flush sorts each array by key (through r->order): its writes then walk each B-tree in
 * order, and a page gets all its rows of the window at once. */
static _Thread_local rollup *sort_ctx; /* qsort has no context argument */
static int cmp_i64(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}
static int cmp_rows(const void *a, const void *b)
{
    const agg_row *x = &sort_ctx->rows[*(const int *)a], *y = &sort_ctx->rows[*(const int *)b];
    int c = cmp_i64(x->table, y->table);
    c = c ? c : cmp_i64(x->key, y->key);
    return c ? c : cmp_i64(x->hour, y->hour);
}
static int cmp_uniq(const void *a, const void *b)
{
    const uniq_slot *x = &sort_ctx->uniq[*(const int *)a], *y = &sort_ctx->uniq[*(const int *)b];
    int c = cmp_i64(x->kind, y->kind);
    c = c ? c : cmp_i64(x->key, y->key);
    return c ? c : cmp_i64(x->hour, y->hour);
}
static int cmp_last(const void *a, const void *b)
{
    const last_view *x = &sort_ctx->last[*(const int *)a], *y = &sort_ctx->last[*(const int *)b];
    int c = cmp_i64(x->viewer, y->viewer);
    return c ? c : cmp_i64(x->creator, y->creator);
}

static void sort_order(rollup *r, int n, int (*cmp)(const void *, const void *))
{
    for (int i = 0; i < n; i++)
        r->order[i] = i;
    sort_ctx = r;
    qsort(r->order, (size_t)n, sizeof(int), cmp);
}

/* The hour row and column whose unique count a member kind keeps. */
static int64_t *unique_column(rollup *r, const uniq_slot *u)
{
    if (u->kind == MEMBER_POST_VIEWER)
        return &agg(r, ANALYTICS_POSTS, u->key, u->hour)[POST_VIEWERS];
    if (u->kind == MEMBER_CREATOR_VIEWER)
        return &agg(r, ANALYTICS_CREATORS, u->key, u->hour)[CREATOR_VIEWERS];
    return &agg(r, ANALYTICS_PLATFORM, u->key, u->hour)[PLATFORM_ACTIVE_USERS];
}

/* Merges one batch set into the stored set of its hour; the hour's unique column gets the
 * growth of the count (exact while the set is, the sketch's estimate after). *text: the set to
 * store (malloc'ed), or NULL when it did not change. */
static int merge_uniq(rollup *r, uniq_slot *u, char **text)
{
    char *stored = NULL;
    uniqset all = {0};
    *text = NULL;
    int rc = store_analytics_uniques_get(r->d, u->kind, u->key, u->hour, &stored);
    if (rc == 0 && stored && uniqset_parse(&all, stored) < 0)
        rc = ERR_DB; /* not a set: refuse to overwrite what we cannot read */
    if (rc == 0) {
        int64_t before = uniqset_count(&all);
        uniqset_union(&all, &u->set);
        uniqset_compact(&all, UNIQSET_EXACT_MAX);
        *unique_column(r, u) += uniqset_count(&all) - before;
        *text = uniqset_encode(&all);
        if (stored && !strcmp(stored, *text)) {
            free(*text);
            *text = NULL;
        }
    }
    free(stored);
    uniqset_free(&all);
    return rc;
}

/* The member sets merged with the stored ones, in order of key, into r->put (the changed ones).
 * This reads and runs before the roll-up's transaction, so the writer lock is not held while
 * thousands of sets are read, parsed and merged: only roll-ups write these sets, and each
 * moves the watermark, which the transaction takes again (a roll-up elsewhere since this one
 * read the watermark drops this window, merges and all). */
static int prepare_uniques(rollup *r)
{
    int rc = 0;
    sort_order(r, r->n_uniq, cmp_uniq);
    for (int i = 0; i < r->n_uniq && rc >= 0; i++) {
        uniq_slot *u = &r->uniq[r->order[i]];
        char *text;
        rc = merge_uniq(r, u, &text);
        if (text)
            r->put[r->n_put++] = (store_unique_set){u->kind, u->key, u->hour, text};
    }
    return rc;
}

/* The merged sets, written a chunk at a time (inside the transaction). */
static int flush_uniques(rollup *r)
{
    enum { PENDING = 4 * STORE_ANALYTICS_CHUNK };
    int rc = 0;
    for (int off = 0; off < r->n_put && rc >= 0; off += PENDING)
        rc = store_analytics_uniques_put(r->d, r->put + off,
                                         r->n_put - off < PENDING ? r->n_put - off : PENDING);
    return rc;
}

/* The hour rows, in order of table and key, each table's in multi-row statements. */
static int flush_rows(rollup *r)
{
    sort_order(r, r->n_rows, cmp_rows);
    store_analytics_delta *rows = xcalloc((size_t)r->n_rows + 1, sizeof *rows);
    int rc = 0;
    for (int i = 0, n = 0; i < r->n_rows && rc >= 0; i++) {
        const agg_row *a = &r->rows[r->order[i]];
        rows[n++] = (store_analytics_delta){a->key, a->hour, a->creator_id, a->vals};
        if (i == r->n_rows - 1 || r->rows[r->order[i + 1]].table != a->table) {
            rc = store_analytics_add_many(r->d, store_analytics_table(a->table), rows, n);
            n = 0;
        }
    }
    free(rows);
    return rc;
}

static int flush_last_views(rollup *r)
{
    sort_order(r, r->n_last, cmp_last);
    store_last_view *views = xcalloc((size_t)r->n_last + 1, sizeof *views);
    for (int i = 0; i < r->n_last; i++) {
        const last_view *l = &r->last[r->order[i]];
        views[i] = (store_last_view){l->viewer, l->creator, l->post, l->at};
    }
    int rc = store_analytics_last_views_set(r->d, views, r->n_last);
    free(views);
    return rc;
}

static int flush(rollup *r)
{
    int rc = flush_uniques(r);
    if (rc >= 0)
        rc = flush_last_views(r);
    if (rc >= 0)
        rc = flush_rows(r);
    return rc < 0 ? rc : 0;
}

/* Clears what the window used (slots and sets), ready for the next one. */
static void reset_window(rollup *r)
{
    for (int i = 0; i < r->n_rows; i++)
        r->row_at[r->rows[i].slot] = 0;
    for (int i = 0; i < r->n_uniq; i++) {
        r->uniq_at[r->uniq[i].slot] = 0;
        uniqset_free(&r->uniq[i].set);
    }
    for (int i = 0; i < r->n_last; i++)
        r->last_at[r->last[i].slot] = 0;
    for (int i = 0; i < r->n_put; i++)
        free((char *)r->put[i].members);
    r->n_put = 0;
    r->n_rows = r->n_uniq = r->n_last = 0;
}

static int lookup_post(rollup *r, int64_t id, post_info *out)
{
    post_info *c = &r->cache[(uint64_t)id % POST_CACHE];
    if (c->id != id) {
        c->id = id;
        c->author = c->duration_ms = 0;
        int rc = store_analytics_post_info(r->d, id, &c->author, &c->duration_ms);
        if (rc < 0 && rc != ERR_NOT_FOUND) {
            c->id = 0;
            return rc;
        }
    }
    *out = *c;
    return 0;
}

/* The small props of a view, read without a JSON parser: activity.c writes them, in one shape. */
static int64_t prop_int(const char *props, const char *name)
{
    const char *p = strstr(props, name);
    return p ? strtoll(p + strlen(name), NULL, 10) : 0;
}

static bool prop_true(const char *props, const char *name_true)
{
    return strstr(props, name_true) != NULL;
}

static int source_column(const char *props)
{
    static const struct {
        const char *text;
        int col;
    } sources[] = {
        {"\"source\":\"for_you\"", POST_SRC_FOR_YOU},
        {"\"source\":\"following\"", POST_SRC_FOLLOWING},
        {"\"source\":\"profile\"", POST_SRC_PROFILE},
        {"\"source\":\"search\"", POST_SRC_SEARCH},
        {"\"source\":\"hashtag\"", POST_SRC_HASHTAG},
        {"\"source\":\"share\"", POST_SRC_SHARE},
        {"\"source\":\"explore\"", POST_SRC_EXPLORE},
    };
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++)
        if (strstr(props, sources[i].text))
            return sources[i].col;
    return POST_SRC_OTHER;
}

static int fold_view(rollup *r, const store_event *e, int64_t hour, const post_info *p,
                     int64_t *platform)
{
    int64_t *post = agg(r, ANALYTICS_POSTS, p->id, hour);
    int64_t *creator = agg(r, ANALYTICS_CREATORS, p->author, hour);
    int64_t watch = prop_int(e->props, "\"watch_ms\":");
    bool counted = prop_true(e->props, "\"counted\":true");
    bool completed = prop_true(e->props, "\"completed\":true");
    post[POST_PLAYS]++, creator[CREATOR_PLAYS]++, platform[PLATFORM_PLAYS]++;
    post[POST_VIEWS] += counted, creator[CREATOR_VIEWS] += counted;
    platform[PLATFORM_VIEWS] += counted;
    post[POST_WATCH_MS] += watch, creator[CREATOR_WATCH_MS] += watch;
    platform[PLATFORM_WATCH_MS] += watch;
    post[POST_COMPLETIONS] += completed, creator[CREATOR_COMPLETIONS] += completed;
    post[source_column(e->props)]++;
    /* reach_K0: the play got to K0% of the video (a completed play got everywhere) */
    for (int k = 1; k <= 9 && p->duration_ms > 0; k++)
        if (completed || watch * 10 >= p->duration_ms * k)
            post[POST_REACH_10 + k - 1]++;
    add_member(r, MEMBER_POST_VIEWER, p->id, hour, e->actor_id);
    add_member(r, MEMBER_CREATOR_VIEWER, p->author, hour, e->actor_id);
    if (e->actor_id) {
        last_view *l = last_view_slot(r, e->actor_id, p->author, true);
        l->post = p->id;
        l->at = e->created_at;
    }
    return 0;
}

/* What a post event adds to the hour rows: a column of the post's, the creator's and the
 * platform's row (-1: none); a view is folded by fold_view. A type not listed (For You's
 * impressions above all: one per item served, most of the log under load) is only a platform
 * event of its actor: no post lookup, and no post and creator rows for the window to rewrite
 * under the writer lock. */
typedef struct post_count {
    const char *type;
    int post, creator, platform;
} post_count;
static const post_count post_counts[] = {
    {"view", -1, -1, -1},
    {"like", POST_LIKES, CREATOR_LIKES, PLATFORM_LIKES},
    {"unlike", POST_UNLIKES, -1, -1},
    {"comment", POST_COMMENTS, CREATOR_COMMENTS, PLATFORM_COMMENTS},
    {"share", POST_SHARES, CREATOR_SHARES, -1},
    {"save", POST_SAVES, CREATOR_SAVES, -1},
    {"unsave", POST_UNSAVES, -1, -1},
    {"post", -1, CREATOR_POSTS, PLATFORM_UPLOADS},
};

static int fold_post_event(rollup *r, const store_event *e, int64_t hour, int64_t *platform)
{
    const post_count *c = NULL;
    for (size_t i = 0; i < sizeof post_counts / sizeof post_counts[0] && !c; i++)
        if (!strcmp(e->type, post_counts[i].type))
            c = &post_counts[i];
    if (!c)
        return 0;
    post_info p;
    int rc = lookup_post(r, e->object_id, &p);
    if (rc < 0 || !p.author)
        return rc; /* purged posts keep what was folded before */
    int64_t *post = agg(r, ANALYTICS_POSTS, p.id, hour);
    ((agg_row *)((char *)post - offsetof(agg_row, vals)))->creator_id = p.author;
    int64_t *creator = agg(r, ANALYTICS_CREATORS, p.author, hour);
    if (c == &post_counts[0])
        return fold_view(r, e, hour, &p, platform);
    if (c->post >= 0)
        post[c->post]++;
    if (c->creator >= 0)
        creator[c->creator]++;
    if (c->platform >= 0)
        platform[c->platform]++;
    return 0;
}

static int fold_follow(rollup *r, const store_event *e, int64_t hour, int64_t *platform)
{
    int64_t *creator = agg(r, ANALYTICS_CREATORS, e->object_id, hour);
    if (!strcmp(e->type, "unfollow")) {
        creator[CREATOR_FOLLOWERS_LOST]++;
        return 0;
    }
    creator[CREATOR_FOLLOWERS_GAINED]++;
    platform[PLATFORM_FOLLOWS]++;
    int64_t post_id = 0, since = e->created_at - ANALYTICS_FOLLOW_CREDIT_MS;
    /* this batch's views are newer than the stored ones, which they replace at the flush */
    const last_view *l = last_view_slot(r, e->actor_id, e->object_id, false);
    int rc =
        l ? 0 : store_analytics_last_view_get(r->d, e->actor_id, e->object_id, since, &post_id);
    if (l && l->at >= since)
        post_id = l->post;
    if (rc < 0 || !post_id)
        return rc;
    int64_t *post = agg(r, ANALYTICS_POSTS, post_id, hour);
    ((agg_row *)((char *)post - offsetof(agg_row, vals)))->creator_id = e->object_id;
    post[POST_FOLLOWS]++;
    return 0;
}

static int fold(rollup *r, const store_event *e)
{
    int64_t hour = e->created_at - e->created_at % ANALYTICS_HOUR_MS;
    int64_t *platform = agg(r, ANALYTICS_PLATFORM, 0, hour);
    platform[PLATFORM_EVENTS]++;
    add_member(r, MEMBER_ACTIVE_USER, 0, hour, e->actor_id);
    if (!strcmp(e->object_type, "post"))
        return fold_post_event(r, e, hour, platform);
    if (!strcmp(e->type, "follow") || !strcmp(e->type, "unfollow"))
        return fold_follow(r, e, hour, platform);
    if (!strcmp(e->type, "profile_view"))
        agg(r, ANALYTICS_CREATORS, e->object_id, hour)[CREATOR_PROFILE_VIEWS]++;
    else if (!strcmp(e->type, "message"))
        platform[PLATFORM_MESSAGES]++;
    return 0;
}

/* One window of up to limit events, read READ_CHUNK at a time and folded into the in-memory rows
 * and sets, which are written at the end in one transaction; returns the number of events
 * folded (0: caught up, or another node folded this window first). Reading and folding run
 * before the transaction, so SQLite's writer lock (every request that writes queues behind it)
 * is held only for the writes: a whole window in the transaction held it 0.3-0.7 s at 60,000
 * events (issue 12's write tails). The watermark is taken again inside the transaction: if it
 * moved meanwhile (another node's roll-up), the window is dropped and nothing is counted twice. */
static int rollup_window(rollup *r, int64_t now_ms, int limit, store_event *events)
{
    int64_t from = 0, last = 0, taken = 0;
    int rc = store_analytics_watermark_get(r->d, ANALYTICS_WATERMARK, &from), total = 0;
    last = from;
    while (rc >= 0 && total < limit) {
        int want = limit - total < READ_CHUNK ? limit - total : READ_CHUNK;
        int n = store_analytics_events(r->d, last, now_ms - settings.settle_ms, events, want);
        if (n < 0)
            rc = n;
        for (int i = 0; i < n && rc >= 0; i++)
            rc = fold(r, &events[i]);
        if (n <= 0 || rc < 0)
            break;
        last = events[n - 1].id;
        total += n;
        if (n < want)
            break;
    }
    /* member sets first: they add to the hour rows' unique columns */
    if (rc >= 0 && total > 0)
        rc = prepare_uniques(r);
    if (rc < 0 || total == 0) {
        reset_window(r);
        return rc < 0 ? rc : 0;
    }
    if (db_begin(r->d) < 0) {
        reset_window(r);
        return ERR_DB;
    }
    rc = store_analytics_watermark_take(r->d, ANALYTICS_WATERMARK, now_ms, &taken);
    bool moved = rc >= 0 && taken != from;
    if (rc >= 0 && !moved)
        rc = flush(r);
    reset_window(r);
    if (rc >= 0 && !moved)
        rc = store_analytics_watermark_set(r->d, ANALYTICS_WATERMARK, last, now_ms);
    if (rc >= 0 && !moved)
        rc = db_commit(r->d);
    if (rc < 0 || moved) {
        db_rollback(r->d);
        return rc < 0 ? rc : 0;
    }
    return total;
}

int analytics_rollup(db *d, int64_t now_ms, int64_t max_events, int64_t *folded)
{
    rollup *r = xcalloc(1, sizeof *r);
    r->d = d;
    r->row_at = xcalloc(ROW_SLOTS, sizeof(int32_t));
    r->uniq_at = xcalloc(UNIQ_SLOTS, sizeof(int32_t));
    r->last_at = xcalloc(LAST_SLOTS, sizeof(int32_t));
    r->rows = xcalloc(MAX_ROWS, sizeof(agg_row));
    r->uniq = xcalloc(MAX_UNIQ, sizeof(uniq_slot));
    r->last = xcalloc(MAX_LAST, sizeof(last_view));
    r->order = xcalloc(MAX_ROWS > MAX_UNIQ ? MAX_ROWS : MAX_UNIQ, sizeof(int));
    r->put = xcalloc(MAX_UNIQ, sizeof *r->put);
    store_event *events = xcalloc(READ_CHUNK, sizeof *events);
    int rc = 0;
    *folded = 0;
    for (;;) {
        int64_t left = max_events > 0 ? max_events - *folded : ANALYTICS_BATCH;
        if (left <= 0)
            break;
        /* the cache of post authors lives for one window: a post deleted meanwhile is seen */
        memset(r->cache, 0, sizeof r->cache);
        int n =
            rollup_window(r, now_ms, left < ANALYTICS_BATCH ? (int)left : ANALYTICS_BATCH, events);
        if (n <= 0) {
            rc = n;
            break;
        }
        *folded += n;
    }
    free(events);
    free(r->row_at);
    free(r->uniq_at);
    free(r->last_at);
    free(r->rows);
    free(r->uniq);
    free(r->last);
    free(r->order);
    free(r->put);
    free(r);
    return rc;
}

/* A last view older than the credit window before the watermark's event can credit no follow
 * the rollup has yet to fold (those come after the watermark), so it goes: the table holds a day
 * of (viewer, creator) pairs instead of every pair ever, and the flush upserts into a small
 * tree. An hour of margin covers ids and created_at disagreeing by clock skew. Hourly, per node:
 * the delete reads the whole table (an index on viewed_at would cost every view a second write). */
static int purge_last_views(db *d, int64_t watermark)
{
    static int64_t last_at; /* analytics_tick runs on the housekeeping thread only */
    int64_t at = watermark ? id_time_ms(watermark) : 0;
    if (at - last_at < ANALYTICS_HOUR_MS)
        return 0;
    last_at = at;
    return store_analytics_purge_last_views(d, at - ANALYTICS_FOLLOW_CREDIT_MS - ANALYTICS_HOUR_MS);
}

int analytics_tick(db *d, int64_t now_ms)
{
    int64_t folded = 0, wm = 0;
    int rc = analytics_rollup(d, now_ms, 0, &folded);
    if (rc >= 0)
        rc = store_analytics_watermark_get(d, ANALYTICS_WATERMARK, &wm);
    if (rc >= 0)
        rc = purge_last_views(d, wm);
    if (rc < 0 || settings.retention_ms <= 0)
        return rc;
    /* only events the rollup has folded go: retention never loses a count */
    while ((rc = store_analytics_purge_events(d, now_ms - settings.retention_ms, wm,
                                              PURGE_BATCH)) == PURGE_BATCH)
        ;
    return rc < 0 ? rc : 0;
}

/* ---- client events ---- */

const char *const analytics_client_types[] = {"track_upload", "beat_generate", "mix_export",
                                              "studio_open", NULL};

static ratelimit *client_limiter;
static pthread_once_t client_limiter_once = PTHREAD_ONCE_INIT;

static void client_limiter_new(void)
{
    client_limiter = ratelimit_new(ANALYTICS_CLIENT_RATE / 60.0, ANALYTICS_CLIENT_RATE, 65536);
    /* a user's budget, not a node's capacity: across nodes (--redis) one bucket for all, so
     * that a client spreading its events over N nodes does not get N budgets */
    ratelimit_share(client_limiter, "client_events");
}

int analytics_client_event(int64_t user, const char *type, int64_t object_id, const char *props,
                           domain_error *err)
{
    bool known = false;
    for (int i = 0; analytics_client_types[i]; i++)
        known |= !strcmp(type, analytics_client_types[i]);
    if (!known)
        return domain_invalid(err, "type", "not_allowed");
    if (props && strlen(props) > ANALYTICS_CLIENT_PROPS_MAX)
        return domain_invalid_bounds(err, "props", "too_long", -1, ANALYTICS_CLIENT_PROPS_MAX);
    pthread_once(&client_limiter_once, client_limiter_new);
    char key[32];
    snprintf(key, sizeof key, "%lld", (long long)user);
    int retry = 0;
    if (!ratelimit_take(client_limiter, key, monotonic_us(), &retry)) {
        err->retry_after = retry;
        return domain_fail(err, ERR_RATE_LIMITED, "rate_limited",
                           "too many client events; retry later");
    }
    event_log_emit(user, type, "studio", object_id, props);
    return 0;
}

/* ---- reads ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int analytics_range_check(analytics_range *r, domain_error *err)
{
    int64_t b = r->bucket_ms, tz = r->tz_offset_ms;
    if (r->from >= r->to)
        return domain_invalid(err, "from", "not_before_to");
    r->from = floor_div(r->from + tz, b) * b - tz;
    r->to = floor_div(r->to + tz + b - 1, b) * b - tz;
    int64_t max = b == ANALYTICS_HOUR_MS ? ANALYTICS_MAX_HOURS : ANALYTICS_MAX_DAYS;
    if ((r->to - r->from) / b > max)
        return domain_invalid_bounds(err, "to", "range_too_long", -1, max);
    return 0;
}

void analytics_series_free(analytics_series *s)
{
    free(s->starts);
    free(s->vals);
    memset(s, 0, sizeof *s);
}

/* The unions of a key's stored hour sets: per bucket (when buckets are longer than an hour)
 * and over the whole range. */
typedef struct unique_read {
    const analytics_range *r;
    uniqset *buckets; /* NULL: hourly buckets, the hour rows' columns are the counts */
    uniqset total, hour;
    int bad;
} unique_read;

static void unique_row(void *ctx, int64_t hour, const char *members)
{
    unique_read *u = ctx;
    uniqset_free(&u->hour);
    if (uniqset_parse(&u->hour, members) < 0) {
        u->bad++;
        return;
    }
    if (u->buckets)
        uniqset_union(&u->buckets[(hour - u->r->from) / u->r->bucket_ms], &u->hour);
    uniqset_union(&u->total, &u->hour);
    /* past twice the bound (raw ids, repeats included): dedup, and sketch if still past it; so
     * a compaction follows at least READ_EXACT_MAX new ids and the sorts stay amortized */
    if (u->total.n > 2 * READ_EXACT_MAX)
        uniqset_compact(&u->total, READ_EXACT_MAX);
}

static int read_uniques(db *d, int kind, int64_t key, const analytics_range *r, int unique_col,
                        analytics_series *out)
{
    unique_read u = {.r = r};
    if (r->bucket_ms > ANALYTICS_HOUR_MS)
        u.buckets = xcalloc((size_t)out->n, sizeof(uniqset));
    int rc = store_analytics_uniques_range(d, kind, key, r->from, r->to, unique_row, &u);
    for (int i = 0; u.buckets && i < out->n; i++) {
        out->vals[i * out->n_cols + unique_col] = uniqset_count(&u.buckets[i]);
        uniqset_free(&u.buckets[i]);
    }
    out->unique_total = out->totals[unique_col] = uniqset_count(&u.total);
    free(u.buckets);
    uniqset_free(&u.total);
    uniqset_free(&u.hour);
    return rc < 0 ? rc : u.bad ? ERR_DB : 0;
}

/* Reads key's hour rows over r into buckets; unique_kind: the member kind whose distinct count
 * replaces unique_col per bucket (buckets longer than an hour) and in the totals, or 0. */
static int read_series(db *d, analytics_table_id id, int64_t key, const analytics_range *r,
                       int unique_kind, int unique_col, analytics_series *out)
{
    const analytics_table *t = store_analytics_table(id);
    memset(out, 0, sizeof *out);
    out->n = (int)((r->to - r->from) / r->bucket_ms);
    out->n_cols = t->n_cols;
    out->cols = t->cols;
    out->starts = xcalloc((size_t)out->n, sizeof(int64_t));
    out->vals = xcalloc((size_t)out->n * (size_t)t->n_cols, sizeof(int64_t));
    for (int i = 0; i < out->n; i++)
        out->starts[i] = r->from + i * r->bucket_ms;
    int max_rows = (int)((r->to - r->from) / ANALYTICS_HOUR_MS);
    analytics_row *rows = xcalloc((size_t)max_rows, sizeof *rows);
    int n = store_analytics_series(d, t, key, r->from, r->to, rows, max_rows);
    for (int i = 0; i < n; i++) {
        int b = (int)((rows[i].hour - r->from) / r->bucket_ms);
        for (int k = 0; k < t->n_cols; k++) {
            out->vals[b * t->n_cols + k] += rows[i].vals[k];
            out->totals[k] += rows[i].vals[k];
        }
    }
    free(rows);
    int rc = n < 0 ? n : 0;
    if (rc == 0 && unique_kind)
        rc = read_uniques(d, unique_kind, key, r, unique_col, out);
    if (rc < 0)
        analytics_series_free(out);
    return rc;
}

int analytics_post(db *d, const store_user *me, int64_t post_id, const analytics_range *r,
                   analytics_series *out, domain_error *err)
{
    store_post p;
    store_user author;
    int rc = posts_get_visible(d, me->id, post_id, &p, &author, err);
    if (rc < 0)
        return rc;
    if (p.author_id != me->id && strcmp(me->role, "admin") != 0)
        return domain_fail(err, ERR_FORBIDDEN, "not_author",
                           "only the post's author (or an admin) reads its analytics");
    rc = read_series(d, ANALYTICS_POSTS, post_id, r, MEMBER_POST_VIEWER, POST_VIEWERS, out);
    return rc < 0 ? domain_db_failed(err, d, "post analytics") : 0;
}

int analytics_creator(db *d, const store_user *me, const analytics_range *r, analytics_series *out,
                      domain_error *err)
{
    int rc =
        read_series(d, ANALYTICS_CREATORS, me->id, r, MEMBER_CREATOR_VIEWER, CREATOR_VIEWERS, out);
    return rc < 0 ? domain_db_failed(err, d, "creator analytics") : 0;
}

int analytics_platform(db *d, const store_user *me, const analytics_range *r, analytics_series *out,
                       int64_t **new_users, domain_error *err)
{
    int rc = auth_require_role(me, "admin", err);
    if (rc < 0)
        return rc;
    rc = read_series(d, ANALYTICS_PLATFORM, 0, r, MEMBER_ACTIVE_USER, PLATFORM_ACTIVE_USERS, out);
    if (rc < 0)
        return domain_db_failed(err, d, "platform analytics");
    *new_users = xcalloc((size_t)out->n, sizeof(int64_t));
    for (int i = 0; i < out->n && rc == 0; i++)
        rc = store_analytics_new_users(d, out->starts[i], out->starts[i] + r->bucket_ms,
                                       &(*new_users)[i]);
    if (rc < 0) {
        free(*new_users);
        *new_users = NULL;
        analytics_series_free(out);
        return domain_db_failed(err, d, "new users");
    }
    return 0;
}
