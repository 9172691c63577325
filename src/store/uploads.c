/* SPDX-License-Identifier: MIT
 *
 * SQL for the uploads table.
 */
#include "store/uploads.h"

#include "core/util.h"

#include <stdio.h>

#define UPLOAD_COLS                                                                               \
    "id, owner_id, COALESCE(length, -1), offset_bytes, metadata, filename, state, "               \
    "COALESCE(media_id, 0), created_at, expires_at"

int store_upload_insert(db *d, const store_upload *u)
{
    static const char *sql =
        "INSERT INTO uploads (id, owner_id, length, offset_bytes, metadata, filename, state, "
        "created_at, expires_at) VALUES (?, ?, ?, 0, ?, ?, 'uploading', ?, ?)";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, u->id);
    db_bind_int64(s, 2, u->owner_id);
    if (u->length >= 0)
        db_bind_int64(s, 3, u->length);
    else
        db_bind_null(s, 3);
    db_bind_text(s, 4, u->metadata);
    db_bind_text(s, 5, u->filename);
    db_bind_int64(s, 6, u->created_at);
    db_bind_int64(s, 7, u->expires_at);
    return db_run(s);
}

int store_upload_get(db *d, int64_t id, store_upload *out)
{
    static const char *sql = "SELECT " UPLOAD_COLS " FROM uploads WHERE id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, id);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        out->id = db_col_int64(s, 0);
        out->owner_id = db_col_int64(s, 1);
        out->length = db_col_int64(s, 2);
        out->offset = db_col_int64(s, 3);
        snprintf(out->metadata, sizeof out->metadata, "%s", db_col_text(s, 4));
        snprintf(out->filename, sizeof out->filename, "%s", db_col_text(s, 5));
        snprintf(out->state, sizeof out->state, "%s", db_col_text(s, 6));
        out->media_id = db_col_int64(s, 7);
        out->created_at = db_col_int64(s, 8);
        out->expires_at = db_col_int64(s, 9);
    }
    db_reset(s);
    return rc == DB_ROW ? 0 : rc == DB_DONE ? ERR_NOT_FOUND : rc;
}

int store_upload_advance(db *d, int64_t id, int64_t expected, int64_t offset, int64_t length,
                         int64_t expires_at)
{
    static const char *sql =
        "UPDATE uploads SET offset_bytes = ?, length = COALESCE(length, ?), expires_at = ? "
        "WHERE id = ? AND offset_bytes = ? AND state = 'uploading'";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, offset);
    if (length >= 0)
        db_bind_int64(s, 2, length);
    else
        db_bind_null(s, 2);
    db_bind_int64(s, 3, expires_at);
    db_bind_int64(s, 4, id);
    db_bind_int64(s, 5, expected);
    int rc = db_run(s);
    return rc < 0 ? rc : db_changes(d) == 1 ? 0 : ERR_CONFLICT;
}

int store_upload_complete(db *d, int64_t id, int64_t media_id)
{
    static const char *sql =
        "UPDATE uploads SET state = 'complete', media_id = ? WHERE id = ? AND state = 'uploading'";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, media_id);
    db_bind_int64(s, 2, id);
    return db_run(s);
}

int store_upload_delete(db *d, int64_t id)
{
    static const char *sql = "DELETE FROM uploads WHERE id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, id);
    return db_run(s);
}

int64_t store_upload_pending_bytes(db *d, int64_t owner_id)
{
    static const char *sql = "SELECT COALESCE(SUM(COALESCE(length, offset_bytes)), 0) "
                             "FROM uploads WHERE owner_id = ? AND state = 'uploading'";
    db_stmt *s = db_prepare(d, sql);
    int64_t n = 0;
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, owner_id);
    int rc = db_query_int64(s, &n);
    return rc < 0 ? rc : n;
}

int store_upload_expired(db *d, int64_t now, int64_t *ids, int max)
{
    static const char *sql = "SELECT id FROM uploads WHERE state = 'uploading' "
                             "AND expires_at < ? ORDER BY expires_at LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, max);
    int n = 0, rc = DB_DONE;
    while (n < max && (rc = db_step(s)) == DB_ROW)
        ids[n++] = db_col_int64(s, 0);
    db_reset(s);
    return rc < 0 ? rc : n;
}
