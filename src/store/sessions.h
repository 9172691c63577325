/* SPDX-License-Identifier: MIT
 *
 * Login sessions and their refresh tokens. A session is one refresh-token family: every refresh
 * rotates the token and marks the old one rotated; presenting a rotated token again means it was
 * stolen or replayed, and the domain layer then revokes the whole session. Tokens are stored as
 * SHA-256 hashes only.
 */
#ifndef STREAMHUB_STORE_SESSIONS_H
#define STREAMHUB_STORE_SESSIONS_H

#include "store/db.h"

#include <stdint.h>

typedef struct store_session {
    int64_t id;
    int64_t user_id;
    int64_t created_at;
    int64_t last_used_at;
    int64_t expires_at;
    int64_t revoked_at; /* 0 = live */
    char user_agent[256];
    char ip[64];
} store_session;

typedef struct store_refresh {
    int64_t session_id;
    int64_t user_id;
    int64_t expires_at;
    int64_t rotated_at;         /* 0 = current token of its family */
    int64_t session_revoked_at; /* 0 = session live */
    int64_t session_expires_at;
} store_refresh;

int store_session_insert(db *d, const store_session *s);
int store_session_get(db *d, int64_t id, store_session *out);
/* Live sessions of a user, newest first, ids below before_id (0 = from the newest). Fills up to
 * max entries; returns the count or a negative ERR_*. */
int store_session_list(db *d, int64_t user_id, int64_t before_id, int64_t now, store_session *out,
                       int max);
/* Revokes one live session of this user. ERR_NOT_FOUND if there is none. */
int store_session_revoke(db *d, int64_t user_id, int64_t session_id, const char *reason,
                         int64_t now);
/* Revokes every live session of the user except keep_id (0 = none); returns how many. each
 * (may be NULL) is told every revoked session's id, so their sockets can be closed. */
typedef void (*store_session_fn)(void *arg, int64_t session_id);
int store_session_revoke_all(db *d, int64_t user_id, int64_t keep_id, const char *reason,
                             int64_t now, store_session_fn each, void *arg);
int store_session_touch(db *d, int64_t id, int64_t now);

int store_refresh_insert(db *d, const char *token_hash, int64_t session_id, int64_t now,
                         int64_t expires_at);
int store_refresh_lookup(db *d, const char *token_hash, store_refresh *out);
/* Marks the token rotated; ERR_CONFLICT if it already was (a concurrent refresh won). */
int store_refresh_rotate(db *d, const char *token_hash, int64_t now);

#endif
