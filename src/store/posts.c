/* SPDX-License-Identifier: MIT
 *
 * SQL for posts and post_edits.
 */
#include "store/posts.h"

#include "core/util.h"
#include "store/tags.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define POST_COLS STORE_POST_COLUMNS
#define POST_NCOLS STORE_POST_NCOLS

/* Copies a column's text into a fixed buffer: a plain bounded copy, since captions are the
 * biggest thing feeds decode and snprintf's formatting machinery showed up in profiles. */
static void copy_text(char *dst, size_t n, const char *src)
{
    size_t len = src ? strlen(src) : 0;
    if (len >= n)
        len = n - 1;
    memcpy(dst, src ? src : "", len);
    dst[len] = '\0';
}

void store_post_decode(db_stmt *s, store_post *p)
{
    p->id = db_col_int64(s, 0);
    p->author_id = db_col_int64(s, 1);
    copy_text(p->type, sizeof p->type, db_col_text(s, 2));
    copy_text(p->caption, sizeof p->caption, db_col_text(s, 3));
    copy_text(p->visibility, sizeof p->visibility, db_col_text(s, 4));
    p->created_at = db_col_int64(s, 5);
    p->updated_at = db_col_int64(s, 6);
    p->deleted_at = db_col_int64(s, 7);
    p->reaction_count = db_col_int64(s, 8);
    p->comment_count = db_col_int64(s, 9);
    p->comments_enabled = db_col_int64(s, 10) != 0;
    p->save_count = db_col_int64(s, 11);
    p->circle_id = db_col_int64(s, 12);
    p->expires_at = db_col_int64(s, 13);
    p->share_of = db_col_int64(s, 14);
    p->duet_of = db_col_int64(s, 15);
    p->stitch_of = db_col_int64(s, 16);
    p->share_count = db_col_int64(s, 17);
    p->duet_count = db_col_int64(s, 18);
    p->stitch_count = db_col_int64(s, 19);
    p->view_count = db_col_int64(s, 20);
    p->hot_at = db_col_int64(s, 21);
    p->media_id = db_col_int64(s, 22);
    p->media_ready = db_col_int64(s, 23) != 0;
    p->media_duration_ms = db_col_int64(s, 24);
    p->media_width = db_col_int64(s, 25);
    p->media_height = db_col_int64(s, 26);
}

/* Reads a page of posts from a bound statement selecting POST_COLS (and optionally one extra
 * id column after them, the cursor of lists ordered by something else than the post id). */
static int read_posts(db_stmt *s, store_post *out, int64_t *extra_ids, int max)
{
    int n = 0, rc = DB_DONE;
    while (n < max && (rc = db_step(s)) == DB_ROW) {
        if (extra_ids)
            extra_ids[n] = db_col_int64(s, POST_NCOLS);
        store_post_decode(s, &out[n++]);
    }
    db_reset(s);
    return rc < 0 ? rc : n;
}

static void bind_before(db_stmt *s, int idx, int64_t before_id)
{
    db_bind_int64(s, idx, before_id > 0 ? before_id : INT64_MAX);
}

static void bind_optional_id(db_stmt *s, int idx, int64_t id)
{
    if (id)
        db_bind_int64(s, idx, id);
    else
        db_bind_null(s, idx);
}

/* Moves one counter column by delta; sql is one of the COUNTER_* statements below. */
static int bump_counter(db *d, const char *sql, int64_t row_id, int64_t delta)
{
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, delta);
    db_bind_int64(s, 2, row_id);
    return db_run(s);
}

static const char *const COUNTER_POSTS =
    "UPDATE users SET posts_count = posts_count + ? WHERE id = ?";
static const char *const COUNTER_REACTIONS =
    "UPDATE posts SET reaction_count = reaction_count + ? WHERE id = ?";
static const char *const COUNTER_COMMENTS =
    "UPDATE posts SET comment_count = comment_count + ? WHERE id = ?";
static const char *const COUNTER_SAVES =
    "UPDATE posts SET save_count = save_count + ? WHERE id = ?";
static const char *const COUNTER_SHARES =
    "UPDATE posts SET share_count = share_count + ? WHERE id = ?";
static const char *const COUNTER_DUETS =
    "UPDATE posts SET duet_count = duet_count + ? WHERE id = ?";
static const char *const COUNTER_STITCHES =
    "UPDATE posts SET stitch_count = stitch_count + ? WHERE id = ?";
static const char *const COUNTER_VIEWS =
    "UPDATE posts SET view_count = view_count + ? WHERE id = ?";
static const char *const COUNTER_COMMENT_LIKES =
    "UPDATE comments SET like_count = like_count + ? WHERE id = ?";

int64_t store_post_hot_at(int64_t created_at, int64_t reactions, int64_t comments, int64_t shares,
                          int64_t saves, int64_t views)
{
    double engagement = (double)reactions + 2.0 * (double)comments + 3.0 * (double)shares +
                        2.0 * (double)saves + (double)views / 10.0;
    if (engagement < 0)
        engagement = 0;
    return created_at + (int64_t)(STORE_TREND_HALF_LIFE_MS * log2(1.0 + engagement));
}

/* Recomputes the trending key from the post's counters after one of them moved, in the same
 * transaction, so trending stays current without ever scanning posts. */
