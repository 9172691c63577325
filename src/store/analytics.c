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
#include <stdlib.h>
#include <string.h>

static const char *const post_cols[POST__COLS] = {
    "views",         "plays",       "viewers",    "watch_ms",    "completions", "src_for_you",
    "src_following", "src_profile", "src_search", "src_hashtag", "src_share",   "src_explore",
    "src_other",     "reach_10",    "reach_20",   "reach_30",    "reach_40",    "reach_50",
    "reach_60",      "reach_70",    "reach_80",   "reach_90",    "likes",       "unlikes",
    "comments",      "shares",      "saves",      "unsaves",     "follows"};
static const char *const creator_cols[CREATOR__COLS] = {
    "views",       "plays",         "viewers",          "watch_ms",
    "completions", "profile_views", "followers_gained", "followers_lost",
    "likes",       "comments",      "shares",           "saves",
    "posts"};
static const char *const platform_cols[PLATFORM__COLS] = {
    "events",  "active_users", "views",   "plays", "watch_ms",
    "uploads", "messages",     "follows", "likes", "comments"};

static analytics_table tables[] = {
    [ANALYTICS_POSTS] = {"analytics_post_hours", "post_id", post_cols, POST__COLS, 0, 0},
    [ANALYTICS_CREATORS] = {"analytics_creator_hours", "creator_id", creator_cols, CREATOR__COLS, 0,
                            0},
    [ANALYTICS_PLATFORM] = {"analytics_platform_hours", "scope", platform_cols, PLATFORM__COLS, 0,
                            0},
};
static char sql_text[3][2][8192], chunk_text[3][16384];
static pthread_once_t built = PTHREAD_ONCE_INIT;

/* A multi-row statement: the head of single (up to values_at), STORE_ANALYTICS_CHUNK copies
 * of row, then single's tail. */
static void values_sql(char *out, size_t size, const char *single, const char *values_at,
                       const char *row, const char *tail)
{
    size_t n = (size_t)snprintf(out, size, "%.*s", (int)(values_at - single), single);
    for (int r = 0; r < STORE_ANALYTICS_CHUNK; r++)
        n += (size_t)snprintf(out + n, size - n, "%s%s", r ? ", " : "", row);
    n += (size_t)snprintf(out + n, size - n, "%s", tail);
    if (n >= size)
        abort(); /* a column list longer than the buffers: a programming error */
}

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
        char row[512];
        snprintf(row, sizeof row, "(?, ?%s%s)", posts ? ", ?" : "", marks);
        values_sql(chunk_text[i], sizeof chunk_text[i], sql_text[i][0],
                   strstr(sql_text[i][0], " VALUES ") + 8, row,
                   strstr(sql_text[i][0], " ON CONFLICT"));
        t->upsert_chunk_sql = chunk_text[i];
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
    return store_events_read(s, out, max);
}

/* Runs sql_one per row, or sql_chunk per STORE_ANALYTICS_CHUNK rows, binding each row's
 * per_row values with bind(s, first_param, row, ctx). */
typedef void (*bind_row_fn)(db_stmt *s, int first, const void *row, const void *ctx);
static int run_rows(db *d, const char *sql_one, const char *sql_chunk, int per_row,
                    const void *rows, size_t row_size, int n, bind_row_fn bind, const void *ctx)
{
    int i = 0, rc = 0;
    while (i < n && rc >= 0) {
        int k = i + STORE_ANALYTICS_CHUNK <= n ? STORE_ANALYTICS_CHUNK : 1;
        db_stmt *s = db_prepare(d, k > 1 ? sql_chunk : sql_one);
        if (!s)
            return ERR_DB;
        for (int r = 0; r < k; r++)
            bind(s, 1 + r * per_row, (const char *)rows + (size_t)(i + r) * row_size, ctx);
        rc = db_run(s);
        i += k;
    }
    return rc < 0 ? rc : 0;
}

static void bind_delta(db_stmt *s, int first, const void *row, const void *ctx)
{
    const store_analytics_delta *r = row;
    const analytics_table *t = ctx;
    db_bind_int64(s, first++, r->key);
    db_bind_int64(s, first++, r->hour);
    if (t == &tables[ANALYTICS_POSTS])
        db_bind_int64(s, first++, r->creator_id);
    for (int k = 0; k < t->n_cols; k++)
        db_bind_int64(s, first++, r->vals[k]);
}

