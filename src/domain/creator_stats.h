/* SPDX-License-Identifier: MIT
 *
 * Creator scores over time (docs/analytics.md): the daily snapshot job (one row per active
 * creator per UTC day, idempotent per day, catching up missed days), tier changes with their
 * notification, a creator's public stats and private breakdown, and the leaderboards.
 */
#ifndef STREAMHUB_DOMAIN_CREATOR_STATS_H
#define STREAMHUB_DOMAIN_CREATOR_STATS_H

#include "domain/creator_score.h"
#include "domain/errors.h"
#include "store/users.h"

#include <stdbool.h>
#include <stdint.h>

#define CREATOR_SNAPSHOT_CATCH_UP_DAYS 31 /* missed days computed after downtime, at most */
#define CREATOR_HISTORY_MAX 90
#define LEADERBOARD_MAX 100

typedef struct creator_stats_settings {
    creator_tier_rules tiers;
    bool test_clock; /* POST /admin/analytics/snapshots may say what time it is (tests only) */
} creator_stats_settings;
void creator_stats_configure(const creator_stats_settings *s);
bool creator_stats_test_clock(void);

/* Computes the snapshots of every complete UTC day not yet computed (the first run: yesterday
 * only; after downtime, at most CREATOR_SNAPSHOT_CATCH_UP_DAYS). *days gets how many. */
int creator_snapshots_run(db *d, int64_t now_ms, int *days);

typedef struct creator_stats {
    bool has_score;
    store_creator_snapshot latest; /* score, tier, rank of the latest day */
    bool private_view;             /* the creator or an admin: what follows is filled */
    double percentiles[SCORE__COMPONENTS];
    store_creator_snapshot *history; /* newest first, n_history (malloc'ed) */
    int n_history;
} creator_stats;
/* GET /users/:handle/creator-stats. 404 for an unknown handle. */
int creator_stats_get(db *d, const store_user *viewer, const char *handle, store_user *user,
                      creator_stats *out, domain_error *err);
void creator_stats_free(creator_stats *s);

/* The metrics and periods of GET /leaderboards, NULL-terminated. */
extern const char *const leaderboard_metrics[];
extern const char *const leaderboard_periods[];
typedef struct leaderboard_entry {
    store_user user;
    int64_t value; /* score: tenths */
    int64_t rank;  /* 1-based over the whole board */
} leaderboard_entry;
/* One page after the cursor ("" = first page; else what *next held), at most limit entries;
 * *next gets the cursor of the next page or "" at the end. ERR_INVALID naming "cursor" or
 * "topic" for bad ones. */
int leaderboard_page(db *d, const char *metric, const char *period, const char *topic,
                     const char *cursor, int limit, int64_t now_ms, leaderboard_entry *out,
                     char next[64], domain_error *err);

#endif
