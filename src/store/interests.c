/* SPDX-License-Identifier: MIT
 *
 * SQL for user_interests, not_interested and for_you_served (store/interests.h).
 */
#include "store/interests.h"

#include "core/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first column of every row of a bound statement, at most max; the count or ERR_*. */
static int read_ids(db_stmt *s, int64_t *out, int max)
{
    int n = 0, rc;
    while ((rc = db_step(s)) == DB_ROW && n < max)
        out[n++] = db_col_int64(s, 0);
    db_reset(s);
    return rc == DB_DONE || rc == DB_ROW ? n : rc;
}

int store_interest_get(db *d, int64_t user_id, const char *kind, const char *item,
                       store_interest *out)
{
    static const char *sql = "SELECT weight, updated_at FROM user_interests "
                             "WHERE user_id = ? AND kind = ? AND item = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    db_bind_text(s, 2, kind);
    db_bind_text(s, 3, item);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        str_copy(out->kind, sizeof out->kind, kind);
        str_copy(out->item, sizeof out->item, item);
        out->weight_milli = db_col_int64(s, 0);
        out->updated_at = db_col_int64(s, 1);
    }
    db_reset(s);
    return rc == DB_ROW ? 0 : rc == DB_DONE ? ERR_NOT_FOUND : rc;
}

int store_interest_put(db *d, int64_t user_id, const char *kind, const char *item,
                       int64_t weight_milli, int64_t now)
{
    static const char *sql =
        "INSERT INTO user_interests (user_id, kind, item, weight, updated_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, kind, item) DO UPDATE SET "
        "weight = excluded.weight, updated_at = excluded.updated_at";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    db_bind_text(s, 2, kind);
    db_bind_text(s, 3, item);
    db_bind_int64(s, 4, weight_milli);
    db_bind_int64(s, 5, now);
    return db_run(s);
}

int store_interests_list(db *d, int64_t user_id, const char *kind, store_interest *out, int max)
{
    static const char *sql =
        "SELECT kind, item, weight, updated_at FROM user_interests WHERE user_id = ? "
        "AND (? = '' OR kind = ?) ORDER BY weight DESC, item LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    db_bind_text(s, 2, kind);
    db_bind_text(s, 3, kind);
    db_bind_int64(s, 4, max);
    int n = 0, rc;
    while ((rc = db_step(s)) == DB_ROW && n < max) {
        str_copy(out[n].kind, sizeof out[n].kind, db_col_text(s, 0));
        str_copy(out[n].item, sizeof out[n].item, db_col_text(s, 1));
        out[n].weight_milli = db_col_int64(s, 2);
        out[n].updated_at = db_col_int64(s, 3);
        n++;
    }
    db_reset(s);
    return rc == DB_DONE || rc == DB_ROW ? n : rc;
}

/* The DELETE sorts all of the user's rows of that kind and checks each against the kept set
 * (~430,000 instructions at 100 creators: more than the like that queued the signal, callgrind,
 * issue 12), so it runs only once the kind has grown past keep + slack: one probe of the primary
 * key's range (does a row exist past that offset?) answers the other times. */
static bool over(db *d, int64_t user_id, const char *kind, int limit)
{
    db_stmt *s = db_prepare(
        d, "SELECT 1 FROM user_interests WHERE user_id = ? AND kind = ? LIMIT 1 OFFSET ?");
    if (!s)
        return true; /* let the DELETE report the error */
    db_bind_int64(s, 1, user_id);
    db_bind_text(s, 2, kind);
    db_bind_int64(s, 3, limit);
    bool row = db_step(s) == DB_ROW;
    db_reset(s);
    return row;
}

int store_interests_trim(db *d, int64_t user_id, const char *kind, int keep, int slack)
{
    if (!over(d, user_id, kind, keep + slack))
        return 0;
    static const char *sql =
        "DELETE FROM user_interests WHERE user_id = ? AND kind = ? AND item NOT IN ("
        "SELECT item FROM user_interests WHERE user_id = ? AND kind = ? "
        "ORDER BY weight DESC, item LIMIT ?)";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    db_bind_text(s, 2, kind);
    db_bind_int64(s, 3, user_id);
    db_bind_text(s, 4, kind);
    db_bind_int64(s, 5, keep);
    return db_run(s);
}

int store_interests_clear(db *d, int64_t user_id)
{
    db_stmt *s = db_prepare(d, "DELETE FROM user_interests WHERE user_id = ?");
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    return db_run(s);
}

