/* SPDX-License-Identifier: MIT
 *
 * Verification badges. Admins grant and revoke them; profiles show them. The set is closed so
 * clients can draw each one: verified (a notable person or brand confirmed by staff), creator
 * (a creator-programme member) and official (StreamHub's own accounts).
 */
#ifndef STREAMHUB_DOMAIN_IDENTITY_H
#define STREAMHUB_DOMAIN_IDENTITY_H

#include "domain/errors.h"
#include "store/users.h"
#include "store/identity.h"

#define IDENTITY_MAX_BADGES 8

/* The badges there are, ended by NULL. */
extern const char *const identity_badges[];

/* Grants (on) or revokes a badge of user_id; idempotent; 404 for an unknown user; admins only
 * (ERR_FORBIDDEN otherwise, before anything else is looked at). */
int identity_set_badge(db *d, const store_user *admin, int64_t user_id, const char *badge,
                       bool on, domain_error *err);
/* A user's badges (at most max, each STORE_BADGE_BYTES); the count, negative on failure. */
int identity_badges_of(db *d, int64_t user_id, char (*out)[STORE_BADGE_BYTES], int max);

#endif
