/* SPDX-License-Identifier: MIT
 *
 * Circles (close-friend lists). Only the owner sees or changes a circle; members are not told
 * they are in one. Someone who blocks the owner, or whom the owner blocks, cannot be added.
 * Deleting a circle leaves posts shared to it visible to the author alone.
 */
#ifndef STREAMHUB_DOMAIN_CIRCLES_H
#define STREAMHUB_DOMAIN_CIRCLES_H

#include "domain/errors.h"
#include "store/users.h"
#include "store/circles.h"

#define CIRCLES_MAX_PER_USER 50
#define CIRCLES_MAX_MEMBERS 5000
#define CIRCLES_NAME_CHARS 60

int circles_create(db *d, const store_user *me, const char *name, store_circle *out,
                   domain_error *err);
/* Loads one of my circles (404 for anyone else's). */
int circles_get(db *d, const store_user *me, int64_t id, store_circle *out, domain_error *err);
int circles_rename(db *d, const store_user *me, int64_t id, const char *name, store_circle *out,
                   domain_error *err);
int circles_delete(db *d, const store_user *me, int64_t id, domain_error *err);
/* Adds or removes the user with this handle; idempotent both ways. */
int circles_set_member(db *d, const store_user *me, int64_t id, const char *handle, bool add,
                       domain_error *err);

/* A page of my circles, newest first, ids below before_id; returns the count. */
int circles_list(db *d, const store_user *me, int64_t before_id, store_circle *out, int max,
                 domain_error *err);
/* A page of the members of my circle id (ERR_NOT_FOUND "circle_not_found" for another's),
 * newest first, membership ids as the cursor; returns the count. */
int circles_members(db *d, const store_user *me, int64_t id, int64_t before_id, int64_t *member_ids,
                    store_user *out, int max, domain_error *err);

#endif
