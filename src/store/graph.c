/* SPDX-License-Identifier: MIT
 *
 * SQL for follows and follow requests.
 */
#include "store/graph.h"

#include "core/util.h"

#include <stdint.h>

/* Runs one counter UPDATE. */
static int bump(db *d, const char *sql, int64_t delta, int64_t user)
{
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, delta);
    db_bind_int64(s, 2, user);
    return db_run(s);
}

/* Updates both users' counters, lower id first: two opposite follows in flight then lock the
 * rows in the same order and cannot deadlock on PostgreSQL. */
static int bump_counters(db *d, int64_t follower, int64_t followee, int64_t delta)
{
    static const char *following =
        "UPDATE users SET following_count = following_count + ? WHERE id = ?";
    static const char *followers =
        "UPDATE users SET followers_count = followers_count + ? WHERE id = ?";
    int rc;
    if (follower < followee) {
        rc = bump(d, following, delta, follower);
        return rc < 0 ? rc : bump(d, followers, delta, followee);
    }
    rc = bump(d, followers, delta, followee);
    return rc < 0 ? rc : bump(d, following, delta, follower);
}

int store_follow_add(db *d, int64_t id, int64_t follower, int64_t followee, int64_t now)
{
    static const char *sql =
        "INSERT INTO follows (id, follower_id, followee_id, created_at) VALUES (?, ?, ?, ?)";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, follower);
    db_bind_int64(s, 3, followee);
    db_bind_int64(s, 4, now);
    int rc = db_run(s);
    return rc < 0 ? rc : bump_counters(d, follower, followee, 1);
}

int store_follow_remove(db *d, int64_t follower, int64_t followee)
{
    static const char *sql = "DELETE FROM follows WHERE follower_id = ? AND followee_id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, follower);
    db_bind_int64(s, 2, followee);
    int rc = db_run(s);
    if (rc < 0)
        return rc;
    if (db_changes(d) != 1)
        return ERR_NOT_FOUND;
    return bump_counters(d, follower, followee, -1);
}

bool store_follows(db *d, int64_t follower, int64_t followee)
{
    static const char *sql = "SELECT 1 FROM follows WHERE follower_id = ? AND followee_id = ?";
    return db_pair_exists(d, sql, follower, followee);
}

#define NOT_BLOCKED                                                                               \
    " AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = ? AND b.blocked_id = u.id) "  \
    "OR (b.blocker_id = u.id AND b.blocked_id = ?))"

int store_follow_list(db *d, graph_list_kind kind, int64_t user_id, int64_t viewer,
                      int64_t before_id, int64_t *edge_ids, store_user *out, int max)
{
    static const char *followers =
        "SELECT " STORE_USER_COLUMNS ", f.id FROM follows f JOIN users u ON u.id = f.follower_id "
        "WHERE f.followee_id = ? AND f.id < ?" NOT_BLOCKED " ORDER BY f.id DESC LIMIT ?";
    static const char *following =
        "SELECT " STORE_USER_COLUMNS ", f.id FROM follows f JOIN users u ON u.id = f.followee_id "
        "WHERE f.follower_id = ? AND f.id < ?" NOT_BLOCKED " ORDER BY f.id DESC LIMIT ?";
    static const char *friends =
        "SELECT " STORE_USER_COLUMNS ", f.id FROM follows f "
        "JOIN follows g ON g.follower_id = f.followee_id AND g.followee_id = f.follower_id "
        "JOIN users u ON u.id = f.followee_id "
        "WHERE f.follower_id = ? AND f.id < ?" NOT_BLOCKED " ORDER BY f.id DESC LIMIT ?";
    static const char *blocks =
        "SELECT " STORE_USER_COLUMNS ", f.id FROM blocks f JOIN users u ON u.id = f.blocked_id "
        "WHERE f.blocker_id = ? AND f.id < ? ORDER BY f.id DESC LIMIT ?";
    static const char *mutes =
        "SELECT " STORE_USER_COLUMNS ", f.id FROM mutes f JOIN users u ON u.id = f.muted_id "
        "WHERE f.muter_id = ? AND f.id < ? ORDER BY f.id DESC LIMIT ?";
    const char *sql = kind == GRAPH_FOLLOWERS   ? followers
                      : kind == GRAPH_FOLLOWING ? following
                      : kind == GRAPH_FRIENDS   ? friends
                      : kind == GRAPH_BLOCKS    ? blocks
                                                : mutes;
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    db_bind_int64(s, 2, before_id > 0 ? before_id : INT64_MAX);
    int next = 3;
    if (kind != GRAPH_BLOCKS && kind != GRAPH_MUTES) {
        db_bind_int64(s, next++, viewer);
        db_bind_int64(s, next++, viewer);
    }
    db_bind_int64(s, next, max);
    return store_user_page(s, edge_ids, out, max);
}

static int pair_insert(db *d, const char *sql, int64_t id, int64_t a, int64_t b, int64_t now)
{
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, a);
    db_bind_int64(s, 3, b);
    db_bind_int64(s, 4, now);
    return db_run(s);
}

