/* SPDX-License-Identifier: MIT
 *
 * Hashtags and mentions parsed from captions. A hashtag row keeps the count of live posts that
 * carry it (post_count) and, what anyone may be shown, of those that are public posts of public
 * accounts (public_count); links are written when a post is created or its caption edited, and
 * removed when it is deleted, all in the caller's transaction. public_count also moves when a
 * post's visibility crosses "public" and when an account turns private or public, so it stays
 * exact without ever being recomputed.
 */
#ifndef STREAMHUB_STORE_TAGS_H
#define STREAMHUB_STORE_TAGS_H

#include "store/db.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct store_hashtag {
    int64_t id;
    char tag[404]; /* normalized (lowercase), up to 100 characters */
    int64_t post_count; /* public posts of public accounts only (public_count) */
    int64_t created_at;
} store_hashtag;

/* Links the post to the normalized tag, creating the hashtag on first use. */
int store_hashtag_link(db *d, int64_t new_id, int64_t post_id, const char *tag, int64_t now);
/* Removes every link of the post, lowering the counts. */
int store_hashtags_unlink(db *d, int64_t post_id);
/* Moves public_count of every tag on the post by delta: the post's visibility became (+1) or
 * stopped being (-1) public on a public account. Call with the links still in place. */
int store_hashtags_public_adjust(db *d, int64_t post_id, int delta);
/* The author's account turned private (or public again): their public posts stop (start)
 * counting. Caller's transaction, with the privacy change. */
int store_hashtags_author_privacy(db *d, int64_t author_id, bool now_private);
int store_hashtag_get(db *d, const char *tag, store_hashtag *out);
/* Records a mention; *added is false when the post already mentioned the user. */
int store_mention_add(db *d, int64_t post_id, int64_t user_id, bool *added);

#endif