int store_analytics_add_many(db *d, const analytics_table *t, const store_analytics_delta *rows,
                             int n)
{
    int per_row = t->n_cols + (t == &tables[ANALYTICS_POSTS] ? 3 : 2);
    return run_rows(d, t->upsert_sql, t->upsert_chunk_sql, per_row, rows, sizeof *rows, n,
                    bind_delta, t);
}

static char uniques_put_chunk[4096], last_views_chunk[4096];
static pthread_once_t chunks_built = PTHREAD_ONCE_INIT;
#define UNIQUES_PUT_SQL                                                                            \
    "INSERT INTO analytics_uniques (kind, key_id, hour, members) VALUES (?, ?, ?, ?) ON "          \
    "CONFLICT (kind, key_id, hour) DO UPDATE SET members = excluded.members"
#define LAST_VIEWS_SQL                                                                             \
    "INSERT INTO analytics_last_views (viewer_id, creator_id, post_id, viewed_at) VALUES "         \
    "(?, ?, ?, ?) ON CONFLICT (viewer_id, creator_id) DO UPDATE SET post_id = "                    \
    "excluded.post_id, viewed_at = excluded.viewed_at"

static void build_chunks(void)
{
    values_sql(uniques_put_chunk, sizeof uniques_put_chunk, UNIQUES_PUT_SQL,
               strstr(UNIQUES_PUT_SQL, " VALUES ") + 8, "(?, ?, ?, ?)",
               strstr(UNIQUES_PUT_SQL, " ON CONFLICT"));
    values_sql(last_views_chunk, sizeof last_views_chunk, LAST_VIEWS_SQL,
               strstr(LAST_VIEWS_SQL, " VALUES ") + 8, "(?, ?, ?, ?)",
               strstr(LAST_VIEWS_SQL, " ON CONFLICT"));
}

int store_analytics_uniques_get(db *d, int kind, int64_t key, int64_t hour, char **members)
{
    db_stmt *s = db_prepare(d, "SELECT members FROM analytics_uniques WHERE kind = ? AND "
                               "key_id = ? AND hour = ?");
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, kind);
    db_bind_int64(s, 2, key);
    db_bind_int64(s, 3, hour);
    *members = NULL;
    int rc = db_step(s);
    if (rc == DB_ROW)
        *members = xstrdup(db_col_text(s, 0) ? db_col_text(s, 0) : "");
    db_reset(s);
    return rc < 0 ? rc : 0;
}

static void bind_unique_set(db_stmt *s, int first, const void *row, const void *ctx)
{
    const store_unique_set *u = row;
    db_bind_int64(s, first, u->kind);
    db_bind_int64(s, first + 1, u->key);
    db_bind_int64(s, first + 2, u->hour);
    db_bind_text(s, first + 3, u->members);
}

int store_analytics_uniques_put(db *d, const store_unique_set *sets, int n)
{
    pthread_once(&chunks_built, build_chunks);
    return run_rows(d, UNIQUES_PUT_SQL, uniques_put_chunk, 4, sets, sizeof *sets, n,
                    bind_unique_set, NULL);
}

int store_analytics_uniques_range(db *d, int kind, int64_t key, int64_t from, int64_t to,
                                  store_uniques_fn fn, void *ctx)
{
    db_stmt *s = db_prepare(d, "SELECT hour, members FROM analytics_uniques WHERE kind = ? AND "
                               "key_id = ? AND hour >= ? AND hour < ?");
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, kind);
    db_bind_int64(s, 2, key);
    db_bind_int64(s, 3, from);
    db_bind_int64(s, 4, to);
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        const char *m = db_col_text(s, 1);
        fn(ctx, db_col_int64(s, 0), m ? m : "");
    }
    db_reset(s);
    return rc < 0 ? rc : 0;
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

static void bind_last_view(db_stmt *s, int first, const void *row, const void *ctx)
{
    const store_last_view *v = row;
    db_bind_int64(s, first, v->viewer);
    db_bind_int64(s, first + 1, v->creator);
    db_bind_int64(s, first + 2, v->post);
    db_bind_int64(s, first + 3, v->at);
}

