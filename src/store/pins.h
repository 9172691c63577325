/* SPDX-License-Identifier: MIT
 *
 * SQL for post_pins: the posts a user pinned to their profile.
 */
#ifndef STREAMHUB_STORE_PINS_H
#define STREAMHUB_STORE_PINS_H

#include "store/db.h"

#include <stdbool.h>
#include <stdint.h>

/* Pins post_id for user_id; *added is false when it was pinned already. */
int store_pin_add(db *d, int64_t user_id, int64_t post_id, int64_t now, bool *added);
int store_pin_remove(db *d, int64_t user_id, int64_t post_id);
/* The user's pins of posts not deleted. */
int64_t store_pin_count(db *d, int64_t user_id);
/* The user's pins of posts not deleted, the latest pinned first; returns how many (<= max). */
int store_pin_list(db *d, int64_t user_id, int64_t *post_ids, int64_t *pinned_at, int max);

#endif