static int refresh_hot(db *d, int64_t post_id)
{
    static const char *read = "SELECT created_at, reaction_count, comment_count, share_count, "
                              "save_count, view_count FROM posts WHERE id = ?";
    static const char *write = "UPDATE posts SET hot_at = ? WHERE id = ?";
    db_stmt *s = db_prepare(d, read);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, post_id);
    int rc = db_step(s);
    if (rc != DB_ROW) {
        db_reset(s);
        return rc < 0 ? rc : 0;
    }
    int64_t hot = store_post_hot_at(db_col_int64(s, 0), db_col_int64(s, 1), db_col_int64(s, 2),
                                    db_col_int64(s, 3), db_col_int64(s, 4), db_col_int64(s, 5));
    db_reset(s);
    if (!(s = db_prepare(d, write)))
        return ERR_DB;
    db_bind_int64(s, 1, hot);
    db_bind_int64(s, 2, post_id);
    return db_run(s);
}

/* An engagement counter of a post: moves it and the trending key together. */
static int bump_engagement(db *d, const char *sql, int64_t post_id, int64_t delta)
{
    int rc = bump_counter(d, sql, post_id, delta);
    return rc < 0 ? rc : refresh_hot(d, post_id);
}

int store_post_insert(db *d, const store_post *p)
{
    static const char *sql = "INSERT INTO posts (id, author_id, type, caption, visibility, "
                             "created_at, updated_at, comments_enabled, circle_id, expires_at, "
                             "share_of, duet_of, stitch_of, hot_at, media_id, media_ready) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, p->id);
    db_bind_int64(s, 2, p->author_id);
    db_bind_text(s, 3, p->type);
    db_bind_text(s, 4, p->caption);
    db_bind_text(s, 5, p->visibility);
    db_bind_int64(s, 6, p->created_at);
    db_bind_int64(s, 7, p->updated_at);
    db_bind_int64(s, 8, p->comments_enabled);
    bind_optional_id(s, 9, p->circle_id);
    bind_optional_id(s, 10, p->expires_at);
    bind_optional_id(s, 11, p->share_of);
    bind_optional_id(s, 12, p->duet_of);
    bind_optional_id(s, 13, p->stitch_of);
    db_bind_int64(s, 14, p->created_at);
    bind_optional_id(s, 15, p->media_id);
    db_bind_int64(s, 16, p->media_ready);
    int rc = db_run(s);
    /* stories come and go within a day and are not part of the profile's post count */
    if (rc < 0 || (!p->expires_at && (rc = bump_counter(d, COUNTER_POSTS, p->author_id, 1)) < 0))
        return rc;
    /* a source's duet/stitch/share counts move with the post that references it */
    if (p->share_of && (rc = bump_engagement(d, COUNTER_SHARES, p->share_of, 1)) < 0)
        return rc;
    if (p->duet_of && (rc = bump_counter(d, COUNTER_DUETS, p->duet_of, 1)) < 0)
        return rc;
    if (p->stitch_of && (rc = bump_counter(d, COUNTER_STITCHES, p->stitch_of, 1)) < 0)
        return rc;
    return 0;
}

int store_post_get(db *d, int64_t id, store_post *out)
{
    static const char *sql =
        "SELECT " POST_COLS " FROM posts p WHERE p.id = ? AND p.deleted_at IS NULL";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, id);
    int rc = db_step(s);
    if (rc == DB_ROW)
        store_post_decode(s, out);
    db_reset(s);
    return rc == DB_ROW ? 0 : rc == DB_DONE ? ERR_NOT_FOUND : rc;
}

int store_post_update(db *d, const store_post *before, const char *caption, const char *visibility,
                      int64_t circle_id, int64_t edit_id, int64_t now)
{
    static const char *history = "INSERT INTO post_edits (id, post_id, caption, visibility, "
                                 "edited_at) VALUES (?, ?, ?, ?, ?)";
    static const char *update = "UPDATE posts SET caption = ?, visibility = ?, updated_at = ?, "
                                "circle_id = ? WHERE id = ? AND deleted_at IS NULL";
    db_stmt *s = db_prepare(d, history);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, edit_id);
    db_bind_int64(s, 2, before->id);
    db_bind_text(s, 3, before->caption);
    db_bind_text(s, 4, before->visibility);
    db_bind_int64(s, 5, now);
    int rc = db_run(s);
    if (rc < 0 || !(s = db_prepare(d, update)))
        return rc < 0 ? rc : ERR_DB;
    db_bind_text(s, 1, caption);
    db_bind_text(s, 2, visibility);
    db_bind_int64(s, 3, now);
    bind_optional_id(s, 4, circle_id);
    db_bind_int64(s, 5, before->id);
    rc = db_run(s);
    if (rc < 0)
        return rc;
    return db_changes(d) == 1 ? 0 : ERR_NOT_FOUND;
}

int store_post_soft_delete(db *d, const store_post *p, int64_t now)
{
    int64_t id = p->id, author_id = p->author_id;
    static const char *sql = "UPDATE posts SET deleted_at = ? WHERE id = ? AND author_id = ? "
                             "AND deleted_at IS NULL";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, id);
    db_bind_int64(s, 3, author_id);
    int rc = db_run(s);
    if (rc < 0)
        return rc;
    if (db_changes(d) != 1)
        return ERR_NOT_FOUND;
    if (!p->expires_at && (rc = bump_counter(d, COUNTER_POSTS, author_id, -1)) < 0)
        return rc;
    if (p->share_of && (rc = bump_engagement(d, COUNTER_SHARES, p->share_of, -1)) < 0)
        return rc;
    if (p->duet_of && (rc = bump_counter(d, COUNTER_DUETS, p->duet_of, -1)) < 0)
        return rc;
    if (p->stitch_of && (rc = bump_counter(d, COUNTER_STITCHES, p->stitch_of, -1)) < 0)
        return rc;
    return store_hashtags_unlink(d, id);
}

