/* SPDX-License-Identifier: MIT
 *
 * The backend vtable behind db.h. Each backend embeds `struct db` first in its own connection
 * struct and `struct db_stmt` first in its statement struct.
 */
#ifndef STREAMHUB_STORE_DB_INTERNAL_H
#define STREAMHUB_STORE_DB_INTERNAL_H

#include "store/db.h"

typedef struct db_ops {
    void (*close)(db *d);
    const char *(*errmsg)(db *d);
    const char *(*server_version)(db *d);
    db_stmt *(*prepare)(db *d, const char *sql);
    void (*bind_int64)(db_stmt *s, int idx, int64_t v);
    void (*bind_text)(db_stmt *s, int idx, const char *text);
    void (*bind_null)(db_stmt *s, int idx);
    int (*step)(db_stmt *s);
    int64_t (*col_int64)(db_stmt *s, int col);
    const char *(*col_text)(db_stmt *s, int col);
    bool (*col_null)(db_stmt *s, int col);
    void (*reset)(db_stmt *s);
    int64_t (*changes)(db *d);
    int (*exec)(db *d, const char *sql);
    int (*begin)(db *d);
    /* db_write outside a transaction; NULL runs fn in a transaction of its own */
    int (*write)(db *d, db_write_fn fn, void *arg);
} db_ops;

typedef struct db_hook db_hook;

struct db {
    const db_ops *ops;
    db_kind kind;
    /* db_on_commit: set by db_begin, cleared by commit/rollback; hooks in registration order */
    bool in_tx;
    db_hook *hooks, **hooks_tail;
};

/* Runs (committed false) and frees any hooks still pending. */
void db_hooks_drop(db *d);
/* For a savepoint: where the pending hooks end now, and dropping (committed false) every hook
 * added after that mark, as a rollback to the savepoint must. */
typedef struct db_hook_mark {
    db_hook **tail;
} db_hook_mark;
db_hook_mark db_hooks_mark(db *d);
void db_hooks_drop_since(db *d, db_hook_mark mark);
/* fn in a transaction of its own on d: begin, fn, commit (rollback when either fails). */
int db_write_alone(db *d, db_write_fn fn, void *arg);

struct db_stmt {
    db *owner;
    const char *sql; /* the cache key: the caller's string literal */
    struct trace_span *span; /* from the first db_step to db_reset, when traced (db.c) */
};

int db_sqlite_open(const char *path, db **out, char *err, size_t err_size);
int db_pg_open(const char *conninfo, db **out, char *err, size_t err_size);

/* Accounting shared by backends (atomic). */
void db_account(int64_t us);
void db_account_lock_wait(int64_t us);
void db_account_lock_timeout(void);
void db_account_waiting(int delta);
void db_account_busy_wait(void);
void db_account_checkpoint(int64_t us);
void db_account_checkpoint_restart(int64_t locked_us, int64_t frames_left);
void db_account_wal_frames(int64_t frames);
void db_account_group_commit(int64_t writes);
void db_account_group_waiting(int delta);

#endif
