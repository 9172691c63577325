/* SPDX-License-Identifier: MIT
 *
 * GET /api/v1/posts/:id/similar, GET /api/v1/users/suggested and GET /api/v1/explore
 * (domain/discovery.h): posts as every list shows them and user summaries, each with a reason.
 */
#include "api/api.h"

#include "core/id.h"
#include "domain/discovery.h"

#include <stdlib.h>
#include <string.h>

static json_t *reason_json(const char *kind, const char *text)
{
    return json_pack("{s:s, s:s}", "kind", kind, "text", text);
}

/* Posts as every feed writes them for viewer, each with its reason; NULL on a database error. */
static json_t *posts_json(db *d, int64_t viewer, const discovery_post *p, int n)
{
    const store_post **posts = xmalloc((size_t)(n ? n : 1) * sizeof *posts);
    const store_user **authors = xmalloc((size_t)(n ? n : 1) * sizeof *authors);
    for (int i = 0; i < n; i++) {
        posts[i] = &p[i].row.post;
        authors[i] = &p[i].row.author;
    }
    json_t *items = api_posts_json_array(d, viewer, posts, authors, n);
    free(posts);
    free(authors);
    for (int i = 0; items && i < n; i++)
        json_object_set_new(json_array_get(items, (size_t)i), "reason",
                            reason_json(p[i].reason_kind, p[i].reason));
    return items;
}

static json_t *users_json(const discovery_user *u, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++) {
        json_t *o = api_user_summary_json(&u[i].user);
        json_object_set_new(o, "reason", reason_json(u[i].reason_kind, u[i].reason));
        json_array_append_new(a, o);
    }
    return a;
}

static int limit_of(api_ctx *c, int fallback)
{
    const char *l = http_req_query(c->req, "limit"); /* the declaration bounds it */
    return l && *l ? (int)strtol(l, NULL, 10) : fallback;
}

static void similar_handler(api_ctx *c)
{
    int64_t id;
    if (!id_parse(http_req_param(c->req, "id"), &id)) {
        http_res_error(c->res, 404, "post_not_found", "no such post", NULL);
        return;
    }
    int limit = limit_of(c, 20);
    discovery_post *p = api_alloc(c->req, c->res, (size_t)limit, sizeof *p);
    if (!p)
        return;
    domain_error err = {0};
    int n = discovery_similar(c->db, c->viewer, id, limit, p, &err);
    if (n < 0) {
        api_fail(c->res, n, &err);
        return;
    }
    json_t *items = posts_json(c->db, c->viewer, p, n);
    if (!items)
        api_fail(c->res, ERR_DB, NULL);
    else
        http_res_json(c->res, 200, json_pack("{s:o, s:n}", "items", items, "next_cursor"));
}

static void suggested_handler(api_ctx *c)
{
    int limit = limit_of(c, 20);
    discovery_user *u = api_alloc(c->req, c->res, (size_t)limit, sizeof *u);
    if (!u)
        return;
    domain_error err = {0};
    int n = discovery_suggested(c->db, c->viewer, limit, u, &err);
    if (n < 0)
        api_fail(c->res, n, &err);
    else
        http_res_json(c->res, 200,
                      json_pack("{s:o, s:n}", "items", users_json(u, n), "next_cursor"));
}

static void explore_handler(api_ctx *c)
{
    discovery_explore *e = api_alloc(c->req, c->res, 1, sizeof *e);
    if (!e)
        return;
    domain_error err = {0};
    int rc = discovery_explore_page(c->db, c->viewer, e, &err);
    if (rc < 0) {
        api_fail(c->res, rc, &err);
        return;
    }
    json_t *tags = json_array(), *shelves = json_array();
    for (int i = 0; i < e->n_shelves; i++) {
        const discovery_shelf *s = &e->shelves[i];
        json_t *posts = posts_json(c->db, c->viewer, s->posts, s->n);
        if (!posts) {
            json_decref(tags);
            json_decref(shelves);
            api_fail(c->res, ERR_DB, NULL);
            return;
        }
        bool trending = !strcmp(s->kind, "trending");
        json_array_append_new(trending ? tags : shelves,
                              json_pack("{s:s, s:o}", trending ? "tag" : "topic", s->tag,
                                        "posts", posts));
    }
    http_res_json(c->res, 200,
                  json_pack("{s:o, s:o, s:o}", "trending_hashtags", tags, "suggested_creators",
                            users_json(e->creators, e->n_creators), "shelves", shelves));
}

#define TEXT_OF(x) TEXT_OF_(x)
#define TEXT_OF_(x) #x

static const api_field similar_query[] = {
    {.name = "limit", .type = API_INT, .bounded = true, .minimum = 1,
     .maximum = DISCOVERY_SIMILAR_MAX, .about = "items (default 20)"},
    {0},
};
static const api_field suggested_query[] = {
    {.name = "limit", .type = API_INT, .bounded = true, .minimum = 1,
     .maximum = DISCOVERY_SUGGESTED_MAX, .about = "accounts (default 20)"},
    {0},
};

static const api_route routes[] = {
    {"GET", "/api/v1/posts/:id/similar", similar_handler, HTTP_BLOCKING, API_OPTIONAL,
     .query = similar_query, .operation_id = "similarPosts",
     .summary = "Posts like this one, each with a reason",
     .description = "The learned model's neighbours when one is loaded, then posts sharing its "
                    "hashtags, then its author's; the visibility gate, mutes and not-interested "
                    "marks apply. 404 `post_not_found` when you may not see the post. One page: "
                    "`next_cursor` is always null.",
     .response = "page:ForYouPost", .response_about = "Similar posts with reasons"},
    {"GET", "/api/v1/users/suggested", suggested_handler, HTTP_BLOCKING, API_OPTIONAL,
     .query = suggested_query, .operation_id = "suggestedUsers",
     .summary = "Accounts to follow, each with a reason",
     .description = "Friends of friends, creators you watch, creators of your topics, then "
                    "popular creators (the only kind for anonymous callers). Never yourself, "
                    "anyone you follow, block or are blocked by, or marked not interested. "
                    "`next_cursor` is always null.",
     .response = "page:SuggestedUser", .response_about = "Accounts with reasons"},
    {"GET", "/api/v1/explore", explore_handler, HTTP_BLOCKING, API_OPTIONAL,
     .operation_id = "explore",
     .summary = "Explore: trending hashtags with sample posts, suggested creators, and shelves "
                "of your topics",
     .description = "Up to " TEXT_OF(DISCOVERY_TRENDING_TAGS) " trending hashtags (the most "
                    "frequent among trending posts you may see), " TEXT_OF(
                        DISCOVERY_EXPLORE_CREATORS) " creators, and up to " TEXT_OF(
                        DISCOVERY_TOPIC_SHELVES) " shelves of your strongest topics, "
                    TEXT_OF(DISCOVERY_SHELF_POSTS) " posts each.",
     .response = "Explore", .response_about = "The explore page"},
};

API_MODULE(discovery, "Discovery: similar posts, suggested accounts, explore", routes);
