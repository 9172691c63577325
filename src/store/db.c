/* SPDX-License-Identifier: MIT
 *
 * Backend dispatch for db.h plus the helpers that are the same for every backend.
 */
#include "store/db_internal.h"

#include "core/trace.h"
#include "core/util.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static atomic_llong time_us_total;
static atomic_llong queries_total;

void db_account(int64_t us)
{
    atomic_fetch_add_explicit(&time_us_total, us, memory_order_relaxed);
    atomic_fetch_add_explicit(&queries_total, 1, memory_order_relaxed);
}

const int64_t db_wait_bucket_us[DB_WAIT_BUCKETS] = {100,   1000,   5000,   10000,    20000,
                                                      50000, 100000, 500000, INT64_MAX};

static struct {
    atomic_llong acquired, wait_us, timeouts, waiting, busy_waits, checkpoints, checkpoint_us;
    atomic_llong checkpoint_restarts, checkpoint_locked_us, checkpoint_locked_frames, wal_frames;
    atomic_llong group_writes, group_commits, group_waiting;
    atomic_llong wait_count[DB_WAIT_BUCKETS];
} writes;

void db_account_lock_wait(int64_t us)
{
    int b = 0;
    while (us > db_wait_bucket_us[b])
        b++;
    atomic_fetch_add_explicit(&writes.wait_count[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&writes.acquired, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&writes.wait_us, us, memory_order_relaxed);
}

void db_account_lock_timeout(void)
{
    atomic_fetch_add_explicit(&writes.timeouts, 1, memory_order_relaxed);
}

void db_account_waiting(int delta)
{
    atomic_fetch_add_explicit(&writes.waiting, delta, memory_order_relaxed);
}

void db_account_busy_wait(void)
{
    atomic_fetch_add_explicit(&writes.busy_waits, 1, memory_order_relaxed);
}

void db_account_checkpoint(int64_t us)
{
    atomic_fetch_add_explicit(&writes.checkpoints, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&writes.checkpoint_us, us, memory_order_relaxed);
}

void db_account_checkpoint_restart(int64_t locked_us, int64_t frames_left)
{
    atomic_fetch_add_explicit(&writes.checkpoint_restarts, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&writes.checkpoint_locked_us, locked_us, memory_order_relaxed);
    atomic_fetch_add_explicit(&writes.checkpoint_locked_frames, frames_left, memory_order_relaxed);
}

void db_account_wal_frames(int64_t frames)
{
    atomic_fetch_add_explicit(&writes.wal_frames, frames, memory_order_relaxed);
}

void db_account_group_commit(int64_t writes_in_it)
{
    atomic_fetch_add_explicit(&writes.group_commits, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&writes.group_writes, writes_in_it, memory_order_relaxed);
}

void db_account_group_waiting(int delta)
{
    atomic_fetch_add_explicit(&writes.group_waiting, delta, memory_order_relaxed);
}

void db_write_stats_get(db_write_stats *out)
{
    out->lock_acquired = atomic_load_explicit(&writes.acquired, memory_order_relaxed);
    out->lock_wait_us = atomic_load_explicit(&writes.wait_us, memory_order_relaxed);
    for (int i = 0; i < DB_WAIT_BUCKETS; i++)
        out->lock_wait_count[i] = atomic_load_explicit(&writes.wait_count[i], memory_order_relaxed);
    out->lock_timeouts = atomic_load_explicit(&writes.timeouts, memory_order_relaxed);
    out->waiting = atomic_load_explicit(&writes.waiting, memory_order_relaxed);
    out->busy_waits = atomic_load_explicit(&writes.busy_waits, memory_order_relaxed);
    out->checkpoints = atomic_load_explicit(&writes.checkpoints, memory_order_relaxed);
    out->checkpoint_us = atomic_load_explicit(&writes.checkpoint_us, memory_order_relaxed);
    out->checkpoint_restarts =
        atomic_load_explicit(&writes.checkpoint_restarts, memory_order_relaxed);
    out->checkpoint_locked_us =
        atomic_load_explicit(&writes.checkpoint_locked_us, memory_order_relaxed);
    out->checkpoint_locked_frames =
        atomic_load_explicit(&writes.checkpoint_locked_frames, memory_order_relaxed);
    out->wal_frames = atomic_load_explicit(&writes.wal_frames, memory_order_relaxed);
    out->group_writes = atomic_load_explicit(&writes.group_writes, memory_order_relaxed);
    out->group_commits = atomic_load_explicit(&writes.group_commits, memory_order_relaxed);
    out->group_waiting = atomic_load_explicit(&writes.group_waiting, memory_order_relaxed);
}

int64_t db_time_us_total(void)
{
    return atomic_load_explicit(&time_us_total, memory_order_relaxed);
}

int64_t db_queries_total(void)
{
    return atomic_load_explicit(&queries_total, memory_order_relaxed);
}

int db_open(const char *url, db **out, char *err, size_t err_size)
{
    *out = NULL;
    if (str_has_prefix(url, "sqlite:"))
        return db_sqlite_open(url + 7, out, err, err_size);
    if (str_has_prefix(url, "postgres://") || str_has_prefix(url, "postgresql://"))
        return db_pg_open(url, out, err, err_size);
    snprintf(err, err_size, "unsupported database url (want sqlite:PATH or postgres://...)");
    return ERR_INVALID;
}

void db_close(db *d)
{
    if (d) {
        db_hooks_drop(d);
        d->ops->close(d);
    }
}

db_kind db_kind_of(const db *d) { return d->kind; }
const char *db_errmsg(db *d) { return d->ops->errmsg(d); }
const char *db_server_version(db *d) { return d->ops->server_version(d); }
/* ---- tracing --------------------------------------------------------------------------------
 * A CLIENT span per statement, from its first db_step to its db_reset, when the thread has a
 * current span (a request's or a job's; background loops have none and stay untraced). The
 * statement text is the parameterised SQL, so it carries no values. Off, this is one
 * thread-local load per step. */

/* sql_is_static: a prepared statement's text, a literal by db_prepare's contract (its address is
 * the cache key), so the span borrows it; db_exec's is copied. */
static trace_span *sql_span(db *d, const char *sql, bool sql_is_static)
{
    char operation[16];
    size_t n = strcspn(sql, " \t\n(");
    snprintf(operation, sizeof operation, "%.*s", (int)(n < sizeof operation ? n : 0), sql);
    trace_span *s = trace_child(*operation ? operation : "SQL", TRACE_CLIENT);
    trace_set_str(s, "db.system", d->kind == DB_SQLITE ? "sqlite" : "postgresql");
    trace_set_str(s, "db.operation.name", operation);
    if (sql_is_static)
        trace_set_static_str(s, "db.query.text", sql);
    else
        trace_set_str(s, "db.query.text", sql);
    return s;
}

static int sql_span_end(trace_span *s, int rc)
{
    if (rc < 0)
        trace_set_error(s, rc == ERR_CONFLICT ? "constraint violation"
                           : rc == ERR_BUSY   ? "lock timeout"
                                              : "database error");
    trace_end(s);
    return rc;
}

db_stmt *db_prepare(db *d, const char *sql)
{
    db_stmt *s = d->ops->prepare(d, sql);
    if (s && s->span) { /* left unreset by an earlier caller */
        trace_end(s->span);
        s->span = NULL;
    }
    return s;
}
void db_bind_int64(db_stmt *s, int idx, int64_t v) { s->owner->ops->bind_int64(s, idx, v); }
void db_bind_text(db_stmt *s, int idx, const char *t) { s->owner->ops->bind_text(s, idx, t); }
void db_bind_null(db_stmt *s, int idx) { s->owner->ops->bind_null(s, idx); }
int db_step(db_stmt *s)
{
    if (!s->span && trace_current())
        s->span = sql_span(s->owner, s->sql, true);
    int rc = s->owner->ops->step(s);
    if (rc < 0 && s->span) {
        sql_span_end(s->span, rc);
        s->span = NULL;
    }
    return rc;
}
int64_t db_col_int64(db_stmt *s, int col) { return s->owner->ops->col_int64(s, col); }
const char *db_col_text(db_stmt *s, int col) { return s->owner->ops->col_text(s, col); }
bool db_col_null(db_stmt *s, int col) { return s->owner->ops->col_null(s, col); }
void db_reset(db_stmt *s)
{
    if (s->span) {
        trace_end(s->span);
        s->span = NULL;
    }
    s->owner->ops->reset(s);
}
int64_t db_changes(db *d) { return d->ops->changes(d); }
int db_exec(db *d, const char *sql)
{
    if (!trace_current())
        return d->ops->exec(d, sql);
    trace_span *span = sql_span(d, sql, false);
    return sql_span_end(span, d->ops->exec(d, sql));
}
/* ---- commit hooks -------------------------------------------------------------------------
 * Kept on the connection rather than in a thread-local: a db belongs to one thread anyway, and a
 * hook then can never leak into another connection's transaction. */

struct db_hook {
    db_hook *next;
    db_hook_fn fn;
    void *arg;
};

static void run_hook_list(db_hook *h, bool committed)
{
    while (h) {
        db_hook *next = h->next;
        h->fn(h->arg, committed);
        free(h);
        h = next;
    }
}

static void run_hooks(db *d, bool committed)
{
    db_hook *h = d->hooks;
    d->hooks = NULL;
    d->hooks_tail = NULL;
    run_hook_list(h, committed);
}

void db_hooks_drop(db *d)
{
    run_hooks(d, false);
    d->in_tx = false;
}

void db_on_commit(db *d, db_hook_fn fn, void *arg)
{
    if (!d->in_tx) {
        fn(arg, true);
        return;
    }
    db_hook *h = xcalloc(1, sizeof *h);
    h->fn = fn;
    h->arg = arg;
    if (d->hooks_tail)
        *d->hooks_tail = h;
    else
        d->hooks = h;
    d->hooks_tail = &h->next;
}

db_hook_mark db_hooks_mark(db *d)
{
    return (db_hook_mark){.tail = d->hooks_tail};
}

void db_hooks_drop_since(db *d, db_hook_mark mark)
{
    db_hook *h;
    if (mark.tail) {
        h = *mark.tail;
        *mark.tail = NULL;
        d->hooks_tail = mark.tail;
    } else {
        h = d->hooks;
        d->hooks = NULL;
        d->hooks_tail = NULL;
    }
    run_hook_list(h, false);
}

int db_begin(db *d)
{
    db_hooks_drop(d); /* left over from a commit whose failure nobody rolled back */
    trace_span *span = trace_current() ? sql_span(d, "BEGIN", true) : NULL;
    int rc = sql_span_end(span, d->ops->begin(d));
    d->in_tx = rc == 0;
    return rc;
}

int db_commit(db *d)
{
    int rc = db_exec(d, "COMMIT");
    if (rc < 0)
        return rc; /* still pending: the caller's db_rollback drops them */
    d->in_tx = false;
    run_hooks(d, true);
    return 0;
}

int db_rollback(db *d)
{
    int rc = db_exec(d, "ROLLBACK");
    db_hooks_drop(d);
    return rc;
}

int db_write_alone(db *d, db_write_fn fn, void *arg)
{
    int rc = db_begin(d);
    if (rc < 0)
        return rc;
    rc = fn(d, arg);
    if (rc >= 0) {
        int committed = db_commit(d);
        if (committed == 0)
            return rc;
        rc = committed;
    }
    db_rollback(d);
    return rc;
}

int db_write(db *d, db_write_fn fn, void *arg)
{
    if (d->in_tx)
        return fn(d, arg); /* part of the caller's transaction, which commits it */
    return d->ops->write ? d->ops->write(d, fn, arg) : db_write_alone(d, fn, arg);
}

int db_query_int64(db_stmt *s, int64_t *out)
{
    int rc = db_step(s);
    *out = rc == DB_ROW ? db_col_int64(s, 0) : 0;
    db_reset(s);
    return rc < 0 ? rc : 0;
}

int db_run(db_stmt *s)
{
    int rc;
    while ((rc = db_step(s)) == DB_ROW)
        ;
    db_reset(s);
    return rc;
}

bool db_pair_exists(db *d, const char *sql, int64_t a, int64_t b)
{
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return false;
    db_bind_int64(s, 1, a);
    db_bind_int64(s, 2, b);
    int rc = db_step(s);
    db_reset(s);
    return rc == DB_ROW;
}