int store_not_interested_set(db *d, int64_t user_id, const char *kind, int64_t target_id,
                             bool on, int64_t now, bool *changed)
{
    static const char *add = "INSERT INTO not_interested (user_id, kind, target_id, created_at) "
                             "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING";
    static const char *del =
        "DELETE FROM not_interested WHERE user_id = ? AND kind = ? AND target_id = ?";
    db_stmt *s = db_prepare(d, on ? add : del);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    db_bind_text(s, 2, kind);
    db_bind_int64(s, 3, target_id);
    if (on)
        db_bind_int64(s, 4, now);
    int rc = db_run(s);
    *changed = rc == 0 && db_changes(d) > 0;
    return rc;
}

int store_not_interested_list(db *d, int64_t user_id, const char *kind, int64_t *out, int max)
{
    static const char *sql = "SELECT target_id FROM not_interested WHERE user_id = ? AND kind = ? "
                             "ORDER BY created_at DESC, target_id DESC LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    db_bind_text(s, 2, kind);
    db_bind_int64(s, 3, max);
    return read_ids(s, out, max);
}

int store_not_interested_tags(db *d, int64_t user_id, char (*tags)[STORE_INTEREST_ITEM_BYTES],
                              int max)
{
    static const char *sql = "SELECT h.tag FROM not_interested n JOIN hashtags h "
                             "ON h.id = n.target_id WHERE n.user_id = ? AND n.kind = 'hashtag' "
                             "ORDER BY n.created_at DESC LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    db_bind_int64(s, 2, max);
    int n = 0, rc;
    while ((rc = db_step(s)) == DB_ROW && n < max) {
        str_copy(tags[n], STORE_INTEREST_ITEM_BYTES, db_col_text(s, 0));
        n++;
    }
    db_reset(s);
    return rc == DB_DONE || rc == DB_ROW ? n : rc;
}

int store_served_add(db *d, int64_t session_id, int64_t user_id, const int64_t *post_ids, int n,
                     int64_t now)
{
    /* one statement for a page: the ids as a VALUES list of a fixed length (unused ones bound
     * to 0, which no post has, and left out), so it is prepared once; CASTs because PostgreSQL
     * cannot infer a bare parameter's type in a VALUES list */
#define V "(CAST(? AS BIGINT))"
#define V5 V "," V "," V "," V "," V
    static const char *sql =
        "INSERT INTO for_you_served (session_id, post_id, user_id, served_at) "
        "SELECT CAST(? AS BIGINT), column1, CAST(? AS BIGINT), CAST(? AS BIGINT) FROM (VALUES " V5
        "," V5 "," V5 "," V5 ") AS v WHERE column1 <> 0 ON CONFLICT DO NOTHING";
#undef V5
#undef V
    for (int off = 0; off < n; off += STORE_SERVED_ROWS) {
        db_stmt *s = db_prepare(d, sql);
        if (!s)
            return ERR_DB;
        db_bind_int64(s, 1, session_id);
        db_bind_int64(s, 2, user_id);
        db_bind_int64(s, 3, now);
        for (int k = 0; k < STORE_SERVED_ROWS; k++)
            db_bind_int64(s, 4 + k, off + k < n ? post_ids[off + k] : 0);
        int rc = db_run(s);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int store_served_rows(db *d, int64_t session_id, int64_t user_id, int64_t since_ms,
                      store_served_row *out, int max)
{
    static const char *sql =
        "SELECT post_id, session_id, served_at FROM for_you_served WHERE session_id = ? UNION "
        "SELECT post_id, session_id, served_at FROM for_you_served WHERE user_id = ? "
        "AND user_id <> 0 AND served_at >= ? LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, session_id);
    db_bind_int64(s, 2, user_id);
    db_bind_int64(s, 3, since_ms);
    db_bind_int64(s, 4, max);
    int n = 0, rc;
    while ((rc = db_step(s)) == DB_ROW && n < max)
        out[n++] = (store_served_row){db_col_int64(s, 0), db_col_int64(s, 1), db_col_int64(s, 2)};
    db_reset(s);
    return rc == DB_DONE || rc == DB_ROW ? n : rc;
}

int store_served_anon_append(db *d, int64_t session_id, const int64_t *post_ids, int n,
                             int64_t now, int64_t *version)
{
    /* 20 digits and a comma an id */
    char *text = xmalloc((size_t)(n > 0 ? n : 1) * 21 + 1);
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += (size_t)sprintf(text + len, "%s%" PRId64, i ? "," : "", post_ids[i]);
    text[len] = 0;
    db_stmt *s = db_prepare(
        d, "INSERT INTO for_you_served_heads (user_id, session_id, version, updated_at, posts) "
           "VALUES (0, ?, 1, ?, ?) ON CONFLICT (user_id, session_id) DO UPDATE SET "
           "version = for_you_served_heads.version + 1, updated_at = excluded.updated_at, "
           "posts = COALESCE(for_you_served_heads.posts || ',', '') || excluded.posts "
           "RETURNING version");
    int rc = ERR_DB;
    if (s) {
        db_bind_int64(s, 1, session_id);
        db_bind_int64(s, 2, now);
        db_bind_text(s, 3, text);
        rc = db_query_int64(s, version);
    }
    free(text);
    return rc;
}

int store_served_anon_rows(db *d, int64_t session_id, store_served_row *out, int max)
{
    db_stmt *s = db_prepare(d, "SELECT posts, updated_at FROM for_you_served_heads "
                               "WHERE user_id = 0 AND session_id = ?");
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, session_id);
    int n = 0, rc = db_step(s);
    if (rc == DB_ROW) {
        const char *p = db_col_text(s, 0);
        int64_t at = db_col_int64(s, 1);
        while (p && *p && n < max) {
            char *end;
            long long id = strtoll(p, &end, 10);
            if (end == p)
                break; /* not ours: stop rather than loop */
            out[n++] = (store_served_row){id, session_id, at};
            p = *end == ',' ? end + 1 : end;
        }
    }
    db_reset(s);
    return rc == DB_ROW || rc == DB_DONE ? n : rc;
}

int store_served_purge(db *d, int64_t user_id, int64_t before_ms)
{
    db_stmt *s =
        db_prepare(d, "DELETE FROM for_you_served WHERE user_id = ? AND served_at < ?");
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    db_bind_int64(s, 2, before_ms);
    int rc = db_run(s);
    if (rc < 0 || user_id)
        return rc;
    s = db_prepare(d, "DELETE FROM for_you_served_heads WHERE user_id = 0 AND updated_at < ?");
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, before_ms);
    return db_run(s);
}

