/* SPDX-License-Identifier: MIT
 *
 * Pinned posts: a creator keeps up to PINS_MAX of their own posts at the top of their profile.
 * Only the author pins a post; stories expire, so they cannot be pinned. Whoever reads a
 * profile's pins sees only those of its posts they may see (posts_get_visible), so a pin never
 * reveals a post its audience excludes. Pinning twice, or unpinning what is not pinned, is not an
 * error. A pin goes with its post: a deleted post drops out of the list and frees its place.
 */
#ifndef STREAMHUB_DOMAIN_PINS_H
#define STREAMHUB_DOMAIN_PINS_H

#include "domain/errors.h"
#include "store/db.h"
#include "store/posts.h"
#include "store/users.h"

#include <stdbool.h>
#include <stdint.h>

#define PINS_MAX 3

typedef struct pinned_post {
    store_post post;
    store_user author;
    int64_t pinned_at;
} pinned_post;

/* Pins (on) or unpins the post for me: 404 post_not_found when me cannot see it, 403 not_author
 * for another's post, 409 not_pinnable for a story, 409 too_many_pins past PINS_MAX. */
int pins_set(db *d, const store_user *me, int64_t post_id, bool on, domain_error *err);
/* The pins of the user named handle that viewer (0 = anonymous) may see, the latest pinned
 * first: at most PINS_MAX in out. 404 user_not_found as for the profile. Returns how many. */
int pins_list(db *d, int64_t viewer, const char *handle, pinned_post *out, domain_error *err);

#endif
