/* SPDX-License-Identifier: MIT
 *
 * SQL for the media table.
 */
#include "store/media.h"

#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>

int store_media_insert(db *d, const store_media *m)
{
    static const char *sql =
        "INSERT INTO media (id, owner_id, kind, mime, filename, size, state, progress, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, m->id);
    db_bind_int64(s, 2, m->owner_id);
    db_bind_text(s, 3, m->kind);
    db_bind_text(s, 4, m->mime);
    db_bind_text(s, 5, m->filename);
    db_bind_int64(s, 6, m->size);
    db_bind_text(s, 7, m->state);
    db_bind_int64(s, 8, m->created_at);
    db_bind_int64(s, 9, m->updated_at);
    return db_run(s);
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

int store_media_get(db *d, int64_t id, store_media *out)
{
    static const char *sql =
        "SELECT id, owner_id, kind, mime, filename, size, state, progress, "
        "COALESCE(error, ''), probe, renditions, created_at, updated_at FROM media WHERE id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, id);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        out->id = db_col_int64(s, 0);
        out->owner_id = db_col_int64(s, 1);
        snprintf(out->kind, sizeof out->kind, "%s", db_col_text(s, 2));
        snprintf(out->mime, sizeof out->mime, "%s", db_col_text(s, 3));
        snprintf(out->filename, sizeof out->filename, "%s", db_col_text(s, 4));
        out->size = db_col_int64(s, 5);
        snprintf(out->state, sizeof out->state, "%s", db_col_text(s, 6));
        out->progress = db_col_int64(s, 7);
        snprintf(out->error, sizeof out->error, "%s", db_col_text(s, 8));
        out->probe = dup_or_null(db_col_text(s, 9));
        out->renditions = dup_or_null(db_col_text(s, 10));
        out->created_at = db_col_int64(s, 11);
        out->updated_at = db_col_int64(s, 12);
    }
    db_reset(s);
    return rc == DB_ROW ? 0 : rc == DB_DONE ? ERR_NOT_FOUND : rc;
}

void store_media_free(store_media *m)
{
    free(m->probe);
    free(m->renditions);
    m->probe = m->renditions = NULL;
}

int store_media_set_state(db *d, int64_t id, const char *state, int64_t progress,
                          const char *error, const char *probe, const char *renditions,
                          int64_t now)
{
    static const char *sql =
        "UPDATE media SET state = ?, progress = ?, error = COALESCE(?, error), "
        "probe = COALESCE(?, probe), renditions = COALESCE(?, renditions), updated_at = ? "
        "WHERE id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_text(s, 1, state);
    db_bind_int64(s, 2, progress);
    db_bind_text(s, 3, error);
    db_bind_text(s, 4, probe);
    db_bind_text(s, 5, renditions);
    db_bind_int64(s, 6, now);
    db_bind_int64(s, 7, id);
    int rc = db_run(s);
    return rc < 0 ? rc : db_changes(d) == 1 ? 0 : ERR_NOT_FOUND;
}

int store_media_delete(db *d, int64_t id)
{
    static const char *sql = "DELETE FROM media WHERE id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, id);
    int rc = db_run(s);
    return rc < 0 ? rc : db_changes(d) == 1 ? 0 : ERR_NOT_FOUND;
}

int64_t store_media_owner(db *d, int64_t id)
{
    static const char *sql = "SELECT owner_id FROM media WHERE id = ?";
    db_stmt *s = db_prepare(d, sql);
    int64_t owner = 0;
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, id);
    int rc = db_query_int64(s, &owner);
    return rc < 0 ? rc : owner;
}

bool store_media_in_use(db *d, int64_t id)
{
    static const char *sql = "SELECT 1 FROM posts WHERE media_id = ? AND deleted_at IS NULL "
                             "AND id <> ? LIMIT 1";
    return db_pair_exists(d, sql, id, 0);
}

bool store_media_composed(db *d, int64_t id)
{
    /* the second parameter only satisfies db_pair_exists: ids are positive */
    static const char *sql =
        "SELECT 1 FROM posts p JOIN posts s ON s.id = COALESCE(p.duet_of, p.stitch_of) "
        "WHERE p.media_id = ? AND p.deleted_at IS NULL AND s.media_id IS NOT NULL "
        "AND s.type <> 'image' AND p.id <> ? LIMIT 1";
    return db_pair_exists(d, sql, id, 0);
}
