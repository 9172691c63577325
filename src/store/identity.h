/* SPDX-License-Identifier: MIT
 *
 * Identity extras: verification badges granted by admins, and handle changes. A changed handle
 * stays reserved for its previous owner for a while so links to it cannot be hijacked; the
 * previous owner may take it back.
 */
#ifndef STREAMHUB_STORE_IDENTITY_H
#define STREAMHUB_STORE_IDENTITY_H

#include "store/db.h"

#include <stdbool.h>
#include <stdint.h>

#define STORE_BADGE_BYTES 24
int store_badge_grant(db *d, int64_t user_id, const char *badge, int64_t granted_by, int64_t now,
                      bool *changed);
int store_badge_revoke(db *d, int64_t user_id, const char *badge, bool *changed);
/* The user's badges, alphabetical; returns how many (up to max). */
int store_badges_of(db *d, int64_t user_id, char (*out)[STORE_BADGE_BYTES], int max);

/* Whether handle_norm is free for user_id (0 = a new account): no other account has it and it is
 * not reserved for another account at now. */
bool store_handle_available(db *d, const char *handle_norm, int64_t user_id, int64_t now);
/* Renames the user and reserves the old handle for them until reserved_until (caller's
 * transaction). ERR_CONFLICT when another account took the new handle meanwhile. */
int store_handle_change(db *d, int64_t user_id, const char *old_norm, const char *new_handle,
                        const char *new_norm, int64_t now, int64_t reserved_until);

#endif
