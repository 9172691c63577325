/* SPDX-License-Identifier: MIT
 *
 * SQL for the users table. Every function reads or writes whole rows through one column list so
 * the row decoder has one shape.
 */
#include "store/users.h"

#include "store/identity.h"

#include "core/util.h"

#include <stdio.h>
#include <string.h>

#define USER_COLS STORE_USER_COLUMNS

static void copy_col(char *dst, size_t n, db_stmt *s, int col)
{
    str_copy(dst, n, db_col_text(s, col));
}

void store_user_decode_at(db_stmt *s, int at, store_user *u)
{
    u->id = db_col_int64(s, at + 0);
    copy_col(u->email, sizeof u->email, s, at + 1);
    copy_col(u->handle, sizeof u->handle, s, at + 2);
    copy_col(u->phone, sizeof u->phone, s, at + 3);
    copy_col(u->display_name, sizeof u->display_name, s, at + 4);
    copy_col(u->password_hash, sizeof u->password_hash, s, at + 5);
    copy_col(u->role, sizeof u->role, s, at + 6);
    u->email_verified_at = db_col_int64(s, at + 7);
    u->created_at = db_col_int64(s, at + 8);
    u->updated_at = db_col_int64(s, at + 9);
    copy_col(u->bio, sizeof u->bio, s, at + 10);
    copy_col(u->links, sizeof u->links, s, at + 11);
    u->is_private = db_col_int64(s, at + 12) != 0;
    u->allow_duets = db_col_int64(s, at + 13) != 0;
    u->allow_stitches = db_col_int64(s, at + 14) != 0;
    u->allow_comments = db_col_int64(s, at + 15) != 0;
    copy_col(u->default_visibility, sizeof u->default_visibility, s, at + 16);
    u->followers_count = db_col_int64(s, at + 17);
    u->following_count = db_col_int64(s, at + 18);
    u->posts_count = db_col_int64(s, at + 19);
    u->avatar_media_id = db_col_null(s, at + 20) ? 0 : db_col_int64(s, at + 20);
    u->cover_media_id = db_col_null(s, at + 21) ? 0 : db_col_int64(s, at + 21);
    u->verified = db_col_int64(s, at + 22) != 0;
}

void store_user_decode(db_stmt *s, store_user *u)
{
    store_user_decode_at(s, 0, u);
}

/* Runs a bound single-row query and decodes the user. */
static int fetch_user(db_stmt *s, store_user *out)
{
    int rc = db_step(s);
    if (rc == DB_ROW)
        store_user_decode(s, out);
    db_reset(s);
    return rc == DB_ROW ? 0 : rc == DB_DONE ? ERR_NOT_FOUND : rc;
}

int store_user_insert(db *d, const store_user *u)
{
    static const char *sql =
        "INSERT INTO users (id, email, email_norm, handle, handle_norm, phone, display_name, "
        "password_hash, role, email_verified_at, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    char email_norm[256], handle_norm[32];
    str_copy(email_norm, sizeof email_norm, u->email);
    str_copy(handle_norm, sizeof handle_norm, u->handle);
    str_lower(email_norm);
    str_lower(handle_norm);
    db_bind_int64(s, 1, u->id);
    db_bind_text(s, 2, u->email[0] ? u->email : NULL);
    db_bind_text(s, 3, u->email[0] ? email_norm : NULL);
    db_bind_text(s, 4, u->handle);
    db_bind_text(s, 5, handle_norm);
    db_bind_text(s, 6, u->phone[0] ? u->phone : NULL);
    db_bind_text(s, 7, u->display_name);
    db_bind_text(s, 8, u->password_hash[0] ? u->password_hash : NULL);
    db_bind_text(s, 9, u->role);
    if (u->email_verified_at)
        db_bind_int64(s, 10, u->email_verified_at);
    else
        db_bind_null(s, 10);
    db_bind_int64(s, 11, u->created_at);
    db_bind_int64(s, 12, u->updated_at);
    return db_run(s);
}

int store_user_by_id(db *d, int64_t id, store_user *out)
{
    static const char *sql = "SELECT " USER_COLS " FROM users u WHERE u.id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, id);
    return fetch_user(s, out);
}

int store_user_by_login(db *d, const char *norm, store_user *out)
{
    static const char *sql =
        "SELECT " USER_COLS " FROM users u WHERE u.email_norm = ? OR u.handle_norm = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_text(s, 1, norm);
    db_bind_text(s, 2, norm);
    return fetch_user(s, out);
}

int store_user_by_email(db *d, const char *email_norm, store_user *out)
{
    static const char *sql = "SELECT " USER_COLS " FROM users u WHERE u.email_norm = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_text(s, 1, email_norm);
    return fetch_user(s, out);
}

int store_user_by_phone(db *d, const char *phone, store_user *out)
{
    static const char *sql = "SELECT " USER_COLS " FROM users u WHERE u.phone = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_text(s, 1, phone);
    return fetch_user(s, out);
}

bool store_handle_taken(db *d, const char *handle_norm)
{
    return !store_handle_available(d, handle_norm, 0, now_ms());
}

