/* SPDX-License-Identifier: MIT
 *
 * The follow graph: follow edges, follow requests (for private accounts) and the counters on
 * both users, always changed in the caller's transaction together with the edge. Friends are
 * mutual follows, derived by a self-join and never stored twice.
 */
#ifndef STREAMHUB_STORE_GRAPH_H
#define STREAMHUB_STORE_GRAPH_H

#include "store/db.h"
#include "store/users.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum { GRAPH_FOLLOWERS, GRAPH_FOLLOWING, GRAPH_FRIENDS, GRAPH_BLOCKS, GRAPH_MUTES } graph_list_kind;

/* Adds the edge and bumps both counters; ERR_CONFLICT when it already exists. */
int store_follow_add(db *d, int64_t id, int64_t follower, int64_t followee, int64_t now);
/* Removes the edge and lowers both counters; ERR_NOT_FOUND when there was none. */
int store_follow_remove(db *d, int64_t follower, int64_t followee);
bool store_follows(db *d, int64_t follower, int64_t followee);
/* A page of users, newest edge first, edges below before_id (0 = newest); edge ids are the
 * cursor. Users blocking the viewer, or blocked by the viewer, are left out of follow lists
 * (viewer 0 = anonymous). Returns the count or a negative ERR_*. */
int store_follow_list(db *d, graph_list_kind kind, int64_t user_id, int64_t viewer,
                      int64_t before_id, int64_t *edge_ids, store_user *out, int max);

/* Blocks: adding one ends follows and follow requests in both directions (caller's
 * transaction). ERR_CONFLICT when it already exists. */
int store_block_add(db *d, int64_t id, int64_t blocker, int64_t blocked, int64_t now);
int store_block_remove(db *d, int64_t blocker, int64_t blocked);
bool store_blocks(db *d, int64_t blocker, int64_t blocked);
/* True when either user blocks the other. */
bool store_blocked_either(db *d, int64_t a, int64_t b);
/* Whether the user blocks, mutes or is blocked by anyone at all (true when it cannot tell). */
bool store_has_exclusions(db *d, int64_t user);
int store_mute_add(db *d, int64_t id, int64_t muter, int64_t muted, int64_t now);
int store_mute_remove(db *d, int64_t muter, int64_t muted);
bool store_mutes(db *d, int64_t muter, int64_t muted);

int store_request_add(db *d, int64_t id, int64_t requester, int64_t target, int64_t now);
int store_request_remove(db *d, int64_t requester, int64_t target);
bool store_requested(db *d, int64_t requester, int64_t target);
/* The request with this id addressed to target: fills *requester. ERR_NOT_FOUND otherwise. */
int store_request_get(db *d, int64_t id, int64_t target, int64_t *requester);
/* Incoming requests of target, newest first, as users with request ids as the cursor. */
int store_request_list(db *d, int64_t target, int64_t before_id, int64_t *request_ids,
                       store_user *out, int max);

#endif
