/* SPDX-License-Identifier: MIT
 *
 * SQL for search. Each query has two parts: a per-dialect source that yields (id, score) rows
 * from the text index, and an outer query, written once, that joins the rows, applies the
 * viewer's filters, continues after the cursor's key and orders. The key comparison is one row
 * value, (bucket, -score, -followers, -id) > (?, ?, ?, ?), which SQLite and PostgreSQL both
 * evaluate the same way and which matches the ORDER BY exactly, so no row is repeated or skipped
 * between pages while the data stands still.
 *
 * Handle prefixes are a range on handle_norm (the unique index on SQLite, a text_pattern_ops
 * index on PostgreSQL, whose ~>=~ / ~<~ operators compare bytes whatever the collation): handles
 * are [a-z0-9_.] once lowercased, so every handle starting with P sorts in [P, P + "~").
 */
#include "store/search.h"

#include "core/util.h"

#include <stdio.h>
#include <string.h>

/* ---- users -------------------------------------------------------------------------------- */

/* bm25 column weights: a word of the handle counts more than one of the display name, which
 * counts more than one of the bio. ts_rank's weights A, B, C (set in the migration) mirror it. */
#define USERS_TEXT_SQLITE                                                                          \
    "SELECT rowid AS id, 2 AS bucket, "                                                            \
    "CAST(-bm25(users_fts, 10.0, 4.0, 1.0) * 1000000000 AS INTEGER) AS score "                     \
    "FROM users_fts WHERE users_fts MATCH ?"
#define USERS_TEXT_PG                                                                              \
    "SELECT id, 2 AS bucket, CAST(ts_rank(search_tsv, query)::float8 * 1000000000 AS BIGINT) "     \
    "AS score FROM users, to_tsquery('simple', ?) query WHERE search_tsv @@ query"
#define USERS_HANDLE_SQLITE                                                                        \
    "SELECT id, CASE WHEN handle_norm = ? THEN 0 ELSE 1 END AS bucket, 0 AS score FROM users "     \
    "WHERE handle_norm >= ? AND handle_norm < ?"
#define USERS_HANDLE_PG                                                                            \
    "SELECT id, CASE WHEN handle_norm = ? THEN 0 ELSE 1 END AS bucket, 0 AS score FROM users "     \
    "WHERE handle_norm ~>=~ ? AND handle_norm ~<~ ?"

/* A user found both ways keeps its best bucket and its text score. */
#define USERS_RANKED(SOURCES)                                                                      \
    "SELECT " STORE_USER_COLUMNS ", c.bucket, c.score FROM ("                                      \
    "SELECT id, MIN(bucket) AS bucket, MAX(score) AS score FROM (" SOURCES ") m GROUP BY id) c "   \
    "JOIN users u ON u.id = c.id "                                                                 \
    "WHERE NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = ? AND b.blocked_id = u.id) "   \
    "OR (b.blocker_id = u.id AND b.blocked_id = ?)) "                                              \
    "AND (c.bucket, -c.score, -u.followers_count, -u.id) > (?, ?, ?, ?) "                          \
    "ORDER BY c.bucket, c.score DESC, u.followers_count DESC, u.id DESC LIMIT ?"

static const char *const USERS_BOTH_SQLITE =
    USERS_RANKED(USERS_TEXT_SQLITE " UNION ALL " USERS_HANDLE_SQLITE);
static const char *const USERS_BOTH_PG = USERS_RANKED(USERS_TEXT_PG " UNION ALL " USERS_HANDLE_PG);
static const char *const USERS_HANDLE_ONLY_SQLITE = USERS_RANKED(USERS_HANDLE_SQLITE);
static const char *const USERS_HANDLE_ONLY_PG = USERS_RANKED(USERS_HANDLE_PG);

/* ---- posts -------------------------------------------------------------------------------- */

