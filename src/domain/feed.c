/* SPDX-License-Identifier: MIT
 *
 * Feeds: see feed.h. Candidate ids come in batches and their posts are read by id; since the
 * filter can drop some, the loop reads more batches (bounded) until the page is full or the
 * candidates run out, and the cursor is the last candidate examined, so no post is skipped or
 * repeated between pages.
 */
#include "domain/feed.h"
#include "domain/tags.h"

#include "core/util.h"
#include "domain/feed_cache.h"
#include "domain/posts.h"
#include "store/graph.h"

#include <stdlib.h>
#include <string.h>

typedef struct feed_source {
    int64_t viewer;
    int64_t arg; /* home: following many accounts; hashtags, profiles, circles: the id */
    bool drop_muted;
    const char *type; /* only posts of this type; NULL = all */
    bool excludes; /* the viewer blocks, mutes or is blocked by someone */
    /* candidate ids strictly after `after`, in feed order, with their sort keys; a source
     * that knows the viewer's exclusions sets excludes */
    int (*fetch)(db *d, struct feed_source *src, feed_cursor after, int64_t *keys, int64_t *ids,
                 int max);
} feed_source;

/* Above this many followees the home feed walks posts newest first instead of reading each
 * followee's posts (see store_post_home_ids). */
#define HOME_WALK_FOLLOWEES 64

static void keys_are_ids(int64_t *keys, const int64_t *ids, int n)
{
    for (int i = 0; i < n; i++)
        keys[i] = ids[i];
}

static int fetch_home(db *d, feed_source *src, feed_cursor after, int64_t *keys, int64_t *ids,
                      int max)
{
    int n = feed_cache_home_ids(d, src->viewer, src->arg != 0, after.id, ids, max,
                                &src->excludes);
    keys_are_ids(keys, ids, n);
    return n;
}

static int fetch_trending(db *d, feed_source *src, feed_cursor after, int64_t *keys,
                          int64_t *ids, int max)
{
    return feed_cache_trending_ids(d, after.key, after.id, keys, ids, max);
}

static int fetch_hashtag(db *d, feed_source *src, feed_cursor after, int64_t *keys,
                         int64_t *ids, int max)
{
    int n = store_hashtag_post_ids(d, src->arg, after.id, ids, max);
    keys_are_ids(keys, ids, n);
    return n;
}

static int fetch_author(db *d, feed_source *src, feed_cursor after, int64_t *keys, int64_t *ids,
                        int max)
{
    int n = store_author_post_ids(d, src->arg, after.id, ids, max);
    keys_are_ids(keys, ids, n);
    return n;
}

static int fetch_circle(db *d, feed_source *src, feed_cursor after, int64_t *keys, int64_t *ids,
                        int max)
{
    int n = store_circle_post_ids(d, src->arg, after.id, ids, max);
    keys_are_ids(keys, ids, n);
    return n;
}

const char *const feed_types[] = {"text", "image", "video", "reel", "share", NULL};

bool feed_type_valid(const char *type)
{
    for (const char *const *t = feed_types; *t; t++)
        if (!strcmp(type, *t))
            return true;
    return false;
}

/* The filter step: the visibility gate, plus the viewer's mutes on feeds (the home source leaves
 * muted authors out already, but its ids may be a moment old). */
static bool keep(db *d, const feed_source *src, const store_feed_row *r)
{
    if (src->type && strcmp(r->post.type, src->type))
        return false;
    if (src->drop_muted && src->viewer && r->rel.muted)
        return false;
    return posts_can_view_known(d, src->viewer, &r->author, &r->post, &r->rel);
}

/* Reads the posts of ids[0..n) into rows (in any order, missing ones left out) and sets
 * found[i] to the row of ids[i] or NULL. */
static int read_posts(db *d, const feed_source *src, const int64_t *ids, int n,
                      store_feed_row *rows, store_feed_row **found)
{
    int got = 0;
    for (int off = 0; off < n; off += STORE_POSTS_BY_IDS_MAX) {
        int chunk = n - off < STORE_POSTS_BY_IDS_MAX ? n - off : STORE_POSTS_BY_IDS_MAX;
        int rc = store_posts_by_ids(d, src->viewer, src->excludes, ids + off, chunk, rows + got);
        if (rc < 0)
            return rc;
        got += rc;
    }
    for (int i = 0; i < n; i++) {
        found[i] = NULL;
        for (int j = 0; j < got; j++)
            if (rows[j].post.id == ids[i]) {
                found[i] = &rows[j];
                break;
            }
    }
    return got;
}

