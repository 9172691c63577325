/* SPDX-License-Identifier: MIT
 *
 * /api/v1/posts: create, read, edit (with history) and delete posts.
 */
#include "api/api.h"

#include "core/id.h"
#include "core/util.h"
#include "domain/feed.h"
#include "domain/graph.h"
#include "domain/media.h"
#include "domain/posts.h"
#include "domain/tags.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A post's media for whoever may read the post: signed URLs once ready, built from the id alone
 * (no query), and its shape (upright width and height, aspect = width / height, duration for
 * videos) copied onto the post when it became ready, so lists and feeds pay nothing for them and
 * players can size themselves before loading. */
static json_t *api_post_media_json(const store_post *p)
{
    json_t *o = json_pack("{s:o, s:b}", "id", json_id(p->media_id), "ready", p->media_ready);
    if (p->media_ready) {
        json_t *urls = api_media_urls(p->media_id, !strcmp(p->type, "image"));
        json_object_update(o, urls);
        json_decref(urls);
    }
    if (p->media_ready && p->media_width > 0 && p->media_height > 0) {
        json_object_set_new(o, "width", json_integer(p->media_width));
        json_object_set_new(o, "height", json_integer(p->media_height));
        double aspect = (double)p->media_width / (double)p->media_height;
        json_object_set_new(o, "aspect", json_real(round(aspect * 10000) / 10000));
    }
    if (p->media_ready && p->media_duration_ms > 0)
        json_object_set_new(o, "duration_s", json_real((double)p->media_duration_ms / 1000));
    return o;
}

/* The members of a post's object, so callers can add their own before closing it. */
static void write_post_members(jsonw *w, const store_post *p, const store_user *author)
{
    jsonw_member_id(w, "id", p->id);
    jsonw_member_string(w, "type", p->type);
    jsonw_member_string(w, "caption", p->caption);
    jsonw_member_string(w, "visibility", p->visibility);
    jsonw_key(w, "author");
    jsonw_object(w);
    api_user_summary_members(w, author);
    jsonw_end_object(w);
    jsonw_member_time(w, "created_at", p->created_at);
    jsonw_member_time(w, "updated_at", p->updated_at);
    jsonw_member_bool(w, "edited", p->updated_at != p->created_at);
    jsonw_member_int(w, "reaction_count", p->reaction_count);
    jsonw_member_int(w, "comment_count", p->comment_count);
    jsonw_member_int(w, "save_count", p->save_count);
    jsonw_member_int(w, "share_count", p->share_count);
    jsonw_member_int(w, "duet_count", p->duet_count);
    jsonw_member_int(w, "stitch_count", p->stitch_count);
    jsonw_member_int(w, "view_count", p->view_count);
    jsonw_member_bool(w, "comments_enabled", p->comments_enabled);
    jsonw_member_id(w, "circle_id", p->circle_id);
    jsonw_member_time(w, "expires_at", p->expires_at);
    jsonw_member_id(w, "share_of", p->share_of);
    jsonw_member_id(w, "duet_of", p->duet_of);
    jsonw_member_id(w, "stitch_of", p->stitch_of);
    tags_parsed *t = xmalloc(sizeof *t);
    tags_parse(p->caption, t);
    jsonw_key(w, "hashtags");
    jsonw_array(w);
    for (int i = 0; i < t->n_hashtags; i++)
        jsonw_string(w, t->hashtags[i]);
    jsonw_end_array(w);
    jsonw_key(w, "mentions");
    jsonw_array(w);
    for (int i = 0; i < t->n_mentions; i++)
        jsonw_string(w, t->mentions[i]);
    jsonw_end_array(w);
    free(t);
    jsonw_key(w, "media");
    if (p->media_id) {
        json_t *media = api_post_media_json(p);
        jsonw_value(w, media);
        json_decref(media);
    } else {
        jsonw_null(w);
    }
}

void api_post_write(jsonw *w, const store_post *p, const store_user *author)
{
    jsonw_object(w);
    write_post_members(w, p, author);
    jsonw_end_object(w);
}

