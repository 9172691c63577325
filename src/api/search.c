/* SPDX-License-Identifier: MIT
 *
 * /api/v1/search?q=&type=users|posts|hashtags&cursor=&limit=: ranked search (docs/search.md). Input is
 * checked before the database is touched; anonymous callers are welcome and see what an
 * anonymous reader of each profile or post would. Users come in the profile shape of the follow
 * lists, posts in the shape of GET /posts/:id.
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

void api_search(http_req *req, http_res *res)
{
    search_query q;
    domain_error err = {0};
    int limit;
    store_search_key after;
    const char *cursor = http_req_query(req, "cursor");
    bool paged = cursor && *cursor;
    if (search_parse(http_req_query(req, "q"), http_req_query(req, "type"), &q, &err) < 0 ||
        (paged && search_cursor_parse(&q, cursor, &after, &err) < 0)) {
        api_fail(res, ERR_INVALID, &err);
        return;
    }
    if (!api_limit(req, res, &limit))
        return;
    db *d = api_db(req, res);
    auth_principal p;
    bool authed;
    if (!d || !api_auth_optional(req, res, d, &p, &authed))
        return;
    int64_t viewer = authed ? p.user.id : 0;
    store_search_key next;
    bool has_next;
    json_t *items = json_array();
    int n;
    if (q.type == SEARCH_HASHTAGS) {
        store_hashtag *tags = api_alloc(req, res, (size_t)limit + 1, sizeof *tags);
        if (!tags)
            goto answered;
        n = search_hashtags(d, &q, paged ? &after : NULL, limit, tags, &next, &has_next, &err);
        for (int i = 0; i < n; i++)
            json_array_append_new(items, json_pack("{s:s, s:I}", "tag", tags[i].tag, "post_count",
                                                   (json_int_t)tags[i].post_count));
    } else if (q.type == SEARCH_USERS) {
        store_user *users = api_alloc(req, res, (size_t)limit + 1, sizeof *users);
        if (!users)
            goto answered;
        n = search_users(d, &q, viewer, paged ? &after : NULL, limit, users, &next, &has_next,
                         &err);
        for (int i = 0; i < n; i++)
            json_array_append_new(items, api_profile_json(d, &users[i], viewer));
    } else {
        search_post_hit *hits = api_alloc(req, res, (size_t)limit, sizeof *hits);
        if (!hits)
            goto answered;
        n = search_posts(d, &q, viewer, paged ? &after : NULL, limit, hits, &next, &has_next, &err);
        if (n > 0 && !posts_json(items, d, viewer, hits, n))
            n = ERR_DB;
    }
    if (n < 0) {
        json_decref(items);
        api_fail(res, n, &err);
        return;
    }
    send_page(res, items, &q, has_next, &next);
    return;
answered: /* api_alloc answered 413 */
    json_decref(items);
}
