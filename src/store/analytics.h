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
    POST_VIEWS, POST_PLAYS, POST_VIEWERS, POST_WATCH_MS, POST_COMPLETIONS,
    POST_SRC_FOR_YOU, POST_SRC_FOLLOWING, POST_SRC_PROFILE, POST_SRC_SEARCH, POST_SRC_HASHTAG,
    POST_SRC_SHARE, POST_SRC_EXPLORE, POST_SRC_OTHER,
    POST_REACH_10, /* ... POST_REACH_90: views that reached 10%..90% of the video */
    POST_LIKES = POST_REACH_10 + 9, POST_UNLIKES, POST_COMMENTS, POST_SHARES, POST_SAVES,
    POST_UNSAVES, POST_FOLLOWS, POST__COLS
};
enum {
    CREATOR_VIEWS, CREATOR_PLAYS, CREATOR_VIEWERS, CREATOR_WATCH_MS, CREATOR_COMPLETIONS,
    CREATOR_PROFILE_VIEWS, CREATOR_FOLLOWERS_GAINED, CREATOR_FOLLOWERS_LOST, CREATOR_LIKES,
    CREATOR_COMMENTS, CREATOR_SHARES, CREATOR_SAVES, CREATOR_POSTS, CREATOR__COLS
};
enum {
    PLATFORM_EVENTS, PLATFORM_ACTIVE_USERS, PLATFORM_VIEWS, PLATFORM_PLAYS, PLATFORM_WATCH_MS,
    PLATFORM_UPLOADS, PLATFORM_MESSAGES, PLATFORM_FOLLOWS, PLATFORM_LIKES, PLATFORM_COMMENTS,
    PLATFORM__COLS
};

/* Member kinds of analytics_members. */
enum { MEMBER_POST_VIEWER = 1, MEMBER_CREATOR_VIEWER = 2, MEMBER_ACTIVE_USER = 3 };

typedef struct analytics_table {
    const char *name, *key;  /* table, key column ("post_id", "creator_id", "scope") */
    const char *const *cols; /* counter columns */
    int n_cols;
    const char *upsert_sql, *series_sql; /* built once by store_analytics_tables */
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
/* Adds vals (t->n_cols of them) to the row (key, hour), creating it. creator_id: posts only. */
int store_analytics_add(db *d, const analytics_table *t, int64_t key, int64_t hour,
                        int64_t creator_id, const int64_t *vals);
/* Records member in (kind, key, hour); 1 if it was new, 0 if known, or a negative ERR_*. */
int store_analytics_member_add(db *d, int kind, int64_t key, int64_t hour, int64_t member);
/* Distinct members of (kind, key) over [from, to). */
int store_analytics_members_count(db *d, int kind, int64_t key, int64_t from, int64_t to,
                                  int64_t *out);
/* The author and video duration of a post (ERR_NOT_FOUND once purged). */
int store_analytics_post_info(db *d, int64_t post_id, int64_t *author, int64_t *duration_ms);
int store_analytics_last_view_set(db *d, int64_t viewer, int64_t creator, int64_t post,
                                  int64_t at);
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

#endif
