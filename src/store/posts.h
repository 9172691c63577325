/* SPDX-License-Identifier: MIT
 *
 * Posts and their edit history. Deletion is soft (deleted_at), so a deleted post disappears from
 * every read at once and is purged later; the author's posts_count changes in the same
 * transaction.
 */
#ifndef STREAMHUB_STORE_POSTS_H
#define STREAMHUB_STORE_POSTS_H

#include "store/db.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POST_CAPTION_BYTES (2200 * 4 + 1)

typedef struct store_post {
    int64_t id;
    int64_t author_id;
    char type[16];
    char caption[POST_CAPTION_BYTES];
    char visibility[16];
    int64_t created_at;
    int64_t updated_at;
    int64_t deleted_at;
    int64_t reaction_count;
    int64_t comment_count;
    bool comments_enabled;
    int64_t save_count;
} store_post;

/* The post column list for other store/ modules joining posts (alias p), and the decoder of a
 * row that starts with it. */
#define STORE_POST_COLUMNS                                                                        \
    "p.id, p.author_id, p.type, p.caption, p.visibility, p.created_at, p.updated_at, "           \
    "p.deleted_at, p.reaction_count, p.comment_count, p.comments_enabled, p.save_count"
void store_post_decode(db_stmt *s, store_post *p);

int store_post_insert(db *d, const store_post *p);
/* Live (not deleted) post. */
int store_post_get(db *d, int64_t id, store_post *out);
/* Saves the previous caption/visibility to the history and writes the new ones. */
int store_post_update(db *d, const store_post *before, const char *caption,
                      const char *visibility, int64_t edit_id, int64_t now);
int store_post_soft_delete(db *d, int64_t id, int64_t author_id, int64_t now);
/* Live posts of an author below before_id, newest first. */
int store_post_list_by_author(db *d, int64_t author_id, int64_t before_id, store_post *out,
                              int max);
typedef struct store_post_edit {
    int64_t id;
    char caption[POST_CAPTION_BYTES];
    char visibility[16];
    int64_t edited_at;
} store_post_edit;
/* Earlier versions of a post, newest first, ids below before_id (0 = newest). */
int store_post_edits(db *d, int64_t post_id, int64_t before_id, store_post_edit *out, int max);

/* Sets the user's reaction on a post (insert, or change its type); *added tells whether the
 * count went up. Run inside a transaction. */
int store_reaction_set(db *d, int64_t id, int64_t post_id, int64_t user_id, const char *type,
                       int64_t now, bool *added);
/* Removes it; *removed tells whether there was one. Run inside a transaction. */
int store_reaction_clear(db *d, int64_t post_id, int64_t user_id, bool *removed);
/* The user's reaction type into out (empty when none). */
int store_reaction_of(db *d, int64_t post_id, int64_t user_id, char *out, size_t n);
typedef struct store_reaction {
    int64_t id;
    int64_t user_id;
    char type[16];
    int64_t created_at;
} store_reaction;
int store_reaction_list(db *d, int64_t post_id, int64_t before_id, store_reaction *out, int max);

int store_post_set_comments_enabled(db *d, int64_t id, bool on);
/* Home-feed candidates: live posts by the viewer and the accounts they follow, minus authors
 * they mute, ids below before_id, newest first. */
int store_post_home_candidates(db *d, int64_t viewer, int64_t before_id, store_post *out,
                               int max);

#define COMMENT_BODY_BYTES (2200 * 4 + 1)
typedef struct store_comment {
    int64_t id;
    int64_t post_id;
    int64_t author_id;
    int64_t parent_id; /* 0 = top level */
    char body[COMMENT_BODY_BYTES];
    int64_t created_at;
    int64_t updated_at;
} store_comment;

/* Inserts and bumps the post's comment_count (caller's transaction). */
int store_comment_insert(db *d, const store_comment *c);
/* A live comment. */
int store_comment_get(db *d, int64_t id, store_comment *out);
int store_comment_update(db *d, int64_t id, const char *body, int64_t now);
/* Soft delete and lower the count (caller's transaction); ERR_NOT_FOUND if already gone. */
int store_comment_delete(db *d, const store_comment *c, int64_t now);
/* Live comments of a post under parent_id (0 = top level), oldest first after after_id, leaving
 * out authors who block the viewer or whom the viewer blocks. */
int store_comment_list(db *d, int64_t post_id, int64_t parent_id, int64_t viewer,
                       int64_t after_id, store_comment *out, int max);

/* Saves (caller's transaction); *changed tells whether the count moved. */
int store_save_add(db *d, int64_t id, int64_t user_id, int64_t post_id, int64_t now,
                   bool *changed);
int store_save_remove(db *d, int64_t user_id, int64_t post_id, bool *changed);
/* The user's saved live posts, newest save first; save ids are the cursor. */
int store_save_list(db *d, int64_t user_id, int64_t before_id, int64_t *save_ids,
                    store_post *out, int max);

#endif