/* A post for one reader: what they did to it (state NULL for an anonymous reader) and, for a
 * share, its source as they may see it (src NULL: null). */
static void write_post_for(jsonw *w, const store_post *p, const store_user *author,
                           const store_viewer_state *state, const store_feed_row *src,
                           api_post_extra extra, void *arg, int i)
{
    jsonw_object(w);
    write_post_members(w, p, author);
    if (state) {
        jsonw_key(w, "viewer_reaction");
        if (*state->reaction)
            jsonw_string(w, state->reaction);
        else
            jsonw_null(w);
        jsonw_member_bool(w, "saved", state->saved);
    }
    if (p->share_of) {
        jsonw_key(w, "shared_post");
        if (src)
            api_post_write(w, &src->post, &src->author);
        else
            jsonw_null(w);
    }
    if (extra)
        extra(w, i, arg);
    jsonw_end_object(w);
}

int api_posts_write_items(jsonw *w, db *d, int64_t viewer, const store_post *const *posts,
                          const store_user *const *authors, int n)
{
    return api_posts_write_items_with(w, d, viewer, posts, authors, n, NULL, NULL);
}

int api_posts_write_items_with(jsonw *w, db *d, int64_t viewer, const store_post *const *posts,
                               const store_user *const *authors, int n, api_post_extra extra,
                               void *arg)
{
    /* everything read before the first byte is written, so a failure can still answer 500 */
    store_viewer_state *states = viewer ? xmalloc((size_t)(n ? n : 1) * sizeof *states) : NULL;
    const store_feed_row **src = xmalloc((size_t)(n ? n : 1) * sizeof *src);
    store_feed_row *rows = NULL;
    int rc = states ? feed_viewer_states(d, viewer, posts, n, states) : 0;
    if (rc == 0)
        rc = feed_share_sources(d, viewer, posts, n, &rows, src);
    if (rc == 0) {
        jsonw_array(w);
        for (int i = 0; i < n; i++)
            write_post_for(w, posts[i], authors[i], states ? &states[i] : NULL, src[i], extra,
                           arg, i);
        jsonw_end_array(w);
    }
    free(states);
    free(src);
    free(rows);
    return rc;
}

json_t *api_posts_json_array(db *d, int64_t viewer, const store_post *const *posts,
                             const store_user *const *authors, int n)
{
    buf b = {0};
    jsonw w;
    jsonw_init(&w, &b);
    json_t *items = NULL;
    if (api_posts_write_items(&w, d, viewer, posts, authors, n) == 0)
        items = json_loadb(b.data, b.len, 0, NULL);
    buf_free(&b);
    return items;
}

void api_send_posts_page(http_res *res, db *d, int64_t viewer, const store_post *const *posts,
                         const store_user *const *authors, int n, const char *next)
{
    buf b = {0};
    jsonw w;
    jsonw_init(&w, &b);
    jsonw_object(&w);
    jsonw_key(&w, "items");
    if (api_posts_write_items(&w, d, viewer, posts, authors, n) < 0) {
        buf_free(&b);
        api_fail(res, ERR_DB, NULL);
        return;
    }
    jsonw_key(&w, "next_cursor");
    if (next)
        jsonw_string(&w, next);
    else
        jsonw_null(&w);
    jsonw_end_object(&w);
    size_t len = b.len;
    http_res_json_text(res, 200, buf_steal(&b), len);
}

json_t *api_post_json(const store_post *p, const store_user *author)
{
    /* One definition of a post's JSON: the writer's, read back where a tree is wanted. */
    buf b = {0};
    jsonw w;
    jsonw_init(&w, &b);
    api_post_write(&w, p, author);
    json_t *o = json_loadb(b.data, b.len, 0, NULL);
    buf_free(&b);
    return o ? o : json_object();
}

/* The :id post (or comment); answers 404 itself. */
static bool post_id(api_ctx *c, int64_t *id)
{
    if (id_parse(http_req_param(c->req, "id"), id))
        return true;
    http_res_error(c->res, 404, "post_not_found", "no such post", NULL);
    return false;
}

