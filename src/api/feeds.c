/* SPDX-License-Identifier: MIT
 *
 * /api/v1/feed/home, /api/v1/feed/trending, /api/v1/stories and /api/v1/hashtags: the feeds of
 * domain/feed.c as JSON pages.
 */
#include "api/api.h"

#include "domain/graph.h"

#include "core/id.h"
#include "domain/circles.h"
#include "domain/feed.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Trending cursors carry two numbers ("<hot_at>_<id>"); the other feeds use a plain id. Both are
 * opaque to clients. ?type= narrows a feed to one post type. */
static bool read_feed_query(http_req *req, http_res *res, bool two_part, feed_query *q)
{
    const char *raw = http_req_query(req, "cursor");
    feed_cursor *c = &q->cursor;
    memset(q, 0, sizeof *q);
    q->type = http_req_query(req, "type");
    if (q->type && !feed_type_valid(q->type)) {
        http_res_error(res, 422, "validation_failed", "type must be one of " FEED_TYPES,
                       json_pack("{s:s, s:s, s:s}", "field", "type", "reason", "not_allowed",
                                 "allowed", FEED_TYPES));
        return false;
    }
    if (!two_part || !raw || !*raw) {
        if (!api_page(req, res, &c->id, &q->limit))
            return false;
        c->key = c->id;
        return true;
    }
    char tail;
    if (sscanf(raw, "%" SCNd64 "_%" SCNd64 "%c", &c->key, &c->id, &tail) != 2 || c->id <= 0) {
        api_invalid(res, &(jv_error){.field = "cursor", .reason = "invalid_format"});
        return false;
    }
    return api_limit(req, res, &q->limit);
}

typedef int (*feed_fn)(db *d, const store_user *viewer, int64_t arg, const feed_query *q,
                       feed_page *out);

static int run_home(db *d, const store_user *viewer, int64_t arg, const feed_query *q,
                    feed_page *out)
{
    return feed_home(d, viewer, q, out);
}

static int run_trending(db *d, const store_user *viewer, int64_t arg, const feed_query *q,
                        feed_page *out)
{
    return feed_trending(d, viewer ? viewer->id : 0, q, out);
}

static int run_hashtag(db *d, const store_user *viewer, int64_t arg, const feed_query *q,
                       feed_page *out)
{
    return feed_hashtag(d, viewer ? viewer->id : 0, arg, q, out);
}

static int run_profile(db *d, const store_user *viewer, int64_t arg, const feed_query *q,
                       feed_page *out)
{
    return feed_profile(d, viewer ? viewer->id : 0, arg, q, out);
}

static int run_circle(db *d, const store_user *viewer, int64_t arg, const feed_query *q,
                      feed_page *out)
{
    return feed_circle(d, viewer->id, arg, q, out);
}

/* Runs a feed for this request's viewer (NULL = anonymous) and answers the page, written
 * straight to JSON text (no tree: this is the hottest list there is). */
static void answer_feed(http_res *res, db *d, const store_user *viewer, feed_fn fn, int64_t arg,
                        bool two_part, const feed_query *q)
{
    feed_page page;
    if (fn(d, viewer, arg, q, &page) < 0) {
        api_fail(res, ERR_DB, NULL);
        return;
    }
    const store_post **posts = xmalloc((size_t)(page.n ? page.n : 1) * sizeof *posts);
    const store_user **authors = xmalloc((size_t)(page.n ? page.n : 1) * sizeof *authors);
    for (int i = 0; i < page.n; i++) {
        posts[i] = &page.items[i]->post;
        authors[i] = &page.items[i]->author;
    }
    char next[48];
    if (!two_part)
        snprintf(next, sizeof next, "%" PRId64, page.next.id);
    else
        snprintf(next, sizeof next, "%" PRId64 "_%" PRId64, page.next.key, page.next.id);
    api_send_posts_page(res, d, viewer ? viewer->id : 0, posts, authors, page.n,
                        page.next.id ? next : NULL);
    free(posts);
    free(authors);
    feed_page_free(&page);
}