int store_post_list_by_author(db *d, int64_t author_id, int64_t before_id, store_post *out, int max)
{
    static const char *sql = "SELECT " POST_COLS " FROM posts p WHERE p.author_id = ? "
                             "AND p.id < ? AND p.deleted_at IS NULL AND p.expires_at IS NULL "
                             "ORDER BY p.id DESC LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, author_id);
    bind_before(s, 2, before_id);
    db_bind_int64(s, 3, max);
    return read_posts(s, out, NULL, max);
}

int store_post_edits(db *d, int64_t post_id, int64_t before_id, store_post_edit *out, int max)
{
    static const char *sql = "SELECT id, caption, visibility, edited_at FROM post_edits "
                             "WHERE post_id = ? AND id < ? ORDER BY id DESC LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, post_id);
    bind_before(s, 2, before_id);
    db_bind_int64(s, 3, max);
    int n = 0, rc = DB_DONE;
    while (n < max && (rc = db_step(s)) == DB_ROW) {
        out[n].id = db_col_int64(s, 0);
        str_copy(out[n].caption, sizeof out[n].caption, db_col_text(s, 1));
        str_copy(out[n].visibility, sizeof out[n].visibility, db_col_text(s, 2));
        out[n].edited_at = db_col_int64(s, 3);
        n++;
    }
    db_reset(s);
    return rc < 0 ? rc : n;
}

int store_reaction_set(db *d, int64_t id, int64_t post_id, int64_t user_id, const char *type,
                       int64_t now, bool *added)
{
    /* ON CONFLICT DO NOTHING rather than catching the unique violation: on PostgreSQL an error
     * would abort the surrounding transaction. */
    static const char *insert = "INSERT INTO reactions (id, post_id, user_id, type, created_at) "
                                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (post_id, user_id) DO NOTHING";
    static const char *update = "UPDATE reactions SET type = ? WHERE post_id = ? AND user_id = ?";
    db_stmt *s = db_prepare(d, insert);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, post_id);
    db_bind_int64(s, 3, user_id);
    db_bind_text(s, 4, type);
    db_bind_int64(s, 5, now);
    int rc = db_run(s);
    if (rc < 0)
        return rc;
    *added = db_changes(d) == 1;
    if (*added)
        return bump_engagement(d, COUNTER_REACTIONS, post_id, 1);
    if (!(s = db_prepare(d, update)))
        return ERR_DB;
    db_bind_text(s, 1, type);
    db_bind_int64(s, 2, post_id);
    db_bind_int64(s, 3, user_id);
    return db_run(s);
}

int store_reaction_clear(db *d, int64_t post_id, int64_t user_id, bool *removed)
{
    static const char *sql = "DELETE FROM reactions WHERE post_id = ? AND user_id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, post_id);
    db_bind_int64(s, 2, user_id);
    int rc = db_run(s);
    if (rc < 0)
        return rc;
    *removed = db_changes(d) == 1;
    return *removed ? bump_engagement(d, COUNTER_REACTIONS, post_id, -1) : 0;
}

int store_reaction_of(db *d, int64_t post_id, int64_t user_id, char *out, size_t n)
{
    static const char *sql = "SELECT type FROM reactions WHERE post_id = ? AND user_id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, post_id);
    db_bind_int64(s, 2, user_id);
    int rc = db_step(s);
    str_copy(out, n, rc == DB_ROW ? db_col_text(s, 0) : "");
    db_reset(s);
    return rc < 0 ? rc : 0;
}

int store_reaction_list(db *d, int64_t post_id, int64_t viewer, int64_t before_id,
                        store_reaction *out, int max)
{
    static const char *sql =
        "SELECT r.id, r.user_id, r.type, r.created_at FROM reactions r "
        "WHERE r.post_id = ? AND r.id < ? AND NOT EXISTS (SELECT 1 FROM blocks b WHERE "
        "(b.blocker_id = ? AND b.blocked_id = r.user_id) OR (b.blocker_id = r.user_id AND "
        "b.blocked_id = ?)) ORDER BY r.id DESC LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, post_id);
    bind_before(s, 2, before_id);
    db_bind_int64(s, 3, viewer);
    db_bind_int64(s, 4, viewer);
    db_bind_int64(s, 5, max);
    int n = 0, rc = DB_DONE;
    while (n < max && (rc = db_step(s)) == DB_ROW) {
        out[n].id = db_col_int64(s, 0);
        out[n].user_id = db_col_int64(s, 1);
        str_copy(out[n].type, sizeof out[n].type, db_col_text(s, 2));
        out[n].created_at = db_col_int64(s, 3);
        n++;
    }
    db_reset(s);
    return rc < 0 ? rc : n;
}

int store_post_set_comments_enabled(db *d, int64_t id, bool on)
{
    static const char *sql = "UPDATE posts SET comments_enabled = ? WHERE id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, on);
    db_bind_int64(s, 2, id);
    return db_run(s);
}

