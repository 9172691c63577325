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
                           const store_viewer_state *state, const store_feed_row *src)
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
    jsonw_end_object(w);
}

int api_posts_write_items(jsonw *w, db *d, int64_t viewer, const store_post *const *posts,
                          const store_user *const *authors, int n)
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
            write_post_for(w, posts[i], authors[i], states ? &states[i] : NULL, src[i]);
        jsonw_end_array(w);
    }
    free(states);
    free(src);
    free(rows);
    return rc;
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

/* Reads the post fields a client may send (only those listed in allowed); answers 422 on a
 * bad one. */
static bool read_post_fields(http_req *req, http_res *res, const char *const *allowed,
                             post_input *in)
{
    json_t *body = http_req_json(req);
    jv_error err;
    memset(in, 0, sizeof *in);
    if (!jv_only(body, allowed, &err) || !jv_string(body, "type", false, 0, 16, &in->type, &err) ||
        !jv_string(body, "caption", false, 0, POST_CAPTION_MAX_CHARS, &in->caption, &err) ||
        !jv_string(body, "visibility", false, 0, 16, &in->visibility, &err) ||
        !jv_id(body, "circle_id", false, &in->circle_id, &err) ||
        !jv_id(body, "duet_of", false, &in->duet_of, &err) ||
        !jv_id(body, "stitch_of", false, &in->stitch_of, &err) ||
        !jv_id(body, "media_id", false, &in->media_id, &err)) {
        api_invalid(res, &err);
        return false;
    }
    return true;
}

static bool post_id(http_req *req, http_res *res, int64_t *id)
{
    if (id_parse(http_req_param(req, "id"), id))
        return true;
    http_res_error(res, 404, "post_not_found", "no such post", NULL);
    return false;
}

/* What a read of one post needs: the optional viewer, the post and its author. */
typedef struct visible_post {
    auth_principal p;
    bool authed;
    int64_t viewer; /* 0 = anonymous */
    int64_t id;
    store_post post;
    store_user author;
} visible_post;

/* Authenticates if a token is sent and loads the :id post if the viewer may see it; answers
 * 401/404 itself and returns false otherwise. */
static bool read_visible_post(http_req *req, http_res *res, db *d, visible_post *v)
{
    if (!api_auth_optional(req, res, d, &v->p, &v->authed) || !post_id(req, res, &v->id))
        return false;
    v->viewer = v->authed ? v->p.user.id : 0;
    domain_error err = {0};
    int rc = posts_get_visible(d, v->viewer, v->id, &v->post, &v->author, &err);
    if (rc < 0)
        api_fail(res, rc, &err);
    return rc == 0;
}

/* Authenticates, creates the post (a share of :id when share) and answers 201 with it. */
static void create_post(http_req *req, http_res *res, post_input *in, bool share)
{
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p) || (share && !post_id(req, res, &in->share_of)))
        return;
    store_post post;
    domain_error err = {0};
    int rc = posts_create(d, &p.user, in, &post, &err);
    if (rc < 0)
        api_fail(res, rc, &err);
    else
        http_res_json(res, 201, api_post_json(&post, &p.user));
}

void api_posts_create(http_req *req, http_res *res)
{
    static const char *const allowed[] = {"type",    "caption",   "visibility", "circle_id",
                                          "duet_of", "stitch_of", "media_id",   NULL};
    post_input in;
    if (read_post_fields(req, res, allowed, &in))
        create_post(req, res, &in, false);
}

void api_posts_get(http_req *req, http_res *res)
{
    db *d = api_db(req, res);
    visible_post v;
    if (!d || !read_visible_post(req, res, d, &v))
        return;
    /* written straight to text: the most read object there is; the viewer's state and a
     * share's source come from the same readers as in lists */
    const store_post *one = &v.post;
    store_viewer_state state;
    store_feed_row *rows = NULL;
    const store_feed_row *src = NULL;
    if ((v.authed && feed_viewer_states(d, v.viewer, &one, 1, &state) < 0) ||
        feed_share_sources(d, v.viewer, &one, 1, &rows, &src) < 0) {
        api_fail(res, ERR_DB, NULL);
        return;
    }
    buf b = {0};
    jsonw w;
    jsonw_init(&w, &b);
    write_post_for(&w, &v.post, &v.author, v.authed ? &state : NULL, src);
    free(rows);
    size_t len = b.len;
    http_res_json_text(res, 200, buf_steal(&b), len);
}

