/* SPDX-License-Identifier: MIT
 *
 * SQL for post_pins.
 */
#include "store/pins.h"

#include "core/util.h"

int store_pin_add(db *d, int64_t user_id, int64_t post_id, int64_t now, bool *added)
{
    static const char *sql = "INSERT INTO post_pins (user_id, post_id, pinned_at) VALUES (?, ?, ?) "
                             "ON CONFLICT DO NOTHING";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    db_bind_int64(s, 2, post_id);
    db_bind_int64(s, 3, now);
    int rc = db_run(s);
    *added = rc == 0 && db_changes(d) > 0;
    return rc;
}

int store_pin_remove(db *d, int64_t user_id, int64_t post_id)
{
    static const char *sql = "DELETE FROM post_pins WHERE user_id = ? AND post_id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    db_bind_int64(s, 2, post_id);
    return db_run(s);
}

int64_t store_pin_count(db *d, int64_t user_id)
{
    static const char *sql = "SELECT COUNT(*) FROM post_pins pp JOIN posts p ON p.id = pp.post_id "
                             "WHERE pp.user_id = ? AND p.deleted_at IS NULL";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    int64_t n;
    int rc = db_query_int64(s, &n);
    return rc < 0 ? rc : n;
}

int store_pin_list(db *d, int64_t user_id, int64_t *post_ids, int64_t *pinned_at, int max)
{
    static const char *sql = "SELECT pp.post_id, pp.pinned_at FROM post_pins pp "
                             "JOIN posts p ON p.id = pp.post_id "
                             "WHERE pp.user_id = ? AND p.deleted_at IS NULL "
                             "ORDER BY pp.pinned_at DESC, pp.post_id DESC LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    db_bind_int64(s, 2, max);
    int n = 0, rc;
    while ((rc = db_step(s)) == DB_ROW && n < max) {
        post_ids[n] = db_col_int64(s, 0);
        pinned_at[n] = db_col_int64(s, 1);
        n++;
    }
    db_reset(s);
    return rc == DB_DONE || rc == DB_ROW ? n : rc;
}
