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
 * a new slow mode takes effect on the next message, a block ends presence subscriptions) are
 * handed as plain values (live_change) to the function installed with live_on_change: app.c
 * installs the rooms service's, which publishes them on the bus topic TOPIC_ROOMS_CONTROL
 * (core/topics.h) that the rooms and presence services of every node subscribe. The wire format
 * is theirs, not the domain's.
 *
 * The rules the realtime services apply to their in-memory state are here too, so a CLI or a
 * moderation module gets the same answers: who may join a room (not banned; the ban list and
 * the slow mode are read from the database), how long slow mode makes a sender wait, and the
 * membership caps of a socket and a user. The services keep the state (member tables, last
 * send times, counts); these functions decide.
 */
#ifndef STREAMHUB_DOMAIN_LIVE_H
#define STREAMHUB_DOMAIN_LIVE_H

#include "domain/errors.h"
#include "domain/events.h"
#include "store/live.h"
#include "store/users.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LIVE_ROOM_NAME_MAX 64
#define LIVE_ROOM_TEXT_MAX 500
#define LIVE_SLOW_MODE_MAX 3600
#define LIVE_HANDLE_MAX 32 /* bytes of a member's handle as rooms show it, with the NUL */

bool live_room_name_valid(const char *name);
/* 0, or ERR_INVALID with err naming field "text" (required, too_long, invalid_utf8). */
int live_room_text_check(const char *text, domain_error *err);

/* Whether viewer may see target's presence. */
bool live_presence_visible(db *d, int64_t viewer, int64_t target);
/* Whether viewer may subscribe to target's presence: target exists and is visible. One answer
 * for "no such user" and "not visible", so a caller cannot probe the graph with it. */
bool live_presence_watchable(db *d, int64_t viewer, int64_t target);
/* A change every node applies to the sockets it holds. */
typedef enum live_change_kind {
    LIVE_ROOM_SLOW_MODE, /* room's slow mode is now value seconds */
    LIVE_ROOM_BAN,       /* user_id is banned from room: their sockets leave it */
    LIVE_PRESENCE_DROP,  /* user_id and other_id no longer see each other's presence */
} live_change_kind;

typedef struct live_change {
    live_change_kind kind;
    const char *room; /* the room kinds; borrowed for the call */
    int64_t user_id, other_id, value;
} live_change;

typedef void (*live_change_fn)(const live_change *change);
/* Installs who tells every node about a change; start-up only, before any request. Without one
 * (a process that holds no sockets) a change reaches the database only. */
void live_on_change(live_change_fn fn);

/* a and b may no longer see each other's presence (a block): every node drops the
 * subscriptions of a's sockets to b's presence and of b's to a's, at once (LIVE_PRESENCE_DROP). */
void live_presence_end(int64_t a, int64_t b);
/* The after-commit consumer of EV_BLOCKED: live_presence_end for the pair (app.c subscribes). */
int live_on_event(db *d, const domain_event *ev, void *arg);
/* The persisted state; a user who never connected reads as offline with last_seen_at 0. */
void live_presence_get(db *d, int64_t user_id, store_presence *out);

/* A room's slow mode in seconds (0 when off or unreadable). */
int64_t live_room_slow_mode(db *d, const char *room);
/* The moderator tools. Each is for moderators and admins (ERR_FORBIDDEN "forbidden" otherwise)
 * and answers ERR_NOT_FOUND "room_not_found" for a name that cannot be a room, in that order. */
int live_room_set_slow_mode(db *d, const store_user *actor, const char *room, int64_t seconds,
                            domain_error *err);
/* Bans target from room (idempotent) and tells every node to remove them at once. */
int live_room_ban(db *d, const store_user *actor, const char *room, int64_t target,
                  domain_error *err);
int live_room_unban(db *d, const store_user *actor, const char *room, int64_t target,
                    domain_error *err);

/* What joining needs from the database. */
typedef struct live_room_entry {
    int64_t slow_mode_s;
    char handle[LIVE_HANDLE_MAX];
} live_room_entry;
/* Whether user may join room: 0 with out filled, ERR_FORBIDDEN "banned" (a ban persisted by
 * live_room_ban, on any node), or a database failure. */
int live_room_admit(db *d, const char *room, int64_t user, live_room_entry *out, domain_error *err);

/* Seconds a member must still wait before sending under slow mode (rounded up), 0 when they
 * may send: slow_mode_s 0 is off, last_sent_ms 0 is "never sent" (the latest send of any of
 * the user's sockets: slow mode is per user, not per socket). */
int64_t live_room_slow_wait(int64_t slow_mode_s, int64_t last_sent_ms, int64_t now_ms);

/* The membership caps of one node (--ws-rooms-per-socket, --ws-rooms-per-user). */
typedef struct live_room_caps {
    int64_t per_socket, per_user;
} live_room_caps;
/* Why a join is refused: the scope ("socket" or "user"), its limit and the option that sets it. */
typedef struct live_room_refusal {
    const char *scope, *option;
    int64_t limit;
} live_room_refusal;
/* Whether a socket in socket_rooms rooms, whose user is in user_rooms rooms (user_in_room:
 * already in this one through another socket, which costs the user nothing), may join one more:
 * true, or false with out filled. A socket joining a room it is in is not asked. */
bool live_room_may_join(const live_room_caps *caps, int64_t socket_rooms, int64_t user_rooms,
                        bool user_in_room, live_room_refusal *out);

#endif
