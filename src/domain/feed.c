/* SPDX-License-Identifier: MIT
 *
 * Feeds: see feed.h. Candidates come in batches; since the filter can drop some, the loop reads
 * more batches (bounded) until the page is full or the candidates run out, and the cursor is the
 * last candidate examined, so no post is skipped or repeated between pages.
 */
#include "domain/feed.h"

#include "core/util.h"
#include "domain/posts.h"
#include "store/graph.h"

#include <stdlib.h>
#include <string.h>

#define MAX_BATCHES 4

typedef struct feed_source {
    int64_t viewer;
    int64_t arg; /* home: following many accounts; hashtags: the hashtag id */
    bool drop_muted;
    /* candidates strictly after `after`, in feed order, with their authors */
    int (*fetch)(db *d, const struct feed_source *src, feed_cursor after, store_feed_row *out,
                 int max);
    int64_t (*key)(const store_post *p);
} feed_source;

/* Above this many followees the home feed walks posts newest first instead of reading each
 * followee's posts (see store_post_home_candidates). */
#define HOME_WALK_FOLLOWEES 64

static int64_t key_id(const store_post *p)
{
    return p->id;
}

static int64_t key_hot(const store_post *p)
{
    return p->hot_at;
}

static int fetch_home(db *d, const feed_source *src, feed_cursor after, store_feed_row *out,
                      int max)
{
    return store_post_home_candidates(d, src->viewer, src->arg != 0, after.id, out, max);
}

static int fetch_trending(db *d, const feed_source *src, feed_cursor after,
                          store_feed_row *out, int max)
{
    return store_post_trending(d, src->viewer, after.key, after.id, out, max);
}

static int fetch_hashtag(db *d, const feed_source *src, feed_cursor after, store_feed_row *out,
                         int max)
{
    return store_hashtag_posts(d, src->viewer, src->arg, after.id, out, max);
}

/* The filter step: the visibility gate, plus the viewer's mutes on discovery feeds. */
static bool keep(db *d, const feed_source *src, const store_feed_row *r)
{
    if (src->drop_muted && src->viewer && r->rel.muted)
        return false;
    return posts_can_view_known(d, src->viewer, &r->author, &r->post, &r->rel);
}

static int collect(db *d, const feed_source *src, feed_cursor cursor, int limit, feed_item *out,
                   feed_cursor *next)
{
    /* The sources already leave out most of what the filter would drop, and reading
     * candidates costs in proportion to how many are asked for, so ask for a few more than a
     * page; another batch follows when the filter ate too many. */
    int batch = limit + 2;
    /* not zeroed: the decoder fills every field, and a page's rows are large */
    store_feed_row *cand = xmalloc((size_t)batch * sizeof *cand);
    int n = 0, rc = 0;
    memset(next, 0, sizeof *next);
    for (int round = 0; round < MAX_BATCHES && n < limit; round++) {
        int got = src->fetch(d, src, cursor, cand, batch);
        if (got < 0) {
            rc = got;
            break;
        }
        int i = 0;
        for (; i < got && n < limit; i++) {
            cursor = (feed_cursor){src->key(&cand[i].post), cand[i].post.id};
            if (!keep(d, src, &cand[i]))
                continue;
            out[n].post = cand[i].post;
            out[n++].author = cand[i].author;
        }
        /* More may follow when this batch was full or we stopped inside it. */
        if (got == batch || i < got)
            *next = cursor;
        else
            memset(next, 0, sizeof *next);
        if (got < batch)
            break;
    }
    free(cand);
    /* Order step: candidates arrive in the source's order, which is the order for now; the
     * ranker of the recommendations work reorders out[0..n) here. */
    return rc < 0 ? rc : n;
}

int feed_home(db *d, const store_user *viewer, feed_cursor cursor, int limit, feed_item *out,
              feed_cursor *next)
{
    feed_source src = {.viewer = viewer->id,
                       .arg = viewer->following_count > HOME_WALK_FOLLOWEES,
                       .fetch = fetch_home,
                       .key = key_id};
    return collect(d, &src, cursor, limit, out, next);
}

int feed_trending(db *d, int64_t viewer, feed_cursor cursor, int limit, feed_item *out,
                  feed_cursor *next)
{
    feed_source src = {.viewer = viewer, .drop_muted = true, .fetch = fetch_trending,
                       .key = key_hot};
    return collect(d, &src, cursor, limit, out, next);
}

int feed_hashtag(db *d, int64_t viewer, int64_t hashtag_id, feed_cursor cursor, int limit,
                 feed_item *out, feed_cursor *next)
{
    feed_source src = {.viewer = viewer, .arg = hashtag_id, .fetch = fetch_hashtag,
                       .key = key_id};
    return collect(d, &src, cursor, limit, out, next);
}

int feed_stories(db *d, int64_t viewer, int64_t cursor, int limit, feed_story_group *out,
                 int64_t *next)
{
    int64_t authors[FEED_STORY_GROUPS_MAX + 1], latest[FEED_STORY_GROUPS_MAX + 1], now = now_ms();
    if (limit > FEED_STORY_GROUPS_MAX)
        limit = FEED_STORY_GROUPS_MAX;
    int got = store_story_authors(d, viewer, now, cursor, authors, latest, limit + 1);
    if (got < 0)
        return got;
    int n = 0;
    *next = 0;
    *next = got > limit ? latest[limit - 1] : 0;
    for (int i = 0; i < got && i < limit; i++) {
        feed_story_group *g = &out[n];
        if (store_user_by_id(d, authors[i], &g->author) < 0)
            continue;
        int k = store_stories_of(d, authors[i], now, g->stories, FEED_STORIES_PER_AUTHOR);
        if (k < 0)
            return k;
        g->n = 0;
        for (int j = 0; j < k; j++) {
            if (!posts_can_view(d, viewer, &g->author, &g->stories[j]))
                continue;
            g->stories[g->n] = g->stories[j];
            g->seen[g->n++] = viewer == authors[i] || store_viewed(d, g->stories[j].id, viewer);
        }
        g->latest_id = latest[i];
        if (g->n)
            n++;
    }
    return n;
}
