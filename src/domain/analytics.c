/* SPDX-License-Identifier: MIT
 *
 * Creator analytics: see analytics.h. The rollup adds each batch's counts up in memory first
 * (one row per table, key and hour) and writes each row once, so a batch of views of one post
 * costs one upsert, not one per view; unique viewers and active users need a row per member
 * (analytics_members), written as the events are read.
 */
#include "domain/analytics.h"

#include "core/ratelimit.h"
#include "core/util.h"
#include "domain/auth.h"
#include "domain/posts.h"
#include "jobs/event_log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WATERMARK "rollup"
#define AGG_SLOTS 16384 /* > 3 rows per event of a batch, a power of two */
#define POST_CACHE 1024
#define PURGE_BATCH 5000
#define DAY_MS 86400000LL

static analytics_settings settings = {.settle_ms = 5000, .retention_ms = 0};

void analytics_configure(const analytics_settings *s)
{
    settings = *s;
}

/* ---- the rollup ---- */

typedef struct agg_row {
    bool used;
    analytics_table_id table;
    int64_t key, hour, creator_id;
    int64_t vals[ANALYTICS_MAX_COLS];
} agg_row;

typedef struct post_info {
    int64_t id, author, duration_ms; /* author 0: purged */
} post_info;

typedef struct rollup {
    db *d;
    agg_row *rows; /* AGG_SLOTS */
    int used;
    post_info cache[POST_CACHE];
} rollup;

static int64_t *agg(rollup *r, analytics_table_id table, int64_t key, int64_t hour)
{
    uint64_t h = ((uint64_t)key * 0x9E3779B97F4A7C15ULL) ^ ((uint64_t)hour * 31 + table);
    for (uint64_t i = h & (AGG_SLOTS - 1);; i = (i + 1) & (AGG_SLOTS - 1)) {
        agg_row *a = &r->rows[i];
        if (!a->used) {
            memset(a, 0, sizeof *a);
            a->used = true;
            a->table = table;
            a->key = key;
            a->hour = hour;
            r->used++;
            return a->vals;
        }
        if (a->table == table && a->key == key && a->hour == hour)
            return a->vals;
    }
}

