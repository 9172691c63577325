/* SPDX-License-Identifier: MIT
 *
 * Feeds. Every feed is the same pipeline: candidate ids from a source in the source's order
 * (domain/feed_cache.h keeps the home and trending ones in memory) -> the posts read fresh by id
 * -> filter (the visibility gate every post read uses, and for discovery feeds the viewer's mutes)
 * -> order. Sources: home (the viewer's own posts and those of accounts they follow, minus muted
 * authors, newest first), trending (public posts by the time-decayed engagement key hot_at, see
 * store_post_hot_at) and hashtag pages (newest first). A ranker replaces the order step later
 * without touching the other two. Stories are grouped by author instead (feed_stories).
 */
#ifndef STREAMHUB_DOMAIN_FEED_H
#define STREAMHUB_DOMAIN_FEED_H

#include "domain/feed_cache.h"
#include "store/posts.h"
#include "store/users.h"

#include <stdbool.h>

/* Position in a feed: the last candidate examined. key is the source's sort key (the post id
 * for newest-first sources, hot_at for trending); id breaks ties. {0, 0} = the top. */
typedef struct feed_cursor {
    int64_t key;
    int64_t id;
} feed_cursor;

/* One page: the rows read (owned, or the shared trending list's, held until the page is freed)
 * and the items in feed order, pointing into them. */
typedef struct feed_page {
    store_feed_row *rows;
    const feed_trending_list *list;
    const store_feed_row **items;
    int n;
    feed_cursor next; /* id 0 at the end */
} feed_page;

void feed_page_free(feed_page *page);

/* Each fills a page of up to limit items after cursor; returns the item count or a negative
 * ERR_* (the page is empty then). viewer 0 is anonymous where allowed. */
int feed_home(db *d, const store_user *viewer, feed_cursor cursor, int limit, feed_page *out);
int feed_trending(db *d, int64_t viewer, feed_cursor cursor, int limit, feed_page *out);
int feed_hashtag(db *d, int64_t viewer, int64_t hashtag_id, feed_cursor cursor, int limit,
                 feed_page *out);

#define FEED_STORIES_PER_AUTHOR 30
#define FEED_STORY_GROUPS_MAX 20
typedef struct feed_story_group {
    store_user author;
    int n;
    store_post stories[FEED_STORIES_PER_AUTHOR]; /* oldest first, as they are watched */
    bool seen[FEED_STORIES_PER_AUTHOR];
    int64_t latest_id; /* the group's cursor */
} feed_story_group;
/* Active stories of the viewer and the accounts they follow (minus muted), grouped by author,
 * the group with the newest story first; groups below cursor (a latest_id, 0 = top). A group
 * shows an author's first FEED_STORIES_PER_AUTHOR active stories; limit is capped at
 * FEED_STORY_GROUPS_MAX. */
int feed_stories(db *d, int64_t viewer, int64_t cursor, int limit, feed_story_group *out,
                 int64_t *next);

#endif
