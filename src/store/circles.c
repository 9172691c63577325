/* SPDX-License-Identifier: MIT
 *
 * SQL for circles and circle_members.
 */
#include "store/circles.h"

#include "core/util.h"

#include <stdio.h>

#define CIRCLE_COLS "id, owner_id, name, member_count, created_at, updated_at"

static void decode_circle(db_stmt *s, store_circle *c)
{
    c->id = db_col_int64(s, 0);
    c->owner_id = db_col_int64(s, 1);
    snprintf(c->name, sizeof c->name, "%s", db_col_text(s, 2));
    c->member_count = db_col_int64(s, 3);
    c->created_at = db_col_int64(s, 4);
    c->updated_at = db_col_int64(s, 5);
}

int store_circle_insert(db *d, const store_circle *c)
{
    static const char *sql = "INSERT INTO circles (id, owner_id, name, member_count, created_at, "
                             "updated_at) VALUES (?, ?, ?, 0, ?, ?)";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, c->id);
    db_bind_int64(s, 2, c->owner_id);
    db_bind_text(s, 3, c->name);
    db_bind_int64(s, 4, c->created_at);
    db_bind_int64(s, 5, c->updated_at);
    return db_run(s);
}

int store_circle_get(db *d, int64_t id, int64_t owner_id, store_circle *out)
{
    static const char *sql = "SELECT " CIRCLE_COLS " FROM circles WHERE id = ? AND owner_id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, owner_id);
    int rc = db_step(s);
    if (rc == DB_ROW)
        decode_circle(s, out);
    db_reset(s);
    return rc == DB_ROW ? 0 : rc == DB_DONE ? ERR_NOT_FOUND : rc;
}

int store_circle_rename(db *d, int64_t id, const char *name, int64_t now)
{
    static const char *sql = "UPDATE circles SET name = ?, updated_at = ? WHERE id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_text(s, 1, name);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, id);
    return db_run(s);
}

int store_circle_delete(db *d, int64_t id)
{
    static const char *members = "DELETE FROM circle_members WHERE circle_id = ?";
    static const char *circle = "DELETE FROM circles WHERE id = ?";
    db_stmt *s = db_prepare(d, members);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, id);
    int rc = db_run(s);
    if (rc < 0 || !(s = db_prepare(d, circle)))
        return rc < 0 ? rc : ERR_DB;
    db_bind_int64(s, 1, id);
    return db_run(s);
}

int64_t store_circle_count(db *d, int64_t owner_id)
{
    static const char *sql = "SELECT COUNT(*) FROM circles WHERE owner_id = ?";
    db_stmt *s = db_prepare(d, sql);
    int64_t n = 0;
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, owner_id);
    int rc = db_query_int64(s, &n);
    return rc < 0 ? rc : n;
}

int store_circle_list(db *d, int64_t owner_id, int64_t before_id, store_circle *out, int max)
{
    static const char *sql = "SELECT " CIRCLE_COLS " FROM circles WHERE owner_id = ? AND id < ? "
                             "ORDER BY id DESC LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, owner_id);
    db_bind_int64(s, 2, before_id > 0 ? before_id : INT64_MAX);
    db_bind_int64(s, 3, max);
    int n = 0, rc = DB_DONE;
    while (n < max && (rc = db_step(s)) == DB_ROW)
        decode_circle(s, &out[n++]);
    db_reset(s);
    return rc < 0 ? rc : n;
}

static int bump_members(db *d, int64_t circle_id, int64_t delta)
{
    static const char *sql = "UPDATE circles SET member_count = member_count + ? WHERE id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, delta);
    db_bind_int64(s, 2, circle_id);
    return db_run(s);
}

int store_circle_member_add(db *d, int64_t id, int64_t circle_id, int64_t user_id, int64_t now,
                            bool *changed)
{
    static const char *sql = "INSERT INTO circle_members (id, circle_id, user_id, created_at) "
                             "VALUES (?, ?, ?, ?) ON CONFLICT (circle_id, user_id) DO NOTHING";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, circle_id);
    db_bind_int64(s, 3, user_id);
    db_bind_int64(s, 4, now);
    int rc = db_run(s);
    if (rc < 0)
        return rc;
    *changed = db_changes(d) == 1;
    return *changed ? bump_members(d, circle_id, 1) : 0;
}

int store_circle_member_remove(db *d, int64_t circle_id, int64_t user_id, bool *changed)
{
    static const char *sql = "DELETE FROM circle_members WHERE circle_id = ? AND user_id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, circle_id);
    db_bind_int64(s, 2, user_id);
    int rc = db_run(s);
    if (rc < 0)
        return rc;
    *changed = db_changes(d) == 1;
    return *changed ? bump_members(d, circle_id, -1) : 0;
}

bool store_circle_has_member(db *d, int64_t circle_id, int64_t user_id)
{
    static const char *sql = "SELECT 1 FROM circle_members WHERE circle_id = ? AND user_id = ?";
    return db_pair_exists(d, sql, circle_id, user_id);
}

int store_circle_members(db *d, int64_t circle_id, int64_t before_id, int64_t *member_ids,
                         store_user *out, int max)
{
    static const char *sql =
        "SELECT " STORE_USER_COLUMNS ", m.id FROM circle_members m JOIN users u ON "
        "u.id = m.user_id WHERE m.circle_id = ? AND m.id < ? ORDER BY m.id DESC LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, circle_id);
    db_bind_int64(s, 2, before_id > 0 ? before_id : INT64_MAX);
    db_bind_int64(s, 3, max);
    return store_user_page(s, member_ids, out, max);
}
