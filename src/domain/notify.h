/* SPDX-License-Identifier: MIT
 *
 * Notifications: who hears about what. notify() runs inside the transaction of the action it
 * reports (called by notify_on_event, a consumer of that action's domain event), so an action and
 * its notification commit together. It skips one's own actions, pairs where either blocks the
 * other, actors the recipient mutes, and types the recipient turned off. Likes of one post, likes
 * of one comment and follows are grouped while unread ("ana and 12 others liked your post").
 *
 * Each recorded notification is also pushed live once its transaction commits, through the
 * publisher the API layer installs (notify_set_publisher): the domain hands over the item and the
 * unread count as they will commit, the API builds what the client receives.
 */
#ifndef STREAMHUB_DOMAIN_NOTIFY_H
#define STREAMHUB_DOMAIN_NOTIFY_H

#include "domain/errors.h"
#include "domain/events.h"
#include "store/notifications.h"
#include "store/posts.h"
#include "store/users.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The notification types, as an X-macro so the API can declare one preference field per type
 * from this one list. */
#define NOTIFY_TYPES(X)                                                                          \
    X(follow) X(follow_request) X(follow_accepted) X(like) X(comment) X(reply) X(mention)        \
    X(share) X(duet) X(stitch) X(comment_like) X(creator_tier)
/* The same as strings, for preferences and validation; NULL-terminated. */
extern const char *const notify_types[];
bool notify_type_valid(const char *type);
/* Whether user_id wants notifications of type (on unless turned off). */
bool notify_pref_wanted(db *d, int64_t user_id, const char *type);
/* Turns notifications of type on or off for user_id; 422 for a type not in notify_types. */
int notify_pref_set(db *d, int64_t user_id, const char *type, bool enabled, domain_error *err);

/* Records the notification unless a rule above says not to; returns 0 or a negative ERR_*
 * (database failure, which should roll the action back). */
int notify(db *d, int64_t recipient, const char *type, int64_t actor, int64_t post_id,
           int64_t comment_id);

/* A notification about the recipient's own account, with no other actor (the recipient is
 * its actor, so the listing's visibility check keeps it): e.g. "creator_tier". */
int notify_self(db *d, int64_t recipient, const char *type);

/* The in-transaction consumer of the domain events that notify someone (follows, requests and
 * their acceptance, likes, comments and replies, comment likes, mentions, shares, duets and
 * stitches); subscribed by app.c. Returns notify()'s error, which rolls the action back. */
int notify_on_event(db *d, const domain_event *ev, void *arg);

typedef struct notify_item {
    store_notification n;
    store_user actor;
} notify_item;

/* A notification as its recipient is told of it live, read while the action's transaction still
 * saw it as it commits: the item as notify_list shows it (grouped count, newest actor) and the
 * unread count after it (negative when it could not be read). */
typedef struct notify_live {
    int64_t recipient;
    notify_item item;
    int64_t unread;
} notify_live;

/* Publishes a committed notification to its recipient (called after COMMIT, never after a
 * rollback); the API layer's, which builds the client's messages. */
typedef void (*notify_publish_fn)(const notify_live *live);
/* Installs the publisher, at start-up before any thread notifies; without one nothing is pushed
 * live. */
void notify_set_publisher(notify_publish_fn fn);
/* "ana and 12 others liked your post": the text a client shows when it has no better template
 * of its own. */
void notify_summary(const notify_item *it, char *out, size_t n);

/* The viewer's notifications, newest first, leaving out those whose post the viewer can no
 * longer see or whose actor is now blocked either way or muted by the viewer; *next is the
 * cursor (0 = end). */
int notify_list(db *d, int64_t viewer, int64_t cursor, int limit, notify_item *out, int64_t *next);
/* How many of the viewer's unread notifications notify_list would show, counted up to
 * NOTIFY_UNREAD_MAX (a client shows "99+" above it) over at most NOTIFY_UNREAD_SCAN_MAX unread
 * rows, so the count and the live pushes never include what the list leaves out. Negative
 * ERR_* on a database failure. */
#define NOTIFY_UNREAD_MAX 99
#define NOTIFY_UNREAD_SCAN_MAX 1000
int64_t notify_unread(db *d, int64_t viewer);
/* Marks the given ids read (ids of others are ignored), or all when n_ids is negative. */
int notify_mark_read(db *d, int64_t viewer, const int64_t *ids, int n_ids, domain_error *err);

#endif
