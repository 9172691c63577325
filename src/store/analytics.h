/* SPDX-License-Identifier: MIT
 *
 * SQL of the analytics rollups (migration 31): hourly counter rows per post, per creator and for
 * the platform, the member sets behind unique counts, the rollup watermark, and the reads the
 * analytics API makes. Each rollup table is described by one analytics_table (its name, its key
 * column and its counter columns, in the order of the *_COL enums below), so adding to a row,
 * reading a series and summing a range are one function each for all three.
 */
#ifndef STREAMHUB_STORE_ANALYTICS_H
#define STREAMHUB_STORE_ANALYTICS_H

#include "store/db.h"
#include "store/events.h"

#include <stdint.h>

#define ANALYTICS_HOUR_MS 3600000LL
#define ANALYTICS_MAX_COLS 40

enum {
    POST_VIEWS,
    POST_PLAYS,
    POST_VIEWERS,
    POST_WATCH_MS,
    POST_COMPLETIONS,
    POST_SRC_FOR_YOU,
    POST_SRC_FOLLOWING,
    POST_SRC_PROFILE,
    POST_SRC_SEARCH,
    POST_SRC_HASHTAG,
    POST_SRC_SHARE,
    POST_SRC_EXPLORE,
    POST_SRC_OTHER,
    POST_REACH_10, /* ... POST_REACH_90: views that reached 10%..90% of the video */
    POST_LIKES = POST_REACH_10 + 9,
    POST_UNLIKES,
    POST_COMMENTS,
    POST_SHARES,
    POST_SAVES,
    POST_UNSAVES,
    POST_FOLLOWS,
    POST__COLS
};
enum {
    CREATOR_VIEWS,
    CREATOR_PLAYS,
    CREATOR_VIEWERS,
    CREATOR_WATCH_MS,
    CREATOR_COMPLETIONS,
    CREATOR_PROFILE_VIEWS,
    CREATOR_FOLLOWERS_GAINED,
    CREATOR_FOLLOWERS_LOST,
    CREATOR_LIKES,
    CREATOR_COMMENTS,
    CREATOR_SHARES,
    CREATOR_SAVES,
    CREATOR_POSTS,
    CREATOR__COLS
};
enum {
    PLATFORM_EVENTS,
    PLATFORM_ACTIVE_USERS,
    PLATFORM_VIEWS,
    PLATFORM_PLAYS,
    PLATFORM_WATCH_MS,
    PLATFORM_UPLOADS,
    PLATFORM_MESSAGES,
    PLATFORM_FOLLOWS,
    PLATFORM_LIKES,
    PLATFORM_COMMENTS,
    PLATFORM__COLS
};

/* Member kinds of analytics_uniques. */
enum { MEMBER_POST_VIEWER = 1, MEMBER_CREATOR_VIEWER = 2, MEMBER_ACTIVE_USER = 3 };

typedef struct analytics_table {
    const char *name, *key;  /* table, key column ("post_id", "creator_id", "scope") */
    const char *const *cols; /* counter columns */
    int n_cols;
    const char *upsert_sql, *series_sql; /* built once by store_analytics_tables */
    const char *upsert_chunk_sql;        /* the upsert of STORE_ANALYTICS_CHUNK rows at once */
} analytics_table;

typedef enum { ANALYTICS_POSTS, ANALYTICS_CREATORS, ANALYTICS_PLATFORM } analytics_table_id;

/* The three tables (the SQL strings are built on first use, thread-safe). */
const analytics_table *store_analytics_table(analytics_table_id id);

/* Takes the named watermark for this transaction (a row lock on PostgreSQL; SQLite's writer
 * lock already serialises) and reads it; creates it at 0. */
int store_analytics_watermark_take(db *d, const char *name, int64_t now, int64_t *last_id);
int store_analytics_watermark_set(db *d, const char *name, int64_t last_id, int64_t now);
/* Reads without locking (0 when absent). */
int store_analytics_watermark_get(db *d, const char *name, int64_t *last_id);
/* Up to max events with id > after and created_at <= until, oldest first. */
int store_analytics_events(db *d, int64_t after, int64_t until, store_event *out, int max);
/* Rows per multi-row statement of the rollup's flush: one statement of many rows costs about
 * what one row does (SQLite's per-statement work, PostgreSQL's round trip). */
#define STORE_ANALYTICS_CHUNK 32

/* One row for store_analytics_add_many (vals: the table's n_cols counters). */
typedef struct store_analytics_delta {
    int64_t key, hour, creator_id;
    const int64_t *vals;
} store_analytics_delta;
/* Adds each row's vals to the row (key, hour) of t, creating it (creator_id: posts only); the
 * n rows have distinct (key, hour). */