static bool comment_id(api_ctx *c, int64_t *id)
{
    if (id_parse(http_req_param(c->req, "id"), id))
        return true;
    http_res_error(c->res, 404, "comment_not_found", "no such comment", NULL);
    return false;
}

/* What a read of one post needs: the post and its author. */
typedef struct visible_post {
    int64_t id;
    store_post post;
    store_user author;
} visible_post;

/* Loads the :id post if the caller may see it; answers 404 itself and returns false otherwise. */
static bool read_visible_post(api_ctx *c, visible_post *v)
{
    if (!post_id(c, &v->id))
        return false;
    domain_error err = {0};
    int rc = posts_get_visible(c->db, c->viewer, v->id, &v->post, &v->author, &err);
    if (rc < 0)
        api_fail(c->res, rc, &err);
    return rc == 0;
}

/* Creates the post (a share of :id when share) and answers 201 with it. */
static void create_post(api_ctx *c, post_input *in, bool share)
{
    if (share && !post_id(c, &in->share_of))
        return;
    store_post post;
    domain_error err = {0};
    int rc = posts_create(c->db, &c->principal.user, in, &post, &err);
    if (rc < 0)
        api_fail(c->res, rc, &err);
    else
        http_res_json(c->res, 201, api_post_json(&post, &c->principal.user));
}

static void posts_create_handler(api_ctx *c)
{
    post_input in = {.type = api_body_string(c, "type"),
                     .caption = api_body_string(c, "caption"),
                     .visibility = api_body_string(c, "visibility"),
                     .circle_id = api_body_id(c, "circle_id"),
                     .duet_of = api_body_id(c, "duet_of"),
                     .stitch_of = api_body_id(c, "stitch_of"),
                     .media_id = api_body_id(c, "media_id")};
    create_post(c, &in, false);
}

static void posts_share_handler(api_ctx *c)
{
    post_input in = {.caption = api_body_string(c, "comment"),
                     .visibility = api_body_string(c, "visibility"),
                     .circle_id = api_body_id(c, "circle_id")};
    create_post(c, &in, true);
}

static void posts_get_handler(api_ctx *c)
{
    visible_post v;
    if (!read_visible_post(c, &v))
        return;
    /* written straight to text: the most read object there is; the viewer's state and a
     * share's source come from the same readers as in lists */
    const store_post *one = &v.post;
    store_viewer_state state;
    store_feed_row *rows = NULL;
    const store_feed_row *src = NULL;
    if ((c->authed && feed_viewer_states(c->db, c->viewer, &one, 1, &state) < 0) ||
        feed_share_sources(c->db, c->viewer, &one, 1, &rows, &src) < 0) {
        api_fail(c->res, ERR_DB, NULL);
        return;
    }
    buf b = {0};
    jsonw w;
    jsonw_init(&w, &b);
    write_post_for(&w, &v.post, &v.author, c->authed ? &state : NULL, src, NULL, NULL, 0);
    free(rows);
    size_t len = b.len;
    http_res_json_text(c->res, 200, buf_steal(&b), len);
}

static void posts_edit_handler(api_ctx *c)
{
    int64_t id;
    if (!post_id(c, &id))
        return;
    const char *caption = api_body_string(c, "caption");
    const char *visibility = api_body_string(c, "visibility");
    int64_t circle_id = api_body_id(c, "circle_id");
    int comments_on = api_body_bool(c, "comments_enabled");
    store_post post;
    domain_error err = {0};
    int rc = 0;
    if (comments_on >= 0)
        rc = posts_set_comments(c->db, &c->principal.user, id, comments_on, &post, &err);
    if (rc == 0 && (caption || visibility || circle_id || comments_on < 0))
        rc = posts_edit(c->db, &c->principal.user, id, caption, visibility, circle_id, &post,
                        &err);
    if (rc < 0)
        api_fail(c->res, rc, &err);
    else
        http_res_json(c->res, 200, api_post_json(&post, &c->principal.user));
}

static void posts_delete_handler(api_ctx *c)
{
    int64_t id;
    if (!post_id(c, &id))
        return;
    domain_error err = {0};
    api_answer_empty(c->res, posts_delete(c->db, &c->principal.user, id, &err), &err);
}

