/* SPDX-License-Identifier: MIT
 *
 * Post rules. posts_can_view is the single gate for every read that can reveal a post, so the
 * visibility rules cannot drift apart between endpoints.
 */
#include "domain/posts.h"

#include "core/id.h"
#include "core/util.h"
#include "domain/errors.h"
#include "store/graph.h"
#include "store/users.h"

#include <stdio.h>
#include <string.h>

#define CAPTION_MAX_CHARS 2200

static bool visibility_valid(const char *v)
{
    static const char *const allowed[] = {"public", "followers", "friends", "private", NULL};
    for (const char *const *a = allowed; *a; a++)
        if (strcmp(*a, v) == 0)
            return true;
    return false;
}

bool posts_can_view(db *d, int64_t viewer, const store_user *author, const store_post *p)
{
    if (p->deleted_at)
        return false;
    if (viewer == author->id)
        return true;
    if (viewer && store_blocked_either(d, viewer, author->id))
        return false;
    bool follows = viewer && store_follows(d, viewer, author->id);
    if (author->is_private && !follows)
        return false;
    if (!strcmp(p->visibility, "public"))
        return true;
    if (!strcmp(p->visibility, "followers"))
        return follows;
    if (!strcmp(p->visibility, "friends"))
        return follows && store_follows(d, author->id, viewer);
    return false; /* private */
}

static int check_fields(const char *caption, const char *visibility, auth_error *err)
{
    if (caption && utf8_length(caption) > CAPTION_MAX_CHARS)
        return domain_invalid(err, "caption", "too_long");
    if (visibility && !visibility_valid(visibility))
        return domain_invalid(err, "visibility", "not_allowed");
    return 0;
}

int posts_create(db *d, const store_user *me, const char *type, const char *caption,
                 const char *visibility, store_post *out, auth_error *err)
{
    if (type && strcmp(type, "text") != 0)
        return domain_invalid(err, "type", "not_supported_yet");
    if (!caption || !*caption)
        return domain_invalid(err, "caption", "required");
    int rc = check_fields(caption, visibility, err);
    if (rc < 0)
        return rc;
    memset(out, 0, sizeof *out);
    out->id = id_next();
    out->author_id = me->id;
    strcpy(out->type, "text");
    snprintf(out->caption, sizeof out->caption, "%s", caption);
    snprintf(out->visibility, sizeof out->visibility, "%s",
             visibility ? visibility : me->default_visibility);
    out->comments_enabled = me->allow_comments;
    out->created_at = out->updated_at = now_ms();
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    if (store_post_insert(d, out) < 0 || db_commit(d) < 0) {
        db_rollback(d);
        return domain_db_failed(err, d, "create post");
    }
    return 0;
}

int posts_get_visible(db *d, int64_t viewer, int64_t id, store_post *out, store_user *author,
                      auth_error *err)
{
    int rc = store_post_get(d, id, out);
    if (rc == 0)
        rc = store_user_by_id(d, out->author_id, author);
    if (rc == ERR_NOT_FOUND || (rc == 0 && !posts_can_view(d, viewer, author, out)))
        return domain_fail(err, ERR_NOT_FOUND, "post_not_found", "no such post");
    return rc < 0 ? domain_db_failed(err, d, "get post") : 0;
}

int posts_edit(db *d, const store_user *me, int64_t id, const char *caption,
               const char *visibility, store_post *out, auth_error *err)
{
    if (caption && !*caption)
        return domain_invalid(err, "caption", "required");
    int rc = check_fields(caption, visibility, err);
    if (rc < 0)
        return rc;
    store_user author;
    if ((rc = posts_get_visible(d, me->id, id, out, &author, err)) < 0)
        return rc;
    if (out->author_id != me->id)
        return domain_fail(err, ERR_FORBIDDEN, "not_author", "only the author can edit a post");
    int64_t now = now_ms();
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    if (store_post_update(d, out, caption ? caption : out->caption,
                          visibility ? visibility : out->visibility, id_next(), now) < 0 ||
        db_commit(d) < 0) {
        db_rollback(d);
        return domain_db_failed(err, d, "edit post");
    }
    if (caption)
        snprintf(out->caption, sizeof out->caption, "%s", caption);
    if (visibility)
        snprintf(out->visibility, sizeof out->visibility, "%s", visibility);
    out->updated_at = now;
    return 0;
}

int posts_delete(db *d, const store_user *me, int64_t id, auth_error *err)
{
    store_post p;
    store_user author;
    int rc = posts_get_visible(d, me->id, id, &p, &author, err);
    if (rc < 0)
        return rc;
    if (p.author_id != me->id)
        return domain_fail(err, ERR_FORBIDDEN, "not_author", "only the author can delete a post");
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    rc = store_post_soft_delete(d, id, me->id, now_ms());
    if (rc == ERR_NOT_FOUND) {
        db_rollback(d);
        return domain_fail(err, ERR_NOT_FOUND, "post_not_found", "no such post");
    }
    if (rc < 0 || db_commit(d) < 0) {
        db_rollback(d);
        return domain_db_failed(err, d, "delete post");
    }
    return 0;
}

static bool reaction_valid(const char *t)
{
    static const char *const types[] = {"like", "love", "laugh", "wow", "sad", "fire", NULL};
    for (const char *const *a = types; *a; a++)
        if (strcmp(*a, t) == 0)
            return true;
    return false;
}

/* Runs a reaction change on a post the viewer may see, in one transaction. */
static int change_reaction(db *d, const store_user *me, int64_t id, const char *type,
                           auth_error *err)
{
    store_post p;
    store_user author;
    int rc = posts_get_visible(d, me->id, id, &p, &author, err);
    if (rc < 0)
        return rc;
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    bool changed;
    rc = type ? store_reaction_set(d, id_next(), id, me->id, type, now_ms(), &changed)
              : store_reaction_clear(d, id, me->id, &changed);
    if (rc < 0 || db_commit(d) < 0) {
        db_rollback(d);
        return domain_db_failed(err, d, "reaction");
    }
    return 0;
}

