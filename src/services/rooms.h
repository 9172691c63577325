/* SPDX-License-Identifier: MIT
 *
 * The rooms service (docs/realtime.md, "Rooms"): this node's member tables of named rooms. A
 * room's messages go to its room topic (core/topics.h), so any node can publish; each node
 * holding members subscribes that topic once and fans out to its members' sockets itself. The
 * service applies bans and slow-mode changes from the rooms control topic to the members it
 * holds, pushes member counts every members interval, and frees rooms left empty.
 *
 * The rules (who may join, slow mode, membership caps) are domain/live.c's; the socket
 * commands that parse and answer are api/live_ws.c. A member is a socket (connection id) of a
 * user; the socket must have subscribed its connection topic (topic_conn) before it joins,
 * which is how the service addresses it ("room.removed") and tells whether it is still open.
 */
#ifndef STREAMHUB_SERVICES_ROOMS_H
#define STREAMHUB_SERVICES_ROOMS_H

#include "domain/live.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ROOMS_MAX 10000 /* rooms with members on this node */

typedef struct rooms_service rooms_service;

typedef struct rooms_options {
    int64_t members_interval_ms; /* --room-members-interval */
    live_room_caps caps;         /* --ws-rooms-per-socket, --ws-rooms-per-user */
} rooms_options;

/* Starts the service and its member tick; NULL with err filled on failure. */
rooms_service *rooms_open(const rooms_options *o, char *err, size_t err_size);
/* Stops the tick, unsubscribes every room and frees the tables. */
void rooms_close(rooms_service *rs);

/* Adds conn (of user) to room as entry (live_room_admit) says. 0 with *members (distinct users
 * on this node) set; ERR_TOO_LARGE with refusal filled when a cap refuses (scope "node" for
 * ROOMS_MAX). Joining a room the socket is in changes nothing and succeeds. */
int rooms_join(rooms_service *rs, const char *room, uint64_t conn, int64_t user,
               const live_room_entry *entry, int64_t *members, live_room_refusal *refusal);
/* Removes conn from room: 0, or ERR_NOT_FOUND when it was not a member. */
int rooms_leave(rooms_service *rs, const char *room, uint64_t conn);
/* Publishes text from conn (of user) to room: 0 with *id set; ERR_NOT_FOUND when conn is not a
 * member; ERR_RATE_LIMITED with *wait_s set under slow mode. text is checked by the caller
 * (live_room_text_check). */
int rooms_send(rooms_service *rs, const char *room, uint64_t conn, int64_t user, const char *text,
               int64_t *id, int64_t *wait_s);
/* Distinct users in room on this node (0 for NULL or an unknown room). */
int rooms_members(rooms_service *rs, const char *room);

/* Publishes change on the rooms control topic, where every node's rooms service (bans, slow
 * mode) and presence service (presence drops) apply it: the live_on_change function app.c
 * installs. Needs no open service; the topic's format is this file's and presence.c's. */
void rooms_control_publish(const live_change *change);

#endif
