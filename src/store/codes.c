/* SPDX-License-Identifier: MIT
 *
 * SQL for the codes table.
 */
#include "store/codes.h"

#include "core/util.h"

#include <stdio.h>

#define CODE_COLS "id, purpose, target, user_id, code_hash, attempts, expires_at, used_at, created_at"

static int fetch_code(db_stmt *st, store_code *c)
{
    int rc = db_step(st);
    if (rc == DB_ROW) {
        c->id = db_col_int64(st, 0);
        snprintf(c->purpose, sizeof c->purpose, "%s", db_col_text(st, 1));
        snprintf(c->target, sizeof c->target, "%s", db_col_text(st, 2));
        c->user_id = db_col_int64(st, 3);
        snprintf(c->code_hash, sizeof c->code_hash, "%s", db_col_text(st, 4));
        c->attempts = db_col_int64(st, 5);
        c->expires_at = db_col_int64(st, 6);
        c->used_at = db_col_int64(st, 7);
        c->created_at = db_col_int64(st, 8);
    }
    db_reset(st);
    return rc == DB_ROW ? 0 : rc == DB_DONE ? ERR_NOT_FOUND : rc;
}

int store_code_insert(db *d, const store_code *c)
{
    static const char *sql = "INSERT INTO codes (id, purpose, target, user_id, code_hash, "
                             "expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
    db_stmt *st = db_prepare(d, sql);
    if (!st)
        return ERR_DB;
    db_bind_int64(st, 1, c->id);
    db_bind_text(st, 2, c->purpose);
    db_bind_text(st, 3, c->target);
    if (c->user_id)
        db_bind_int64(st, 4, c->user_id);
    else
        db_bind_null(st, 4);
    db_bind_text(st, 5, c->code_hash);
    db_bind_int64(st, 6, c->expires_at);
    db_bind_int64(st, 7, c->created_at);
    return db_run(st);
}

int store_code_latest(db *d, const char *purpose, const char *target, store_code *out)
{
    static const char *sql = "SELECT " CODE_COLS " FROM codes WHERE purpose = ? AND target = ? "
                             "AND used_at IS NULL ORDER BY id DESC LIMIT 1";
    db_stmt *st = db_prepare(d, sql);
    if (!st)
        return ERR_DB;
    db_bind_text(st, 1, purpose);
    db_bind_text(st, 2, target);
    return fetch_code(st, out);
}

int store_code_by_hash(db *d, const char *purpose, const char *code_hash, store_code *out)
{
    static const char *sql = "SELECT " CODE_COLS " FROM codes WHERE code_hash = ? AND purpose = ? "
                             "AND used_at IS NULL";
    db_stmt *st = db_prepare(d, sql);
    if (!st)
        return ERR_DB;
    db_bind_text(st, 1, code_hash);
    db_bind_text(st, 2, purpose);
    return fetch_code(st, out);
}

int store_code_add_attempt(db *d, int64_t id)
{
    static const char *sql = "UPDATE codes SET attempts = attempts + 1 WHERE id = ?";
    db_stmt *st = db_prepare(d, sql);
    if (!st)
        return ERR_DB;
    db_bind_int64(st, 1, id);
    return db_run(st);
}

int store_code_use(db *d, int64_t id, int64_t now)
{
    static const char *sql = "UPDATE codes SET used_at = ? WHERE id = ? AND used_at IS NULL";
    db_stmt *st = db_prepare(d, sql);
    if (!st)
        return ERR_DB;
    db_bind_int64(st, 1, now);
    db_bind_int64(st, 2, id);
    int rc = db_run(st);
    if (rc < 0)
        return rc;
    return db_changes(d) == 1 ? 0 : ERR_CONFLICT;
}

int store_code_retire(db *d, const char *purpose, const char *target, int64_t now)
{
    static const char *sql =
        "UPDATE codes SET used_at = ? WHERE purpose = ? AND target = ? AND used_at IS NULL";
    db_stmt *st = db_prepare(d, sql);
    if (!st)
        return ERR_DB;
    db_bind_int64(st, 1, now);
    db_bind_text(st, 2, purpose);
    db_bind_text(st, 3, target);
    return db_run(st);
}