#define POSTS_TEXT_SQLITE                                                                          \
    "SELECT rowid AS id, CAST(-bm25(posts_fts) * 1000000000 AS INTEGER) AS score "                 \
    "FROM posts_fts WHERE posts_fts MATCH ?"
#define POSTS_TEXT_PG                                                                              \
    "SELECT id, CAST(ts_rank(search_tsv, query)::float8 * 1000000000 AS BIGINT) AS score "         \
    "FROM posts, to_tsquery('simple', ?) query WHERE search_tsv @@ query AND deleted_at IS NULL"

/* The pre-filter keeps every post posts_can_view could allow: the viewer's own, and otherwise,
 * without a block either way, public posts of public accounts, any post of someone the viewer
 * follows, or a circle post of a circle the viewer is in (members need not follow the author).
 * What it lets through too much (a friends-only post of a one-way follow) the domain's gate
 * removes; what it removes saves a round of per-row checks. */
#define POSTS_RANKED(SOURCE)                                                                       \
    "SELECT " STORE_POST_COLUMNS ", f.score FROM (" SOURCE ") f "                                  \
    "JOIN posts p ON p.id = f.id JOIN users u ON u.id = p.author_id "                              \
    "WHERE p.deleted_at IS NULL AND (p.author_id = ? OR ("                                         \
    "NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = ? AND b.blocked_id = p.author_id) "  \
    "OR (b.blocker_id = p.author_id AND b.blocked_id = ?)) "                                       \
    "AND ((p.visibility = 'public' AND u.is_private = 0) OR EXISTS (SELECT 1 FROM follows fo "     \
    "WHERE fo.follower_id = ? AND fo.followee_id = p.author_id) OR (p.visibility = 'circle' "      \
    "AND EXISTS (SELECT 1 FROM circle_members cm WHERE cm.circle_id = p.circle_id "                \
    "AND cm.user_id = ?))))) "                                                                     \
    "AND (0, -f.score, 0, -p.id) > (?, ?, ?, ?) "                                                  \
    "ORDER BY f.score DESC, p.id DESC LIMIT ?"

static const char *const POSTS_SQLITE = POSTS_RANKED(POSTS_TEXT_SQLITE);
static const char *const POSTS_PG = POSTS_RANKED(POSTS_TEXT_PG);

/* Binds the key to continue after, negated like the row value it is compared with; the first
 * page starts after bucket -1, before every real row. */
static int bind_after(db_stmt *s, int idx, const store_search_key *after)
{
    store_search_key start = {.bucket = -1};
    const store_search_key *k = after ? after : &start;
    db_bind_int64(s, idx++, k->bucket);
    db_bind_int64(s, idx++, -k->score);
    db_bind_int64(s, idx++, -k->followers);
    db_bind_int64(s, idx++, -k->id);
    return idx;
}

int store_search_users(db *d, const store_search_query *q, int64_t viewer,
                       const store_search_key *after, store_user *out, store_search_key *keys,
                       int max)
{
    bool sqlite = db_kind_of(d) == DB_SQLITE;
    const char *text = sqlite ? q->fts5 : q->tsquery;
    bool with_text = text && *text;
    const char *sql = with_text ? (sqlite ? USERS_BOTH_SQLITE : USERS_BOTH_PG)
                                : (sqlite ? USERS_HANDLE_ONLY_SQLITE : USERS_HANDLE_ONLY_PG);
    const char *prefix = q->handle_prefix ? q->handle_prefix : "";
    char upper[64];
    /* An empty prefix gives the empty range ["", ""): the handle branch then finds nothing. */
    snprintf(upper, sizeof upper, "%s%s", prefix, *prefix ? "~" : "");
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    int i = 1;
    if (with_text)
        db_bind_text(s, i++, text);
    db_bind_text(s, i++, prefix);
    db_bind_text(s, i++, prefix);
    db_bind_text(s, i++, upper);
    db_bind_int64(s, i++, viewer);
    db_bind_int64(s, i++, viewer);
    i = bind_after(s, i, after);
    db_bind_int64(s, i, max);
    int n = 0, rc = DB_DONE;
    while (n < max && (rc = db_step(s)) == DB_ROW) {
        store_user_decode(s, &out[n]);
        keys[n] = (store_search_key){.bucket = db_col_int64(s, STORE_USER_NCOLS),
                                     .score = db_col_int64(s, STORE_USER_NCOLS + 1),
                                     .followers = out[n].followers_count,
                                     .id = out[n].id};
        n++;
    }
    db_reset(s);
    return rc < 0 ? rc : n;
}

