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

static void feed_home_handler(api_ctx *c)
{
    const char *mode = http_req_query(c->req, "mode");
    if (mode && !strcmp(mode, "layered")) {
        api_feed_layered(c);
        return;
    }
    feed_query q;
    if (read_feed_query(c->req, c->res, false, &q))
        answer_feed(c->res, c->db, &c->principal.user, run_home, 0, false, &q);
}

static void feed_trending_handler(api_ctx *c)
{
    feed_query q;
    if (read_feed_query(c->req, c->res, true, &q))
        answer_feed(c->res, c->db, c->authed ? &c->principal.user : NULL, run_trending, 0, true,
                    &q);
}

static void feed_circle_handler(api_ctx *c)
{
    feed_query q;
    if (!read_feed_query(c->req, c->res, false, &q))
        return;
    /* the owner's view: anyone else's circle (or none) is the same 404 as GET /circles/:id */
    int64_t id = 0;
    store_circle circle;
    domain_error err = {0};
    if (!id_parse(http_req_param(c->req, "id"), &id))
        id = 0; /* no circle has it */
    int rc = circles_get(c->db, &c->principal.user, id, &circle, &err);
    if (rc < 0) {
        api_fail(c->res, rc, &err);
        return;
    }
    answer_feed(c->res, c->db, &c->principal.user, run_circle, circle.id, false, &q);
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
static bool read_hashtag(api_ctx *c, bool public_only, store_hashtag *h)
{
    domain_error err = {0};
    int rc = feed_hashtag_get(c->db, http_req_param(c->req, "tag"), public_only, h, &err);
    if (rc < 0)
        api_fail(c->res, rc, &err);
    return rc == 0;
}

static void hashtags_get_handler(api_ctx *c)
{
    store_hashtag h;
    if (!read_hashtag(c, true, &h))
        return;
    http_res_json(c->res, 200, json_pack("{s:s, s:I, s:o}", "tag", h.tag, "post_count",
                                         (json_int_t)h.post_count, "created_at",
                                         json_time(h.created_at)));
}

static void hashtags_posts_handler(api_ctx *c)
{
    feed_query q;
    store_hashtag h;
    if (!read_feed_query(c->req, c->res, false, &q) || !read_hashtag(c, false, &h))
        return;
    answer_feed(c->res, c->db, c->authed ? &c->principal.user : NULL, run_hashtag, h.id, false,
                &q);
}

json_t *api_story_groups_json(const feed_story_group *groups, int n)
{
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
    return items;
}

static void stories_handler(api_ctx *c)
{
    int64_t cursor, next;
    int limit;
    if (!api_page(c->req, c->res, &cursor, &limit))
        return;
    if (limit > FEED_STORY_GROUPS_MAX)
        limit = FEED_STORY_GROUPS_MAX;
    feed_story_group *groups = api_alloc(c->req, c->res, (size_t)limit, sizeof *groups);
    if (!groups)
        return;
    int n = feed_stories(c->db, c->viewer, cursor, limit, groups, &next);
    if (n < 0) {
        api_fail(c->res, ERR_DB, NULL);
        return;
    }
    json_t *items = api_story_groups_json(groups, n);
    http_res_json(c->res, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor",
                                         next ? json_id(next) : json_null()));
}

/* A limit's value as text, so descriptions follow the constant. */
#define TEXT_OF(x) TEXT_OF_(x)
#define TEXT_OF_(x) #x

#define FEED_TYPE_QUERY                                                                         \
    {.name = "type", .type = API_STRING, .values = feed_types,                                 \
     .about = "only posts of this type"}

static const api_field feed_query_fields[] = {API_PAGE_QUERY, FEED_TYPE_QUERY, {0}};
static const char *const home_modes[] = {"chronological", "layered", NULL};
static const api_field home_query[] = {
    {.name = "cursor", .type = API_STRING, .max_len = 48,
     .about = "next_cursor of the previous page (an id; layered mode: opaque)"},
    {.name = "limit", .type = API_INT, .bounded = true, .minimum = 1, .maximum = API_PAGE_MAX,
     .about = "items per page (default 20)"},
    FEED_TYPE_QUERY,
    {.name = "mode", .type = API_STRING, .values = home_modes,
     .about = "chronological (the default) or layered: the story tray, then circle posts and "
              "following, then recommended posts once the following runs dry (docs/discovery.md)"},
    {0},
};
static const api_field trending_query[] = {
    {.name = "cursor", .type = API_STRING,
     .about = "next_cursor of the previous page (opaque: the ranking position and an id)"},
    {.name = "limit", .type = API_INT, .bounded = true, .minimum = 1, .maximum = API_PAGE_MAX,
     .about = "items per page (default 20)"},
    FEED_TYPE_QUERY,
    {0},
};
static const api_field page_query[] = {API_PAGE_QUERY, {0}};

#define FEED_PAGE_ABOUT                                                                         \
    "every post passes the same visibility rules as GET /posts/{id}. A page holds `limit` "    \
    "items unless it is the last (or " TEXT_OF(FEED_SCAN_MAX) " candidates in a row were hidden); " \
    "follow `next_cursor` until it is null."

static const api_route routes[] = {
    {"GET", "/api/v1/feed/home", feed_home_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .query = home_query, .operation_id = "homeFeed",
     .summary = "Your home feed: your posts and those of accounts you follow, newest first",
     .description = "Muted authors are left out; " FEED_PAGE_ABOUT, .response = "page:Post",
     .response_about = "A page of posts"},
    {"GET", "/api/v1/feed/trending", feed_trending_handler, HTTP_BLOCKING, API_OPTIONAL,
     .query = trending_query, .operation_id = "trendingFeed",
     .summary = "Public posts ranked by time-decayed engagement",
     .description = "hot_at = created_at + 6 h x log2(1 + likes + 2 comments + 3 shares + 2 "
                    "saves + views/10); see docs/social.md. Anonymous allowed.",
     .response = "page:Post", .response_about = "A page of posts"},
    {"GET", "/api/v1/feed/circles/:id", feed_circle_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .query = feed_query_fields, .operation_id = "circleFeed",
     .summary = "A circle feed: posts by the members of one of your circles that you may see, "
                "newest first",
     .description = "The circle owner only (anyone else, or an unknown id: 404 "
                    "circle_not_found). Muted authors are left out; " FEED_PAGE_ABOUT,
     .response = "page:Post", .response_about = "A page of posts"},
    {"GET", "/api/v1/stories", stories_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .query = page_query, .operation_id = "stories",
     .summary = "Active stories of you and the accounts you follow, grouped by author, with seen "
                "flags",
     .description = "A page holds at most " TEXT_OF(FEED_STORY_GROUPS_MAX) " groups, whatever "
                    "`limit` asks.",
     .response = "page:StoryGroup", .response_about = "A page of story groups"},
    {"GET", "/api/v1/hashtags/:tag", hashtags_get_handler, HTTP_BLOCKING, API_ANONYMOUS,
     .operation_id = "hashtag",
     .summary = "A hashtag and its count of live public posts of public accounts (404 when there "
                "are none)",
     .response = "Hashtag", .response_about = "The hashtag"},
    {"GET", "/api/v1/hashtags/:tag/posts", hashtags_posts_handler, HTTP_BLOCKING, API_OPTIONAL,
     .query = feed_query_fields, .operation_id = "hashtagPosts",
     .summary = "Posts with a hashtag that the viewer may see, newest first",
     .response = "page:Post", .response_about = "A page of posts"},
};

API_MODULE(feed, "Feeds: home, trending, circles, stories and hashtags", routes);