#define COMMENT_COLS                                                                               \
    "c.id, c.post_id, c.author_id, c.parent_id, c.body, c.created_at, c.updated_at, c.like_count"

static void decode_comment(db_stmt *s, store_comment *c)
{
    c->id = db_col_int64(s, 0);
    c->post_id = db_col_int64(s, 1);
    c->author_id = db_col_int64(s, 2);
    c->parent_id = db_col_int64(s, 3);
    str_copy(c->body, sizeof c->body, db_col_text(s, 4));
    c->created_at = db_col_int64(s, 5);
    c->updated_at = db_col_int64(s, 6);
    c->like_count = db_col_int64(s, 7);
}

int store_comment_insert(db *d, const store_comment *c)
{
    static const char *sql = "INSERT INTO comments (id, post_id, author_id, parent_id, body, "
                             "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, c->id);
    db_bind_int64(s, 2, c->post_id);
    db_bind_int64(s, 3, c->author_id);
    if (c->parent_id)
        db_bind_int64(s, 4, c->parent_id);
    else
        db_bind_null(s, 4);
    db_bind_text(s, 5, c->body);
    db_bind_int64(s, 6, c->created_at);
    db_bind_int64(s, 7, c->updated_at);
    int rc = db_run(s);
    return rc < 0 ? rc : bump_engagement(d, COUNTER_COMMENTS, c->post_id, 1);
}

int store_comment_get(db *d, int64_t id, store_comment *out)
{
    static const char *sql =
        "SELECT " COMMENT_COLS " FROM comments c WHERE c.id = ? AND c.deleted_at IS NULL";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, id);
    int rc = db_step(s);
    if (rc == DB_ROW)
        decode_comment(s, out);
    db_reset(s);
    return rc == DB_ROW ? 0 : rc == DB_DONE ? ERR_NOT_FOUND : rc;
}

int store_comment_update(db *d, int64_t id, const char *body, int64_t now)
{
    static const char *sql = "UPDATE comments SET body = ?, updated_at = ? WHERE id = ? "
                             "AND deleted_at IS NULL";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_text(s, 1, body);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, id);
    int rc = db_run(s);
    return rc < 0 ? rc : db_changes(d) == 1 ? 0 : ERR_NOT_FOUND;
}

int store_comment_delete(db *d, const store_comment *c, int64_t now)
{
    static const char *sql =
        "UPDATE comments SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, c->id);
    int rc = db_run(s);
    if (rc < 0)
        return rc;
    if (db_changes(d) != 1)
        return ERR_NOT_FOUND;
    return bump_engagement(d, COUNTER_COMMENTS, c->post_id, -1);
}

int store_comment_list(db *d, int64_t post_id, int64_t parent_id, int64_t viewer, int64_t after_id,
                       store_comment *out, int max)
{
    static const char *top =
        "SELECT " COMMENT_COLS " FROM comments c WHERE c.post_id = ? AND c.parent_id IS NULL "
        "AND c.id > ? AND c.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM blocks b WHERE "
        "(b.blocker_id = ? AND b.blocked_id = c.author_id) OR (b.blocker_id = c.author_id AND "
        "b.blocked_id = ?)) ORDER BY c.id LIMIT ?";
    static const char *replies =
        "SELECT " COMMENT_COLS " FROM comments c WHERE c.post_id = ? AND c.parent_id = ? "
        "AND c.id > ? AND c.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM blocks b WHERE "
        "(b.blocker_id = ? AND b.blocked_id = c.author_id) OR (b.blocker_id = c.author_id AND "
        "b.blocked_id = ?)) ORDER BY c.id LIMIT ?";
    db_stmt *s = db_prepare(d, parent_id ? replies : top);
    if (!s)
        return ERR_DB;
    int i = 1;
    db_bind_int64(s, i++, post_id);
    if (parent_id)
        db_bind_int64(s, i++, parent_id);
    db_bind_int64(s, i++, after_id);
    db_bind_int64(s, i++, viewer);
    db_bind_int64(s, i++, viewer);
    db_bind_int64(s, i, max);
    int n = 0, rc = DB_DONE;
    while (n < max && (rc = db_step(s)) == DB_ROW)
        decode_comment(s, &out[n++]);
    db_reset(s);
    return rc < 0 ? rc : n;
}

int store_save_add(db *d, int64_t id, int64_t user_id, int64_t post_id, int64_t now, bool *changed)
{
    static const char *sql = "INSERT INTO saves (id, user_id, post_id, created_at) "
                             "VALUES (?, ?, ?, ?) ON CONFLICT (user_id, post_id) DO NOTHING";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, user_id);
    db_bind_int64(s, 3, post_id);
    db_bind_int64(s, 4, now);
    int rc = db_run(s);
    if (rc < 0)
        return rc;
    *changed = db_changes(d) == 1;
    return *changed ? bump_engagement(d, COUNTER_SAVES, post_id, 1) : 0;
}

int store_save_remove(db *d, int64_t user_id, int64_t post_id, bool *changed)
{
    static const char *sql = "DELETE FROM saves WHERE user_id = ? AND post_id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    db_bind_int64(s, 2, post_id);
    int rc = db_run(s);
    if (rc < 0)
        return rc;
    *changed = db_changes(d) == 1;
    return *changed ? bump_engagement(d, COUNTER_SAVES, post_id, -1) : 0;
}

