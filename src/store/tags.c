/* SPDX-License-Identifier: MIT
 *
 * SQL for hashtags, post_hashtags and post_mentions.
 */
#include "store/tags.h"

#include "core/util.h"

#include <stdio.h>

/* 1 when the post (by id) counts towards public_count, else 0. Links exist only for live posts
 * (a soft delete unlinks), so the deletion state need not be looked at. */
#define PUBLIC_POST_SQL                                                                            \
    "(SELECT CASE WHEN p.visibility = 'public' AND u.is_private = 0 THEN 1 ELSE 0 END "            \
    "FROM posts p JOIN users u ON u.id = p.author_id WHERE p.id = ?)"

int store_hashtag_link(db *d, int64_t new_id, int64_t post_id, const char *tag, int64_t now)
{
    /* ON CONFLICT DO NOTHING on both inserts: on PostgreSQL a unique violation would abort the
     * caller's transaction, and two posts may introduce the same tag at once. */
    static const char *create = "INSERT INTO hashtags (id, tag, post_count, created_at) "
                                "VALUES (?, ?, 0, ?) ON CONFLICT (tag) DO NOTHING";
    static const char *find = "SELECT id FROM hashtags WHERE tag = ?";
    static const char *link = "INSERT INTO post_hashtags (hashtag_id, post_id) VALUES (?, ?) "
                              "ON CONFLICT (hashtag_id, post_id) DO NOTHING";
    static const char *count = "UPDATE hashtags SET post_count = post_count + 1, "
                               "public_count = public_count + " PUBLIC_POST_SQL " WHERE id = ?";
    db_stmt *s = db_prepare(d, create);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, new_id);
    db_bind_text(s, 2, tag);
    db_bind_int64(s, 3, now);
    int rc = db_run(s);
    int64_t tag_id = 0;
    if (rc < 0 || !(s = db_prepare(d, find)))
        return rc < 0 ? rc : ERR_DB;
    db_bind_text(s, 1, tag);
    if ((rc = db_query_int64(s, &tag_id)) < 0)
        return rc;
    if (!(s = db_prepare(d, link)))
        return ERR_DB;
    db_bind_int64(s, 1, tag_id);
    db_bind_int64(s, 2, post_id);
    if ((rc = db_run(s)) < 0 || db_changes(d) != 1)
        return rc;
    if (!(s = db_prepare(d, count)))
        return ERR_DB;
    db_bind_int64(s, 1, post_id);
    db_bind_int64(s, 2, tag_id);
    return db_run(s);
}

int store_hashtags_unlink(db *d, int64_t post_id)
{
    static const char *uncount = "UPDATE hashtags SET post_count = post_count - 1, "
                                 "public_count = public_count - " PUBLIC_POST_SQL " WHERE id IN "
                                 "(SELECT hashtag_id FROM post_hashtags WHERE post_id = ?)";
    static const char *unlink = "DELETE FROM post_hashtags WHERE post_id = ?";
    db_stmt *s = db_prepare(d, uncount);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, post_id);
    db_bind_int64(s, 2, post_id);
    int rc = db_run(s);
    if (rc < 0 || !(s = db_prepare(d, unlink)))
        return rc < 0 ? rc : ERR_DB;
    db_bind_int64(s, 1, post_id);
    return db_run(s);
}

int store_hashtags_public_adjust(db *d, int64_t post_id, int delta)
{
    static const char *sql = "UPDATE hashtags SET public_count = public_count + ? WHERE id IN "
                             "(SELECT hashtag_id FROM post_hashtags WHERE post_id = ?)";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, delta);
    db_bind_int64(s, 2, post_id);
    return db_run(s);
}

int store_hashtags_author_privacy(db *d, int64_t author_id, bool now_private)
{
    /* each tag moves by the number of the author's public posts carrying it */
    static const char *sql =
        "UPDATE hashtags SET public_count = public_count + ? * (SELECT COUNT(*) FROM "
        "post_hashtags ph JOIN posts p ON p.id = ph.post_id WHERE ph.hashtag_id = hashtags.id "
        "AND p.author_id = ? AND p.visibility = 'public') WHERE id IN (SELECT ph.hashtag_id "
        "FROM post_hashtags ph JOIN posts p ON p.id = ph.post_id WHERE p.author_id = ? "
        "AND p.visibility = 'public')";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, now_private ? -1 : 1);
    db_bind_int64(s, 2, author_id);
    db_bind_int64(s, 3, author_id);
    return db_run(s);
}

int store_hashtag_get(db *d, const char *tag, store_hashtag *out)
{
    static const char *sql = "SELECT id, tag, public_count, created_at FROM hashtags WHERE tag = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_text(s, 1, tag);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        out->id = db_col_int64(s, 0);
        snprintf(out->tag, sizeof out->tag, "%s", db_col_text(s, 1));
        out->post_count = db_col_int64(s, 2);
        out->created_at = db_col_int64(s, 3);
    }
    db_reset(s);
    return rc == DB_ROW ? 0 : rc == DB_DONE ? ERR_NOT_FOUND : rc;
}

int store_mention_add(db *d, int64_t post_id, int64_t user_id, bool *added)
{
    static const char *sql = "INSERT INTO post_mentions (post_id, user_id) VALUES (?, ?) "
                             "ON CONFLICT (post_id, user_id) DO NOTHING";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, post_id);
    db_bind_int64(s, 2, user_id);
    int rc = db_run(s);
    *added = rc == 0 && db_changes(d) == 1;
    return rc;
}