static int flush(rollup *r)
{
    for (int i = 0; i < AGG_SLOTS && r->used; i++) {
        agg_row *a = &r->rows[i];
        if (!a->used)
            continue;
        int rc = store_analytics_add(r->d, store_analytics_table(a->table), a->key, a->hour,
                                     a->creator_id, a->vals);
        if (rc < 0)
            return rc;
    }
    return 0;
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

/* Adds 1 to a member's unique column when the member is new in (kind, key, hour). */
static int count_member(rollup *r, int kind, int64_t key, int64_t hour, int64_t member,
                        int64_t *counter)
{
    if (!member)
        return 0;
    int rc = store_analytics_member_add(r->d, kind, key, hour, member);
    if (rc > 0)
        (*counter)++;
    return rc < 0 ? rc : 0;
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
    int rc = count_member(r, MEMBER_POST_VIEWER, p->id, hour, e->actor_id, &post[POST_VIEWERS]);
    if (rc == 0)
        rc = count_member(r, MEMBER_CREATOR_VIEWER, p->author, hour, e->actor_id,
                          &creator[CREATOR_VIEWERS]);
    if (rc == 0 && e->actor_id)
        rc = store_analytics_last_view_set(r->d, e->actor_id, p->author, p->id, e->created_at);
    return rc;
}

static int fold_post_event(rollup *r, const store_event *e, int64_t hour, int64_t *platform)
{
    post_info p;
    int rc = lookup_post(r, e->object_id, &p);
    if (rc < 0 || !p.author)
        return rc; /* purged posts keep what was folded before */
    agg_row *slot;
    int64_t *post = agg(r, ANALYTICS_POSTS, p.id, hour);
    slot = (agg_row *)((char *)post - offsetof(agg_row, vals));
    slot->creator_id = p.author;
    int64_t *creator = agg(r, ANALYTICS_CREATORS, p.author, hour);
    const char *t = e->type;
    if (!strcmp(t, "view"))
        return fold_view(r, e, hour, &p, platform);
    if (!strcmp(t, "like"))
        post[POST_LIKES]++, creator[CREATOR_LIKES]++, platform[PLATFORM_LIKES]++;
    else if (!strcmp(t, "unlike"))
        post[POST_UNLIKES]++;
    else if (!strcmp(t, "comment"))
        post[POST_COMMENTS]++, creator[CREATOR_COMMENTS]++, platform[PLATFORM_COMMENTS]++;
    else if (!strcmp(t, "share"))
        post[POST_SHARES]++, creator[CREATOR_SHARES]++;
    else if (!strcmp(t, "save"))
        post[POST_SAVES]++, creator[CREATOR_SAVES]++;
    else if (!strcmp(t, "unsave"))
        post[POST_UNSAVES]++;
    else if (!strcmp(t, "post"))
        creator[CREATOR_POSTS]++, platform[PLATFORM_UPLOADS]++;
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
    int64_t post_id = 0;
    int rc = store_analytics_last_view_get(r->d, e->actor_id, e->object_id,
                                           e->created_at - ANALYTICS_FOLLOW_CREDIT_MS, &post_id);
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
    int rc =
        count_member(r, MEMBER_ACTIVE_USER, 0, hour, e->actor_id, &platform[PLATFORM_ACTIVE_USERS]);
    if (rc < 0)
        return rc;
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

/* One batch in one transaction; returns the number of events folded (0: caught up). */
static int rollup_batch(rollup *r, int64_t now_ms, int limit, store_event *events)
{
    if (db_begin(r->d) < 0)
        return ERR_DB;
    int64_t wm;
    int rc = store_analytics_watermark_take(r->d, WATERMARK, now_ms, &wm);
    int n =
        rc < 0 ? rc : store_analytics_events(r->d, wm, now_ms - settings.settle_ms, events, limit);
    if (n <= 0) {
        db_rollback(r->d);
        return n;
    }
    memset(r->rows, 0, sizeof(agg_row) * AGG_SLOTS);
    r->used = 0;
    for (int i = 0; i < n && rc >= 0; i++)
        rc = fold(r, &events[i]);
    if (rc >= 0)
        rc = flush(r);
    if (rc >= 0)
        rc = store_analytics_watermark_set(r->d, WATERMARK, events[n - 1].id, now_ms);
    if (rc >= 0)
        rc = db_commit(r->d);
    if (rc < 0) {
        db_rollback(r->d);
        return rc;
    }
    return n;
}

int analytics_rollup(db *d, int64_t now_ms, int64_t max_events, int64_t *folded)
{
    rollup *r = xcalloc(1, sizeof *r);
    r->d = d;
    r->rows = xcalloc(AGG_SLOTS, sizeof(agg_row));
    store_event *events = xcalloc(ANALYTICS_BATCH, sizeof *events);
    int rc = 0;
    *folded = 0;
    for (;;) {
        int64_t left = max_events > 0 ? max_events - *folded : ANALYTICS_BATCH;
        if (left <= 0)
            break;
        /* the cache of post authors lives for one batch: a post deleted meanwhile is seen */
        memset(r->cache, 0, sizeof r->cache);
        int n =
            rollup_batch(r, now_ms, left < ANALYTICS_BATCH ? (int)left : ANALYTICS_BATCH, events);
        if (n <= 0) {
            rc = n;
            break;
        }
        *folded += n;
    }
    free(events);
    free(r->rows);
    free(r);
    return rc;
}

int analytics_tick(db *d, int64_t now_ms)
{
    int64_t folded = 0, wm = 0;
    int rc = analytics_rollup(d, now_ms, 0, &folded);
    if (rc < 0 || settings.retention_ms <= 0)
        return rc;
    if ((rc = store_analytics_watermark_get(d, WATERMARK, &wm)) < 0)
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

/* Reads key's hour rows over r into buckets; unique_kind: the member kind whose distinct count
 * replaces unique_col per bucket (buckets longer than an hour), or 0. */
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
    if (rc == 0 && unique_kind && r->bucket_ms > ANALYTICS_HOUR_MS)
        rc = store_analytics_members_by_bucket(d, unique_kind, key, r->from, r->to, r->bucket_ms,
                                               &out->vals[unique_col], out->n, t->n_cols);
    if (rc == 0 && unique_kind)
        rc = store_analytics_members_count(d, unique_kind, key, r->from, r->to, &out->unique_total);
    if (rc == 0 && unique_kind)
        out->totals[unique_col] = out->unique_total;
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