int store_analytics_last_views_set(db *d, const store_last_view *views, int n)
{
    pthread_once(&chunks_built, build_chunks);
    return run_rows(d, LAST_VIEWS_SQL, last_views_chunk, 4, views, sizeof *views, n, bind_last_view,
                    NULL);
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

int store_analytics_purge_last_views(db *d, int64_t before)
{
    db_stmt *s = db_prepare(d, "DELETE FROM analytics_last_views WHERE viewed_at < ?");
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, before);
    return db_run(s);
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

/* ---- creator snapshots ---- */

int store_creator_inputs_read(db *d, int64_t from, int64_t to, store_creator_inputs **out)
{
    db_stmt *s = db_prepare(
        d, "SELECT creator_id, SUM(views), SUM(plays), SUM(likes + comments + shares + saves), "
           "SUM(completions), SUM(followers_gained - followers_lost), "
           "COUNT(DISTINCT CASE WHEN posts > 0 THEN hour / 86400000 END) "
           "FROM analytics_creator_hours WHERE hour >= ? AND hour < ? GROUP BY creator_id "
           "HAVING SUM(views) > 0 OR SUM(posts) > 0 ORDER BY creator_id");
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, from);
    db_bind_int64(s, 2, to);
    int n = 0, cap = 64, rc;
    store_creator_inputs *rows = xcalloc((size_t)cap, sizeof *rows);
    while ((rc = db_step(s)) == DB_ROW) {
        if (n == cap)
            rows = xrealloc(rows, sizeof *rows * (size_t)(cap *= 2));
        store_creator_inputs *r = &rows[n++];
        memset(r, 0, sizeof *r);
        r->creator_id = db_col_int64(s, 0);
        r->views = db_col_int64(s, 1);
        r->plays = db_col_int64(s, 2);
        r->engagements = db_col_int64(s, 3);
        r->completions = db_col_int64(s, 4);
        r->followers_net = db_col_int64(s, 5);
        r->posting_days = db_col_int64(s, 6);
    }
    db_reset(s);
    if (rc < 0) {
        free(rows);
        return rc;
    }
    *out = rows;
    return n;
}

int store_creator_snapshot_put(db *d, const store_creator_snapshot *sn)
{
    db_stmt *s = db_prepare(
        d, "INSERT INTO creator_snapshots (creator_id, day, score_tenths, tier, rank, views, "
           "plays, engagements, completions, followers_net, posting_days, tips) VALUES "
           "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (creator_id, day) DO UPDATE SET "
           "score_tenths = excluded.score_tenths, tier = excluded.tier, rank = excluded.rank, "
           "views = excluded.views, plays = excluded.plays, engagements = excluded.engagements, "
           "completions = excluded.completions, followers_net = excluded.followers_net, "
           "posting_days = excluded.posting_days, tips = excluded.tips");
    if (!s)
        return ERR_DB;
    const store_creator_inputs *in = &sn->in;
    int64_t v[] = {sn->creator_id, sn->day, sn->score_tenths};
    for (int i = 0; i < 3; i++)
        db_bind_int64(s, i + 1, v[i]);
    db_bind_text(s, 4, sn->tier);
    int64_t w[] = {sn->rank,        in->views,         in->plays,        in->engagements,
                   in->completions, in->followers_net, in->posting_days, in->tips};
    for (int i = 0; i < 8; i++)
        db_bind_int64(s, i + 5, w[i]);
    return db_run(s);
}

#define SNAPSHOT_COLS                                                                              \
    "creator_id, day, score_tenths, tier, rank, views, plays, engagements, completions, "          \
    "followers_net, posting_days, tips"

static void snapshot_decode(db_stmt *s, store_creator_snapshot *o)
{
    memset(o, 0, sizeof *o);
    o->creator_id = o->in.creator_id = db_col_int64(s, 0);
    o->day = db_col_int64(s, 1);
    o->score_tenths = db_col_int64(s, 2);
    snprintf(o->tier, sizeof o->tier, "%s", db_col_text(s, 3));
    o->rank = db_col_int64(s, 4);
    int64_t *in[] = {&o->in.views,       &o->in.plays,         &o->in.engagements,
                     &o->in.completions, &o->in.followers_net, &o->in.posting_days,
                     &o->in.tips};
    for (int i = 0; i < 7; i++)
        *in[i] = db_col_int64(s, 5 + i);
}

int store_creator_snapshot_before(db *d, int64_t creator, int64_t day, store_creator_snapshot *out)
{
    db_stmt *s = db_prepare(d, "SELECT " SNAPSHOT_COLS " FROM creator_snapshots WHERE "
                               "creator_id = ? AND day < ? ORDER BY day DESC LIMIT 1");
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, creator);
    db_bind_int64(s, 2, day);
    int rc = db_step(s);
    if (rc == DB_ROW)
        snapshot_decode(s, out);
    db_reset(s);
    return rc == DB_ROW ? 0 : rc < 0 ? rc : ERR_NOT_FOUND;
}

