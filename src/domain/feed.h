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

#include "domain/errors.h"
#include "domain/feed_cache.h"
#include "store/posts.h"
#include "store/tags.h"
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
    const feed_shared_list *list;
    const store_feed_row **items;
    int n;
    feed_cursor next; /* id 0 at the end */
} feed_page;

void feed_page_free(feed_page *page);

/* What a client asks of a feed: the position, the page size and an optional post type. */
typedef struct feed_query {
    feed_cursor cursor;
    int limit;
    const char *type; /* NULL = every type; else one of FEED_TYPES */
} feed_query;
/* The post types a feed can be narrowed to (?type=): as one string for messages, and as a
 * NULL-terminated list the checks and the API's declarations share. */
#define FEED_TYPES "text, image, video, reel, share"
extern const char *const feed_types[];
bool feed_type_valid(const char *type);

/* A page examines at most this many candidates: when that many in a row were hidden from the
 * viewer (or of another type), the page is returned short, with a cursor to go on from. Until
 * then pages are refilled, so a page is short only at the end of the feed. */
#define FEED_SCAN_MAX 1000

/* Each fills a page of up to q->limit items after q->cursor; returns the item count or a
 * negative ERR_* (the page is empty then). viewer 0 is anonymous where allowed. */
int feed_home(db *d, const store_user *viewer, const feed_query *q, feed_page *out);
int feed_trending(db *d, int64_t viewer, const feed_query *q, feed_page *out);
int feed_hashtag(db *d, int64_t viewer, int64_t hashtag_id, const feed_query *q, feed_page *out);
/* A page of me's saved posts, newest save first, saves below before_id. A save outlives a
 * change of visibility or a block, so each is re-checked here; batches follow until the page
 * is full, so a page is short only at the end (or after FEED_SCAN_MAX saves examined). Fills
 * posts and authors (limit each) and returns how many; *next is the cursor of the next page, 0
 * when there is none. */
int feed_saved(db *d, const store_user *me, int64_t before_id, int limit, store_post *posts,
               store_user *authors, int64_t *next, domain_error *err);
/* The hashtag a client named (with or without '#'). ERR_NOT_FOUND "hashtag_not_found" for a
 * malformed or unknown one, and (public_only, GET /hashtags/:tag) for one no public post of a
 * public account carries, so a tag used only in narrower posts looks exactly like one never
 * used. Otherwise (the tag's feed) an unknown well-formed tag loads as id 0: its page is then
 * empty, like the page of a tag whose posts the viewer may not see. */
int feed_hashtag_get(db *d, const char *tag, bool public_only, store_hashtag *out,
                     domain_error *err);
/* An author's posts (not stories) the viewer may see, newest first (mutes do not apply: the
 * viewer came to this profile). */
int feed_profile(db *d, int64_t viewer, int64_t author_id, const feed_query *q, feed_page *out);
/* A circle feed: the posts by the members of one of the viewer's circles that the viewer may
 * see, newest first, minus muted authors. Someone else's circle is ERR_NOT_FOUND (checked by
 * the caller through circles_get). */
int feed_circle(db *d, int64_t viewer, int64_t circle_id, const feed_query *q, feed_page *out);

/* What a list shows beside each post for a signed-in viewer: their reaction and save, read for
 * the whole list at once (one statement per STORE_POSTS_BY_IDS_MAX posts, never one per post).
 * out gets n entries. */
int feed_viewer_states(db *d, int64_t viewer, const store_post *const *posts, int n,
                       store_viewer_state *out);
/* The sources of the shares among posts[0..n), as the viewer may see them (viewer 0 =
 * anonymous): src[i] is the source's row, or NULL when posts[i] is no share or the viewer may
 * not see its source (the same gate as GET /posts/:id). The rows are owned by *rows (free it);
 * all of them are read together. */
int feed_share_sources(db *d, int64_t viewer, const store_post *const *posts, int n,
                       store_feed_row **rows, const store_feed_row **src);

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