void api_posts_edit(http_req *req, http_res *res)
{
    static const char *const allowed[] = {"caption", "visibility", "circle_id", "comments_enabled",
                                          NULL};
    post_input in;
    int64_t id;
    if (!read_post_fields(req, res, allowed, &in))
        return;
    int comments_on;
    jv_error verr;
    if (!jv_bool(http_req_json(req), "comments_enabled", false, &comments_on, &verr)) {
        api_invalid(res, &verr);
        return;
    }
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p) || !post_id(req, res, &id))
        return;
    store_post post;
    domain_error err = {0};
    int rc = 0;
    if (comments_on >= 0)
        rc = posts_set_comments(d, &p.user, id, comments_on, &post, &err);
    if (rc == 0 && (in.caption || in.visibility || in.circle_id || comments_on < 0))
        rc = posts_edit(d, &p.user, id, in.caption, in.visibility, in.circle_id, &post, &err);
    if (rc < 0) {
        api_fail(res, rc, &err);
        return;
    }
    http_res_json(res, 200, api_post_json(&post, &p.user));
}

void api_posts_delete(http_req *req, http_res *res)
{
    int64_t id;
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p) || !post_id(req, res, &id))
        return;
    domain_error err = {0};
    int rc = posts_delete(d, &p.user, id, &err);
    api_answer_empty(res, rc, &err);
}

void api_posts_edits(http_req *req, http_res *res)
{
    int64_t cursor;
    int limit;
    if (!api_page(req, res, &cursor, &limit))
        return;
    db *d = api_db(req, res);
    visible_post v;
    if (!d || !read_visible_post(req, res, d, &v))
        return;
    store_post_edit *edits = api_alloc(req, res, (size_t)limit + 1, sizeof *edits);
    if (!edits)
        return;
    domain_error err = {0};
    int n = posts_edit_list(d, v.id, cursor, edits, limit + 1, &err);
    if (n < 0) {
        api_fail(res, n, &err);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        if (posts_edit_shown(v.viewer, &v.author, &v.post, edits[i].visibility))
            json_array_append_new(items, json_pack("{s:s, s:s, s:o}", "caption", edits[i].caption,
                                                   "visibility", edits[i].visibility, "replaced_at",
                                                   json_time(edits[i].edited_at)));
    api_send_page(res, items, n, limit, n > limit ? edits[limit - 1].id : 0);
}

static void change_reaction(http_req *req, http_res *res, bool set)
{
    const char *type = "like";
    if (set) {
        json_t *body = http_req_json(req);
        jv_error verr;
        static const char *const allowed[] = {"type", NULL};
        if (body && (!jv_only(body, allowed, &verr) ||
                     !jv_string(body, "type", false, 0, 16, &type, &verr))) {
            api_invalid(res, &verr);
            return;
        }
        if (!type)
            type = "like";
    }
    int64_t id;
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p) || !post_id(req, res, &id))
        return;
    domain_error err = {0};
    int rc = set ? posts_react(d, &p.user, id, type, &err) : posts_unreact(d, &p.user, id, &err);
    if (rc < 0) {
        api_fail(res, rc, &err);
        return;
    }
    if (!set) {
        http_res_empty(res, 204);
        return;
    }
    http_res_json(res, 200, json_pack("{s:s}", "type", type));
}

void api_posts_react(http_req *req, http_res *res)
{
    change_reaction(req, res, true);
}
void api_posts_unreact(http_req *req, http_res *res)
{
    change_reaction(req, res, false);
}

