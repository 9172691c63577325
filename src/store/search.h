/* SPDX-License-Identifier: MIT
 *
 * Full-text search over users (handle, display name, bio) and post captions. SQLite answers from
 * FTS5 tables kept in sync by triggers, PostgreSQL from stored tsvector columns with GIN indexes
 * (migration "search"); this module hides the difference. Results come in one ranked order that
 * both dialects share, and a page continues after a store_search_key (keyset, never OFFSET):
 *
 *   users  bucket (0 exact handle, 1 handle prefix, 2 text only) ascending, then text score,
 *          followers_count and id descending;
 *   posts  text score, then id (newest first) descending.
 *
 * The text score is the engine's rank (FTS5 bm25, PostgreSQL ts_rank) times 10^9 truncated to an
 * integer: integers compare exactly, so a row's place in the order is the same on every page.
 */
#ifndef STREAMHUB_STORE_SEARCH_H
#define STREAMHUB_STORE_SEARCH_H

#include "store/db.h"
#include "store/posts.h"
#include "store/tags.h"
#include "store/users.h"

#include <stdint.h>

/* What to match, already made safe by domain/search.c: the store pastes nothing into SQL, it
 * only binds these strings. */
typedef struct store_search_query {
    const char *handle_prefix; /* lowercased handle prefix; "" = no handle matching */
    const char *fts5;          /* SQLite FTS5 MATCH expression; "" = no text matching */
    const char *tsquery;       /* PostgreSQL to_tsquery('simple', ...) input; "" likewise */
} store_search_query;

/* A row's place in the ranked order; the page after it starts at the next row. */
typedef struct store_search_key {
    int64_t bucket;    /* users only; 0 for posts */
    int64_t score;     /* text rank x 10^9, higher first */
    int64_t followers; /* users only; 0 for posts */
    int64_t id;
} store_search_key;

/* Users matching q in ranked order after *after (NULL = from the top), leaving out users who
 * block the viewer or whom the viewer blocks (viewer 0 = anonymous). Fills up to max users and
 * their keys; returns the count or a negative ERR_*. */
int store_search_users(db *d, const store_search_query *q, int64_t viewer,
                       const store_search_key *after, store_user *out, store_search_key *keys,
                       int max);

/* Live posts whose caption matches q in ranked order after *after. A cheap SQL pre-filter drops
 * posts the viewer can certainly not see (blocks either way, other people's non-public posts
 * without a follow); it is looser than posts_can_view, which callers must still apply. */
int store_search_posts(db *d, const store_search_query *q, int64_t viewer,
                       const store_search_key *after, store_post *out, store_search_key *keys,
                       int max);

/* Hashtags with live posts whose tag starts with prefix (normalized, lowercase): the exact tag
 * first (bucket 0), then the others (bucket 1) by post count (the key's score), then id. */
int store_search_hashtags(db *d, const char *prefix, const store_search_key *after,
                          store_hashtag *out, store_search_key *keys, int max);

#endif