static int pair_delete(db *d, const char *sql, int64_t a, int64_t b)
{
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, a);
    db_bind_int64(s, 2, b);
    int rc = db_run(s);
    if (rc < 0)
        return rc;
    return db_changes(d) == 1 ? 0 : ERR_NOT_FOUND;
}

int store_block_add(db *d, int64_t id, int64_t blocker, int64_t blocked, int64_t now)
{
    static const char *sql =
        "INSERT INTO blocks (id, blocker_id, blocked_id, created_at) VALUES (?, ?, ?, ?)";
    int rc = pair_insert(d, sql, id, blocker, blocked, now);
    if (rc < 0)
        return rc;
    int64_t pairs[2][2] = {{blocker, blocked}, {blocked, blocker}};
    for (int i = 0; i < 2; i++) {
        rc = store_follow_remove(d, pairs[i][0], pairs[i][1]);
        if (rc < 0 && rc != ERR_NOT_FOUND)
            return rc;
        rc = store_request_remove(d, pairs[i][0], pairs[i][1]);
        if (rc < 0 && rc != ERR_NOT_FOUND)
            return rc;
    }
    return 0;
}

int store_block_remove(db *d, int64_t blocker, int64_t blocked)
{
    static const char *sql = "DELETE FROM blocks WHERE blocker_id = ? AND blocked_id = ?";
    return pair_delete(d, sql, blocker, blocked);
}

bool store_blocks(db *d, int64_t blocker, int64_t blocked)
{
    static const char *sql = "SELECT 1 FROM blocks WHERE blocker_id = ? AND blocked_id = ?";
    return db_pair_exists(d, sql, blocker, blocked);
}

bool store_blocked_either(db *d, int64_t a, int64_t b)
{
    return store_blocks(d, a, b) || store_blocks(d, b, a);
}

bool store_has_exclusions(db *d, int64_t user)
{
    /* three index probes (the unique pairs and blocks_blocked all lead with the user) */
    static const char *sql =
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM blocks WHERE blocker_id = ?) "
        "OR EXISTS (SELECT 1 FROM blocks WHERE blocked_id = ?) "
        "OR EXISTS (SELECT 1 FROM mutes WHERE muter_id = ?) THEN 1 ELSE 0 END";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return true; /* unknown: the caller takes the path that checks each author */
    for (int i = 1; i <= 3; i++)
        db_bind_int64(s, i, user);
    int64_t v = 1;
    return db_query_int64(s, &v) < 0 || v != 0;
}

int store_mute_add(db *d, int64_t id, int64_t muter, int64_t muted, int64_t now)
{
    static const char *sql =
        "INSERT INTO mutes (id, muter_id, muted_id, created_at) VALUES (?, ?, ?, ?)";
    return pair_insert(d, sql, id, muter, muted, now);
}

int store_mute_remove(db *d, int64_t muter, int64_t muted)
{
    static const char *sql = "DELETE FROM mutes WHERE muter_id = ? AND muted_id = ?";
    return pair_delete(d, sql, muter, muted);
}

bool store_mutes(db *d, int64_t muter, int64_t muted)
{
    static const char *sql = "SELECT 1 FROM mutes WHERE muter_id = ? AND muted_id = ?";
    return db_pair_exists(d, sql, muter, muted);
}

int store_request_add(db *d, int64_t id, int64_t requester, int64_t target, int64_t now)
{
    static const char *sql = "INSERT INTO follow_requests (id, requester_id, target_id, "
                             "created_at) VALUES (?, ?, ?, ?)";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, requester);
    db_bind_int64(s, 3, target);
    db_bind_int64(s, 4, now);
    return db_run(s);
}

int store_request_remove(db *d, int64_t requester, int64_t target)
{
    static const char *sql =
        "DELETE FROM follow_requests WHERE requester_id = ? AND target_id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, requester);
    db_bind_int64(s, 2, target);
    int rc = db_run(s);
    if (rc < 0)
        return rc;
    return db_changes(d) == 1 ? 0 : ERR_NOT_FOUND;
}

bool store_requested(db *d, int64_t requester, int64_t target)
{
    static const char *sql =
        "SELECT 1 FROM follow_requests WHERE requester_id = ? AND target_id = ?";
    return db_pair_exists(d, sql, requester, target);
}

int store_request_get(db *d, int64_t id, int64_t target, int64_t *requester)
{
    static const char *sql =
        "SELECT requester_id FROM follow_requests WHERE id = ? AND target_id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, target);
    int rc = db_query_int64(s, requester);
    if (rc < 0)
        return rc;
    return *requester ? 0 : ERR_NOT_FOUND;
}

int store_request_list(db *d, int64_t target, int64_t before_id, int64_t *request_ids,
                       store_user *out, int max)
{
    static const char *sql =
        "SELECT " STORE_USER_COLUMNS ", r.id FROM follow_requests r "
        "JOIN users u ON u.id = r.requester_id WHERE r.target_id = ? AND r.id < ? "
        "ORDER BY r.id DESC LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, target);
    db_bind_int64(s, 2, before_id > 0 ? before_id : INT64_MAX);
    db_bind_int64(s, 3, max);
    return store_user_page(s, request_ids, out, max);
}
