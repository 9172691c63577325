/* SPDX-License-Identifier: MIT
 *
 * Hashtags and mentions parsed from captions. A hashtag row keeps the count of live posts that
 * carry it; links are written when a post is created or its caption edited, and removed when it
 * is deleted, all in the caller's transaction.
 */
#ifndef STREAMHUB_STORE_TAGS_H
#define STREAMHUB_STORE_TAGS_H

#include "store/db.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct store_hashtag {
    int64_t id;
    char tag[404]; /* normalized (lowercase), up to 100 characters */
    int64_t post_count;
    int64_t created_at;
} store_hashtag;

/* Links the post to the normalized tag, creating the hashtag on first use. */
int store_hashtag_link(db *d, int64_t new_id, int64_t post_id, const char *tag, int64_t now);
/* Removes every link of the post, lowering the counts. */
int store_hashtags_unlink(db *d, int64_t post_id);
int store_hashtag_get(db *d, const char *tag, store_hashtag *out);
/* Records a mention; *added is false when the post already mentioned the user. */
int store_mention_add(db *d, int64_t post_id, int64_t user_id, bool *added);

#endif
