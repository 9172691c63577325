/* SPDX-License-Identifier: MIT
 *
 * SQL of the analytics rollups: see analytics.h. The upsert and series statements of each table
 * are built from its column list once (pthread_once) into static strings, because the statement
 * cache is keyed by the SQL string's address.
 */
#include "store/analytics.h"

#include "core/util.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static const char *const post_cols[POST__COLS] = {
    "views", "plays", "viewers", "watch_ms", "completions", "src_for_you", "src_following",
    "src_profile", "src_search", "src_hashtag", "src_share", "src_explore", "src_other",
    "reach_10", "reach_20", "reach_30", "reach_40", "reach_50", "reach_60", "reach_70",
    "reach_80", "reach_90", "likes", "unlikes", "comments", "shares", "saves", "unsaves",
    "follows"};
static const char *const creator_cols[CREATOR__COLS] = {
    "views", "plays", "viewers", "watch_ms", "completions", "profile_views", "followers_gained",
    "followers_lost", "likes", "comments", "shares", "saves", "posts"};
static const char *const platform_cols[PLATFORM__COLS] = {
    "events", "active_users", "views", "plays", "watch_ms", "uploads", "messages", "follows",
    "likes", "comments"};

static analytics_table tables[] = {
    [ANALYTICS_POSTS] = {"analytics_post_hours", "post_id", post_cols, POST__COLS, 0, 0},
    [ANALYTICS_CREATORS] = {"analytics_creator_hours", "creator_id", creator_cols,
                            CREATOR__COLS, 0, 0},
    [ANALYTICS_PLATFORM] = {"analytics_platform_hours", "scope", platform_cols, PLATFORM__COLS,
                            0, 0},
};
static char sql_text[3][2][8192];
static pthread_once_t built = PTHREAD_ONCE_INIT;

static void build_sql(void)
{
    for (int i = 0; i < 3; i++) {
        analytics_table *t = &tables[i];
        bool posts = i == ANALYTICS_POSTS;
        char cols[1024] = "", marks[256] = "", sets[4096] = "";
        size_t c = 0, m = 0, s = 0;
        for (int k = 0; k < t->n_cols; k++) {
            c += (size_t)snprintf(cols + c, sizeof cols - c, ", %s", t->cols[k]);
            m += (size_t)snprintf(marks + m, sizeof marks - m, ", ?");
            s += (size_t)snprintf(sets + s, sizeof sets - s, "%s%s = %s.%s + excluded.%s",
                                  k ? ", " : "", t->cols[k], t->name, t->cols[k], t->cols[k]);
        }
        snprintf(sql_text[i][0], sizeof sql_text[i][0],
                 "INSERT INTO %s (%s, hour%s%s) VALUES (?, ?%s%s) ON CONFLICT (%s, hour) "
                 "DO UPDATE SET %s",
                 t->name, t->key, posts ? ", creator_id" : "", cols, posts ? ", ?" : "", marks,
                 t->key, sets);
        snprintf(sql_text[i][1], sizeof sql_text[i][1],
                 "SELECT hour%s FROM %s WHERE %s = ? AND hour >= ? AND hour < ? ORDER BY hour "
                 "LIMIT ?",
                 cols, t->name, t->key);
        t->upsert_sql = sql_text[i][0];
        t->series_sql = sql_text[i][1];
    }
}

const analytics_table *store_analytics_table(analytics_table_id id)
{
    pthread_once(&built, build_sql);
    return &tables[id];
}

int store_analytics_watermark_take(db *d, const char *name, int64_t now, int64_t *last_id)
{
    db_stmt *s = db_prepare(d, "UPDATE analytics_watermarks SET updated_at = ? WHERE name = ?");
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, now);
    db_bind_text(s, 2, name);
    int rc = db_run(s);
    if (rc < 0)
        return rc;
    if (db_changes(d) == 0) {
        s = db_prepare(d, "INSERT INTO analytics_watermarks (name, last_event_id, updated_at) "
                          "VALUES (?, 0, ?)");
        if (!s)
            return ERR_DB;
        db_bind_text(s, 1, name);
        db_bind_int64(s, 2, now);
        if ((rc = db_run(s)) < 0)
            return rc;
    }
    return store_analytics_watermark_get(d, name, last_id);
}

int store_analytics_watermark_get(db *d, const char *name, int64_t *last_id)
{
    db_stmt *s = db_prepare(d, "SELECT last_event_id FROM analytics_watermarks WHERE name = ?");
    if (!s)
        return ERR_DB;
    db_bind_text(s, 1, name);
    int rc = db_query_int64(s, last_id);
    if (rc == ERR_NOT_FOUND) {
        *last_id = 0;
        return 0;
    }
    return rc;
}

int store_analytics_watermark_set(db *d, const char *name, int64_t last_id, int64_t now)
{
    db_stmt *s = db_prepare(
        d, "UPDATE analytics_watermarks SET last_event_id = ?, updated_at = ? WHERE name = ?");
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, last_id);
    db_bind_int64(s, 2, now);
    db_bind_text(s, 3, name);
    return db_run(s);
}