int store_save_list(db *d, int64_t user_id, int64_t before_id, int64_t *save_ids, store_post *out,
                    int max)
{
    static const char *sql =
        "SELECT " POST_COLS
        ", s.id FROM saves s JOIN posts p ON p.id = s.post_id WHERE s.user_id = ? AND s.id < ? "
        "AND p.deleted_at IS NULL ORDER BY s.id DESC LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    bind_before(s, 2, before_id);
    db_bind_int64(s, 3, max);
    return read_posts(s, out, save_ids, max);
}

int store_comment_like_set(db *d, int64_t id, int64_t comment_id, int64_t user_id, int64_t now,
                           bool *changed)
{
    static const char *sql = "INSERT INTO comment_likes (id, comment_id, user_id, created_at) "
                             "VALUES (?, ?, ?, ?) ON CONFLICT (comment_id, user_id) DO NOTHING";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, comment_id);
    db_bind_int64(s, 3, user_id);
    db_bind_int64(s, 4, now);
    int rc = db_run(s);
    if (rc < 0)
        return rc;
    *changed = db_changes(d) == 1;
    return *changed ? bump_counter(d, COUNTER_COMMENT_LIKES, comment_id, 1) : 0;
}

int store_comment_like_clear(db *d, int64_t comment_id, int64_t user_id, bool *changed)
{
    static const char *sql = "DELETE FROM comment_likes WHERE comment_id = ? AND user_id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, comment_id);
    db_bind_int64(s, 2, user_id);
    int rc = db_run(s);
    if (rc < 0)
        return rc;
    *changed = db_changes(d) == 1;
    return *changed ? bump_counter(d, COUNTER_COMMENT_LIKES, comment_id, -1) : 0;
}

bool store_comment_liked(db *d, int64_t comment_id, int64_t user_id)
{
    static const char *sql = "SELECT 1 FROM comment_likes WHERE comment_id = ? AND user_id = ?";
    return db_pair_exists(d, sql, comment_id, user_id);
}

int store_view_record(db *d, int64_t id, int64_t post_id, int64_t viewer, int64_t window_start,
                      int64_t watch_ms, int64_t now, bool *counted)
{
    static const char *insert =
        "INSERT INTO post_views (id, post_id, viewer_id, window_start, watch_ms, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (post_id, viewer_id, window_start) DO NOTHING";
    static const char *more = "UPDATE post_views SET watch_ms = watch_ms + ? WHERE post_id = ? "
                              "AND viewer_id = ? AND window_start = ?";
    db_stmt *s = db_prepare(d, insert);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, post_id);
    db_bind_int64(s, 3, viewer);
    db_bind_int64(s, 4, window_start);
    db_bind_int64(s, 5, watch_ms);
    db_bind_int64(s, 6, now);
    int rc = db_run(s);
    if (rc < 0)
        return rc;
    *counted = db_changes(d) == 1;
    if (*counted)
        return bump_engagement(d, COUNTER_VIEWS, post_id, 1);
    if (!(s = db_prepare(d, more)))
        return ERR_DB;
    db_bind_int64(s, 1, watch_ms);
    db_bind_int64(s, 2, post_id);
    db_bind_int64(s, 3, viewer);
    db_bind_int64(s, 4, window_start);
    return db_run(s);
}

bool store_viewed(db *d, int64_t post_id, int64_t viewer)
{
    static const char *sql = "SELECT 1 FROM post_views WHERE post_id = ? AND viewer_id = ? "
                             "LIMIT 1";
    return db_pair_exists(d, sql, post_id, viewer);
}

int store_story_authors(db *d, int64_t viewer, int64_t now, int64_t before_latest, int64_t *authors,
                        int64_t *latest, int max)
{
    static const char *sql =
        "SELECT p.author_id, MAX(p.id) AS latest FROM posts p WHERE p.expires_at > ? "
        "AND p.deleted_at IS NULL AND (p.author_id = ? OR p.author_id IN "
        "(SELECT followee_id FROM follows WHERE follower_id = ?)) "
        "AND p.author_id NOT IN (SELECT muted_id FROM mutes WHERE muter_id = ?) "
        "GROUP BY p.author_id HAVING MAX(p.id) < ? ORDER BY latest DESC LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, viewer);
    db_bind_int64(s, 3, viewer);
    db_bind_int64(s, 4, viewer);
    bind_before(s, 5, before_latest);
    db_bind_int64(s, 6, max);
    int n = 0, rc = DB_DONE;
    while (n < max && (rc = db_step(s)) == DB_ROW) {
        authors[n] = db_col_int64(s, 0);
        latest[n++] = db_col_int64(s, 1);
    }
    db_reset(s);
    return rc < 0 ? rc : n;
}

int store_stories_of(db *d, int64_t author_id, int64_t now, store_post *out, int max)
{
    static const char *sql = "SELECT " POST_COLS " FROM posts p WHERE p.author_id = ? "
                             "AND p.expires_at > ? AND p.deleted_at IS NULL "
                             "ORDER BY p.id LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, author_id);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, max);
    return read_posts(s, out, NULL, max);
}

int store_posts_purge(db *d, int64_t deleted_before, int64_t expired_before, int max)
{
    /* Rows hanging off a post (reactions, comments, saves, views, edits, tag links) go with it
     * through ON DELETE CASCADE. */
    static const char *sql =
        "DELETE FROM posts WHERE id IN (SELECT id FROM posts WHERE deleted_at < ? "
        "UNION SELECT id FROM posts WHERE expires_at < ? LIMIT ?)";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, deleted_before);
    db_bind_int64(s, 2, expired_before);
    db_bind_int64(s, 3, max);
    int rc = db_run(s);
    return rc < 0 ? rc : (int)db_changes(d);
}