/* Keeps the candidates of one batch that pass the filter, until the page is full; returns how
 * many candidates were examined. Rows of the first batch stay where they were read; those of
 * later ones are copied to spill (NULL for the first), which has room for a page. */
static int take(db *d, const feed_source *src, const int64_t *keys, const int64_t *ids, int got,
                store_feed_row **found, int limit, store_feed_row *spill, feed_page *page,
                int *copied, feed_cursor *cursor)
{
    int i = 0;
    for (; i < got && page->n < limit; i++) {
        *cursor = (feed_cursor){keys[i], ids[i]};
        if (!found[i] || !keep(d, src, found[i]))
            continue;
        const store_feed_row *r = found[i];
        if (spill) {
            store_feed_row *slot = &spill[(*copied)++];
            *slot = *found[i];
            r = slot;
        }
        page->items[page->n++] = r;
    }
    return i;
}

static int collect(db *d, feed_source *src, feed_cursor cursor, int limit, feed_page *page)
{
    /* Three probes once instead of three per post, for the many who block and mute no one
     * (the home source keeps the answer with the viewer's timeline). */
    if (src->fetch != fetch_home)
        src->excludes = src->viewer && store_has_exclusions(d, src->viewer);
    /* The sources already leave out most of what the filter would drop, and reading
     * candidates costs in proportion to how many are asked for, so ask for a few more than a
     * page; more batches follow while the filter eats too many (up to FEED_SCAN_MAX). */
    int batch = limit + 2, examined = 0, copied = 0;
    memset(page, 0, sizeof *page);
    /* not zeroed: rows are large and the reader fills every field of those it uses. The first
     * batch is read into rows[0..batch), later ones into scratch, whose kept rows are copied to
     * rows[batch..batch + limit). */
    page->rows = xmalloc((size_t)(batch + limit) * sizeof *page->rows);
    page->items = xmalloc((size_t)limit * sizeof *page->items);
    store_feed_row *scratch = NULL;
    int64_t *keys = xmalloc((size_t)batch * sizeof *keys);
    int64_t *ids = xmalloc((size_t)batch * sizeof *ids);
    store_feed_row **found = xmalloc((size_t)batch * sizeof *found);
    int rc = 0;
    for (int round = 0; page->n < limit; round++) {
        if (round == 1)
            scratch = xmalloc((size_t)batch * sizeof *scratch);
        int got = src->fetch(d, src, cursor, keys, ids, batch);
        if (got >= 0)
            rc = read_posts(d, src, ids, got, round ? scratch : page->rows, found);
        if (got < 0 || rc < 0) {
            rc = got < 0 ? got : rc;
            break;
        }
        int i = take(d, src, keys, ids, got, found, limit, round ? page->rows + batch : NULL, page,
                     &copied, &cursor);
        examined += i;
        /* More may follow when this batch was full or we stopped inside it. */
        if (got == batch || i < got)
            page->next = cursor;
        else
            memset(&page->next, 0, sizeof page->next);
        if (got < batch || examined >= FEED_SCAN_MAX)
            break;
    }
    free(scratch);
    free(keys);
    free(ids);
    free(found);
    /* Order step: candidates arrive in the source's order, which is the order for now; the
     * ranker of the recommendations work reorders items[0..n) here. */
    if (rc < 0) {
        feed_page_free(page);
        return rc;
    }
    return page->n;
}

void feed_page_free(feed_page *page)
{
    free(page->rows);
    feed_cache_list_release(page->list);
    free(page->items);
    memset(page, 0, sizeof *page);
}

int feed_home(db *d, const store_user *viewer, const feed_query *q, feed_page *out)
{
    feed_source src = {.viewer = viewer->id,
                       .arg = viewer->following_count > HOME_WALK_FOLLOWEES,
                       .drop_muted = true,
                       .type = q->type,
                       .fetch = fetch_home};
    return collect(d, &src, q->cursor, q->limit, out);
}

/* Trending from the shared list's own rows: for an anonymous viewer, or one with no blocks or
 * mutes either way, the relation the rows were read with (none) is theirs too. Returns -1 when
 * the page must be read from the database instead (also when the list ran out before the page
 * was full, so that pages are short only at the end). */
