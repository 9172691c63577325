/* SPDX-License-Identifier: MIT
 *
 * SQL for user_badges and handle_reservations.
 */
#include "store/identity.h"

#include "core/util.h"

#include <stdio.h>
#include <string.h>

int store_badge_grant(db *d, int64_t user_id, const char *badge, int64_t granted_by, int64_t now,
                      bool *changed)
{
    static const char *sql = "INSERT INTO user_badges (user_id, badge, granted_by, created_at) "
                             "VALUES (?, ?, ?, ?) ON CONFLICT (user_id, badge) DO NOTHING";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    db_bind_text(s, 2, badge);
    db_bind_int64(s, 3, granted_by);
    db_bind_int64(s, 4, now);
    int rc = db_run(s);
    *changed = rc == 0 && db_changes(d) == 1;
    return rc;
}

int store_badge_revoke(db *d, int64_t user_id, const char *badge, bool *changed)
{
    static const char *sql = "DELETE FROM user_badges WHERE user_id = ? AND badge = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    db_bind_text(s, 2, badge);
    int rc = db_run(s);
    *changed = rc == 0 && db_changes(d) == 1;
    return rc;
}

int store_badges_of(db *d, int64_t user_id, char (*out)[STORE_BADGE_BYTES], int max)
{
    static const char *sql = "SELECT badge FROM user_badges WHERE user_id = ? ORDER BY badge";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    int n = 0, rc = DB_DONE;
    while (n < max && (rc = db_step(s)) == DB_ROW)
        snprintf(out[n++], STORE_BADGE_BYTES, "%s", db_col_text(s, 0));
    db_reset(s);
    return rc < 0 ? rc : n;
}

bool store_handle_available(db *d, const char *handle_norm, int64_t user_id, int64_t now)
{
    static const char *sql =
        "SELECT COUNT(*) FROM (SELECT id FROM users WHERE handle_norm = ? AND id <> ? "
        "UNION ALL SELECT user_id FROM handle_reservations WHERE handle_norm = ? "
        "AND user_id <> ? AND reserved_until > ?) taken";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return false; /* fail closed */
    db_bind_text(s, 1, handle_norm);
    db_bind_int64(s, 2, user_id);
    db_bind_text(s, 3, handle_norm);
    db_bind_int64(s, 4, user_id);
    db_bind_int64(s, 5, now);
    int64_t n = 1;
    int rc = db_query_int64(s, &n);
    return rc == 0 && n == 0;
}

int store_handle_change(db *d, int64_t user_id, const char *old_norm, const char *new_handle,
                        const char *new_norm, int64_t now, int64_t reserved_until)
{
    /* The target row is checked first: on PostgreSQL a unique violation in the UPDATE would
     * abort the caller's transaction instead of answering ERR_CONFLICT cleanly. */
    static const char *taken = "SELECT COUNT(*) FROM users WHERE handle_norm = ? AND id <> ?";
    static const char *rename = "UPDATE users SET handle = ?, handle_norm = ?, updated_at = ? "
                                "WHERE id = ?";
    static const char *reserve =
        "INSERT INTO handle_reservations (handle_norm, user_id, reserved_until) VALUES (?, ?, ?) "
        "ON CONFLICT (handle_norm) DO UPDATE SET user_id = excluded.user_id, "
        "reserved_until = excluded.reserved_until";
    static const char *release = "DELETE FROM handle_reservations WHERE handle_norm = ?";
    db_stmt *s = db_prepare(d, taken);
    int64_t n = 0;
    if (!s)
        return ERR_DB;
    db_bind_text(s, 1, new_norm);
    db_bind_int64(s, 2, user_id);
    int rc = db_query_int64(s, &n);
    if (rc < 0)
        return rc;
    if (n)
        return ERR_CONFLICT;
    if (!(s = db_prepare(d, rename)))
        return ERR_DB;
    db_bind_text(s, 1, new_handle);
    db_bind_text(s, 2, new_norm);
    db_bind_int64(s, 3, now);
    db_bind_int64(s, 4, user_id);
    if ((rc = db_run(s)) < 0)
        return rc;
    if (!(s = db_prepare(d, release)))
        return ERR_DB;
    db_bind_text(s, 1, new_norm);
    if ((rc = db_run(s)) < 0)
        return rc;
    if (!strcmp(old_norm, new_norm))
        return 0; /* only the letter case changed */
    if (!(s = db_prepare(d, reserve)))
        return ERR_DB;
    db_bind_text(s, 1, old_norm);
    db_bind_int64(s, 2, user_id);
    db_bind_int64(s, 3, reserved_until);
    return db_run(s);
}
