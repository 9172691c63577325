/* SPDX-License-Identifier: MIT
 *
 * Accounts table access. Emails and handles are stored as given and again normalized
 * (lowercased) in *_norm columns with unique indexes, which makes uniqueness case-insensitive
 * the same way on SQLite and PostgreSQL.
 */
#ifndef STREAMHUB_STORE_USERS_H
#define STREAMHUB_STORE_USERS_H

#include "store/db.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct store_user {
    int64_t id;
    char email[256];
    char handle[32];
    char phone[24];             /* E.164 or empty */
    char display_name[260];
    char password_hash[192];    /* argon2id string or empty for passwordless accounts */
    char role[16];
    int64_t email_verified_at;  /* 0 = not verified */
    int64_t created_at;
    int64_t updated_at;
    /* profile */
    char bio[640];              /* up to 150 characters */
    char links[2048];           /* JSON array of up to 5 URLs */
    bool is_private;            /* follows become requests */
    bool allow_duets, allow_stitches, allow_comments;
    char default_visibility[16];
    int64_t followers_count, following_count, posts_count;
    /* the user's own ready image media shown as avatar and cover (0 = none), and whether the
     * "verified" badge is held: read with every user row, so summaries need no query of their
     * own */
    int64_t avatar_media_id, cover_media_id;
    bool verified;
} store_user;

/* ERR_CONFLICT when the email, handle or phone is taken. */
int store_user_insert(db *d, const store_user *u);
int store_user_by_id(db *d, int64_t id, store_user *out);
/* Looks up by normalized email or handle (login accepts either). */
int store_user_by_login(db *d, const char *norm, store_user *out);
int store_user_by_email(db *d, const char *email_norm, store_user *out);
int store_user_by_phone(db *d, const char *phone, store_user *out);
bool store_handle_taken(db *d, const char *handle_norm);
/* Loads the user behind an access token, but only while its session is live (not revoked, not
 * expired): one query that makes logout take effect at once. ERR_UNAUTHORIZED otherwise. */
int store_user_for_session(db *d, int64_t user_id, int64_t session_id, int64_t now,
                           store_user *out);
int store_user_set_password(db *d, int64_t id, const char *hash, int64_t now);
int store_user_set_role(db *d, int64_t id, const char *role, int64_t now);
int store_user_set_email_verified(db *d, int64_t id, int64_t now);
int64_t store_user_count(db *d);
int store_user_by_handle(db *d, const char *handle_norm, store_user *out);
/* Writes the profile fields (display name, bio, links, privacy and defaults). */
int store_user_update_profile(db *d, const store_user *u, int64_t now);
/* Sets (media id) or clears (0) the avatar and cover; the caller has checked the media. */
int store_user_set_images(db *d, int64_t id, int64_t avatar_media_id, int64_t cover_media_id,
                          int64_t now);
/* Up to STORE_USERS_BY_IDS_MAX users among ids, in no particular order; unknown ids and users
 * who block viewer (0 = anonymous) are left out. Returns how many were read. */
#define STORE_USERS_BY_IDS_MAX 50
int store_users_by_ids(db *d, int64_t viewer, const int64_t *ids, int n, store_user *out);
/* Runs a bound statement selecting USER_COLUMNS then an edge id (column STORE_USER_NCOLS), filling
 * up to max users and their edge ids (the cursor); returns the count or a negative ERR_*. */
int store_user_page(db_stmt *s, int64_t *edge_ids, store_user *out, int max);
/* Decodes the current row of a statement whose first columns are STORE_USER_COLUMNS. */
void store_user_decode(db_stmt *s, store_user *u);
/* The same for a row whose user columns start at column at. */
void store_user_decode_at(db_stmt *s, int at, store_user *u);
#define STORE_USER_NCOLS 23

/* The user column list, for other store/ modules joining users (alias u). */
#define STORE_USER_COLUMNS                                                                         \
    "u.id, u.email, u.handle, u.phone, u.display_name, u.password_hash, u.role, "                  \
    "u.email_verified_at, u.created_at, u.updated_at, u.bio, u.links, u.is_private, "              \
    "u.allow_duets, u.allow_stitches, u.allow_comments, u.default_visibility, "                    \
    "u.followers_count, u.following_count, u.posts_count, u.avatar_media_id, "                     \
    "u.cover_media_id, " STORE_USER_VERIFIED_COL
/* Whether u holds the verified badge: one primary-key probe per row. */
#define STORE_USER_VERIFIED_COL                                                                    \
    "CASE WHEN EXISTS (SELECT 1 FROM user_badges vb WHERE vb.user_id = u.id AND "                  \
    "vb.badge = 'verified') THEN 1 ELSE 0 END"

#endif
