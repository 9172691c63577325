/* SPDX-License-Identifier: MIT
 *
 * Creator analytics (docs/analytics.md): the incremental rollup of the event log into hourly
 * rows (store/analytics.h), the retention of raw events, client-side event types, and the
 * series the analytics API reads (per post, per creator, for the platform) with their rules:
 * who may read what, and which ranges are accepted.
 *
 * The rollup folds events in id order, a batch per transaction, and moves the watermark past a
 * batch in the same transaction that adds its counts: a rollup killed mid-way loses its open
 * batch and nothing else, a second run starts where the first committed, and two nodes running
 * it at once take turns on the watermark row. Only events older than the settle window are
 * folded, so a node whose event-log batch commits a little late (ids are time-ordered across
 * nodes, commits are not) is not skipped.
 */
#ifndef STREAMHUB_DOMAIN_ANALYTICS_H
#define STREAMHUB_DOMAIN_ANALYTICS_H

#include "domain/errors.h"
#include "store/analytics.h"
#include "store/users.h"

#include <stdbool.h>
#include <stdint.h>

#define ANALYTICS_WATERMARK "rollup" /* the rollup's watermark (last event folded) */
#define ANALYTICS_BATCH 20000 /* events per rollup window: its writes hold the writer lock (rollup_window) */
#define ANALYTICS_MAX_HOURS (31 * 24)         /* longest hourly series: 31 days */
#define ANALYTICS_MAX_DAYS 366                /* longest daily series */
#define ANALYTICS_FOLLOW_CREDIT_MS 86400000LL /* a follow credits the post viewed within a day */
#define ANALYTICS_CLIENT_PROPS_MAX 200        /* bytes of a client event's props */
#define ANALYTICS_CLIENT_RATE 60              /* client events per minute per user (burst 60) */

typedef struct analytics_settings {
    int64_t settle_ms;    /* events younger than this are left for the next run */
    int64_t retention_ms; /* raw events older than this (and folded) are deleted; 0 = keep */
} analytics_settings;

void analytics_configure(const analytics_settings *s);

/* Folds up to max_events (0 = all settled ones) past the watermark; *folded gets the count.
 * Safe to run concurrently from several threads or nodes. */
int analytics_rollup(db *d, int64_t now_ms, int64_t max_events, int64_t *folded);
/* One housekeeping round: rollup, then the raw-event retention. For maintenance_start. */
int analytics_tick(db *d, int64_t now_ms);

/* The closed list of client-side event types (POST /api/v1/events/client), NULL-terminated. */
extern const char *const analytics_client_types[];
/* Logs a client event of user (type from the list; props a small JSON object already checked
 * by the caller, or NULL). ERR_RATE_LIMITED (err->retry_after) past ANALYTICS_CLIENT_RATE. */
int analytics_client_event(int64_t user, const char *type, int64_t object_id, const char *props,
                           domain_error *err);

/* A validated range: [from, to) in ms, buckets of bucket_ms aligned on tz_offset_ms. */
typedef struct analytics_range {
    int64_t from, to, bucket_ms, tz_offset_ms;
} analytics_range;
/* Checks a range: from < to, at most ANALYTICS_MAX_DAYS days (ANALYTICS_MAX_HOURS hours for
 * hourly buckets); ERR_INVALID naming "from" or "to" otherwise. Aligns from down and to up to
 * bucket boundaries in the time zone. */
int analytics_range_check(analytics_range *r, domain_error *err);

/* A series: one bucket per bucket_ms over the range (empty buckets included). */
typedef struct analytics_series {
    int n, n_cols;
    const char *const *cols;
    int64_t *starts; /* n bucket starts */
    int64_t *vals;   /* n * n_cols, row-major */
    int64_t totals[ANALYTICS_MAX_COLS];
    int64_t unique_total; /* distinct viewers (posts, creators) or active users over the range */
} analytics_series;
void analytics_series_free(analytics_series *s);

/* A post's series: its author or an admin (ERR_FORBIDDEN "not_author" otherwise; 404 for a
 * post the caller cannot see). Unique viewers per bucket are exact in any time zone. */
int analytics_post(db *d, const store_user *me, int64_t post_id, const analytics_range *r,
                   analytics_series *out, domain_error *err);
/* The caller's own creator series. */
int analytics_creator(db *d, const store_user *me, const analytics_range *r, analytics_series *out,
                      domain_error *err);
/* The platform's series (admins); new_users per bucket is filled into *new_users (n of them,
 * malloc'ed) from the accounts table. */
int analytics_platform(db *d, const store_user *me, const analytics_range *r, analytics_series *out,
                       int64_t **new_users, domain_error *err);

#endif
