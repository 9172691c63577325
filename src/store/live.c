/* SPDX-License-Identifier: MIT
 *
 * SQL for presence, rooms and room_bans (see live.h).
 */
#include "store/live.h"

#include "core/util.h"

#include <stdio.h>

int store_presence_set(db *d, int64_t user_id, const char *status, int64_t last_seen_at,
                       int64_t now)
{
    static const char *sql =
        "INSERT INTO presence (user_id, status, last_seen_at, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET status = excluded.status, "
        "last_seen_at = excluded.last_seen_at, updated_at = excluded.updated_at";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    db_bind_text(s, 2, status);
    db_bind_int64(s, 3, last_seen_at);
    db_bind_int64(s, 4, now);
    return db_run(s);
}

int store_presence_get(db *d, int64_t user_id, store_presence *out)
{
    static const char *sql =
        "SELECT status, last_seen_at, updated_at FROM presence WHERE user_id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        out->user_id = user_id;
        snprintf(out->status, sizeof out->status, "%s", db_col_text(s, 0));
        out->last_seen_at = db_col_int64(s, 1);
        out->updated_at = db_col_int64(s, 2);
    }
    db_reset(s);
    return rc == DB_ROW ? 0 : rc < 0 ? rc : ERR_NOT_FOUND;
}

int store_presence_reset(db *d, int64_t before, int64_t now)
{
    static const char *sql = "UPDATE presence SET status = 'offline', updated_at = ? "
                             "WHERE status <> 'offline' AND updated_at < ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, before);
    return db_run(s);
}

int64_t store_room_slow_mode(db *d, const char *room)
{
    static const char *sql = "SELECT slow_mode_seconds FROM rooms WHERE name = ?";
    db_stmt *s = db_prepare(d, sql);
    int64_t v = 0;
    if (!s)
        return ERR_DB;
    db_bind_text(s, 1, room);
    int rc = db_query_int64(s, &v);
    return rc < 0 ? rc : v;
}

int store_room_set_slow_mode(db *d, const char *room, int64_t seconds, int64_t by, int64_t now)
{
    static const char *sql =
        "INSERT INTO rooms (name, slow_mode_seconds, updated_by, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET slow_mode_seconds = excluded.slow_mode_seconds, "
        "updated_by = excluded.updated_by, updated_at = excluded.updated_at";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_text(s, 1, room);
    db_bind_int64(s, 2, seconds);
    db_bind_int64(s, 3, by);
    db_bind_int64(s, 4, now);
    return db_run(s);
}

bool store_room_banned(db *d, const char *room, int64_t user_id)
{
    static const char *sql = "SELECT 1 FROM room_bans WHERE room = ? AND user_id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return true; /* fail closed: a database error must not let a banned user in */
    db_bind_text(s, 1, room);
    db_bind_int64(s, 2, user_id);
    int rc = db_step(s);
    db_reset(s);
    return rc != DB_DONE;
}

int store_room_ban(db *d, const char *room, int64_t user_id, int64_t by, int64_t now)
{
    static const char *sql =
        "INSERT INTO room_bans (room, user_id, banned_by, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (room, user_id) DO NOTHING";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_text(s, 1, room);
    db_bind_int64(s, 2, user_id);
    db_bind_int64(s, 3, by);
    db_bind_int64(s, 4, now);
    return db_run(s);
}

int store_room_unban(db *d, const char *room, int64_t user_id)
{
    static const char *sql = "DELETE FROM room_bans WHERE room = ? AND user_id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_text(s, 1, room);
    db_bind_int64(s, 2, user_id);
    int rc = db_run(s);
    if (rc < 0)
        return rc;
    return db_changes(d) > 0 ? 0 : ERR_NOT_FOUND;
}
