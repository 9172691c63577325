/* SPDX-License-Identifier: MIT
 *
 * Circles: an owner's named lists of members (close friends). A post shared to a circle is seen
 * by its members and the author; member_count moves in the same transaction as the membership.
 */
#ifndef STREAMHUB_STORE_CIRCLES_H
#define STREAMHUB_STORE_CIRCLES_H

#include "store/db.h"
#include "store/users.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct store_circle {
    int64_t id;
    int64_t owner_id;
    char name[256];
    int64_t member_count;
    int64_t created_at;
    int64_t updated_at;
} store_circle;

int store_circle_insert(db *d, const store_circle *c);
/* The circle if owner_id owns it (ERR_NOT_FOUND otherwise, so others cannot probe ids). */
int store_circle_get(db *d, int64_t id, int64_t owner_id, store_circle *out);
int store_circle_rename(db *d, int64_t id, const char *name, int64_t now);
int store_circle_delete(db *d, int64_t id);
int64_t store_circle_count(db *d, int64_t owner_id);
/* The owner's circles, newest first, ids below before_id. */
int store_circle_list(db *d, int64_t owner_id, int64_t before_id, store_circle *out, int max);
/* Membership changes (caller's transaction); *changed tells whether the count moved. */
int store_circle_member_add(db *d, int64_t id, int64_t circle_id, int64_t user_id, int64_t now,
                            bool *changed);
int store_circle_member_remove(db *d, int64_t circle_id, int64_t user_id, bool *changed);
bool store_circle_has_member(db *d, int64_t circle_id, int64_t user_id);
/* Members, newest first; membership ids are the cursor. */
int store_circle_members(db *d, int64_t circle_id, int64_t before_id, int64_t *member_ids,
                         store_user *out, int max);

#endif