int store_analytics_add_many(db *d, const analytics_table *t, const store_analytics_delta *rows,
                             int n);

/* The stored member set (core/uniqset.h text) of (kind, key, hour): *members malloc'ed, or
 * NULL when there is none. */
int store_analytics_uniques_get(db *d, int kind, int64_t key, int64_t hour, char **members);
/* Replaces (or creates) the sets of n distinct (kind, key, hour). */
typedef struct store_unique_set {
    int kind;
    int64_t key, hour;
    const char *members;
} store_unique_set;
int store_analytics_uniques_put(db *d, const store_unique_set *sets, int n);
/* Calls fn for every stored hour set of (kind, key) in [from, to); members is borrowed. */
typedef void (*store_uniques_fn)(void *ctx, int64_t hour, const char *members);
int store_analytics_uniques_range(db *d, int kind, int64_t key, int64_t from, int64_t to,
                                  store_uniques_fn fn, void *ctx);
/* The author and video duration of a post (ERR_NOT_FOUND once purged). */
int store_analytics_post_info(db *d, int64_t post_id, int64_t *author, int64_t *duration_ms);
/* Records n viewers' last views, distinct (viewer, creator) each. */
typedef struct store_last_view {
    int64_t viewer, creator, post, at;
} store_last_view;
int store_analytics_last_views_set(db *d, const store_last_view *views, int n);
/* Forgets last views older than before. */
int store_analytics_purge_last_views(db *d, int64_t before);
/* The post viewer last watched of creator at or after since; 0 if none. */
int store_analytics_last_view_get(db *d, int64_t viewer, int64_t creator, int64_t since,
                                  int64_t *post);

/* One hour row of a series. */
typedef struct analytics_row {
    int64_t hour;
    int64_t vals[ANALYTICS_MAX_COLS];
} analytics_row;
/* The hour rows of key over [from, to), oldest first, at most max; returns the count. */
int store_analytics_series(db *d, const analytics_table *t, int64_t key, int64_t from, int64_t to,
                           analytics_row *out, int max);
/* Events older than before and at or below the watermark, at most limit; returns the count. */
int store_analytics_purge_events(db *d, int64_t before, int64_t upto_id, int limit);
/* New accounts created in [from, to) (the users table: registration emits no event). */
int store_analytics_new_users(db *d, int64_t from, int64_t to, int64_t *out);

/* ---- creator snapshots (migration 32) ---- */

/* What a creator did in a window, read from analytics_creator_hours. */
typedef struct store_creator_inputs {
    int64_t creator_id;
    int64_t views, plays, engagements, completions, followers_net, posting_days, tips;
} store_creator_inputs;

typedef struct store_creator_snapshot {
    int64_t creator_id, day, score_tenths, rank;
    char tier[16];
    store_creator_inputs in;
} store_creator_snapshot;

/* The creators active in [from, to) (a view or a post) with their inputs; *out is malloc'ed.
 * Returns the count. */
int store_creator_inputs_read(db *d, int64_t from, int64_t to, store_creator_inputs **out);
int store_creator_snapshot_put(db *d, const store_creator_snapshot *s);
/* The latest snapshot of creator before day (exclusive); ERR_NOT_FOUND if none. */
int store_creator_snapshot_before(db *d, int64_t creator, int64_t day, store_creator_snapshot *out);
/* The latest score in tenths, or -1 without a snapshot. */
int store_creator_latest_score(db *d, int64_t creator, int64_t *tenths);
/* A creator's snapshots, newest first, at most max. */
int store_creator_history(db *d, int64_t creator, store_creator_snapshot *out, int max);
/* The day of the newest snapshot of anyone (0 if none). */
int store_creator_latest_day(db *d, int64_t *day);

/* One leaderboard entry. */
typedef struct store_leader {
    int64_t creator_id, value;
} store_leader;
/* Public creators (not private) ranked by value descending then id descending, after the
 * cursor (after_value, after_id; after_id 0 = from the top), at most max. metric: "score" reads
 * the snapshot of day (tenths); "views" and "growth" sum the creator hours of [from, to).
 * hashtag_id > 0 keeps creators with a post of that hashtag. */
int store_leaderboard(db *d, const char *metric, int64_t day, int64_t from, int64_t to,
                      int64_t hashtag_id, int64_t after_value, int64_t after_id, store_leader *out,
                      int max);

#endif