static void posts_edits_handler(api_ctx *c)
{
    int64_t cursor;
    int limit;
    visible_post v;
    if (!api_page(c->req, c->res, &cursor, &limit) || !read_visible_post(c, &v))
        return;
    store_post_edit *edits = api_alloc(c->req, c->res, (size_t)limit + 1, sizeof *edits);
    if (!edits)
        return;
    domain_error err = {0};
    int n = posts_edit_list(c->db, v.id, cursor, edits, limit + 1, &err);
    if (n < 0) {
        api_fail(c->res, n, &err);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        if (posts_edit_shown(c->viewer, &v.author, &v.post, edits[i].visibility))
            json_array_append_new(items, json_pack("{s:s, s:s, s:o}", "caption", edits[i].caption,
                                                   "visibility", edits[i].visibility, "replaced_at",
                                                   json_time(edits[i].edited_at)));
    api_send_page(c->res, items, n, limit, n > limit ? edits[limit - 1].id : 0);
}

static void posts_react_handler(api_ctx *c)
{
    int64_t id;
    if (!post_id(c, &id))
        return;
    const char *type = api_body_string(c, "type");
    if (!type)
        type = posts_reaction_types[0];
    domain_error err = {0};
    int rc = posts_react(c->db, &c->principal.user, id, type, &err);
    if (rc < 0)
        api_fail(c->res, rc, &err);
    else
        http_res_json(c->res, 200, json_pack("{s:s}", "type", type));
}

static void posts_unreact_handler(api_ctx *c)
{
    int64_t id;
    if (!post_id(c, &id))
        return;
    domain_error err = {0};
    api_answer_empty(c->res, posts_unreact(c->db, &c->principal.user, id, &err), &err);
}

static void posts_reactions_handler(api_ctx *c)
{
    int64_t cursor;
    int limit;
    visible_post v;
    if (!api_page(c->req, c->res, &cursor, &limit) || !read_visible_post(c, &v))
        return;
    store_reaction *list = api_alloc(c->req, c->res, (size_t)limit + 1, sizeof *list);
    store_user *users = list ? api_alloc(c->req, c->res, (size_t)limit + 1, sizeof *users) : NULL;
    if (!users)
        return;
    domain_error err = {0};
    int n = posts_reaction_list(c->db, v.id, c->viewer, cursor, list, users, limit + 1, &err);
    if (n < 0) {
        api_fail(c->res, n, &err);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++) {
        if (!users[i].id)
            continue;
        json_array_append_new(
            items, json_pack("{s:o, s:s, s:o}", "user", api_user_summary_json(&users[i]), "type",
                             list[i].type, "created_at", json_time(list[i].created_at)));
    }
    api_send_page(c->res, items, n, limit, n > limit ? list[limit - 1].id : 0);
}

/* A comment with its reply count and, for a signed-in reader, whether they like it (liked
 * NULL: anonymous, no viewer_liked). */
static json_t *comment_json_with(db *d, const store_comment *c, const bool *liked,
                                 int64_t reply_count)
{
    store_user u;
    if (graph_user_get(d, c->author_id, &u) < 0)
        memset(&u, 0, sizeof u);
    json_t *o = json_pack(
        "{s:o, s:o, s:o, s:s, s:o, s:o, s:b, s:I, s:I}", "id", json_id(c->id), "post_id",
        json_id(c->post_id), "parent_id", c->parent_id ? json_id(c->parent_id) : json_null(),
        "body", c->body, "author", api_user_summary_json(&u), "created_at",
        json_time(c->created_at), "edited", c->updated_at != c->created_at, "like_count",
        (json_int_t)c->like_count, "reply_count", (json_int_t)reply_count);
    if (liked)
        json_object_set_new(o, "viewer_liked", json_boolean(*liked));
    return o;
}

/* One comment as the signed-in viewer sees it (the same fields as in the list). */
static json_t *comment_json(db *d, const store_comment *c, int64_t viewer)
{
    bool liked = false;
    int64_t replies = 0;
    comments_states(d, viewer, c->post_id, c, 1, &liked, &replies);
    return comment_json_with(d, c, &liked, replies);
}

static void comments_create_handler(api_ctx *c)
{
    int64_t id;
    if (!post_id(c, &id))
        return;
    store_comment comment;
    domain_error err = {0};
    int rc = comments_create(c->db, &c->principal.user, id, api_body_string(c, "body"),
                             api_body_id(c, "parent_id"), &comment, &err);
    if (rc < 0)
        api_fail(c->res, rc, &err);
    else
        http_res_json(c->res, 201, comment_json(c->db, &comment, c->viewer));
}

static void comments_list_handler(api_ctx *c)
{
    int64_t cursor, parent_id = 0;
    int limit;
    visible_post v;
    if (!api_page(c->req, c->res, &cursor, &limit) || !read_visible_post(c, &v))
        return;
    const char *parent = http_req_query(c->req, "parent_id");
    if (parent && *parent)
        id_parse(parent, &parent_id); /* its format was checked with the query */
    store_comment *list = api_alloc(c->req, c->res, (size_t)limit + 1, sizeof *list);
    bool *liked = list ? api_alloc(c->req, c->res, (size_t)limit, sizeof *liked) : NULL;
    int64_t *replies = liked ? api_alloc(c->req, c->res, (size_t)limit, sizeof *replies) : NULL;
    if (!replies)
        return;
    domain_error err = {0};
    int n = comments_list(c->db, v.id, parent_id, c->viewer, cursor, list, limit + 1, &err);
    if (n < 0) {
        api_fail(c->res, n, &err);
        return;
    }
    /* the viewer's likes and the reply counts of the whole page, read together */
    int shown = n < limit ? n : limit;
    bool *viewer_liked = c->viewer ? liked : NULL;
    if (comments_states(c->db, c->viewer, v.id, list, shown, viewer_liked, replies) < 0) {
        api_fail(c->res, ERR_DB, NULL);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < shown; i++)
        json_array_append_new(items, comment_json_with(c->db, &list[i],
                                                       viewer_liked ? &liked[i] : NULL,
                                                       replies[i]));
    api_send_page(c->res, items, n, limit, n > limit ? list[limit - 1].id : 0);
}

static void comments_edit_handler(api_ctx *c)
{
    int64_t id;
    if (!comment_id(c, &id))
        return;
    store_comment comment;
    domain_error err = {0};
    int rc = comments_edit(c->db, &c->principal.user, id, api_body_string(c, "body"), &comment,
                           &err);
    if (rc < 0)
        api_fail(c->res, rc, &err);
    else
        http_res_json(c->res, 200, comment_json(c->db, &comment, c->viewer));
}

static void comments_delete_handler(api_ctx *c)
{
    int64_t id;
    if (!comment_id(c, &id))
        return;
    domain_error err = {0};
    api_answer_empty(c->res, comments_delete(c->db, &c->principal.user, id, &err), &err);
}

static void set_save(api_ctx *c, bool on)
{
    int64_t id;
    if (!post_id(c, &id))
        return;
    domain_error err = {0};
    api_answer_empty(c->res, posts_save(c->db, &c->principal.user, id, on, &err), &err);
}

static void posts_save_handler(api_ctx *c) { set_save(c, true); }
static void posts_unsave_handler(api_ctx *c) { set_save(c, false); }

static void saved_posts_handler(api_ctx *c)
{
    int64_t cursor;
    int limit;
    if (!api_page(c->req, c->res, &cursor, &limit))
        return;
    store_post *posts = api_alloc(c->req, c->res, (size_t)limit, sizeof *posts);
    store_user *authors = posts ? api_alloc(c->req, c->res, (size_t)limit, sizeof *authors) : NULL;
    const store_post **pp = authors ? api_alloc(c->req, c->res, (size_t)limit, sizeof *pp) : NULL;
    const store_user **ap = pp ? api_alloc(c->req, c->res, (size_t)limit, sizeof *ap) : NULL;
    if (!ap)
        return;
    int64_t cursor_next;
    domain_error err = {0};
    int kept =
        feed_saved(c->db, &c->principal.user, cursor, limit, posts, authors, &cursor_next, &err);
    if (kept < 0) {
        api_fail(c->res, kept, &err);
        return;
    }
    for (int k = 0; k < kept; k++) {
        pp[k] = &posts[k];
        ap[k] = &authors[k];
    }
    char next[24];
    snprintf(next, sizeof next, "%" PRId64, cursor_next);
    api_send_posts_page(c->res, c->db, c->viewer, pp, ap, kept, cursor_next ? next : NULL);
}

static void set_comment_like(api_ctx *c, bool on)
{
    int64_t id;
    if (!comment_id(c, &id))
        return;
    store_comment comment;
    domain_error err = {0};
    int rc = comments_like(c->db, &c->principal.user, id, on, &comment, &err);
    if (rc < 0 || !on) {
        api_answer_empty(c->res, rc, &err);
        return;
    }
    http_res_json(c->res, 200, json_pack("{s:b, s:I}", "liked", 1, "like_count",
                                         (json_int_t)comment.like_count));
}

static void comments_like_handler(api_ctx *c) { set_comment_like(c, true); }
static void comments_unlike_handler(api_ctx *c) { set_comment_like(c, false); }

static void posts_view_handler(api_ctx *c)
{
    int64_t id;
    if (!post_id(c, &id))
        return;
    store_post post;
    bool counted;
    domain_error err = {0};
    posts_view_signal signal = {.watch_ms = api_body_int(c, "watch_ms", 0),
                                .completed = api_body_bool(c, "completed") == 1,
                                .source = api_body_string(c, "source")};
    int rc = posts_view(c->db, &c->principal.user, id, &signal, &counted, &post, &err);
    if (rc < 0) {
        api_fail(c->res, rc, &err);
        return;
    }
    http_res_json(c->res, 200, json_pack("{s:b, s:I}", "counted", counted, "view_count",
                                         (json_int_t)post.view_count));
}

static const api_field create_body[] = {
    {.name = "type", .type = API_STRING, .values = posts_types,
     .about = "text (the default); story (expires, may carry media); image, video and reel need "
              "media_id"},
    {.name = "caption", .type = API_STRING, .max_len = POST_CAPTION_MAX_CHARS,
     .about = "not empty, unless media_id is sent"},
    {.name = "visibility", .type = API_STRING, .values = posts_visibilities,
     .about = "defaults to the account's default_visibility"},
    {.name = "circle_id", .type = API_ID, .about = "with visibility circle: one of your circles"},
    {.name = "duet_of", .type = API_ID,
     .about = "a post you may see whose author allows duets (at most one source)"},
    {.name = "stitch_of", .type = API_ID,
     .about = "a post you may see whose author allows stitches (at most one source)"},
    {.name = "media_id", .type = API_ID,
     .about = "your media of the kind the type needs (image: an image; video, reel: a video)"},
    {0},
};
static const api_field edit_body[] = {
    {.name = "caption", .type = API_STRING, .max_len = POST_CAPTION_MAX_CHARS,
     .about = "not empty"},
    {.name = "visibility", .type = API_STRING, .values = posts_visibilities},
    {.name = "circle_id", .type = API_ID, .nullable = true,
     .about = "with visibility circle: one of your circles; null with another visibility"},
    {.name = "comments_enabled", .type = API_BOOL},
    {0},
};
static const api_field share_body[] = {
    {.name = "comment", .type = API_STRING, .max_len = POST_CAPTION_MAX_CHARS,
     .about = "shown as the share's caption"},
    {.name = "visibility", .type = API_STRING, .values = posts_visibilities,
     .about = "defaults to the account's default_visibility"},
    {.name = "circle_id", .type = API_ID, .about = "with visibility circle: one of your circles"},
    {0},
};
static const api_field reaction_body[] = {
    {.name = "type", .type = API_STRING, .values = posts_reaction_types,
     .about = "like when absent"},
    {0},
};
static const api_field view_body[] = {
    {.name = "watch_ms", .type = API_INT, .bounded = true, .minimum = 0,
     .maximum = POSTS_MAX_WATCH_MS, .about = "how long it was watched (0 when absent)"},
    {.name = "completed", .type = API_BOOL, .about = "watched to the end (false when absent)"},
    {.name = "source", .type = API_STRING, .values = posts_view_sources,
     .about = "where the post was shown (other when absent); For You and analytics use it"},
    {0},
};
static const api_field comment_create_body[] = {
    {.name = "body", .type = API_STRING, .required = true, .max_len = COMMENT_BODY_MAX_CHARS,
     .about = "not empty"},
    {.name = "parent_id", .type = API_ID,
     .about = "a live comment of this post to reply to (a reply to a reply joins its thread)"},
    {0},
};
static const api_field comment_edit_body[] = {
    {.name = "body", .type = API_STRING, .required = true, .max_len = COMMENT_BODY_MAX_CHARS,
     .about = "not empty"},
    {0},
};
static const api_field no_body[] = {{0}};
static const api_field page_query[] = {API_PAGE_QUERY, {0}};
static const api_field comments_query[] = {
    {.name = "parent_id", .type = API_ID,
     .about = "list the replies under this comment instead of the top level"},
    API_PAGE_QUERY,
    {0},
};

static const api_route routes[] = {
    {"POST", "/api/v1/posts", posts_create_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .body = create_body, .operation_id = "createPost", .summary = "Create a post",
     .description = "Text posts and stories; image, video and reel posts reference a media_id of "
                    "yours. Visibility defaults to the account's `default_visibility`. A duet "
                    "or stitch whose source's author does not allow it answers 403.",
     .status = 201, .response = "Post", .response_about = "Created", .errors = "403"},
    {"GET", "/api/v1/posts/:id", posts_get_handler, HTTP_BLOCKING, API_OPTIONAL, .point_read = true,
     .operation_id = "getPost", .summary = "A post",
     .description = "Visibility: the author always sees a post; nobody sees it when either user "
                    "blocks the other; a private account's posts are for its followers; then "
                    "`public` is anyone, `followers` the author's followers, `friends` mutual "
                    "follows, `private` the author alone. Posts a viewer may not see answer 404 "
                    "`post_not_found`, exactly like missing ones.",
     .response = "Post", .response_about = "The post"},
    {"PATCH", "/api/v1/posts/:id", posts_edit_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .body = edit_body, .operation_id = "editPost",
     .summary = "Edit caption or visibility (the previous version is kept)",
     .description = "Author only (403 `not_author`); `type` cannot change.",
     .response = "Post", .response_about = "The edited post", .errors = "403"},
    {"DELETE", "/api/v1/posts/:id", posts_delete_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .operation_id = "deletePost", .summary = "Delete a post (gone everywhere at once)",
     .description = "Author only (403 `not_author`).", .status = 204,
     .response_about = "Deleted", .errors = "403"},
    {"GET", "/api/v1/posts/:id/edits", posts_edits_handler, HTTP_BLOCKING, API_OPTIONAL,
     .query = page_query, .operation_id = "postEdits",
     .summary = "Earlier versions of a post, newest first (others than the author see only "
                "versions written for at least the current audience)",
     .response = "page:PostEdit", .response_about = "A page of versions"},
    {"POST", "/api/v1/posts/:id/reactions", posts_react_handler,
     HTTP_BLOCKING | HTTP_OPTIONAL_BODY, API_SIGNED_IN, .body = reaction_body,
     .operation_id = "react", .summary = "React to a post (idempotent; a new type replaces yours)",
     .response = "ReactionSet", .response_about = "Your reaction"},
    {"DELETE", "/api/v1/posts/:id/reactions", posts_unreact_handler, HTTP_BLOCKING,
     API_SIGNED_IN, .operation_id = "unreact", .summary = "Remove your reaction (idempotent)",
     .status = 204, .response_about = "Done"},
    {"GET", "/api/v1/posts/:id/reactions", posts_reactions_handler, HTTP_BLOCKING, API_OPTIONAL,
     .query = page_query, .operation_id = "listReactions", .summary = "Who reacted, newest first",
     .response = "page:Reaction", .response_about = "A page of reactions"},
    {"POST", "/api/v1/posts/:id/comments", comments_create_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .body = comment_create_body, .operation_id = "createComment",
     .summary = "Comment on a post, or reply to a comment",
     .description = "403 `comments_disabled` when the author turned comments off; 422 "
                    "`parent_id`/`not_found` when the parent is not a live comment of this post. "
                    "A reply to a reply joins its parent's thread (one level).",
     .status = 201, .response = "Comment", .response_about = "Created", .errors = "403"},
    {"GET", "/api/v1/posts/:id/comments", comments_list_handler, HTTP_BLOCKING, API_OPTIONAL,
     .query = comments_query, .operation_id = "listComments",
     .summary = "Comments, oldest first: top level, or the replies under parent_id",
     .description = "Comments by users who block the viewer, or whom the viewer blocks, are left "
                    "out.",
     .response = "page:Comment", .response_about = "A page of comments"},
    {"PATCH", "/api/v1/comments/:id", comments_edit_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .body = comment_edit_body, .operation_id = "editComment", .summary = "Edit your comment",
     .response = "Comment", .response_about = "The comment", .errors = "403"},
    {"DELETE", "/api/v1/comments/:id", comments_delete_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .operation_id = "deleteComment",
     .summary = "Delete a comment (its author, or the post's author)", .status = 204,
     .response_about = "Deleted", .errors = "403"},
    {"POST", "/api/v1/posts/:id/save", posts_save_handler, HTTP_BLOCKING | HTTP_OPTIONAL_BODY,
     API_SIGNED_IN, .body = no_body, .operation_id = "savePost",
     .summary = "Save a post to your private bookmarks (idempotent)", .status = 204,
     .response_about = "Saved"},
    {"DELETE", "/api/v1/posts/:id/save", posts_unsave_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .operation_id = "unsavePost", .summary = "Remove a saved post (idempotent)", .status = 204,
     .response_about = "Removed"},
    {"GET", "/api/v1/users/me/saved", saved_posts_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .query = page_query, .operation_id = "savedPosts",
     .summary = "Your saved posts, newest save first",
     .description = "Only posts you may still see are listed (a page may be shorter than "
                    "`limit`).",
     .response = "page:Post", .response_about = "A page of posts"},
    {"POST", "/api/v1/posts/:id/shares", posts_share_handler, HTTP_BLOCKING | HTTP_OPTIONAL_BODY,
     API_SIGNED_IN, .body = share_body, .operation_id = "sharePost",
     .summary = "Share (repost) a public post, with an optional comment",
     .description = "Only public posts of public accounts can be shared (403 `not_shareable`); "
                    "a post you cannot see, a share or a story answers 422 `share_of`.",
     .status = 201, .response = "Post", .response_about = "The new share post", .errors = "403"},
    {"POST", "/api/v1/posts/:id/view", posts_view_handler, HTTP_BLOCKING | HTTP_OPTIONAL_BODY,
     API_SIGNED_IN, .body = view_body, .operation_id = "viewPost",
     .summary = "Record a view with watch time (counted once per viewer per day; marks a story "
                "seen)",
     .response = "PostView", .response_about = "Whether it counted, and the count"},
    {"POST", "/api/v1/comments/:id/like", comments_like_handler,
     HTTP_BLOCKING | HTTP_OPTIONAL_BODY, API_SIGNED_IN, .body = no_body,
     .operation_id = "likeComment", .summary = "Like a comment (idempotent)",
     .response = "CommentLike", .response_about = "Liked"},
    {"DELETE", "/api/v1/comments/:id/like", comments_unlike_handler, HTTP_BLOCKING,
     API_SIGNED_IN, .operation_id = "unlikeComment",
     .summary = "Remove your like of a comment (idempotent)", .status = 204,
     .response_about = "Removed"},
};

API_MODULE(posts, "Posts, their comments, reactions, saves, shares and views", routes);
