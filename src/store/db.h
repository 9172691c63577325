/* SPDX-License-Identifier: MIT
 *
 * The thin database interface every store/ module uses. One `db` is one connection and belongs to
 * one thread (each worker opens its own). SQL is written once with `?` placeholders; the
 * PostgreSQL backend rewrites them to $1..$n. Statements are prepared on first use and cached per
 * connection, keyed by the address of the SQL string, so callers pass string literals.
 *
 * Portable SQL rules for store/ code: integers are BIGINT (64-bit), booleans are 0/1 integers,
 * times are integer milliseconds since the Unix epoch, text is TEXT, and anything that differs
 * between dialects goes through db_kind().
 */
#ifndef STREAMHUB_STORE_DB_H
#define STREAMHUB_STORE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct db db;
typedef struct db_stmt db_stmt;

typedef enum { DB_SQLITE, DB_POSTGRES } db_kind;

enum { DB_ROW = 1, DB_DONE = 0 };

/* url: "sqlite:PATH" or "postgres://..." / "postgresql://...". On failure returns a negative
 * ERR_* and writes a reason to err. */
int db_open(const char *url, db **out, char *err, size_t err_size);
/* PostgreSQL only, process-wide, set before the first db_open: true (the default) prepares each
 * statement once per connection under a name; false sends every statement unnamed (parsed per
 * execution), as a pooler in transaction or statement mode needs (PgBouncer before 1.21 does not
 * track named statements, so "s5" could run another connection's "s5" on a shared server). */
void db_pg_use_named_statements(bool on);
void db_close(db *d);
db_kind db_kind_of(const db *d);
const char *db_errmsg(db *d);
const char *db_server_version(db *d);

/* Returns the cached prepared statement for sql (NULL on error, see db_errmsg). The statement
 * must be finished with db_reset before it is prepared again. */
db_stmt *db_prepare(db *d, const char *sql);
/* Parameters are numbered from 1. Text is copied. */
void db_bind_int64(db_stmt *s, int idx, int64_t v);
void db_bind_text(db_stmt *s, int idx, const char *text); /* NULL binds SQL NULL */
void db_bind_null(db_stmt *s, int idx);
/* Runs the statement or moves to the next row: DB_ROW, DB_DONE, or negative ERR_CONFLICT (unique
 * or primary key violation), ERR_BUSY (lock timeout), ERR_DB. */
int db_step(db_stmt *s);
/* Columns are numbered from 0 and valid until the next db_step/db_reset. */
int64_t db_col_int64(db_stmt *s, int col);
const char *db_col_text(db_stmt *s, int col); /* NULL for SQL NULL */
bool db_col_null(db_stmt *s, int col);
/* Clears bindings and results so the statement can be used again. */
void db_reset(db_stmt *s);
/* Rows changed by the last completed INSERT/UPDATE/DELETE on this connection. */
int64_t db_changes(db *d);

/* Runs one or more statements without parameters or results (DDL, migrations). */
int db_exec(db *d, const char *sql);
/* Write transaction: SQLite takes the write lock at BEGIN (BEGIN IMMEDIATE) so two writers never
 * deadlock on a lock upgrade. */
int db_begin(db *d);
int db_commit(db *d);
int db_rollback(db *d);

/* Something to do once the current transaction's outcome is known, e.g. telling sockets about a
 * notification that must not be seen unless its action committed. Inside a transaction fn runs
 * after a successful db_commit with committed = true, or at db_rollback (or a failed commit, or
 * the connection closing) with committed = false so it can free arg; hooks run in the order they
 * were added. Outside a transaction the write already happened, so fn runs at once with true. */
typedef void (*db_hook_fn)(void *arg, bool committed);
void db_on_commit(db *d, db_hook_fn fn, void *arg);

/* A short write with nothing to read back outside it: runs fn(w, arg) inside a write transaction
 * and returns fn's result once that transaction committed, or a negative ERR_* once it rolled
 * back (fn's own failure, or the commit's). Hooks fn adds with db_on_commit(w, ...) have run by
 * then, with the outcome.
 *
 * On a SQLite file, writers of the process that arrive together share one transaction (group
 * commit): the first becomes the leader, takes the writer lock, and runs the queued fns one after
 * the other on its own connection, each under a savepoint of its own, then commits them all at
 * once. One fn failing undoes only its own writes and hooks. So fn may run on another thread and
 * another connection: it must touch the database only through w (never through a db it captured),
 * must not begin, commit or roll back, and must not block on anything another writer could hold.
 * Inside a transaction of the caller's, and on PostgreSQL (whose writers run side by side), fn
 * simply runs on d in a transaction of its own (or the caller's). */
typedef int (*db_write_fn)(db *w, void *arg);
int db_write(db *d, db_write_fn fn, void *arg);

/* SQLite writers of one process queue for an in-process writer lock (db_sqlite.c); these are its
 * figures for /metrics, all zero on PostgreSQL. Counters are cumulative since start. */
#define DB_WAIT_BUCKETS 9
extern const int64_t db_wait_bucket_us[DB_WAIT_BUCKETS]; /* upper bounds; the last is INT64_MAX */
typedef struct db_write_stats {
    int64_t lock_acquired;                  /* writer lock acquisitions (waited or not) */
    int64_t lock_wait_us;                   /* time spent queued for it */
    int64_t lock_wait_count[DB_WAIT_BUCKETS]; /* acquisitions by wait, not cumulative */
    int64_t lock_timeouts;                  /* gave up after the busy timeout (ERR_BUSY) */
    int64_t waiting;                        /* writers queued right now */
    int64_t busy_waits;                     /* naps in SQLite's busy handler */
    int64_t checkpoints;                    /* background checkpoints run */
    int64_t checkpoint_us;                  /* time they took */
    int64_t checkpoint_restarts;            /* passes under the writer lock (WAL starts over) */
    int64_t checkpoint_locked_us;           /* time those held the writer lock */
    int64_t checkpoint_locked_frames;       /* WAL frames those still had to copy */
    int64_t wal_frames;                     /* WAL frames (pages) commits appended */
    int64_t group_writes;                   /* db_write calls run in a shared transaction ... */
    int64_t group_commits;                  /* ... and the transactions they shared */
    int64_t group_waiting;                  /* db_write calls queued or running right now */
} db_write_stats;
void db_write_stats_get(db_write_stats *out);

/* Cumulative microseconds this process spent waiting on the database (for /metrics). */
int64_t db_time_us_total(void);
int64_t db_queries_total(void);

/* Convenience: runs sql (already bound) to completion and returns the first column of the first
 * row as int64 in *out (0 if no row). Resets the statement. */
int db_query_int64(db_stmt *s, int64_t *out);
/* Runs a statement that returns no rows; returns 0 or negative ERR_*. Resets the statement. */
int db_run(db_stmt *s);
/* Whether the static query sql ("SELECT 1 FROM ... WHERE x = ? AND y = ?") finds a row for the
 * two ids. A database error reads as "no row"; callers that must fail closed check otherwise. */
bool db_pair_exists(db *d, const char *sql, int64_t a, int64_t b);

#endif