void api_feed_home(http_req *req, http_res *res)
{
    feed_query q;
    if (!read_feed_query(req, res, false, &q))
        return;
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    answer_feed(res, d, &p.user, run_home, 0, false, &q);
}

void api_feed_trending(http_req *req, http_res *res)
{
    feed_query q;
    bool authed;
    auth_principal p;
    if (!read_feed_query(req, res, true, &q))
        return;
    db *d = api_db(req, res);
    if (!d || !api_auth_optional(req, res, d, &p, &authed))
        return;
    answer_feed(res, d, authed ? &p.user : NULL, run_trending, 0, true, &q);
}

void api_feed_circle(http_req *req, http_res *res)
{
    feed_query q;
    if (!read_feed_query(req, res, false, &q))
        return;
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    /* the owner's view: anyone else's circle (or none) is the same 404 as GET /circles/:id */
    int64_t id = 0;
    store_circle c;
    domain_error err = {0};
    if (!id_parse(http_req_param(req, "id"), &id))
        id = 0; /* no circle has it */
    int rc = circles_get(d, &p.user, id, &c, &err);
    if (rc < 0) {
        api_fail(res, rc, &err);
        return;
    }
    answer_feed(res, d, &p.user, run_circle, c.id, false, &q);
}

void api_feed_profile(http_res *res, db *d, const store_user *viewer, int64_t author_id,
                      const feed_query *q)
{
    answer_feed(res, d, viewer, run_profile, author_id, false, q);
}

bool api_feed_query(http_req *req, http_res *res, feed_query *q)
{
    return read_feed_query(req, res, false, q);
}

/* Loads the :tag hashtag (feed_hashtag_get says which are found); answers otherwise. */
static bool read_hashtag(http_req *req, http_res *res, db *d, bool public_only, store_hashtag *h)
{
    domain_error err = {0};
    int rc = feed_hashtag_get(d, http_req_param(req, "tag"), public_only, h, &err);
    if (rc < 0)
        api_fail(res, rc, &err);
    return rc == 0;
}

void api_hashtags_get(http_req *req, http_res *res)
{
    db *d = api_db(req, res);
    store_hashtag h;
    if (!d || !read_hashtag(req, res, d, true, &h))
        return;
    http_res_json(res, 200, json_pack("{s:s, s:I, s:o}", "tag", h.tag, "post_count",
                                      (json_int_t)h.post_count, "created_at",
                                      json_time(h.created_at)));
}

void api_hashtags_posts(http_req *req, http_res *res)
{
    feed_query q;
    bool authed;
    auth_principal p;
    if (!read_feed_query(req, res, false, &q))
        return;
    db *d = api_db(req, res);
    store_hashtag h;
    if (!d || !api_auth_optional(req, res, d, &p, &authed) || !read_hashtag(req, res, d, false, &h))
        return;
    answer_feed(res, d, authed ? &p.user : NULL, run_hashtag, h.id, false, &q);
}

void api_stories(http_req *req, http_res *res)
{
    int64_t cursor, next;
    int limit;
    if (!api_page(req, res, &cursor, &limit))
        return;
    if (limit > FEED_STORY_GROUPS_MAX)
        limit = FEED_STORY_GROUPS_MAX;
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    feed_story_group *groups = api_alloc(req, res, (size_t)limit, sizeof *groups);
    if (!groups)
        return;
    int n = feed_stories(d, p.user.id, cursor, limit, groups, &next);
    if (n < 0) {
        api_fail(res, ERR_DB, NULL);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n; i++) {
        json_t *stories = json_array();
        bool unseen = false;
        for (int j = 0; j < groups[i].n; j++) {
            json_t *s = api_post_json(&groups[i].stories[j], &groups[i].author);
            json_object_set_new(s, "seen", json_boolean(groups[i].seen[j]));
            unseen |= !groups[i].seen[j];
            json_array_append_new(stories, s);
        }
        json_array_append_new(items, json_pack("{s:o, s:o, s:b}", "author",
                                               api_user_summary_json(&groups[i].author),
                                               "stories", stories, "has_unseen", unseen));
    }
    http_res_json(res, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor",
                                      next ? json_id(next) : json_null()));
}