void api_posts_reactions(http_req *req, http_res *res)
{
    int64_t cursor;
    int limit;
    if (!api_page(req, res, &cursor, &limit))
        return;
    db *d = api_db(req, res);
    visible_post v;
    if (!d || !read_visible_post(req, res, d, &v))
        return;
    store_reaction *list = api_alloc(req, res, (size_t)limit + 1, sizeof *list);
    store_user *users = list ? api_alloc(req, res, (size_t)limit + 1, sizeof *users) : NULL;
    if (!users)
        return;
    domain_error err = {0};
    int n = posts_reaction_list(d, v.id, v.viewer, cursor, list, users, limit + 1, &err);
    if (n < 0) {
        api_fail(res, n, &err);
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
    api_send_page(res, items, n, limit, n > limit ? list[limit - 1].id : 0);
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

static bool comment_id(http_req *req, http_res *res, int64_t *id)
{
    if (id_parse(http_req_param(req, "id"), id))
        return true;
    http_res_error(res, 404, "comment_not_found", "no such comment", NULL);
    return false;
}

void api_comments_create(http_req *req, http_res *res)
{
    json_t *body = http_req_json(req);
    const char *text, *parent;
    jv_error verr;
    static const char *const allowed[] = {"body", "parent_id", NULL};
    if (!jv_only(body, allowed, &verr) ||
        !jv_string(body, "body", true, 0, POST_CAPTION_MAX_CHARS, &text, &verr) ||
        !jv_string(body, "parent_id", false, 0, 20, &parent, &verr)) {
        api_invalid(res, &verr);
        return;
    }
    int64_t parent_id = 0, id;
    if (parent && !id_parse(parent, &parent_id)) {
        api_invalid(res, &(jv_error){.field = "parent_id", .reason = "invalid_format"});
        return;
    }
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p) || !post_id(req, res, &id))
        return;
    store_comment c;
    domain_error err = {0};
    int rc = comments_create(d, &p.user, id, text, parent_id, &c, &err);
    if (rc < 0) {
        api_fail(res, rc, &err);
        return;
    }
    http_res_json(res, 201, comment_json(d, &c, p.user.id));
}

void api_comments_list(http_req *req, http_res *res)
{
    int64_t cursor, parent_id = 0;
    int limit;
    if (!api_page(req, res, &cursor, &limit))
        return;
    const char *parent = http_req_query(req, "parent_id");
    if (parent && *parent && !id_parse(parent, &parent_id)) {
        api_invalid(res, &(jv_error){.field = "parent_id", .reason = "invalid_format"});
        return;
    }
    db *d = api_db(req, res);
    visible_post v;
    if (!d || !read_visible_post(req, res, d, &v))
        return;
    int64_t viewer = v.viewer;
    store_comment *list = api_alloc(req, res, (size_t)limit + 1, sizeof *list);
    bool *liked = list ? api_alloc(req, res, (size_t)limit, sizeof *liked) : NULL;
    int64_t *replies = liked ? api_alloc(req, res, (size_t)limit, sizeof *replies) : NULL;
    if (!replies)
        return;
    domain_error err = {0};
    int n = comments_list(d, v.id, parent_id, viewer, cursor, list, limit + 1, &err);
    if (n < 0) {
        api_fail(res, n, &err);
        return;
    }
    /* the viewer's likes and the reply counts of the whole page, read together */
    int shown = n < limit ? n : limit;
    if (comments_states(d, viewer, v.id, list, shown, viewer ? liked : NULL, replies) < 0) {
        api_fail(res, ERR_DB, NULL);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < shown; i++)
        json_array_append_new(
            items, comment_json_with(d, &list[i], viewer ? &liked[i] : NULL, replies[i]));
    api_send_page(res, items, n, limit, n > limit ? list[limit - 1].id : 0);
}

void api_comments_edit(http_req *req, http_res *res)
{
    const char *text;
    jv_error verr;
    static const char *const allowed[] = {"body", NULL};
    json_t *body = http_req_json(req);
    if (!jv_only(body, allowed, &verr) ||
        !jv_string(body, "body", true, 0, POST_CAPTION_MAX_CHARS, &text, &verr)) {
        api_invalid(res, &verr);
        return;
    }
    int64_t id;
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p) || !comment_id(req, res, &id))
        return;
    store_comment c;
    domain_error err = {0};
    int rc = comments_edit(d, &p.user, id, text, &c, &err);
    if (rc < 0) {
        api_fail(res, rc, &err);
        return;
    }
    http_res_json(res, 200, comment_json(d, &c, p.user.id));
}

