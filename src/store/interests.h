/* SPDX-License-Identifier: MIT
 *
 * SQL of the discovery module (docs/discovery.md): the interest graph (user_interests), the
 * "not interested" marks (not_interested) and what For You served (for_you_served), plus the
 * candidate queries no other module needed before (recent posts with few views). Weights are
 * integers in thousandths; the decay is the domain's (domain/interests.h).
 */
#ifndef STREAMHUB_STORE_INTERESTS_H
#define STREAMHUB_STORE_INTERESTS_H

#include "store/db.h"

#include <stdbool.h>
#include <stdint.h>

#define STORE_INTEREST_KIND_BYTES 16
#define STORE_INTEREST_ITEM_BYTES 404 /* a hashtag's bytes */

typedef struct store_interest {
    char kind[STORE_INTEREST_KIND_BYTES];
    char item[STORE_INTEREST_ITEM_BYTES];
    int64_t weight_milli; /* as of updated_at */
    int64_t updated_at;
} store_interest;

/* One row; ERR_NOT_FOUND when the user has none for (kind, item). */
int store_interest_get(db *d, int64_t user_id, const char *kind, const char *item,
                       store_interest *out);
/* Inserts or replaces the row. */
int store_interest_put(db *d, int64_t user_id, const char *kind, const char *item,
                       int64_t weight_milli, int64_t now);
/* The user's rows of one kind ("" = all kinds), largest stored weight first, at most max. */
int store_interests_list(db *d, int64_t user_id, const char *kind, store_interest *out, int max);
/* Deletes the user's rows of one kind but the keep largest, once there are more than
 * keep + slack of them (0 and nothing to trim costs one index probe): how a profile stays
 * bounded, at most keep + slack rows of a kind. */
int store_interests_trim(db *d, int64_t user_id, const char *kind, int keep, int slack);
int store_interests_clear(db *d, int64_t user_id);

/* "Not interested": kind "post", "creator" or "hashtag". *changed says whether a row came or
 * went. */
int store_not_interested_set(db *d, int64_t user_id, const char *kind, int64_t target_id,
                             bool on, int64_t now, bool *changed);
/* Targets of one kind, newest first, at most max. */
int store_not_interested_list(db *d, int64_t user_id, const char *kind, int64_t *out, int max);
/* The tags of the hashtags the user marked, at most max, into tags[i] (bytes each). */
int store_not_interested_tags(db *d, int64_t user_id, char (*tags)[STORE_INTEREST_ITEM_BYTES],
                              int max);

/* Records that post_ids[0..n) were served in session to user: one statement per
 * STORE_SERVED_ROWS ids (anonymous sessions keep theirs in the head row: below). */
#define STORE_SERVED_ROWS 20
int store_served_add(db *d, int64_t session_id, int64_t user_id, const int64_t *post_ids, int n,
                     int64_t now);
/* What was served in session, and (user_id not 0) to the user since since_ms, at most max:
 * each post with the session it was served in and when. */
typedef struct store_served_row {
    int64_t post_id, session_id, served_at;
} store_served_row;
int store_served_rows(db *d, int64_t session_id, int64_t user_id, int64_t since_ms,
                      store_served_row *out, int max);
/* Forgets what was served to user_id before before_ms (all of it for INT64_MAX); for user 0
 * (anonymous sessions) also the versions of those sessions not written to since. */
int store_served_purge(db *d, int64_t user_id, int64_t before_ms);
/* The version of a served set, (user_id, 0) for a signed-in user's and (0, session_id) for an
 * anonymous session's: 0 before its first write. _bump adds one (in the caller's transaction,
 * with what changed the set) and gives the new version. */
int store_served_version(db *d, int64_t user_id, int64_t session_id, int64_t *version);
int store_served_bump(db *d, int64_t user_id, int64_t session_id, int64_t now, int64_t *version);

/* An anonymous session's served set, kept in its head row (user_id 0) as the ids in text:
 * _append adds post_ids[0..n) and bumps the version in one statement (the set's version in
 * *version), _rows reads the set (served_at is the head's last write) with its version. */
int store_served_anon_append(db *d, int64_t session_id, const int64_t *post_ids, int n,
                             int64_t now, int64_t *version);
int store_served_anon_rows(db *d, int64_t session_id, store_served_row *out, int max);

/* Live public posts (not stories) of public accounts with fewer than max_views views, newest
 * first, at most max: the exploration source (new videos with few impressions). */
int store_posts_fresh_unseen(db *d, int64_t max_views, int64_t *out, int max);

/* Accounts followed by those the viewer follows that the viewer does not follow (nor is),
 * most such followers first, at most max: ids[i], how many of the viewer's followees follow
 * them (counts[i]) and one of those (via[i]). */
int store_friends_of_friends(db *d, int64_t viewer, int64_t *ids, int64_t *counts, int64_t *via,
                             int max);

#endif