int posts_react(db *d, const store_user *me, int64_t id, const char *type, auth_error *err)
{
    if (!reaction_valid(type))
        return domain_invalid(err, "type", "not_allowed");
    return change_reaction(d, me, id, type, err);
}

int posts_unreact(db *d, const store_user *me, int64_t id, auth_error *err)
{
    return change_reaction(d, me, id, NULL, err);
}

int posts_set_comments(db *d, const store_user *me, int64_t id, bool on, store_post *out,
                       auth_error *err)
{
    store_user author;
    int rc = posts_get_visible(d, me->id, id, out, &author, err);
    if (rc < 0)
        return rc;
    if (out->author_id != me->id)
        return domain_fail(err, ERR_FORBIDDEN, "not_author", "only the author can edit a post");
    if (store_post_set_comments_enabled(d, id, on) < 0)
        return domain_db_failed(err, d, "comments switch");
    out->comments_enabled = on;
    return 0;
}

static int check_body(const char *body, auth_error *err)
{
    if (!body || !*body)
        return domain_invalid(err, "body", "required");
    if (utf8_length(body) > CAPTION_MAX_CHARS)
        return domain_invalid(err, "body", "too_long");
    return 0;
}

int comments_create(db *d, const store_user *me, int64_t post_id, const char *body,
                    int64_t parent_id, store_comment *out, auth_error *err)
{
    int rc = check_body(body, err);
    if (rc < 0)
        return rc;
    store_post p;
    store_user author;
    if ((rc = posts_get_visible(d, me->id, post_id, &p, &author, err)) < 0)
        return rc;
    if (!p.comments_enabled)
        return domain_fail(err, ERR_FORBIDDEN, "comments_disabled",
                           "comments are turned off for this post");
    if (parent_id) {
        store_comment parent;
        rc = store_comment_get(d, parent_id, &parent);
        if (rc == ERR_NOT_FOUND || (rc == 0 && parent.post_id != post_id))
            return domain_invalid(err, "parent_id", "not_found");
        if (rc < 0)
            return domain_db_failed(err, d, "parent");
        /* replies stay one level deep, as on the big apps: a reply to a reply joins the thread */
        if (parent.parent_id)
            parent_id = parent.parent_id;
    }
    memset(out, 0, sizeof *out);
    out->id = id_next();
    out->post_id = post_id;
    out->author_id = me->id;
    out->parent_id = parent_id;
    snprintf(out->body, sizeof out->body, "%s", body);
    out->created_at = out->updated_at = now_ms();
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    if (store_comment_insert(d, out) < 0 || db_commit(d) < 0) {
        db_rollback(d);
        return domain_db_failed(err, d, "comment");
    }
    return 0;
}

/* Loads a live comment whose post the viewer may see. */
static int visible_comment(db *d, int64_t viewer, int64_t id, store_comment *c, store_post *p,
                           auth_error *err)
{
    store_user author;
    int rc = store_comment_get(d, id, c);
    if (rc == 0)
        rc = posts_get_visible(d, viewer, c->post_id, p, &author, err);
    else if (rc == ERR_NOT_FOUND)
        return domain_fail(err, ERR_NOT_FOUND, "comment_not_found", "no such comment");
    if (rc == ERR_NOT_FOUND)
        return domain_fail(err, ERR_NOT_FOUND, "comment_not_found", "no such comment");
    return rc < 0 ? rc : 0;
}

int comments_edit(db *d, const store_user *me, int64_t id, const char *body, store_comment *out,
                  auth_error *err)
{
    int rc = check_body(body, err);
    store_post p;
    if (rc < 0 || (rc = visible_comment(d, me->id, id, out, &p, err)) < 0)
        return rc;
    if (out->author_id != me->id)
        return domain_fail(err, ERR_FORBIDDEN, "not_author",
                           "only the author can edit a comment");
    int64_t now = now_ms();
    if (store_comment_update(d, id, body, now) < 0)
        return domain_db_failed(err, d, "edit comment");
    snprintf(out->body, sizeof out->body, "%s", body);
    out->updated_at = now;
    return 0;
}

int comments_delete(db *d, const store_user *me, int64_t id, auth_error *err)
{
    store_comment c;
    store_post p;
    int rc = visible_comment(d, me->id, id, &c, &p, err);
    if (rc < 0)
        return rc;
    if (c.author_id != me->id && p.author_id != me->id)
        return domain_fail(err, ERR_FORBIDDEN, "not_allowed",
                           "only the comment's author or the post's author can delete it");
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    rc = store_comment_delete(d, &c, now_ms());
    if (rc < 0 || db_commit(d) < 0) {
        db_rollback(d);
        return rc == ERR_NOT_FOUND
                   ? domain_fail(err, ERR_NOT_FOUND, "comment_not_found", "no such comment")
                   : domain_db_failed(err, d, "delete comment");
    }
    return 0;
}

int posts_save(db *d, const store_user *me, int64_t id, bool on, auth_error *err)
{
    store_post p;
    store_user author;
    int rc = posts_get_visible(d, me->id, id, &p, &author, err);
    if (rc < 0)
        return rc;
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    bool changed;
    rc = on ? store_save_add(d, id_next(), me->id, id, now_ms(), &changed)
            : store_save_remove(d, me->id, id, &changed);
    if (rc < 0 || db_commit(d) < 0) {
        db_rollback(d);
        return domain_db_failed(err, d, "save");
    }
    return 0;
}
