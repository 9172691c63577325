/* SPDX-License-Identifier: MIT
 *
 * GET /api/v1/feed/for-you and POST /api/v1/feed/refresh (domain/foryou.h): each item is a post
 * as every feed shows it, plus the reason it was picked and the candidate source it came from.
 * The cursor is "<session>_<page>": the served set it stands for lives server-side. The layered
 * home (GET /feed/home?mode=layered, routed here by api/feeds.c) is also built here: the story
 * tray, the following page with circle posts first, then For You's pages as the fill.
 */
#include "api/api.h"

#include "domain/feed.h"
#include "domain/foryou.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    json_t *items = api_posts_json_array(d, viewer, posts, authors, p->n);
    free(posts);
    free(authors);
    for (int i = 0; items && i < p->n; i++)
        json_object_set_new(json_array_get(items, (size_t)i), "reason",
                            json_pack("{s:s, s:s, s:s}", "kind", p->items[i].reason_kind, "text",
                                      p->items[i].reason, "source",
                                      foryou_source_name(p->items[i].source)));
    return items;
}

static void write_reason(jsonw *w, int i, void *arg)
{
    const foryou_item *it = &((const foryou_page *)arg)->items[i];
    jsonw_key(w, "reason");
    jsonw_object(w);
    jsonw_member_string(w, "kind", it->reason_kind);
    jsonw_member_string(w, "text", it->reason);
    jsonw_member_string(w, "source", foryou_source_name(it->source));
    jsonw_end_object(w);
}

/* Appends a For You page (the layered home's recommended fill) to out, each item with its
 * layer; next gets the layered cursor of the page after, or "" at the end. */
static bool layered_recommended(api_ctx *c, int64_t session, int page_no, int limit,
                                const char *type, json_t *out, char *next, size_t next_size)
{
    foryou_page page;
    domain_error err = {0};
    if (foryou_get(c->db, &c->principal.user, session, page_no, limit, type, &page, &err) < 0)
        return false;
    json_t *items = items_json(c->db, c->viewer, &page);
    *next = 0;
    if (page.next_page)
        snprintf(next, next_size, "r%" PRId64 "_%d", page.session, page.next_page);
    foryou_page_free(&page);
    if (!items)
        return false;
    size_t i;
    json_t *v;
    json_array_foreach(items, i, v) json_object_set_new(v, "layer", json_string("recommended"));
    json_array_extend(out, items);
    json_decref(items);
    return true;
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
    /* written as a stream with the reasons in place: no tree built, read back and dumped */
    const store_post **posts = xmalloc((size_t)(page.n ? page.n : 1) * sizeof *posts);
    const store_user **authors = xmalloc((size_t)(page.n ? page.n : 1) * sizeof *authors);
    for (int i = 0; i < page.n; i++) {
        posts[i] = &page.items[i].row->post;
        authors[i] = &page.items[i].row->author;
    }
    buf b = {0};
    jsonw w;
    jsonw_init(&w, &b);
    jsonw_object(&w);
    jsonw_key(&w, "items");
    rc = api_posts_write_items_with(&w, c->db, c->viewer, posts, authors, page.n, write_reason,
                                    &page);
    free(posts);
    free(authors);
    if (rc < 0) {
        foryou_page_free(&page);
        buf_free(&b);
        api_fail(c->res, ERR_DB, NULL);
        return;
    }
    jsonw_key(&w, "next_cursor");
    if (page.next_page) {
        char next[48];
        snprintf(next, sizeof next, "%" PRId64 "_%d", page.session, page.next_page);
        jsonw_string(&w, next);
    } else
        jsonw_null(&w);
    jsonw_end_object(&w);
    foryou_page_free(&page);
    size_t len = b.len;
    http_res_json_text(c->res, 200, buf_steal(&b), len);
}

/* The first page of the layered home: circle posts, then the rest of the following page, then
 * (when the following ran dry) recommended posts; the story tray comes with it. */
