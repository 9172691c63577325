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