int store_user_for_session(db *d, int64_t user_id, int64_t session_id, int64_t now,
                           store_user *out)
{
    static const char *sql =
        "SELECT " USER_COLS " FROM users u JOIN sessions s ON s.user_id = u.id "
        "WHERE u.id = ? AND s.id = ? AND s.revoked_at IS NULL AND s.expires_at > ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    db_bind_int64(s, 2, session_id);
    db_bind_int64(s, 3, now);
    int rc = fetch_user(s, out);
    return rc == ERR_NOT_FOUND ? ERR_UNAUTHORIZED : rc;
}

/* Runs an UPDATE of one user row; ERR_NOT_FOUND when no row matched. */
static int update_one(db *d, db_stmt *s)
{
    int rc = db_run(s);
    if (rc < 0)
        return rc;
    return db_changes(d) == 1 ? 0 : ERR_NOT_FOUND;
}

int store_user_set_password(db *d, int64_t id, const char *hash, int64_t now)
{
    static const char *sql = "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_text(s, 1, hash);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, id);
    return update_one(d, s);
}

int store_user_set_role(db *d, int64_t id, const char *role, int64_t now)
{
    static const char *sql = "UPDATE users SET role = ?, updated_at = ? WHERE id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_text(s, 1, role);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, id);
    return update_one(d, s);
}

int store_user_set_email_verified(db *d, int64_t id, int64_t now)
{
    static const char *sql =
        "UPDATE users SET email_verified_at = ?, updated_at = ? WHERE id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, id);
    return update_one(d, s);
}

int64_t store_user_count(db *d)
{
    static const char *sql = "SELECT COUNT(*) FROM users";
    db_stmt *s = db_prepare(d, sql);
    int64_t n = 0;
    if (s)
        db_query_int64(s, &n);
    return n;
}

int store_user_by_handle(db *d, const char *handle_norm, store_user *out)
{
    static const char *sql = "SELECT " USER_COLS " FROM users u WHERE u.handle_norm = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_text(s, 1, handle_norm);
    return fetch_user(s, out);
}

int store_user_update_profile(db *d, const store_user *u, int64_t now)
{
    static const char *sql =
        "UPDATE users SET display_name = ?, bio = ?, links = ?, is_private = ?, allow_duets = ?, "
        "allow_stitches = ?, allow_comments = ?, default_visibility = ?, updated_at = ? "
        "WHERE id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_text(s, 1, u->display_name);
    db_bind_text(s, 2, u->bio);
    db_bind_text(s, 3, u->links);
    db_bind_int64(s, 4, u->is_private);
    db_bind_int64(s, 5, u->allow_duets);
    db_bind_int64(s, 6, u->allow_stitches);
    db_bind_int64(s, 7, u->allow_comments);
    db_bind_text(s, 8, u->default_visibility);
    db_bind_int64(s, 9, now);
    db_bind_int64(s, 10, u->id);
    return update_one(d, s);
}

int store_user_page(db_stmt *s, int64_t *edge_ids, store_user *out, int max)
{
    int n = 0, rc = DB_DONE;
    while (n < max && (rc = db_step(s)) == DB_ROW) {
        edge_ids[n] = db_col_int64(s, STORE_USER_NCOLS);
        store_user_decode(s, &out[n++]);
    }
    db_reset(s);
    return rc < 0 ? rc : n;
}

static void bind_optional_id(db_stmt *s, int idx, int64_t id)
{
    if (id)
        db_bind_int64(s, idx, id);
    else
        db_bind_null(s, idx);
}

int store_user_set_images(db *d, int64_t id, int64_t avatar_media_id, int64_t cover_media_id,
                          int64_t now)
{
    /* Each id is kept only while the media still exists and is the user's: a media deleted
     * between the caller's check and this write leaves no dangling avatar. */
    static const char *sql =
        "UPDATE users SET "
        "avatar_media_id = (SELECT m.id FROM media m WHERE m.id = ? AND m.owner_id = users.id), "
        "cover_media_id = (SELECT m.id FROM media m WHERE m.id = ? AND m.owner_id = users.id), "
        "updated_at = ? WHERE id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    bind_optional_id(s, 1, avatar_media_id);
    bind_optional_id(s, 2, cover_media_id);
    db_bind_int64(s, 3, now);
    db_bind_int64(s, 4, id);
    return update_one(d, s);
}

int store_users_by_ids(db *d, int64_t viewer, const int64_t *ids, int n, store_user *out)
{
    /* A fixed number of "?" (unused ones bound to 0, which no user has), so the statement is
     * prepared once and cached. */
    static const char *sql =
        "SELECT " USER_COLS " FROM users u WHERE u.id IN (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
        "?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
        "AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = u.id AND b.blocked_id = ? "
        "AND u.id <> ?)";
    _Static_assert(STORE_USERS_BY_IDS_MAX == 50, "one ? per id in the statement above");
    if (n > STORE_USERS_BY_IDS_MAX)
        n = STORE_USERS_BY_IDS_MAX;
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    for (int k = 0; k < STORE_USERS_BY_IDS_MAX; k++)
        db_bind_int64(s, k + 1, k < n ? ids[k] : 0);
    db_bind_int64(s, STORE_USERS_BY_IDS_MAX + 1, viewer);
    db_bind_int64(s, STORE_USERS_BY_IDS_MAX + 2, viewer);
    int got = 0, rc = DB_DONE;
    while (got < n && (rc = db_step(s)) == DB_ROW)
        store_user_decode(s, &out[got++]);
    db_reset(s);
    return rc < 0 ? rc : got;
}
