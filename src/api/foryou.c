/* SPDX-License-Identifier: MIT
 *
 * GET /api/v1/feed/for-you and POST /api/v1/feed/refresh (domain/foryou.h): each item is a post
 * as every feed shows it, plus the reason it was picked and the candidate source it came from.
 * The cursor is "<session>_<page>": the served set it stands for lives server-side.
 */
#include "api/api.h"

#include "core/jsonw.h"
#include "domain/feed.h"
#include "domain/foryou.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static bool read_cursor(api_ctx *c, int64_t *session, int *page)
{
    const char *raw = http_req_query(c->req, "cursor");
    *session = 0;
    *page = 0;
    if (!raw || !*raw)
        return true;
    char tail;
    if (sscanf(raw, "%" SCNd64 "_%d%c", session, page, &tail) == 2 && *session > 0 &&
        *page > 0 && *page < FORYOU_SESSION_PAGES)
        return true;
    api_invalid(c->res, &(jv_error){.field = "cursor", .reason = "invalid_format"});
    return false;
}

/* The posts as every feed writes them, each with its reason added. */
static json_t *items_json(db *d, int64_t viewer, const foryou_page *p)
{
    const store_post **posts = xmalloc((size_t)(p->n ? p->n : 1) * sizeof *posts);
    const store_user **authors = xmalloc((size_t)(p->n ? p->n : 1) * sizeof *authors);
    for (int i = 0; i < p->n; i++) {
        posts[i] = &p->items[i].row->post;
        authors[i] = &p->items[i].row->author;
    }
    buf b = {0};
    jsonw w;
    jsonw_init(&w, &b);
    json_t *items = NULL;
    if (api_posts_write_items(&w, d, viewer, posts, authors, p->n) == 0)
        items = json_loadb(b.data, b.len, 0, NULL);
    buf_free(&b);
    free(posts);
    free(authors);
    for (int i = 0; items && i < p->n; i++)
        json_object_set_new(json_array_get(items, (size_t)i), "reason",
                            json_pack("{s:s, s:s, s:s}", "kind", p->items[i].reason_kind, "text",
                                      p->items[i].reason, "source",
                                      foryou_source_name(p->items[i].source)));
    return items;
}

static void for_you_handler(api_ctx *c)
{
    int64_t session;
    int page_no;
    if (!read_cursor(c, &session, &page_no))
        return;
    /* the declaration bounds it already */
    const char *l = http_req_query(c->req, "limit");
    int limit = l && *l ? (int)strtol(l, NULL, 10) : FORYOU_PAGE_DEFAULT;
    foryou_page page;
    domain_error err = {0};
    int rc = foryou_get(c->db, c->authed ? &c->principal.user : NULL, session, page_no, limit,
                        http_req_query(c->req, "type"), &page, &err);
    if (rc < 0) {
        api_fail(c->res, rc, &err);
        return;
    }
    json_t *items = items_json(c->db, c->viewer, &page);
    char next[48];
    snprintf(next, sizeof next, "%" PRId64 "_%d", page.session, page.next_page);
    bool more = page.next_page > 0;
    foryou_page_free(&page);
    if (!items) {
        api_fail(c->res, ERR_DB, NULL);
        return;
    }
    http_res_json(c->res, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor",
                                         more ? json_string(next) : json_null()));
}

static void refresh_handler(api_ctx *c)
{
    domain_error err = {0};
    api_answer_empty(c->res, foryou_refresh(c->db, c->viewer, &err), &err);
}

#define TEXT_OF(x) TEXT_OF_(x)
#define TEXT_OF_(x) #x

static const api_field for_you_query[] = {
    {.name = "cursor", .type = API_STRING, .max_len = 48,
     .about = "next_cursor of the previous page (opaque: the session and the page)"},
    {.name = "limit", .type = API_INT, .bounded = true, .minimum = FORYOU_PAGE_MIN,
     .maximum = FORYOU_PAGE_MAX,
     .about = "items per page, " TEXT_OF(FORYOU_PAGE_MIN) " to " TEXT_OF(
         FORYOU_PAGE_MAX) " (default " TEXT_OF(FORYOU_PAGE_DEFAULT) ")"},
    {.name = "type", .type = API_STRING, .values = feed_types, .about = "only posts of this type"},
    {0},
};
static const api_field no_body[] = {{0}};

static const api_route routes[] = {
    {"GET", "/api/v1/feed/for-you", for_you_handler, HTTP_BLOCKING, API_OPTIONAL,
     .query = for_you_query, .operation_id = "forYouFeed",
     .summary = "For You: posts picked for you from accounts you follow and beyond, each with "
                "the reason it was picked",
     .description = "Anonymous allowed (cold start: trending and new posts). A session's pages "
                    "never repeat a post; a signed-in user is not served a post again for "
                    TEXT_OF(FORYOU_SERVED_DAYS) " days (POST /feed/refresh forgets that). Every "
                    "post passes the same visibility rules as GET /posts/{id}, minus muted "
                    "accounts and what you marked not interested. Scoring, sources and reasons: "
                    "docs/discovery.md.",
     .response = "page:ForYouPost", .response_about = "A page of posts with reasons"},
    {"POST", "/api/v1/feed/refresh", refresh_handler, HTTP_BLOCKING | HTTP_OPTIONAL_BODY,
     API_SIGNED_IN, .body = no_body, .operation_id = "refreshFeed",
     .summary = "Start For You over: forget what it served you, so the next page is ranked "
                "afresh",
     .status = 204},
};

API_MODULE(foryou, "For You: recommendations with reasons", routes);
