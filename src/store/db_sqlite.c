/* SPDX-License-Identifier: MIT
 *
 * SQLite backend. Each connection runs in WAL mode (readers never block the writer) with a busy
 * timeout, so several worker threads, each with its own connection, share one database file.
 * Prepared statements are cached in a small open-addressing table keyed by the SQL pointer.
 * Every connection registers search_fold(text), the search index's folding (core/textfold.h),
 * which the FTS triggers of the schema call: the schema therefore needs this binary to write
 * users and posts (the sqlite3 shell can read them, but an UPDATE of a caption there fails).
 */
#include "store/db_internal.h"

#include "core/textfold.h"
#include "core/util.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 256 /* power of two; more distinct statements than this fall back to a list */

typedef struct sq_stmt {
    struct db_stmt base;
    sqlite3_stmt *st;
    int64_t started_us;
    struct sq_stmt *next_overflow;
} sq_stmt;

typedef struct sq_db {
    struct db base;
    sqlite3 *conn;
    sq_stmt *cache[CACHE_SLOTS];
    sq_stmt *overflow;
} sq_db;

static const db_ops sqlite_ops;

static int map_rc(sqlite3 *conn, int rc)
{
    switch (rc) {
    case SQLITE_ROW: return DB_ROW;
    case SQLITE_DONE: return DB_DONE;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return ERR_BUSY;
    case SQLITE_CONSTRAINT: {
        int ext = sqlite3_extended_errcode(conn);
        if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
            return ERR_CONFLICT;
        return ERR_DB;
    }
    default: return ERR_DB;
    }
}

static void sq_close(db *d)
{
    sq_db *s = (sq_db *)d;
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (s->cache[i]) {
            sqlite3_finalize(s->cache[i]->st);
            free(s->cache[i]);
        }
    for (sq_stmt *p = s->overflow, *n; p; p = n) {
        n = p->next_overflow;
        sqlite3_finalize(p->st);
        free(p);
    }
    sqlite3_close_v2(s->conn);
    free(s);
}

static const char *sq_errmsg(db *d)
{
    return sqlite3_errmsg(((sq_db *)d)->conn);
}

static const char *sq_server_version(db *d)
{
    return sqlite3_libversion();
}