int store_creator_latest_score(db *d, int64_t creator, int64_t *tenths)
{
    store_creator_snapshot sn;
    int rc = store_creator_snapshot_before(d, creator, INT64_MAX, &sn);
    *tenths = rc == 0 ? sn.score_tenths : -1;
    return rc == ERR_NOT_FOUND ? 0 : rc;
}

int store_creator_history(db *d, int64_t creator, store_creator_snapshot *out, int max)
{
    db_stmt *s = db_prepare(d, "SELECT " SNAPSHOT_COLS " FROM creator_snapshots WHERE "
                               "creator_id = ? ORDER BY day DESC LIMIT ?");
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, creator);
    db_bind_int64(s, 2, max);
    int n = 0, rc = DB_DONE;
    while (n < max && (rc = db_step(s)) == DB_ROW)
        snapshot_decode(s, &out[n++]);
    db_reset(s);
    return rc < 0 ? rc : n;
}

int store_creator_latest_day(db *d, int64_t *day)
{
    db_stmt *s = db_prepare(d, "SELECT COALESCE(MAX(day), 0) FROM creator_snapshots");
    return s ? db_query_int64(s, day) : ERR_DB;
}

#define LEADER_FILTER                                                                              \
    " AND u.is_private = 0 AND (CAST(? AS BIGINT) = 0 OR EXISTS (SELECT 1 FROM posts p JOIN "      \
    "post_hashtags ph ON ph.post_id = p.id WHERE p.author_id = u.id AND ph.hashtag_id = ?))"

int store_leaderboard(db *d, const char *metric, int64_t day, int64_t from, int64_t to,
                      int64_t hashtag_id, int64_t after_value, int64_t after_id, store_leader *out,
                      int max)
{
    static const char *score_sql =
        "SELECT s.creator_id, s.score_tenths FROM creator_snapshots s JOIN users u ON "
        "u.id = s.creator_id WHERE s.day = ?" LEADER_FILTER
        " AND (CAST(? AS BIGINT) = 0 OR s.score_tenths < ? OR (s.score_tenths = ? AND "
        "s.creator_id < ?)) ORDER BY s.score_tenths DESC, s.creator_id DESC LIMIT ?";
    static const char *views_sql =
        "SELECT h.creator_id, SUM(h.views) AS v FROM analytics_creator_hours h JOIN users u ON "
        "u.id = h.creator_id WHERE h.hour >= ? AND h.hour < ?" LEADER_FILTER
        " GROUP BY h.creator_id HAVING (CAST(? AS BIGINT) = 0 OR SUM(h.views) < ? OR "
        "(SUM(h.views) = ? AND h.creator_id < ?)) ORDER BY v DESC, h.creator_id DESC LIMIT ?";
    static const char *growth_sql =
        "SELECT h.creator_id, SUM(h.followers_gained - h.followers_lost) AS v FROM "
        "analytics_creator_hours h JOIN users u ON u.id = h.creator_id WHERE h.hour >= ? AND "
        "h.hour < ?" LEADER_FILTER " GROUP BY h.creator_id HAVING (CAST(? AS BIGINT) = 0 OR "
        "SUM(h.followers_gained - h.followers_lost) < ? OR (SUM(h.followers_gained - "
        "h.followers_lost) = ? AND h.creator_id < ?)) ORDER BY v DESC, h.creator_id DESC "
        "LIMIT ?";
    const char *sql = !strcmp(metric, "score")    ? score_sql
                      : !strcmp(metric, "views")  ? views_sql
                      : !strcmp(metric, "growth") ? growth_sql
                                                  : NULL;
    if (!sql)
        return 0; /* tips: nothing until the wallet exists */
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    int i = 1;
    if (sql == score_sql)
        db_bind_int64(s, i++, day);
    else {
        db_bind_int64(s, i++, from);
        db_bind_int64(s, i++, to);
    }
    int64_t rest[] = {hashtag_id, hashtag_id, after_id, after_value, after_value, after_id, max};
    for (size_t k = 0; k < sizeof rest / sizeof rest[0]; k++)
        db_bind_int64(s, i++, rest[k]);
    int n = 0, rc = DB_DONE;
    while (n < max && (rc = db_step(s)) == DB_ROW) {
        out[n].creator_id = db_col_int64(s, 0);
        out[n].value = db_col_int64(s, 1);
        n++;
    }
    db_reset(s);
    return rc < 0 ? rc : n;
}