int store_analytics_events(db *d, int64_t after, int64_t until, store_event *out, int max)
{
    db_stmt *s = db_prepare(d, "SELECT id, actor_id, type, object_type, object_id, props, "
                               "created_at FROM events WHERE id > ? AND created_at <= ? "
                               "ORDER BY id LIMIT ?");
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, after);
    db_bind_int64(s, 2, until);
    db_bind_int64(s, 3, max);
    int n = 0, rc = DB_DONE;
    while (n < max && (rc = db_step(s)) == DB_ROW) {
        store_event *e = &out[n++];
        e->id = db_col_int64(s, 0);
        e->actor_id = db_col_int64(s, 1);
        snprintf(e->type, sizeof e->type, "%s", db_col_text(s, 2));
        snprintf(e->object_type, sizeof e->object_type, "%s", db_col_text(s, 3));
        e->object_id = db_col_int64(s, 4);
        snprintf(e->props, sizeof e->props, "%s", db_col_text(s, 5));
        e->created_at = db_col_int64(s, 6);
    }
    db_reset(s);
    return rc < 0 ? rc : n;
}

int store_analytics_add(db *d, const analytics_table *t, int64_t key, int64_t hour,
                        int64_t creator_id, const int64_t *vals)
{
    db_stmt *s = db_prepare(d, t->upsert_sql);
    if (!s)
        return ERR_DB;
    int i = 1;
    db_bind_int64(s, i++, key);
    db_bind_int64(s, i++, hour);
    if (t == &tables[ANALYTICS_POSTS])
        db_bind_int64(s, i++, creator_id);
    for (int k = 0; k < t->n_cols; k++)
        db_bind_int64(s, i++, vals[k]);
    return db_run(s);
}

int store_analytics_member_add(db *d, int kind, int64_t key, int64_t hour, int64_t member)
{
    db_stmt *s = db_prepare(d, "INSERT INTO analytics_members (kind, key_id, hour, member_id) "
                               "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING");
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, kind);
    db_bind_int64(s, 2, key);
    db_bind_int64(s, 3, hour);
    db_bind_int64(s, 4, member);
    int rc = db_run(s);
    return rc < 0 ? rc : db_changes(d) > 0;
}

int store_analytics_members_count(db *d, int kind, int64_t key, int64_t from, int64_t to,
                                  int64_t *out)
{
    db_stmt *s = db_prepare(d, "SELECT COUNT(DISTINCT member_id) FROM analytics_members "
                               "WHERE kind = ? AND key_id = ? AND hour >= ? AND hour < ?");
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, kind);
    db_bind_int64(s, 2, key);
    db_bind_int64(s, 3, from);
    db_bind_int64(s, 4, to);
    return db_query_int64(s, out);
}

int store_analytics_post_info(db *d, int64_t post_id, int64_t *author, int64_t *duration_ms)
{
    db_stmt *s = db_prepare(d, "SELECT author_id, COALESCE(media_duration_ms, 0) FROM posts "
                               "WHERE id = ?");
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, post_id);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        *author = db_col_int64(s, 0);
        *duration_ms = db_col_int64(s, 1);
    }
    db_reset(s);
    return rc == DB_ROW ? 0 : rc < 0 ? rc : ERR_NOT_FOUND;
}

int store_analytics_last_view_set(db *d, int64_t viewer, int64_t creator, int64_t post,
                                  int64_t at)
{
    db_stmt *s = db_prepare(d, "INSERT INTO analytics_last_views (viewer_id, creator_id, "
                               "post_id, viewed_at) VALUES (?, ?, ?, ?) ON CONFLICT "
                               "(viewer_id, creator_id) DO UPDATE SET post_id = excluded.post_id, "
                               "viewed_at = excluded.viewed_at");
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, viewer);
    db_bind_int64(s, 2, creator);
    db_bind_int64(s, 3, post);
    db_bind_int64(s, 4, at);
    return db_run(s);
}

int store_analytics_last_view_get(db *d, int64_t viewer, int64_t creator, int64_t since,
                                  int64_t *post)
{
    db_stmt *s = db_prepare(d, "SELECT post_id FROM analytics_last_views WHERE viewer_id = ? "
                               "AND creator_id = ? AND viewed_at >= ?");
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, viewer);
    db_bind_int64(s, 2, creator);
    db_bind_int64(s, 3, since);
    int rc = db_query_int64(s, post);
    if (rc == ERR_NOT_FOUND) {
        *post = 0;
        return 0;
    }
    return rc;
}

int store_analytics_series(db *d, const analytics_table *t, int64_t key, int64_t from, int64_t to,
                           analytics_row *out, int max)
{
    db_stmt *s = db_prepare(d, t->series_sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, key);
    db_bind_int64(s, 2, from);
    db_bind_int64(s, 3, to);
    db_bind_int64(s, 4, max);
    int n = 0, rc = DB_DONE;
    while (n < max && (rc = db_step(s)) == DB_ROW) {
        analytics_row *r = &out[n++];
        r->hour = db_col_int64(s, 0);
        for (int k = 0; k < t->n_cols; k++)
            r->vals[k] = db_col_int64(s, 1 + k);
    }
    db_reset(s);
    return rc < 0 ? rc : n;
}

int store_analytics_purge_events(db *d, int64_t before, int64_t upto_id, int limit)
{
    db_stmt *s = db_prepare(d, "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE "
                               "created_at < ? AND id <= ? ORDER BY id LIMIT ?)");
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, before);
    db_bind_int64(s, 2, upto_id);
    db_bind_int64(s, 3, limit);
    int rc = db_run(s);
    return rc < 0 ? rc : (int)db_changes(d);
}

int store_analytics_new_users(db *d, int64_t from, int64_t to, int64_t *out)
{
    db_stmt *s = db_prepare(d, "SELECT COUNT(*) FROM users WHERE created_at >= ? AND "
                               "created_at < ?");
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, from);
    db_bind_int64(s, 2, to);
    return db_query_int64(s, out);
}
