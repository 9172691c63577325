/* SPDX-License-Identifier: MIT
 *
 * /api/v1/search?q=&type=users|posts|hashtags&cursor=&limit=: ranked search (docs/search.md).
 * Anonymous callers are welcome and see what an anonymous reader of each profile or post would.
 * Users come in the profile shape of the follow lists, posts in the shape of GET /posts/:id.
 */
#include "api/api.h"

#include "core/util.h"
#include "domain/search.h"

#include <stdlib.h>

static void send_page(http_res *res, json_t *items, const search_query *q, bool has_next,
                      const store_search_key *next)
{
    json_t *cursor = json_null();
    if (has_next) {
        char text[SEARCH_CURSOR_MAX];
        search_cursor_format(q, next, text);
        cursor = json_string(text);
    }
    http_res_json(res, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", cursor));
}

/* Appends the hits as lists show posts (with the viewer's state and a share's source); false
 * when those could not be read. */
static bool posts_json(json_t *items, db *d, int64_t viewer, const search_post_hit *hits, int n)
{
    const store_post **posts = xmalloc((size_t)n * sizeof *posts);
    const store_user **authors = xmalloc((size_t)n * sizeof *authors);
    for (int i = 0; i < n; i++) {
        posts[i] = &hits[i].post;
        authors[i] = &hits[i].author;
    }
    buf b = {0};
    jsonw w;
    jsonw_init(&w, &b);
    bool ok = api_posts_write_items(&w, d, viewer, posts, authors, n) == 0;
    json_t *list = ok ? json_loadb(b.data, b.len, 0, NULL) : NULL;
    if (list)
        json_array_extend(items, list);
    json_decref(list);
    buf_free(&b);
    free(posts);
    free(authors);
    return list != NULL;
}

static void search_handler(api_ctx *c)
{
    search_query q;
    domain_error err = {0};
    int limit;
    store_search_key after;
    const char *cursor = http_req_query(c->req, "cursor");
    bool paged = cursor && *cursor;
    /* q's length counts after trimming, and the cursor is tied to q and type: the domain's */
    if (search_parse(http_req_query(c->req, "q"), http_req_query(c->req, "type"), &q, &err) < 0 ||
        (paged && search_cursor_parse(&q, cursor, &after, &err) < 0)) {
        api_fail(c->res, ERR_INVALID, &err);
        return;
    }
    if (!api_limit(c->req, c->res, &limit))
        return;
    store_search_key next;
    bool has_next;
    json_t *items = json_array();
    int n;
    if (q.type == SEARCH_HASHTAGS) {
        store_hashtag *tags = api_alloc(c->req, c->res, (size_t)limit + 1, sizeof *tags);
        if (!tags)
            goto answered;
        n = search_hashtags(c->db, &q, paged ? &after : NULL, limit, tags, &next, &has_next,
                            &err);
        for (int i = 0; i < n; i++)
            json_array_append_new(items, json_pack("{s:s, s:I}", "tag", tags[i].tag, "post_count",
                                                   (json_int_t)tags[i].post_count));
    } else if (q.type == SEARCH_USERS) {
        store_user *users = api_alloc(c->req, c->res, (size_t)limit + 1, sizeof *users);
        if (!users)
            goto answered;
        n = search_users(c->db, &q, c->viewer, paged ? &after : NULL, limit, users, &next,
                         &has_next, &err);
        for (int i = 0; i < n; i++)
            json_array_append_new(items, api_profile_json(c->db, &users[i], c->viewer));
    } else {
        search_post_hit *hits = api_alloc(c->req, c->res, (size_t)limit, sizeof *hits);
        if (!hits)
            goto answered;
        n = search_posts(c->db, &q, c->viewer, paged ? &after : NULL, limit, hits, &next,
                         &has_next, &err);
        if (n > 0 && !posts_json(items, c->db, c->viewer, hits, n))
            n = ERR_DB;
    }
    if (n < 0) {
        json_decref(items);
        api_fail(c->res, n, &err);
        return;
    }
    send_page(c->res, items, &q, has_next, &next);
    return;
answered: /* api_alloc answered 413 */
    json_decref(items);
}

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

static const api_field search_params[] = {
    {.name = "q", .type = API_STRING, .required = true, .min_len = 1,
     .about = "Up to " STRINGIFY(SEARCH_Q_MAX_CHARS) " characters after trimming (a longer "
              "value is 422 `too_long`). Every word must match, the last one as a prefix; "
              "punctuation separates words and has no operator meaning. For users, a query that "
              "looks like a handle also matches handles by prefix, and `@prefix` matches handles "
              "only."},
    {.name = "type", .type = API_STRING, .values = search_types,
     .about = "`users` (the default), `posts`, or `hashtags`, which treats q as one tag prefix "
              "(\"#\" optional)."},
    {.name = "cursor", .type = API_STRING,
     .about = "`next_cursor` of the previous page, opaque; it only fits the same `q` and `type` "
              "(422 `query_changed` otherwise)."},
    {.name = "limit", .type = API_INT, .bounded = true, .minimum = 1, .maximum = API_PAGE_MAX,
     .about = "items per page (default 20)"},
    {0},
};

static const api_route routes[] = {
    {"GET", "/api/v1/search", search_handler, HTTP_BLOCKING, API_OPTIONAL, .query = search_params,
     .operation_id = "search", .summary = "Search users, posts or hashtags, best match first",
     .description =
         "Users rank by exact handle, then handle prefix, then text relevance, then followers; "
         "posts by text relevance, then newest; hashtags by exact tag, then the most used. "
         "Anonymous callers find public posts of public accounts; signed-in callers find the "
         "posts GET /posts/{id} would show them. Users who block you or whom you block are never "
         "found, nor are their posts. A page of posts may hold fewer than `limit` items; follow "
         "`next_cursor` until it is null. 422 `validation_failed` names the field: q `required`, "
         "`too_long`, `invalid_format` (not UTF-8); type `not_allowed`; cursor `invalid_format`, "
         "`query_changed`; limit `out_of_range`.",
     .response = "SearchPage",
     .response_about = "A page of profiles (type users), posts (type posts) or hashtags (type "
                       "hashtags)"},
};

API_MODULE(search, "Search", routes);