void api_comments_delete(http_req *req, http_res *res)
{
    int64_t id;
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p) || !comment_id(req, res, &id))
        return;
    domain_error err = {0};
    int rc = comments_delete(d, &p.user, id, &err);
    api_answer_empty(res, rc, &err);
}

static void set_save(http_req *req, http_res *res, bool on)
{
    int64_t id;
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p) || !post_id(req, res, &id))
        return;
    domain_error err = {0};
    int rc = posts_save(d, &p.user, id, on, &err);
    api_answer_empty(res, rc, &err);
}

void api_posts_save(http_req *req, http_res *res)
{
    set_save(req, res, true);
}
void api_posts_unsave(http_req *req, http_res *res)
{
    set_save(req, res, false);
}

void api_saved_posts(http_req *req, http_res *res)
{
    int64_t cursor;
    int limit;
    if (!api_page(req, res, &cursor, &limit))
        return;
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    store_post *posts = api_alloc(req, res, (size_t)limit, sizeof *posts);
    store_user *authors = posts ? api_alloc(req, res, (size_t)limit, sizeof *authors) : NULL;
    const store_post **pp = authors ? api_alloc(req, res, (size_t)limit, sizeof *pp) : NULL;
    const store_user **ap = pp ? api_alloc(req, res, (size_t)limit, sizeof *ap) : NULL;
    if (!ap)
        return;
    int64_t cursor_next;
    domain_error err = {0};
    int kept = feed_saved(d, &p.user, cursor, limit, posts, authors, &cursor_next, &err);
    if (kept >= 0) {
        for (int k = 0; k < kept; k++) {
            pp[k] = &posts[k];
            ap[k] = &authors[k];
        }
        char next[24];
        snprintf(next, sizeof next, "%" PRId64, cursor_next);
        api_send_posts_page(res, d, p.user.id, pp, ap, kept, cursor_next ? next : NULL);
    } else {
        api_fail(res, kept, &err);
    }
}

static void set_comment_like(http_req *req, http_res *res, bool on)
{
    int64_t id;
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p) || !comment_id(req, res, &id))
        return;
    store_comment c;
    domain_error err = {0};
    int rc = comments_like(d, &p.user, id, on, &c, &err);
    if (rc < 0 || !on) {
        api_answer_empty(res, rc, &err);
        return;
    }
    http_res_json(res, 200,
                  json_pack("{s:b, s:I}", "liked", 1, "like_count", (json_int_t)c.like_count));
}

void api_comments_like(http_req *req, http_res *res)
{
    set_comment_like(req, res, true);
}
void api_comments_unlike(http_req *req, http_res *res)
{
    set_comment_like(req, res, false);
}

void api_posts_share(http_req *req, http_res *res)
{
    json_t *body = http_req_json(req);
    static const char *const allowed[] = {"comment", "visibility", "circle_id", NULL};
    post_input in = {0};
    jv_error verr;
    if (body &&
        (!jv_only(body, allowed, &verr) ||
         !jv_string(body, "comment", false, 0, POST_CAPTION_MAX_CHARS, &in.caption, &verr) ||
         !jv_string(body, "visibility", false, 0, 16, &in.visibility, &verr) ||
         !jv_id(body, "circle_id", false, &in.circle_id, &verr))) {
        api_invalid(res, &verr);
        return;
    }
    create_post(req, res, &in, true);
}

void api_posts_view(http_req *req, http_res *res)
{
    json_t *body = http_req_json(req);
    static const char *const allowed[] = {"watch_ms", NULL};
    int64_t watch_ms = 0;
    jv_error verr;
    if (body && (!jv_only(body, allowed, &verr) ||
                 !jv_int(body, "watch_ms", false, 0, POSTS_MAX_WATCH_MS, &watch_ms, &verr))) {
        api_invalid(res, &verr);
        return;
    }
    int64_t id;
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p) || !post_id(req, res, &id))
        return;
    store_post post;
    bool counted;
    domain_error err = {0};
    int rc = posts_view(d, &p.user, id, watch_ms, &counted, &post, &err);
    if (rc < 0) {
        api_fail(res, rc, &err);
        return;
    }
    http_res_json(
        res, 200,
        json_pack("{s:b, s:I}", "counted", counted, "view_count", (json_int_t)post.view_count));
}
