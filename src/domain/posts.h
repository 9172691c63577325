/* SPDX-License-Identifier: MIT
 *
 * Post rules: who may see a post (one function every read goes through), creating, editing with
 * history, and soft deletion. Only text posts exist yet; media types arrive with the video
 * pipeline.
 */
#ifndef STREAMHUB_DOMAIN_POSTS_H
#define STREAMHUB_DOMAIN_POSTS_H

#include "domain/auth.h"
#include "store/posts.h"

#include <stdbool.h>

/* Visibility: the author always; nobody when either blocks the other; a private account's posts
 * only to its followers; then public = anyone, followers = followers, friends = mutual follows,
 * private = the author alone. viewer 0 is anonymous. */
bool posts_can_view(db *d, int64_t viewer, const store_user *author, const store_post *p);
int posts_create(db *d, const store_user *me, const char *type, const char *caption,
                 const char *visibility, store_post *out, auth_error *err);
/* Loads a post the viewer may see (404 otherwise) and its author. */
int posts_get_visible(db *d, int64_t viewer, int64_t id, store_post *out, store_user *author,
                      auth_error *err);
int posts_edit(db *d, const store_user *me, int64_t id, const char *caption,
               const char *visibility, store_post *out, auth_error *err);
int posts_delete(db *d, const store_user *me, int64_t id, auth_error *err);

/* Reaction types: like, love, laugh, wow, sad, fire. Setting is idempotent and replaces an
 * earlier type; the viewer must be able to see the post. */
int posts_react(db *d, const store_user *me, int64_t id, const char *type, auth_error *err);
int posts_unreact(db *d, const store_user *me, int64_t id, auth_error *err);

/* Turns comments on or off for one post (author only). */
int posts_set_comments(db *d, const store_user *me, int64_t id, bool on, store_post *out,
                       auth_error *err);
/* Comments need a post the viewer may see with comments on; a reply names its parent, and a
 * reply to a reply joins the parent's thread (one level deep). Edits: the comment's author.
 * Deletion: the comment's author or the post's author. */
int comments_create(db *d, const store_user *me, int64_t post_id, const char *body,
                    int64_t parent_id, store_comment *out, auth_error *err);
int comments_edit(db *d, const store_user *me, int64_t id, const char *body, store_comment *out,
                  auth_error *err);
int comments_delete(db *d, const store_user *me, int64_t id, auth_error *err);
/* Saves are private bookmarks of posts the viewer may see; idempotent both ways. */
int posts_save(db *d, const store_user *me, int64_t id, bool on, auth_error *err);

#endif