static int trending_from_list(db *d, int64_t viewer, const feed_query *q, feed_page *page)
{
    const feed_shared_list *l = feed_cache_trending(d);
    if (!l)
        return -1;
    feed_cursor cursor = q->cursor;
    int limit = q->limit;
    int start = feed_trending_list_start(l, cursor.key, cursor.id);
    bool complete = l->n < FEED_CACHE_TRENDING_IDS;
    if ((start + limit > l->n && !complete) || (viewer && store_has_exclusions(d, viewer))) {
        feed_cache_list_release(l);
        return -1;
    }
    memset(page, 0, sizeof *page);
    page->list = l;
    page->items = xmalloc((size_t)limit * sizeof *page->items);
    int i = start;
    for (; i < l->n && page->n < limit; i++) {
        const store_feed_row *r = &l->rows[i];
        cursor = (feed_cursor){l->keys[i], l->ids[i]};
        if (r->post.id && (!q->type || !strcmp(r->post.type, q->type)) &&
            posts_can_view_known(d, viewer, &r->author, &r->post, &r->rel))
            page->items[page->n++] = r;
    }
    if (page->n < limit && !complete) {
        feed_page_free(page);
        return -1;
    }
    if (i < l->n || !complete)
        page->next = cursor;
    return page->n;
}

int feed_trending(db *d, int64_t viewer, const feed_query *q, feed_page *out)
{
    int n = trending_from_list(d, viewer, q, out);
    if (n >= 0)
        return n;
    feed_source src = {
        .viewer = viewer, .drop_muted = true, .type = q->type, .fetch = fetch_trending};
    return collect(d, &src, q->cursor, q->limit, out);
}

int feed_hashtag(db *d, int64_t viewer, int64_t hashtag_id, const feed_query *q, feed_page *out)
{
    feed_source src = {
        .viewer = viewer, .arg = hashtag_id, .type = q->type, .fetch = fetch_hashtag};
    return collect(d, &src, q->cursor, q->limit, out);
}

int feed_profile(db *d, int64_t viewer, int64_t author_id, const feed_query *q, feed_page *out)
{
    feed_source src = {.viewer = viewer, .arg = author_id, .type = q->type, .fetch = fetch_author};
    return collect(d, &src, q->cursor, q->limit, out);
}

int feed_circle(db *d, int64_t viewer, int64_t circle_id, const feed_query *q, feed_page *out)
{
    feed_source src = {.viewer = viewer,
                       .arg = circle_id,
                       .drop_muted = true,
                       .type = q->type,
                       .fetch = fetch_circle};
    return collect(d, &src, q->cursor, q->limit, out);
}

