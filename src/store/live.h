/* SPDX-License-Identifier: MIT
 *
 * SQL for the realtime tables of migration 19: presence (status and last seen as last
 * persisted), rooms (per-room settings; a room needs no row to exist) and room_bans.
 */
#ifndef STREAMHUB_STORE_LIVE_H
#define STREAMHUB_STORE_LIVE_H

#include "store/db.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct store_presence {
    int64_t user_id;
    char status[16]; /* online | away | offline */
    int64_t last_seen_at;
    int64_t updated_at;
} store_presence;

int store_presence_set(db *d, int64_t user_id, const char *status, int64_t last_seen_at,
                       int64_t now);
/* ERR_NOT_FOUND when the user never had a socket. */
int store_presence_get(db *d, int64_t user_id, store_presence *out);
/* Marks everyone this node may have left "online" offline (start-up after a crash): rows
 * updated before `before`. */
int store_presence_reset(db *d, int64_t before, int64_t now);

/* 0 when the room has no settings row. */
int64_t store_room_slow_mode(db *d, const char *room);
int store_room_set_slow_mode(db *d, const char *room, int64_t seconds, int64_t by, int64_t now);
bool store_room_banned(db *d, const char *room, int64_t user_id);
/* Idempotent; ERR_NOT_FOUND from unban when there was no ban. */
int store_room_ban(db *d, const char *room, int64_t user_id, int64_t by, int64_t now);
int store_room_unban(db *d, const char *room, int64_t user_id);

#endif
