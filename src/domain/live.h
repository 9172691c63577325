/* SPDX-License-Identifier: MIT
 *
 * Rules of presence and rooms (issue 5). Presence is visible only between users who follow
 * each other (and do not block each other), and to oneself. Rooms are named channels: any name
 * matching [a-z0-9_-]{1,64} is a room; moderators and admins set a room's slow mode (seconds
 * between two messages of one user, 0..LIVE_SLOW_MODE_MAX) and ban users from it. Room messages
 * are 1..LIVE_ROOM_TEXT_MAX characters (code points, after trimming nothing: what is sent is
 * shown).
 *
 * Changes that every node must apply to the sockets it holds (a ban removes the member at once,
 * a new slow mode takes effect on the next message) are published on the bus topic
 * LIVE_CONTROL_TOPIC as {"type":"room.ban"|"room.slow_mode","data":{...}}; the socket side
 * (api/live_ws.c) subscribes to it once per node.
 */
#ifndef STREAMHUB_DOMAIN_LIVE_H
#define STREAMHUB_DOMAIN_LIVE_H

#include "domain/errors.h"
#include "domain/events.h"
#include "store/live.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LIVE_ROOM_NAME_MAX 64
#define LIVE_ROOM_TEXT_MAX 500
#define LIVE_SLOW_MODE_MAX 3600
#define LIVE_CONTROL_TOPIC "rooms:control"

bool live_room_name_valid(const char *name);
/* 0, or ERR_INVALID with err naming field "text" (required, too_long, invalid_utf8). */
int live_room_text_check(const char *text, domain_error *err);

/* Whether viewer may see target's presence. */
bool live_presence_visible(db *d, int64_t viewer, int64_t target);
/* a and b may no longer see each other's presence (a block): every node drops the
 * subscriptions of a's sockets to b's presence and of b's to a's, at once (through
 * LIVE_CONTROL_TOPIC as {"type":"presence.drop","data":{"user_id","other_id"}}). */
void live_presence_end(int64_t a, int64_t b);
/* The after-commit consumer of EV_BLOCKED: live_presence_end for the pair (app.c subscribes). */
int live_on_event(db *d, const domain_event *ev, void *arg);
/* The persisted state; a user who never connected reads as offline with last_seen_at 0. */
void live_presence_get(db *d, int64_t user_id, store_presence *out);

int live_room_set_slow_mode(db *d, int64_t actor, const char *room, int64_t seconds,
                            domain_error *err);
/* Bans target from room (idempotent) and tells every node to remove them at once. */
int live_room_ban(db *d, int64_t actor, const char *room, int64_t target, domain_error *err);
int live_room_unban(db *d, const char *room, int64_t target, domain_error *err);

#endif