/* The columns of a store_feed_row: the post, its author, and the viewer's relation to the author
 * as four 0/1 columns (follows, followed_by, blocked, muted). Every probe runs for every row, so
 * each is made only where the visibility gate will read it: blocks and mutes always, whether
 * the viewer follows the author only for a private account or a followers/friends post, and
 * whether the author follows back only for a friends post (a CASE stops at its first false
 * condition). The relation reads bind the viewer first (5 parameters), before any of the WHERE
 * clause. Of the author only what the gate and the post's JSON read (its summary: avatar and
 * verified badge come in this same statement, not a query per row). */
#define AUTHOR_COLS                                                                                \
    "u.id, u.handle, u.display_name, u.is_private, u.avatar_media_id, " STORE_USER_VERIFIED_COL
#define AUTHOR_NCOLS 6
#define FEED_ROW_HEAD                                                                              \
    "SELECT " POST_COLS ", " AUTHOR_COLS ", "                                                      \
    "CASE WHEN (u.is_private <> 0 OR p.visibility IN ('followers', 'friends')) AND EXISTS "        \
    "  (SELECT 1 FROM follows x WHERE x.follower_id = ? AND x.followee_id = p.author_id) "         \
    "  THEN 1 ELSE 0 END, "                                                                        \
    "CASE WHEN p.visibility = 'friends' AND EXISTS (SELECT 1 FROM follows x "                      \
    "  WHERE x.follower_id = p.author_id AND x.followee_id = ?) THEN 1 ELSE 0 END, "
#define FEED_ROW_SELECT                                                                            \
    FEED_ROW_HEAD                                                                                  \
    "CASE WHEN EXISTS (SELECT 1 FROM blocks x WHERE (x.blocker_id = ? AND "                        \
    "  x.blocked_id = p.author_id) OR (x.blocker_id = p.author_id AND x.blocked_id = ?)) "         \
    "  THEN 1 ELSE 0 END, "                                                                        \
    "CASE WHEN EXISTS (SELECT 1 FROM mutes x WHERE x.muter_id = ? "                                \
    "  AND x.muted_id = p.author_id) THEN 1 ELSE 0 END "
/* For a viewer known to block, mute and be blocked by no one: the same columns without those
 * probes (2 parameters). */
#define FEED_ROW_SELECT_UNEXCLUDED FEED_ROW_HEAD "0, 0 "

/* Binds the viewer into the first n parameters (the relation reads); returns the next index. */
static int bind_relation(db_stmt *s, int64_t viewer, int n)
{
    for (int i = 1; i <= n; i++)
        db_bind_int64(s, i, viewer);
    return n + 1;
}

static int read_feed_rows(db_stmt *s, store_feed_row *out, int max)
{
    int n = 0, rc = DB_DONE;
    const int rel = POST_NCOLS + AUTHOR_NCOLS;
    while (n < max && (rc = db_step(s)) == DB_ROW) {
        store_feed_row *r = &out[n++];
        store_post_decode(s, &r->post);
        store_user *a = &r->author;
        memset(a, 0, sizeof *a);
        a->id = db_col_int64(s, POST_NCOLS);
        copy_text(a->handle, sizeof a->handle, db_col_text(s, POST_NCOLS + 1));
        copy_text(a->display_name, sizeof a->display_name, db_col_text(s, POST_NCOLS + 2));
        a->is_private = db_col_int64(s, POST_NCOLS + 3) != 0;
        a->avatar_media_id = db_col_null(s, POST_NCOLS + 4) ? 0 : db_col_int64(s, POST_NCOLS + 4);
        a->verified = db_col_int64(s, POST_NCOLS + 5) != 0;
        r->rel.follows = db_col_int64(s, rel) != 0;
        r->rel.followed_by = db_col_int64(s, rel + 1) != 0;
        r->rel.blocked = db_col_int64(s, rel + 2) != 0;
        r->rel.muted = db_col_int64(s, rel + 3) != 0;
    }
    db_reset(s);
    return rc < 0 ? rc : n;
}

/* Reads a column of ids (and, with keys, a second column of sort keys). */
static int read_ids(db_stmt *s, int64_t *ids, int64_t *keys, int max)
{
    int n = 0, rc = DB_DONE;
    while (n < max && (rc = db_step(s)) == DB_ROW) {
        ids[n] = db_col_int64(s, 0);
        if (keys)
            keys[n] = db_col_int64(s, 1);
        n++;
    }
    db_reset(s);
    return rc < 0 ? rc : n;
}

/* "posts p CROSS JOIN users u" keeps posts as SQLite's outer loop, so the ORDER BY ... LIMIT
 * walks an index and stops early; PostgreSQL plans it like any inner join. In the walking plan the
 * unary plus on "+p.author_id IN (...)" keeps SQLite off the author index (which would read every
 * post of every followee and sort them) and makes it test each row against the followee list,
 * built once per statement; 0.33 ms for a page against 0.63 ms with a per-row EXISTS, measured on
 * the benchmark data. */
