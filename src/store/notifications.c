/* SPDX-License-Identifier: MIT
 *
 * SQL for notifications and notification_prefs.
 */
#include "store/notifications.h"

#include "core/util.h"

#include <stdio.h>

static void bind_optional(db_stmt *s, int idx, int64_t v)
{
    if (v)
        db_bind_int64(s, idx, v);
    else
        db_bind_null(s, idx);
}

int store_notification_add(db *d, const store_notification *n, const char *group_key)
{
    /* The conflict target names the partial unique index notifications_group, so only an unread
     * row of the same group is bumped; a read group starts a new row. */
    static const char *sql =
        "INSERT INTO notifications (id, user_id, type, actor_id, actor_count, post_id, "
        "comment_id, group_key, seq, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (user_id, group_key) WHERE read_at IS NULL DO UPDATE SET "
        "actor_count = notifications.actor_count + 1, actor_id = excluded.actor_id, "
        "seq = excluded.seq, updated_at = excluded.updated_at";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, n->id);
    db_bind_int64(s, 2, n->user_id);
    db_bind_text(s, 3, n->type);
    db_bind_int64(s, 4, n->actor_id);
    bind_optional(s, 5, n->post_id);
    bind_optional(s, 6, n->comment_id);
    db_bind_text(s, 7, group_key);
    db_bind_int64(s, 8, n->seq);
    db_bind_int64(s, 9, n->created_at);
    db_bind_int64(s, 10, n->created_at);
    return db_run(s);
}

static void read_row(db_stmt *s, store_notification *o)
{
    o->id = db_col_int64(s, 0);
    o->user_id = db_col_int64(s, 1);
    str_copy(o->type, sizeof o->type, db_col_text(s, 2));
    o->actor_id = db_col_int64(s, 3);
    o->actor_count = db_col_int64(s, 4);
    o->post_id = db_col_int64(s, 5);
    o->comment_id = db_col_int64(s, 6);
    o->seq = db_col_int64(s, 7);
    o->created_at = db_col_int64(s, 8);
    o->updated_at = db_col_int64(s, 9);
    o->read_at = db_col_int64(s, 10);
}

int store_notification_list(db *d, int64_t user_id, bool unread_only, int64_t before_seq,
                            store_notification *out, int max)
{
    static const char *all =
        "SELECT id, user_id, type, actor_id, actor_count, post_id, comment_id, seq, created_at, "
        "updated_at, read_at FROM notifications WHERE user_id = ? AND seq < ? "
        "ORDER BY seq DESC LIMIT ?";
    static const char *unread =
        "SELECT id, user_id, type, actor_id, actor_count, post_id, comment_id, seq, created_at, "
        "updated_at, read_at FROM notifications WHERE user_id = ? AND seq < ? "
        "AND read_at IS NULL ORDER BY seq DESC LIMIT ?";
    db_stmt *s = db_prepare(d, unread_only ? unread : all);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    db_bind_int64(s, 2, before_seq > 0 ? before_seq : INT64_MAX);
    db_bind_int64(s, 3, max);
    int n = 0, rc = DB_DONE;
    while (n < max && (rc = db_step(s)) == DB_ROW)
        read_row(s, &out[n++]);
    db_reset(s);
    return rc < 0 ? rc : n;
}

int store_notification_current(db *d, int64_t user_id, int64_t id, const char *group_key,
                               store_notification *out)
{
    static const char *by_group =
        "SELECT id, user_id, type, actor_id, actor_count, post_id, comment_id, seq, created_at, "
        "updated_at, read_at FROM notifications WHERE user_id = ? AND group_key = ? "
        "AND read_at IS NULL";
    static const char *by_id =
        "SELECT id, user_id, type, actor_id, actor_count, post_id, comment_id, seq, created_at, "
        "updated_at, read_at FROM notifications WHERE user_id = ? AND id = ?";
    db_stmt *s = db_prepare(d, group_key ? by_group : by_id);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    if (group_key)
        db_bind_text(s, 2, group_key);
    else
        db_bind_int64(s, 2, id);
    int rc = db_step(s);
    if (rc == DB_ROW)
        read_row(s, out);
    db_reset(s);
    return rc == DB_ROW ? 0 : rc < 0 ? rc : ERR_NOT_FOUND;
}

int64_t store_notification_unread(db *d, int64_t user_id)
{
    static const char *sql =
        "SELECT COUNT(*) FROM notifications WHERE user_id = ? AND read_at IS NULL";
    db_stmt *s = db_prepare(d, sql);
    int64_t n = 0;
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    int rc = db_query_int64(s, &n);
    return rc < 0 ? rc : n;
}

int store_notification_mark_read(db *d, int64_t user_id, int64_t id, int64_t now)
{
    static const char *sql = "UPDATE notifications SET read_at = ? WHERE user_id = ? AND id = ? "
                             "AND read_at IS NULL";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, user_id);
    db_bind_int64(s, 3, id);
    return db_run(s);
}

int store_notification_mark_all_read(db *d, int64_t user_id, int64_t now)
{
    static const char *sql =
        "UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, user_id);
    return db_run(s);
}

bool store_notification_wanted(db *d, int64_t user_id, const char *type)
{
    static const char *sql =
        "SELECT enabled FROM notification_prefs WHERE user_id = ? AND type = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return true;
    db_bind_int64(s, 1, user_id);
    db_bind_text(s, 2, type);
    int rc = db_step(s);
    bool wanted = rc != DB_ROW || db_col_int64(s, 0) != 0;
    db_reset(s);
    return wanted;
}

int store_notification_set_pref(db *d, int64_t user_id, const char *type, bool enabled)
{
    static const char *sql =
        "INSERT INTO notification_prefs (user_id, type, enabled) VALUES (?, ?, ?) "
        "ON CONFLICT (user_id, type) DO UPDATE SET enabled = excluded.enabled";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    db_bind_text(s, 2, type);
    db_bind_int64(s, 3, enabled);
    return db_run(s);
}
