/* SPDX-License-Identifier: MIT
 *
 * SQL for the media table.
 */
#include "store/media.h"

#include "core/util.h"

#include <stdint.h>
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

#define MEDIA_COLS                                                                                \
    "id, owner_id, kind, mime, filename, size, state, progress, COALESCE(error, ''), probe, "    \
    "renditions, created_at, updated_at"

static void decode(db_stmt *s, store_media *out)
{
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

int store_media_get(db *d, int64_t id, store_media *out)
{
    static const char *sql = "SELECT " MEDIA_COLS " FROM media WHERE id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, id);
    int rc = db_step(s);
    if (rc == DB_ROW)
        decode(s, out);
    db_reset(s);
    return rc == DB_ROW ? 0 : rc == DB_DONE ? ERR_NOT_FOUND : rc;
}

int store_media_list(db *d, int64_t owner_id, int64_t before_id, int max, store_media *out,
                     bool *posted)
{
    /* newest first on the (owner_id, id) index; "posted": a live post shows it (as 0/1, which
     * both dialects read as an integer, where EXISTS alone is a PostgreSQL boolean) */
    static const char *sql =
        "SELECT " MEDIA_COLS ", CASE WHEN EXISTS (SELECT 1 FROM posts p WHERE p.media_id = "
        "media.id AND p.deleted_at IS NULL) THEN 1 ELSE 0 END FROM media WHERE owner_id = ? AND "
        "id < ? ORDER BY id DESC LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, owner_id);
    db_bind_int64(s, 2, before_id > 0 ? before_id : INT64_MAX);
    db_bind_int64(s, 3, max);
    int n = 0, rc;
    while (n < max && (rc = db_step(s)) == DB_ROW) {
        decode(s, &out[n]);
        posted[n++] = db_col_int64(s, 13) != 0;
    }
    db_reset(s);
    if (rc < 0) {
        while (n > 0)
            store_media_free(&out[--n]);
        return rc;
    }
    return n;
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

/* Only the owner can show a media as avatar or cover, so only the owner's row can point at it:
 * clearing there (by primary key) is enough, and needs no index on the media columns. */
static int clear_profile_images(db *d, int64_t id)
{
    static const char *sql =
        "UPDATE users SET "
        "avatar_media_id = CASE WHEN avatar_media_id = ? THEN NULL ELSE avatar_media_id END, "
        "cover_media_id = CASE WHEN cover_media_id = ? THEN NULL ELSE cover_media_id END "
        "WHERE id = (SELECT owner_id FROM media WHERE id = ?) "
        "AND (avatar_media_id = ? OR cover_media_id = ?)";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    for (int i = 1; i <= 5; i++)
        db_bind_int64(s, i, id);
    return db_run(s);
}

int store_media_set_size(db *d, int64_t id, int64_t size)
{
    static const char *sql = "UPDATE media SET size = ? WHERE id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, size);
    db_bind_int64(s, 2, id);
    return db_run(s);
}

int store_media_delete(db *d, int64_t id)
{
    static const char *sql = "DELETE FROM media WHERE id = ?";
    int rc = clear_profile_images(d, id);
    if (rc < 0)
        return rc;
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, id);
    rc = db_run(s);
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
