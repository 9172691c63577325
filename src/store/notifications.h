/* SPDX-License-Identifier: MIT
 *
 * Notification rows and per-type preferences. Groupable events carry a group_key: while the
 * recipient has not read the group, a new event bumps it (count, newest actor, position) instead
 * of adding a row, which is how "ana and 12 others liked your post" stays one line.
 */
#ifndef STREAMHUB_STORE_NOTIFICATIONS_H
#define STREAMHUB_STORE_NOTIFICATIONS_H

#include "store/db.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct store_notification {
    int64_t id;
    int64_t user_id;
    char type[24];
    int64_t actor_id; /* newest actor */
    int64_t actor_count;
    int64_t post_id;    /* 0 = none */
    int64_t comment_id; /* 0 = none */
    int64_t seq;        /* list position and cursor */
    int64_t created_at;
    int64_t updated_at;
    int64_t read_at; /* 0 = unread */
} store_notification;

/* Adds a notification, or bumps the unread one with the same group_key (NULL = never grouped).
 * Caller's transaction. */
int store_notification_add(db *d, const store_notification *n, const char *group_key);
/* Newest first by seq, strictly below before_seq (0 = from the top). */
int store_notification_list(db *d, int64_t user_id, bool unread_only, int64_t before_seq,
                            store_notification *out, int max);
/* The row a store_notification_add just wrote or bumped: the unread one of group_key, or the
 * one with this id when group_key is NULL. ERR_NOT_FOUND when there is none. */
int store_notification_current(db *d, int64_t user_id, int64_t id, const char *group_key,
                               store_notification *out);
int64_t store_notification_unread(db *d, int64_t user_id);
/* Marks one of the user's notifications read (no-op when not theirs or already read). */
int store_notification_mark_read(db *d, int64_t user_id, int64_t id, int64_t now);
int store_notification_mark_all_read(db *d, int64_t user_id, int64_t now);
/* Whether the user wants this type (default yes). */
bool store_notification_wanted(db *d, int64_t user_id, const char *type);
int store_notification_set_pref(db *d, int64_t user_id, const char *type, bool enabled);

#endif