static db_stmt *sq_prepare(db *d, const char *sql)
{
    sq_db *s = (sq_db *)d;
    uintptr_t h = ((uintptr_t)sql >> 3) * 2654435761u;
    size_t slot = h & (CACHE_SLOTS - 1);
    for (size_t probe = 0; probe < 8; probe++) {
        sq_stmt *e = s->cache[(slot + probe) & (CACHE_SLOTS - 1)];
        if (e && e->base.sql == sql)
            return &e->base;
        if (!e)
            break;
    }
    for (sq_stmt *p = s->overflow; p; p = p->next_overflow)
        if (p->base.sql == sql)
            return &p->base;

    sqlite3_stmt *st;
    if (sqlite3_prepare_v3(s->conn, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
        return NULL;
    sq_stmt *e = xcalloc(1, sizeof *e);
    e->base.owner = d;
    e->base.sql = sql;
    e->st = st;
    for (size_t probe = 0; probe < 8; probe++) {
        sq_stmt **slotp = &s->cache[(slot + probe) & (CACHE_SLOTS - 1)];
        if (!*slotp) {
            *slotp = e;
            return &e->base;
        }
    }
    e->next_overflow = s->overflow;
    s->overflow = e;
    return &e->base;
}

static void sq_bind_int64(db_stmt *st, int idx, int64_t v)
{
    sqlite3_bind_int64(((sq_stmt *)st)->st, idx, v);
}

static void sq_bind_text(db_stmt *st, int idx, const char *text)
{
    if (text)
        sqlite3_bind_text(((sq_stmt *)st)->st, idx, text, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(((sq_stmt *)st)->st, idx);
}

static void sq_bind_null(db_stmt *st, int idx)
{
    sqlite3_bind_null(((sq_stmt *)st)->st, idx);
}

static int sq_step(db_stmt *st)
{
    sq_stmt *s = (sq_stmt *)st;
    int64_t t0 = monotonic_us();
    if (!s->started_us)
        s->started_us = t0;
    int rc = sqlite3_step(s->st);
    int mapped = map_rc(((sq_db *)st->owner)->conn, rc);
    if (rc != SQLITE_ROW) {
        db_account(monotonic_us() - s->started_us);
        s->started_us = 0;
    }
    return mapped;
}

static int64_t sq_col_int64(db_stmt *st, int col)
{
    return sqlite3_column_int64(((sq_stmt *)st)->st, col);
}

static const char *sq_col_text(db_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(((sq_stmt *)st)->st, col);
}

static bool sq_col_null(db_stmt *st, int col)
{
    return sqlite3_column_type(((sq_stmt *)st)->st, col) == SQLITE_NULL;
}

static void sq_reset(db_stmt *st)
{
    sq_stmt *s = (sq_stmt *)st;
    if (s->started_us) {
        db_account(monotonic_us() - s->started_us);
        s->started_us = 0;
    }
    sqlite3_reset(s->st);
    sqlite3_clear_bindings(s->st);
}

static int64_t sq_changes(db *d)
{
    return sqlite3_changes64(((sq_db *)d)->conn);
}

static int sq_exec(db *d, const char *sql)
{
    sq_db *s = (sq_db *)d;
    int64_t t0 = monotonic_us();
    int rc = sqlite3_exec(s->conn, sql, NULL, NULL, NULL);
    db_account(monotonic_us() - t0);
    if (rc == SQLITE_OK)
        return 0;
    return map_rc(s->conn, rc);
}

static int sq_begin(db *d)
{
    return sq_exec(d, "BEGIN IMMEDIATE");
}

/* search_fold(text): NULL stays NULL, as with the built-in text functions. */
static void sql_search_fold(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    const char *in = (const char *)sqlite3_value_text(argv[0]);
    int len = sqlite3_value_bytes(argv[0]);
    if (!in) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    char *folded = sqlite3_malloc(len + 1);
    if (!folded) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    size_t n = textfold_search(in, (size_t)len, folded);
    sqlite3_result_text(ctx, folded, (int)n, sqlite3_free);
}

/* SQLite gives each connection's page cache 20 pages (~90 KiB) up front, written at once; a
 * server holds about twenty connections, most of them idle (one per worker thread), so pages are
 * allocated as they are read instead. Must run before SQLite initialises: it is refused (and
 * changes nothing) afterwards. */
static void configure_sqlite(void)
{
    sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
}

int db_sqlite_open(const char *path, db **out, char *err, size_t err_size)
{
    static pthread_once_t configured = PTHREAD_ONCE_INIT;
    pthread_once(&configured, configure_sqlite);
    sqlite3 *conn = NULL;
    int rc = sqlite3_open_v2(path, &conn,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, err_size, "sqlite open %s: %s", path, conn ? sqlite3_errmsg(conn) : "failed");
        sqlite3_close_v2(conn);
        return ERR_DB;
    }
    sqlite3_busy_timeout(conn, 5000);
    /* WAL lets readers run beside the single writer; NORMAL sync is durable across process
     * crashes (the WAL is fsynced at checkpoints) and much faster than FULL. */
    const char *pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                          "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
                          "PRAGMA cache_size=-8000;";
    char *msg = NULL;
    for (int attempt = 0;; attempt++) {
        rc = sqlite3_exec(conn, pragmas, NULL, NULL, &msg);
        if (rc != SQLITE_BUSY || attempt > 50)
            break;
        sqlite3_free(msg);
        msg = NULL;
    }
    if (rc != SQLITE_OK) {
        snprintf(err, err_size, "sqlite setup: %s", msg ? msg : sqlite3_errmsg(conn));
        sqlite3_free(msg);
        sqlite3_close_v2(conn);
        return ERR_DB;
    }
    /* Deterministic and innocuous: usable in triggers and indexes whatever trusted_schema says. */
    rc = sqlite3_create_function(conn, "search_fold", 1,
                                 SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                                 sql_search_fold, NULL, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, err_size, "sqlite search_fold: %s", sqlite3_errmsg(conn));
        sqlite3_close_v2(conn);
        return ERR_DB;
    }
    sq_db *d = xcalloc(1, sizeof *d);
    d->base.ops = &sqlite_ops;
    d->base.kind = DB_SQLITE;
    d->conn = conn;
    *out = &d->base;
    return 0;
}

static const db_ops sqlite_ops = {
    .close = sq_close,
    .errmsg = sq_errmsg,
    .server_version = sq_server_version,
    .prepare = sq_prepare,
    .bind_int64 = sq_bind_int64,
    .bind_text = sq_bind_text,
    .bind_null = sq_bind_null,
    .step = sq_step,
    .col_int64 = sq_col_int64,
    .col_text = sq_col_text,
    .col_null = sq_col_null,
    .reset = sq_reset,
    .changes = sq_changes,
    .exec = sq_exec,
    .begin = sq_begin,
};