int feed_viewer_states(db *d, int64_t viewer, const store_post *const *posts, int n,
                       store_viewer_state *out)
{
    int64_t ids[STORE_POSTS_BY_IDS_MAX];
    for (int off = 0; off < n; off += STORE_POSTS_BY_IDS_MAX) {
        int chunk = n - off < STORE_POSTS_BY_IDS_MAX ? n - off : STORE_POSTS_BY_IDS_MAX;
        for (int i = 0; i < chunk; i++)
            ids[i] = posts[off + i]->id;
        int rc = store_viewer_states(d, viewer, ids, chunk, out + off);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int feed_share_sources(db *d, int64_t viewer, const store_post *const *posts, int n,
                       store_feed_row **rows, const store_feed_row **src)
{
    int64_t *ids = xmalloc((size_t)(n ? n : 1) * sizeof *ids);
    int wanted = 0, got = 0, rc = 0;
    for (int i = 0; i < n; i++) {
        src[i] = NULL;
        if (posts[i]->share_of)
            ids[wanted++] = posts[i]->share_of;
    }
    *rows = NULL;
    if (wanted) {
        /* the exclusion probes only for pages that hold a share */
        feed_source s = {.viewer = viewer, .excludes = viewer && store_has_exclusions(d, viewer)};
        store_feed_row **found = xmalloc((size_t)wanted * sizeof *found);
        *rows = xmalloc((size_t)wanted * sizeof **rows);
        got = read_posts(d, &s, ids, wanted, *rows, found);
        rc = got < 0 ? got : 0;
        for (int i = 0, k = 0; rc == 0 && i < n; i++) {
            if (!posts[i]->share_of)
                continue;
            const store_feed_row *r = found[k++];
            if (r && posts_can_view_known(d, viewer, &r->author, &r->post, &r->rel))
                src[i] = r;
        }
        free(found);
    }
    free(ids);
    if (rc < 0) {
        free(*rows);
        *rows = NULL;
    }
    return rc;
}

/* Fills group out with the stories of author the viewer may see; false when none is. */
static int story_group(db *d, int64_t viewer, int64_t author, int64_t latest, int64_t now,
                       feed_story_group *g)
{
    if (store_user_by_id(d, author, &g->author) < 0)
        return 0;
    int k = store_stories_of(d, author, now, g->stories, FEED_STORIES_PER_AUTHOR);
    if (k < 0)
        return k;
    g->n = 0;
    for (int j = 0; j < k; j++) {
        if (!posts_can_view(d, viewer, &g->author, &g->stories[j]))
            continue;
        g->stories[g->n] = g->stories[j];
        g->seen[g->n++] = viewer == author || store_viewed(d, g->stories[j].id, viewer);
    }
    g->latest_id = latest;
    return g->n > 0;
}

int feed_stories(db *d, int64_t viewer, int64_t cursor, int limit, feed_story_group *out,
                 int64_t *next)
{
    enum { fetch = FEED_STORY_GROUPS_MAX + 1 };
    int64_t authors[fetch], latest[fetch], now = now_ms();
    if (limit > FEED_STORY_GROUPS_MAX)
        limit = FEED_STORY_GROUPS_MAX;
    /* Authors whose stories are all hidden from the viewer (a circle's, say) leave no group, so
     * more authors are read until the page is full: a page is short only at the end. */
    int n = 0, examined = 0;
    *next = 0;
    for (;;) {
        int got = store_story_authors(d, viewer, now, cursor, authors, latest, fetch);
        if (got < 0)
            return got;
        int i = 0;
        for (; i < got && n < limit; i++) {
            cursor = latest[i];
            int rc = story_group(d, viewer, authors[i], latest[i], now, &out[n]);
            if (rc < 0)
                return rc;
            n += rc;
        }
        examined += i;
        if (i < got || (got == fetch && (n == limit || examined >= FEED_SCAN_MAX))) {
            *next = cursor; /* more authors wait */
            break;
        }
        if (got < fetch)
            break;
    }
    return n;
}

int feed_hashtag_get(db *d, const char *tag, bool public_only, store_hashtag *out,
                     domain_error *err)
{
    char norm[TAGS_HASHTAG_BYTES];
    bool well_formed = tags_normalize_hashtag(tag, norm, sizeof norm);
    int rc = well_formed ? store_hashtag_get(d, norm, out) : ERR_NOT_FOUND;
    if (rc == 0 && public_only && out->post_count == 0)
        rc = ERR_NOT_FOUND;
    if (rc == ERR_NOT_FOUND && well_formed && !public_only) {
        memset(out, 0, sizeof *out);
        return 0;
    }
    if (rc == ERR_NOT_FOUND)
        return domain_fail(err, rc, "hashtag_not_found", "no such hashtag");
    return rc < 0 ? domain_db_failed(err, d, "hashtag") : 0;
}

int feed_saved(db *d, const store_user *me, int64_t before_id, int limit, store_post *posts,
               store_user *authors, int64_t *next, domain_error *err)
{
    int batch = limit + 1, kept = 0, n = 0, examined = 0, i = 0;
    int64_t cursor = before_id;
    store_post *rows = xcalloc((size_t)batch, sizeof *rows);
    int64_t *ids = xcalloc((size_t)batch, sizeof *ids);
    do {
        n = store_save_list(d, me->id, cursor, ids, rows, batch);
        for (i = 0; n > 0 && i < n && kept < limit; i++) {
            cursor = ids[i];
            if (store_user_by_id(d, rows[i].author_id, &authors[kept]) == 0 &&
                posts_can_view(d, me->id, &authors[kept], &rows[i]))
                posts[kept++] = rows[i];
        }
        examined += i;
    } while (n == batch && kept < limit && examined < FEED_SCAN_MAX);
    free(rows);
    free(ids);
    if (n < 0)
        return domain_db_failed(err, d, "saved posts");
    /* more follow when the last batch was full or the page filled inside it */
    *next = n == batch || i < n ? cursor : 0;
    return kept;
}