int store_search_posts(db *d, const store_search_query *q, int64_t viewer,
                       const store_search_key *after, store_post *out, store_search_key *keys,
                       int max)
{
    bool sqlite = db_kind_of(d) == DB_SQLITE;
    const char *text = sqlite ? q->fts5 : q->tsquery;
    if (!text || !*text)
        return 0; /* captions are found by words only */
    db_stmt *s = db_prepare(d, sqlite ? POSTS_SQLITE : POSTS_PG);
    if (!s)
        return ERR_DB;
    int i = 1;
    db_bind_text(s, i++, text);
    for (int k = 0; k < 5; k++) /* own, two block probes, follows, circle membership */
        db_bind_int64(s, i++, viewer);
    i = bind_after(s, i, after);
    db_bind_int64(s, i, max);
    int n = 0, rc = DB_DONE;
    while (n < max && (rc = db_step(s)) == DB_ROW) {
        store_post_decode(s, &out[n]);
        keys[n] = (store_search_key){.score = db_col_int64(s, STORE_POST_NCOLS), .id = out[n].id};
        n++;
    }
    db_reset(s);
    return rc < 0 ? rc : n;
}

int store_search_hashtags(db *d, const char *prefix, const store_search_key *after,
                          store_hashtag *out, store_search_key *keys, int max)
{
    /* LIKE with an escaped pattern: tags are lowercase already, so SQLite's case folding and
     * PostgreSQL's case-sensitive LIKE agree. Tags are stored as typed, so #مدرسة and #مدرسه
     * stay two tags with their own posts; search_fold (the migration "search_fold" defines it on
     * both databases) folds the tags as the prefix was folded, so either query lists both. Only
     * tags on public posts of public accounts are found, ranked by that count: what anyone may
     * see. */
    static const char *sql =
        "SELECT id, tag, public_count, created_at, bucket FROM (SELECT h.*, "
        "CASE WHEN search_fold(tag) = ? THEN 0 ELSE 1 END AS bucket FROM hashtags h "
        "WHERE search_fold(tag) LIKE ? ESCAPE '!' AND public_count > 0) t "
        "WHERE (bucket, -public_count, 0, -id) > (?, ?, ?, ?) "
        "ORDER BY bucket, public_count DESC, id DESC LIMIT ?";
    char pattern[(int)sizeof out->tag * 2 + 2], *w = pattern;
    for (const char *c = prefix; *c && w < pattern + sizeof pattern - 3; c++) {
        if (*c == '%' || *c == '_' || *c == '!')
            *w++ = '!';
        *w++ = *c;
    }
    *w++ = '%';
    *w = '\0';
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_text(s, 1, prefix);
    db_bind_text(s, 2, pattern);
    int i = bind_after(s, 3, after);
    db_bind_int64(s, i, max);
    int n = 0, rc = DB_DONE;
    while (n < max && (rc = db_step(s)) == DB_ROW) {
        out[n].id = db_col_int64(s, 0);
        snprintf(out[n].tag, sizeof out[n].tag, "%s", db_col_text(s, 1));
        out[n].post_count = db_col_int64(s, 2);
        out[n].created_at = db_col_int64(s, 3);
        keys[n] = (store_search_key){.bucket = db_col_int64(s, 4), .score = out[n].post_count,
                                     .id = out[n].id};
        n++;
    }
    db_reset(s);
    return rc < 0 ? rc : n;
}