int store_post_home_ids(db *d, int64_t viewer, bool many_followees, int64_t before_id,
                        int64_t after_id, int64_t *out, int max)
{
    static const char *walk =
        "SELECT p.id FROM posts p WHERE p.id < ? AND p.id > ? "
        "AND p.deleted_at IS NULL AND p.expires_at IS NULL AND +p.author_id IN "
        "(SELECT CAST(? AS BIGINT) UNION ALL "
        "SELECT followee_id FROM follows WHERE follower_id = ?) "
        "AND NOT EXISTS (SELECT 1 FROM mutes m WHERE m.muter_id = ? AND m.muted_id = p.author_id) "
        "ORDER BY p.id DESC LIMIT ?";
    static const char *by_author =
        "SELECT p.id FROM posts p WHERE p.id < ? AND p.id > ? "
        "AND p.deleted_at IS NULL AND p.expires_at IS NULL AND (p.author_id = ? OR p.author_id IN "
        "(SELECT followee_id FROM follows WHERE follower_id = ?)) "
        "AND p.author_id NOT IN (SELECT muted_id FROM mutes WHERE muter_id = ?) "
        "ORDER BY p.id DESC LIMIT ?";
    /* PostgreSQL turns the IN list of by_author into a hashed subplan over a backward primary
     * key scan on its own (2.7 ms a page on the benchmark data), while the unary plus of walk
     * makes it compare every row against the list one by one (31 ms): the plan choice is
     * SQLite's alone. */
    if (db_kind_of(d) == DB_POSTGRES)
        many_followees = false;
    db_stmt *s = db_prepare(d, many_followees ? walk : by_author);
    if (!s)
        return ERR_DB;
    bind_before(s, 1, before_id);
    db_bind_int64(s, 2, after_id);
    db_bind_int64(s, 3, viewer);
    db_bind_int64(s, 4, viewer);
    db_bind_int64(s, 5, viewer);
    db_bind_int64(s, 6, max);
    return read_ids(s, out, NULL, max);
}

int store_post_trending_ids(db *d, int64_t before_hot, int64_t before_id, int64_t *hot_out,
                            int64_t *id_out, int max)
{
    /* The conditions repeat the partial index posts_trending so both planners use it. */
    static const char *sql =
        "SELECT p.id, p.hot_at FROM posts p CROSS JOIN users u WHERE u.id = p.author_id "
        "AND p.visibility = 'public' AND p.deleted_at IS NULL AND p.expires_at IS NULL "
        "AND u.is_private = 0 AND (p.hot_at < ? OR (p.hot_at = ? AND p.id < ?)) "
        "ORDER BY p.hot_at DESC, p.id DESC LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    if (before_id <= 0)
        before_hot = INT64_MAX;
    db_bind_int64(s, 1, before_hot);
    db_bind_int64(s, 2, before_hot);
    bind_before(s, 3, before_id);
    db_bind_int64(s, 4, max);
    return read_ids(s, id_out, hot_out, max);
}

int store_hashtag_post_ids(db *d, int64_t hashtag_id, int64_t before_id, int64_t *out, int max)
{
    static const char *sql =
        "SELECT h.post_id FROM post_hashtags h CROSS JOIN posts p WHERE p.id = h.post_id "
        "AND h.hashtag_id = ? AND h.post_id < ? AND p.deleted_at IS NULL "
        "AND p.expires_at IS NULL ORDER BY h.post_id DESC LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, hashtag_id);
    bind_before(s, 2, before_id);
    db_bind_int64(s, 3, max);
    return read_ids(s, out, NULL, max);
}

int store_author_post_ids(db *d, int64_t author_id, int64_t before_id, int64_t *out, int max)
{
    static const char *sql = "SELECT p.id FROM posts p WHERE p.author_id = ? AND p.id < ? "
                             "AND p.deleted_at IS NULL AND p.expires_at IS NULL "
                             "ORDER BY p.id DESC LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, author_id);
    bind_before(s, 2, before_id);
    db_bind_int64(s, 3, max);
    return read_ids(s, out, NULL, max);
}

int store_circle_post_ids(db *d, int64_t circle_id, int64_t before_id, int64_t *out, int max)
{
    static const char *sql =
        "SELECT p.id FROM posts p WHERE p.author_id IN (SELECT m.user_id FROM circle_members m "
        "WHERE m.circle_id = ?) AND p.id < ? AND p.deleted_at IS NULL AND p.expires_at IS NULL "
        "ORDER BY p.id DESC LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, circle_id);
    bind_before(s, 2, before_id);
    db_bind_int64(s, 3, max);
    return read_ids(s, out, NULL, max);
}

int store_posts_by_ids(db *d, int64_t viewer, bool excludes, const int64_t *ids, int n,
                       store_feed_row *out)
{
    /* A fixed number of "?" parameters (unused ones bound to 0, which no post has), so each
     * statement is prepared once and cached like every other. */
#define BY_IDS_WHERE                                                                               \
    "FROM posts p CROSS JOIN users u WHERE u.id = p.author_id "                                    \
    "AND p.deleted_at IS NULL AND p.expires_at IS NULL AND p.id IN "                               \
    "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    static const char *with_exclusions = FEED_ROW_SELECT BY_IDS_WHERE;
    static const char *without = FEED_ROW_SELECT_UNEXCLUDED BY_IDS_WHERE;
#undef BY_IDS_WHERE
    if (n > STORE_POSTS_BY_IDS_MAX)
        n = STORE_POSTS_BY_IDS_MAX;
    db_stmt *s = db_prepare(d, excludes ? with_exclusions : without);
    if (!s)
        return ERR_DB;
    int i = bind_relation(s, viewer, excludes ? 5 : 2);
    for (int k = 0; k < STORE_POSTS_BY_IDS_MAX; k++)
        db_bind_int64(s, i + k, k < n ? ids[k] : 0);
    return read_feed_rows(s, out, n);
}