static bool layered_first(api_ctx *c, int64_t cursor, int limit, const char *type, json_t *out,
                          char *next, size_t next_size)
{
    feed_query q = {.cursor = {cursor, cursor}, .limit = limit, .type = type};
    feed_page page;
    if (feed_home(c->db, &c->principal.user, &q, &page) < 0)
        return false;
    const store_post **posts = xmalloc((size_t)(page.n ? page.n : 1) * sizeof *posts);
    const store_user **authors = xmalloc((size_t)(page.n ? page.n : 1) * sizeof *authors);
    int k = 0;
    for (int circle = 1; circle >= 0; circle--) /* circle posts first, each group in order */
        for (int i = 0; i < page.n; i++)
            if ((strcmp(page.items[i]->post.visibility, "circle") == 0) == circle) {
                posts[k] = &page.items[i]->post;
                authors[k++] = &page.items[i]->author;
            }
    json_t *items = api_posts_json_array(c->db, c->viewer, posts, authors, page.n);
    for (int i = 0; items && i < page.n; i++)
        json_object_set_new(json_array_get(items, (size_t)i), "layer",
                            json_string(strcmp(posts[i]->visibility, "circle") ? "following"
                                                                               : "circle"));
    free(posts);
    free(authors);
    int n = page.n;
    int64_t more = page.next.id;
    int64_t *shown = xmalloc((size_t)(n ? n : 1) * sizeof *shown);
    for (int i = 0; i < n; i++)
        shown[i] = page.items[i]->post.id;
    feed_page_free(&page);
    if (!items) {
        free(shown);
        return false;
    }
    json_array_extend(out, items);
    json_decref(items);
    *next = 0;
    if (more) {
        free(shown);
        snprintf(next, next_size, "%" PRId64, more);
        return true;
    }
    if (n >= limit) {
        free(shown);
        return true;
    }
    /* the fill's session starts with the posts shown above it, so no page of it repeats them */
    int64_t session;
    domain_error err = {0};
    int rc = foryou_start_session(c->db, c->viewer, shown, n, &session, &err);
    free(shown);
    return rc == 0 && layered_recommended(c, session, 0, limit - n, type, out, next, next_size);
}

void api_feed_layered(api_ctx *c)
{
    const char *raw = http_req_query(c->req, "cursor");
    int64_t cursor = 0, session = 0;
    int limit, page_no = 0;
    char tail, next[48];
    bool recommended = raw && *raw == 'r';
    if (recommended && (sscanf(raw + 1, "%" SCNd64 "_%d%c", &session, &page_no, &tail) != 2 ||
                        session <= 0 || page_no <= 0 || page_no >= FORYOU_SESSION_PAGES)) {
        api_invalid(c->res, &(jv_error){.field = "cursor", .reason = "invalid_format"});
        return;
    }
    if (recommended ? !api_limit(c->req, c->res, &limit) : !api_page(c->req, c->res, &cursor, &limit))
        return;
    const char *type = http_req_query(c->req, "type");
    json_t *items = json_array(), *tray = NULL;
    bool ok;
    if (recommended)
        ok = layered_recommended(c, session, page_no, limit, type, items, next, sizeof next);
    else
        ok = layered_first(c, cursor, limit, type, items, next, sizeof next);
    if (ok && !cursor && !recommended) {
        int64_t more;
        feed_story_group *groups = api_alloc(c->req, c->res, 10, sizeof *groups);
        if (!groups) {
            json_decref(items);
            return;
        }
        int n = feed_stories(c->db, c->viewer, 0, 10, groups, &more);
        ok = n >= 0;
        tray = ok ? api_story_groups_json(groups, n) : NULL;
    }
    if (!ok) {
        json_decref(items);
        api_fail(c->res, ERR_DB, NULL);
        return;
    }
    json_t *body = json_pack("{s:o, s:o}", "items", items, "next_cursor",
                             *next ? json_string(next) : json_null());
    if (tray)
        json_object_set_new(body, "stories", tray);
    http_res_json(c->res, 200, body);
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
