/* SPDX-License-Identifier: MIT
 *
 * Candidate caches for the two hottest feeds (the "hot feeds" row of the architecture's scale
 * path: in-process now, Redis later). They hold post ids only, never post contents: every page
 * is still read fresh from the database by id and passed through the visibility gate, so a
 * cache can make a feed miss a post for a bounded time at worst, never show one it should not.
 *
 * Home: per viewer, the newest FEED_CACHE_HOME_IDS candidate ids (their own posts and their
 * followees', minus muted authors), built by one query the first time and kept for the TTL.
 * Walking the posts table to find the followees' posts is what a page cost (the followees of a
 * viewer following 500 accounts wrote ~3.5% of all posts, so a page read ~800 rows); from the
 * cache a page is one read of 22 posts by primary key. Freshness:
 *   - a new post anywhere bumps a generation ("feed:posted" on the bus); a cached timeline whose
 *     generation is behind reads only the posts newer than its newest id (minus a few seconds of
 *     slack for transactions that commit out of id order) and merges them in;
 *   - a change of whom a viewer follows, mutes or blocks (or who blocks them) drops their
 *     timeline ("feed:forget" on the bus);
 *   - every entry is rebuilt after the TTL anyway.
 * Both signals travel over core/bus.h so that, with the Redis bus, every API node hears them.
 * Pages below the cached range are read from the database as before.
 *
 * Trending: one shared list of the top FEED_CACHE_TRENDING_IDS candidates (id, hot_at and the
 * post's row), re-read when older than the refresh interval (the ranking key only moves when
 * engagement does, so a second's delay in re-ranking, or in a counter, is invisible) and at
 * once after a delete, an edit or a privacy change ("feed:changed" on the bus). Every viewer
 * reads the same list, so a viewer who blocks or mutes no one (or is blocked by no one) is
 * served its rows as they are; other viewers' pages are read fresh with their relation. Deeper
 * pages go to the database.
 *
 * Exploration: For You's list of new posts with few views, shared the same way (below).
 */
#ifndef STREAMHUB_DOMAIN_FEED_CACHE_H
#define STREAMHUB_DOMAIN_FEED_CACHE_H

#include "domain/events.h"
#include "domain/interests.h"
#include "store/db.h"
#include "store/posts.h"

#include <stdbool.h>
#include <stdint.h>

#define FEED_CACHE_HOME_IDS 160
#define FEED_CACHE_TRENDING_IDS 256

/* Sets the sizes (home_entries 0 turns the home cache off, trending_refresh_ms 0 the trending
 * one) and subscribes to the bus. Call once before serving; the defaults are off. */
void feed_cache_configure(int home_entries, int64_t home_ttl_ms, int64_t trending_refresh_ms);

/* Up to max ids of the viewer's home candidates below before_id (0 = the top), newest first;
 * fewer than max means the feed ends there. many_followees as for store_post_home_ids.
 * *excludes tells store_has_exclusions of the viewer, kept with the timeline (blocks and mutes
 * drop it). */
int feed_cache_home_ids(db *d, int64_t viewer, bool many_followees, int64_t before_id, int64_t *out,
                        int max, bool *excludes);
/* Up to max trending candidates after the cursor (before_key, before_id; before_id 0 = the
 * top), in trending order, with their keys. */
int feed_cache_trending_ids(db *d, int64_t before_key, int64_t before_id, int64_t *keys,
                            int64_t *ids, int max);

/* A shared list: the ids, each post's row as an anonymous reader would read it (the relation
 * all false; rows[i].post.id is 0 for a post gone since its id was read) and its caption's
 * topics (interests_caption_topics, parsed once for every reader). keys is trending's ranking
 * key (NULL for the exploration list). Every list acquired is released. */
typedef struct feed_shared_list {
    int n;
    const int64_t *keys, *ids;
    const store_feed_row *rows;
    const interests_topic (*topics)[INTERESTS_TOPICS_PER_POST];
    const int *n_topics;
} feed_shared_list;
/* The shared trending list (the top FEED_CACHE_TRENDING_IDS); NULL when the list is off or
 * cannot be read. */
const feed_shared_list *feed_cache_trending(db *d);
/* For You's two shared lists: trending as above, and the exploration candidates ("new videos
 * with few impressions"): the newest FEED_CACHE_EXPLORE_IDS live public posts of public
 * accounts with fewer than FEED_CACHE_EXPLORE_MAX_VIEWS views (store_posts_fresh_unseen),
 * shared like trending, on the same refresh interval, and re-read as well once a new post was
 * created anywhere (the bus's "feed:posted"), so a new post is a candidate at once. Either is
 * NULL when off or unreadable; both are released. */
#define FEED_CACHE_EXPLORE_IDS 40
#define FEED_CACHE_EXPLORE_MAX_VIEWS 10
void feed_cache_for_you(db *d, const feed_shared_list **trending,
                        const feed_shared_list **exploration);
void feed_cache_list_release(const feed_shared_list *list);
/* Where the list continues after the cursor (before_id 0 = the top). */
int feed_trending_list_start(const feed_shared_list *list, int64_t before_key, int64_t before_id);

/* Signals, published on the bus (safe from any thread, after the change has committed). */
void feed_cache_posted(void);
void feed_cache_forget(int64_t user_id);
/* A post was deleted or edited, or an account's privacy changed: the trending list is re-read
 * by its next reader (its rows must never show a post that is gone). */
void feed_cache_changed(void);

/* The after-commit consumer of the domain events that change a feed: a new post (posted), an
 * edit, a delete or a privacy setting (changed), and follows, requests, unfollows, mutes and
 * blocks (forget the timelines of the users whose graph changed); subscribed by app.c. */
int feed_cache_on_event(db *d, const domain_event *ev, void *arg);

/* Counters for /metrics. */
typedef struct feed_cache_stats {
    uint64_t home_hits, home_misses, home_merges, trending_refreshes, explore_refreshes;
} feed_cache_stats;
void feed_cache_get_stats(feed_cache_stats *out);

#endif