/* A fixed list of STORE_POSTS_BY_IDS_MAX parameters (unused ones bound to 0, which no row has),
 * so the statements below are prepared once and cached like every other. */
#define IDS_IN "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"

static int bind_ids(db_stmt *s, int at, const int64_t *ids, int n)
{
    for (int k = 0; k < STORE_POSTS_BY_IDS_MAX; k++)
        db_bind_int64(s, at + k, k < n ? ids[k] : 0);
    return at + STORE_POSTS_BY_IDS_MAX;
}

static int index_of(const int64_t *ids, int n, int64_t id)
{
    for (int i = 0; i < n; i++)
        if (ids[i] == id)
            return i;
    return -1;
}

int store_viewer_states(db *d, int64_t viewer, const int64_t *ids, int n, store_viewer_state *out)
{
    /* The viewer's own reactions and saves between the page's lowest and highest post id, one
     * range scan each in the indexes (user_id, post_id), matched to the page here. A seek per
     * post through an IN list cost about 100,000 instructions a statement (the list's ephemeral
     * table); the range reads only rows the viewer wrote, which a page spans few of. */
    static const char *reactions_sql = "SELECT post_id, type FROM reactions WHERE user_id = ? "
                                       "AND post_id BETWEEN ? AND ?";
    static const char *saves_sql =
        "SELECT post_id FROM saves WHERE user_id = ? AND post_id BETWEEN ? AND ?";
    memset(out, 0, (size_t)(n > 0 ? n : 0) * sizeof *out);
    if (n <= 0)
        return 0;
    int64_t lo = ids[0], hi = ids[0];
    for (int i = 1; i < n; i++) {
        lo = ids[i] < lo ? ids[i] : lo;
        hi = ids[i] > hi ? ids[i] : hi;
    }
    for (int pass = 0; pass < 2; pass++) {
        db_stmt *s = db_prepare(d, pass == 0 ? reactions_sql : saves_sql);
        if (!s)
            return ERR_DB;
        db_bind_int64(s, 1, viewer);
        db_bind_int64(s, 2, lo);
        db_bind_int64(s, 3, hi);
        int rc;
        while ((rc = db_step(s)) == DB_ROW) {
            int i = index_of(ids, n, db_col_int64(s, 0));
            if (i < 0)
                continue;
            if (pass == 0)
                str_copy(out[i].reaction, sizeof out[i].reaction, db_col_text(s, 1));
            else
                out[i].saved = true;
        }
        db_reset(s);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int store_comment_states(db *d, int64_t post_id, int64_t viewer, const int64_t *ids, int n,
                         bool *liked, int64_t *reply_count)
{
    /* Likes through comment_likes' unique (comment_id, user_id), replies through comments_post
     * (post_id, parent_id, id). */
    static const char *sql =
        "SELECT c.id, CASE WHEN EXISTS (SELECT 1 FROM comment_likes l WHERE l.comment_id = c.id "
        "AND l.user_id = ?) THEN 1 ELSE 0 END, (SELECT COUNT(*) FROM comments r "
        "WHERE r.post_id = c.post_id AND r.parent_id = c.id AND r.deleted_at IS NULL) "
        "FROM comments c WHERE c.post_id = ? AND c.id IN " IDS_IN;
    if (n > STORE_POSTS_BY_IDS_MAX)
        n = STORE_POSTS_BY_IDS_MAX;
    for (int i = 0; i < n; i++) {
        if (liked)
            liked[i] = false;
        reply_count[i] = 0;
    }
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, viewer);
    db_bind_int64(s, 2, post_id);
    bind_ids(s, 3, ids, n);
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        int i = index_of(ids, n, db_col_int64(s, 0));
        if (i < 0)
            continue;
        if (liked)
            liked[i] = db_col_int64(s, 1) != 0;
        reply_count[i] = db_col_int64(s, 2);
    }
    db_reset(s);
    return rc < 0 ? rc : 0;
}

int store_posts_media_ready(db *d, int64_t media_id, int64_t duration_ms, int64_t width,
                            int64_t height)
{
    static const char *sql = "UPDATE posts SET media_ready = 1, media_duration_ms = ?, "
                             "media_width = ?, media_height = ? WHERE media_id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, duration_ms);
    db_bind_int64(s, 2, width);
    db_bind_int64(s, 3, height);
    db_bind_int64(s, 4, media_id);
    return db_run(s);
}

int store_post_set_media(db *d, int64_t post_id, int64_t media_id)
{
    static const char *sql =
        "UPDATE posts SET media_id = ?, media_ready = 0, media_duration_ms = 0, "
        "media_width = 0, media_height = 0 WHERE id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, media_id);
    db_bind_int64(s, 2, post_id);
    return db_run(s);
}

int store_posts_media_unready(db *d, int64_t post_id)
{
    static const char *sql = "UPDATE posts SET media_ready = 0 WHERE id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, post_id);
    return db_run(s);
}
