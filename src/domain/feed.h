/* SPDX-License-Identifier: MIT
 *
 * Feeds. The home feed is a pipeline: candidates (the viewer's own posts and those of accounts
 * they follow, minus muted authors) -> filter (the visibility gate every post read uses) ->
 * order (newest first for now). A ranker replaces the order step later without touching the
 * other two.
 */
#ifndef STREAMHUB_DOMAIN_FEED_H
#define STREAMHUB_DOMAIN_FEED_H

#include "store/posts.h"
#include "store/users.h"

typedef struct feed_item {
    store_post post;
    store_user author;
} feed_item;

/* Fills up to limit items older than cursor (0 = newest). *next is the cursor for the next page,
 * 0 at the end. Returns the item count or a negative ERR_*. */
int feed_home(db *d, int64_t viewer, int64_t cursor, int limit, feed_item *out, int64_t *next);

#endif