int store_served_version(db *d, int64_t user_id, int64_t session_id, int64_t *version)
{
    db_stmt *s = db_prepare(d, "SELECT COALESCE(MAX(version), 0) FROM for_you_served_heads "
                               "WHERE user_id = ? AND session_id = ?");
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    db_bind_int64(s, 2, session_id);
    return db_query_int64(s, version);
}

int store_served_bump(db *d, int64_t user_id, int64_t session_id, int64_t now, int64_t *version)
{
    db_stmt *s = db_prepare(
        d, "INSERT INTO for_you_served_heads (user_id, session_id, version, updated_at) "
           "VALUES (?, ?, 1, ?) ON CONFLICT (user_id, session_id) DO UPDATE SET "
           "version = for_you_served_heads.version + 1, updated_at = excluded.updated_at "
           "RETURNING version");
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    db_bind_int64(s, 2, session_id);
    db_bind_int64(s, 3, now);
    return db_query_int64(s, version);
}

int store_posts_fresh_unseen(db *d, int64_t max_views, int64_t *out, int max)
{
    static const char *sql =
        "SELECT p.id FROM posts p CROSS JOIN users u WHERE u.id = p.author_id "
        "AND p.visibility = 'public' AND p.deleted_at IS NULL AND p.expires_at IS NULL "
        "AND u.is_private = 0 AND p.view_count < ? ORDER BY p.id DESC LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, max_views);
    db_bind_int64(s, 2, max);
    return read_ids(s, out, max);
}

int store_friends_of_friends(db *d, int64_t viewer, int64_t *ids, int64_t *counts, int64_t *via,
                             int max)
{
    static const char *sql =
        "SELECT f2.followee_id, COUNT(*), MIN(f1.followee_id) FROM follows f1 "
        "JOIN follows f2 ON f2.follower_id = f1.followee_id WHERE f1.follower_id = ? "
        "AND f2.followee_id <> ? AND NOT EXISTS (SELECT 1 FROM follows f3 "
        "WHERE f3.follower_id = ? AND f3.followee_id = f2.followee_id) "
        "GROUP BY f2.followee_id ORDER BY COUNT(*) DESC, f2.followee_id LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, viewer);
    db_bind_int64(s, 2, viewer);
    db_bind_int64(s, 3, viewer);
    db_bind_int64(s, 4, max);
    int n = 0, rc;
    while ((rc = db_step(s)) == DB_ROW && n < max) {
        ids[n] = db_col_int64(s, 0);
        counts[n] = db_col_int64(s, 1);
        via[n] = db_col_int64(s, 2);
        n++;
    }
    db_reset(s);
    return rc == DB_DONE || rc == DB_ROW ? n : rc;
}
