/* SPDX-License-Identifier: MIT
 *
 * SQL for sessions and refresh_tokens.
 */
#include "store/sessions.h"

#include "core/util.h"

#include <stdio.h>

#define SESSION_COLS "id, user_id, created_at, last_used_at, expires_at, revoked_at, user_agent, ip"

static void decode_session(db_stmt *st, store_session *s)
{
    s->id = db_col_int64(st, 0);
    s->user_id = db_col_int64(st, 1);
    s->created_at = db_col_int64(st, 2);
    s->last_used_at = db_col_int64(st, 3);
    s->expires_at = db_col_int64(st, 4);
    s->revoked_at = db_col_int64(st, 5);
    const char *ua = db_col_text(st, 6), *ip = db_col_text(st, 7);
    str_copy(s->user_agent, sizeof s->user_agent, ua ? ua : "");
    str_copy(s->ip, sizeof s->ip, ip ? ip : "");
}

int store_session_insert(db *d, const store_session *s)
{
    static const char *sql = "INSERT INTO sessions (id, user_id, created_at, last_used_at, "
                             "expires_at, user_agent, ip) VALUES (?, ?, ?, ?, ?, ?, ?)";
    db_stmt *st = db_prepare(d, sql);
    if (!st)
        return ERR_DB;
    db_bind_int64(st, 1, s->id);
    db_bind_int64(st, 2, s->user_id);
    db_bind_int64(st, 3, s->created_at);
    db_bind_int64(st, 4, s->last_used_at);
    db_bind_int64(st, 5, s->expires_at);
    db_bind_text(st, 6, s->user_agent);
    db_bind_text(st, 7, s->ip);
    return db_run(st);
}

int store_session_get(db *d, int64_t id, store_session *out)
{
    static const char *sql = "SELECT " SESSION_COLS " FROM sessions WHERE id = ?";
    db_stmt *st = db_prepare(d, sql);
    if (!st)
        return ERR_DB;
    db_bind_int64(st, 1, id);
    int rc = db_step(st);
    if (rc == DB_ROW)
        decode_session(st, out);
    db_reset(st);
    return rc == DB_ROW ? 0 : rc == DB_DONE ? ERR_NOT_FOUND : rc;
}

int store_session_list(db *d, int64_t user_id, int64_t before_id, int64_t now, store_session *out,
                       int max)
{
    static const char *sql = "SELECT " SESSION_COLS " FROM sessions WHERE user_id = ? AND id < ? "
                             "AND revoked_at IS NULL AND expires_at > ? ORDER BY id DESC LIMIT ?";
    db_stmt *st = db_prepare(d, sql);
    if (!st)
        return ERR_DB;
    db_bind_int64(st, 1, user_id);
    db_bind_int64(st, 2, before_id > 0 ? before_id : INT64_MAX);
    db_bind_int64(st, 3, now);
    db_bind_int64(st, 4, max);
    int n = 0, rc = DB_DONE;
    while (n < max && (rc = db_step(st)) == DB_ROW)
        decode_session(st, &out[n++]);
    db_reset(st);
    return rc < 0 ? rc : n;
}

int store_session_revoke(db *d, int64_t user_id, int64_t session_id, const char *reason,
                         int64_t now)
{
    static const char *sql = "UPDATE sessions SET revoked_at = ?, revoke_reason = ? "
                             "WHERE id = ? AND user_id = ? AND revoked_at IS NULL";
    db_stmt *st = db_prepare(d, sql);
    if (!st)
        return ERR_DB;
    db_bind_int64(st, 1, now);
    db_bind_text(st, 2, reason);
    db_bind_int64(st, 3, session_id);
    db_bind_int64(st, 4, user_id);
    int rc = db_run(st);
    if (rc < 0)
        return rc;
    return db_changes(d) == 1 ? 0 : ERR_NOT_FOUND;
}

int store_session_revoke_all(db *d, int64_t user_id, int64_t keep_id, const char *reason,
                             int64_t now, store_session_fn each, void *arg)
{
    static const char *sql = "UPDATE sessions SET revoked_at = ?, revoke_reason = ? "
                             "WHERE user_id = ? AND id <> ? AND revoked_at IS NULL RETURNING id";
    db_stmt *st = db_prepare(d, sql);
    if (!st)
        return ERR_DB;
    db_bind_int64(st, 1, now);
    db_bind_text(st, 2, reason);
    db_bind_int64(st, 3, user_id);
    db_bind_int64(st, 4, keep_id);
    int rc, n = 0;
    while ((rc = db_step(st)) == DB_ROW) {
        if (each)
            each(arg, db_col_int64(st, 0));
        n++;
    }
    db_reset(st);
    return rc < 0 ? rc : n;
}

int store_session_touch(db *d, int64_t id, int64_t now)
{
    static const char *sql = "UPDATE sessions SET last_used_at = ? WHERE id = ?";
    db_stmt *st = db_prepare(d, sql);
    if (!st)
        return ERR_DB;
    db_bind_int64(st, 1, now);
    db_bind_int64(st, 2, id);
    return db_run(st);
}

int store_refresh_insert(db *d, const char *token_hash, int64_t session_id, int64_t now,
                         int64_t expires_at)
{
    static const char *sql = "INSERT INTO refresh_tokens (token_hash, session_id, created_at, "
                             "expires_at) VALUES (?, ?, ?, ?)";
    db_stmt *st = db_prepare(d, sql);
    if (!st)
        return ERR_DB;
    db_bind_text(st, 1, token_hash);
    db_bind_int64(st, 2, session_id);
    db_bind_int64(st, 3, now);
    db_bind_int64(st, 4, expires_at);
    return db_run(st);
}

int store_refresh_lookup(db *d, const char *token_hash, store_refresh *out)
{
    static const char *sql =
        "SELECT r.session_id, s.user_id, r.expires_at, r.rotated_at, s.revoked_at, s.expires_at "
        "FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE r.token_hash = ?";
    db_stmt *st = db_prepare(d, sql);
    if (!st)
        return ERR_DB;
    db_bind_text(st, 1, token_hash);
    int rc = db_step(st);
    if (rc == DB_ROW) {
        out->session_id = db_col_int64(st, 0);
        out->user_id = db_col_int64(st, 1);
        out->expires_at = db_col_int64(st, 2);
        out->rotated_at = db_col_int64(st, 3);
        out->session_revoked_at = db_col_int64(st, 4);
        out->session_expires_at = db_col_int64(st, 5);
    }
    db_reset(st);
    return rc == DB_ROW ? 0 : rc == DB_DONE ? ERR_NOT_FOUND : rc;
}

int store_refresh_rotate(db *d, const char *token_hash, int64_t now)
{
    static const char *sql =
        "UPDATE refresh_tokens SET rotated_at = ? WHERE token_hash = ? AND rotated_at IS NULL";
    db_stmt *st = db_prepare(d, sql);
    if (!st)
        return ERR_DB;
    db_bind_int64(st, 1, now);
    db_bind_text(st, 2, token_hash);
    int rc = db_run(st);
    if (rc < 0)
        return rc;
    return db_changes(d) == 1 ? 0 : ERR_CONFLICT;
}
