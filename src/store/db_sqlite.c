/* SPDX-License-Identifier: MIT
 *
 * SQLite backend. Each connection runs in WAL mode (readers never block the writer), so several
 * threads, each with its own connection, share one database file. Prepared statements are cached
 * in a small open-addressing table keyed by the SQL pointer.
 *
 * Writers queue in the process, not in SQLite. SQLite has one write lock per file and a loser
 * sleeps in the busy handler (1, 2, 5 ... 100 ms naps) however soon the lock frees, which made the
 * write p99 ten times the p50 with eight workers. So every connection to one file shares a
 * `sq_file` whose writer lock is taken, in FIFO order, by db_begin (held to COMMIT/ROLLBACK) and
 * by a write statement run outside a transaction (held until it finishes); read statements never
 * take it. The holder then always finds SQLite's lock free, and the busy handler only runs when
 * another process writes (counted: streamhub_db_busy_waits_total). A waiter gives up after
 * BUSY_TIMEOUT_MS with ERR_BUSY, as SQLite's busy timeout did.
 *
 * Checkpoints are off the request path: each connection's WAL hook (which replaces SQLite's
 * auto-checkpoint, run by whichever commit crossed 1,000 pages) only wakes the file's checkpoint
 * thread, which checkpoints on its own connection: the bulk beside the writers, the rest under the
 * writer lock so that the WAL starts over and stays bounded (checkpoint_once).
 *
 * Every connection registers search_fold(text), the search index's folding (core/textfold.h),
 * which the FTS triggers of the schema call: the schema therefore needs this binary to write
 * users and posts (the sqlite3 shell can read them, but an UPDATE of a caption there fails).
 */
#include "store/db_internal.h"

#include "core/log.h"
#include "core/textfold.h"
#include "core/trace.h"
#include "core/util.h"

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#define CACHE_SLOTS 256 /* power of two; more distinct statements than this fall back to a list */
#define BUSY_TIMEOUT_MS 5000 /* longest wait for the writer lock or SQLite's lock */
#define CKPT_PAGES 4000      /* wake the checkpointer every this many new WAL pages (16 MiB of 4 KiB) */
#define CKPT_RESTART_PAGES 16000 /* start the WAL over (under the writer lock) from this size, 64 MiB */
#define CKPT_LOCKED_FRAMES 128 /* catch up beside the writers until this few are left */
#define CKPT_CATCHUP_ROUNDS 12  /* ... or this many PASSIVE rounds have run */
#define CKPT_READER_WAIT_NAPS 20 /* 2 ms for readers in the WAL, under the writer lock ... */
#define CKPT_RESTART_MISSES 8     /* ... unless that many passes in a row gave up */
#define WAL_SIZE_LIMIT "67108864" /* journal_size_limit: a grown WAL is cut back to this */
#define GROUP_MAX 32          /* db_write calls one shared transaction runs at most ... */
#define GROUP_LEADER_ROUNDS 2 /* ... and transactions a leader runs before handing over */

/* One db_write waiting to run in a shared transaction (group commit); on its caller's stack. */
typedef struct gc_item {
    struct gc_item *next;
    db_write_fn fn;
    void *arg;
    trace_span *span; /* the caller's, made current on the leader while fn runs */
    pthread_cond_t cond;
    int rc;
    bool done, lead; /* lead: the previous leader handed the queue to this caller */
} gc_item;

/* One queued writer; its own condition variable, so a release wakes exactly the next in line. */
typedef struct wl_waiter {
    struct wl_waiter *next;
    pthread_cond_t cond;
    bool granted;
} wl_waiter;

/* State shared by every connection of this process to one database file (files_lock guards the
 * list and refs; mu guards the rest). */
typedef struct sq_file {
    struct sq_file *next;
    char *path;
    int refs;
    pthread_mutex_t mu;
    bool held;                 /* the writer lock */
    wl_waiter *head, *tail;    /* FIFO of waiters; release hands the lock to head directly */
    pthread_cond_t ckpt_cond;  /* wakes the checkpoint thread */
    pthread_t ckpt_thread;
    bool ckpt_started, ckpt_wanted, ckpt_stop;
    atomic_int ckpt_from; /* WAL pages when the last pass ended (0 after a restart) */
    atomic_int wal_frames; /* WAL pages after the last commit */
    /* the checkpoint thread's own: naps its busy handler may take, RESTART passes in a row
     * that gave up waiting for readers */
    int ckpt_max_naps, ckpt_restart_misses;
    int ckpt_db_fd; /* the database file, for start_writeback; -1 when it could not be opened */
    gc_item *gc_head, *gc_tail; /* db_write calls waiting for a leader */
    bool gc_leading;            /* a caller is leading them (or about to) */
} sq_file;

static pthread_mutex_t files_lock = PTHREAD_MUTEX_INITIALIZER;
static sq_file *files;

typedef struct sq_stmt {
    struct db_stmt base;
    sqlite3_stmt *st;
    int64_t started_us;
    struct sq_stmt *next_overflow;
} sq_stmt;

typedef struct sq_db {
    struct db base;
    sqlite3 *conn;
    sq_file *file;        /* NULL for in-memory databases: nobody shares them */
    bool holds_writer;    /* this connection holds file's writer lock ... */
    sq_stmt *writer_stmt; /* ... for this autocommit statement, or (NULL) for a transaction */
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

/* ---- the writer lock ------------------------------------------------------------------------ */

static void deadline_after_ms(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Queues behind earlier writers; 0, or ERR_BUSY after BUSY_TIMEOUT_MS. */
static int file_lock_writer(sq_file *f)
{
    int64_t t0 = monotonic_us();
    pthread_mutex_lock(&f->mu);
    if (!f->held && !f->head) {
        f->held = true;
        pthread_mutex_unlock(&f->mu);
        db_account_lock_wait(monotonic_us() - t0);
        return 0;
    }
    wl_waiter me = {.granted = false};
    pthread_cond_init(&me.cond, NULL);
    if (f->tail)
        f->tail->next = &me;
    else
        f->head = &me;
    f->tail = &me;
    db_account_waiting(1);
    struct timespec deadline;
    deadline_after_ms(&deadline, BUSY_TIMEOUT_MS);
    while (!me.granted)
        if (pthread_cond_timedwait(&me.cond, &f->mu, &deadline) != 0 && !me.granted)
            break;
    if (!me.granted) { /* timed out: leave the queue */
        wl_waiter **p = &f->head, *prev = NULL;
        while (*p != &me) {
            prev = *p;
            p = &(*p)->next;
        }
        *p = me.next;
        if (f->tail == &me)
            f->tail = prev;
    }
    pthread_mutex_unlock(&f->mu);
    pthread_cond_destroy(&me.cond);
    db_account_waiting(-1);
    if (!me.granted) {
        db_account_lock_timeout();
        return ERR_BUSY;
    }
    db_account_lock_wait(monotonic_us() - t0);
    return 0;
}

/* Hands the lock straight to the longest waiter, so nobody can overtake the queue. */
static void file_unlock_writer(sq_file *f)
{
    pthread_mutex_lock(&f->mu);
    wl_waiter *next = f->head;
    if (next) {
        f->head = next->next;
        if (!f->head)
            f->tail = NULL;
        next->granted = true;
        pthread_cond_signal(&next->cond);
    } else {
        f->held = false;
    }
    pthread_mutex_unlock(&f->mu);
}

/* For a transaction (stmt NULL) or one autocommit statement. */
static int writer_acquire(sq_db *s, sq_stmt *stmt)
{
    if (!s->file || s->holds_writer)
        return 0;
    int rc = file_lock_writer(s->file);
    if (rc < 0)
        return rc;
    s->holds_writer = true;
    s->writer_stmt = stmt;
    return 0;
}

static void writer_release(sq_db *s)
{
    if (!s->holds_writer)
        return;
    s->holds_writer = false;
    s->writer_stmt = NULL;
    file_unlock_writer(s->file);
}

/* An autocommit write statement finished; a transaction begun meanwhile keeps the lock. */
static void writer_stmt_done(sq_db *s, sq_stmt *stmt)
{
    if (s->writer_stmt != stmt)
        return;
    if (sqlite3_get_autocommit(s->conn))
        writer_release(s);
    else
        s->writer_stmt = NULL;
}

/* SQLite's own backoff (1, 2, 5 ... 100 ms naps up to the timeout), counted: with the writer
 * lock it only runs when another process, or a checkpoint waiting for readers, holds a lock. */
static int on_busy(void *arg, int count)
{
    static const int naps_ms[] = {1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100};
    enum { N_NAPS = sizeof naps_ms / sizeof naps_ms[0] };
    (void)arg;
    int nap, slept;
    if (count < N_NAPS) {
        nap = naps_ms[count];
        slept = 0;
        for (int i = 0; i < count; i++)
            slept += naps_ms[i];
    } else {
        nap = naps_ms[N_NAPS - 1];
        slept = 328 + (count - N_NAPS) * nap; /* 328: the sum of naps_ms */
    }
    if (slept >= BUSY_TIMEOUT_MS)
        return 0;
    if (slept + nap > BUSY_TIMEOUT_MS)
        nap = BUSY_TIMEOUT_MS - slept;
    db_account_busy_wait();
    struct timespec ts = {.tv_sec = nap / 1000, .tv_nsec = (nap % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return 1;
}

/* ---- the checkpoint thread ------------------------------------------------------------------ */

/* The checkpoint connection's busy handler. Its RESTART pass waits for the readers still in the
 * WAL while it holds the writer lock, and reads end within a millisecond or so: naps of 1, 2, 5,
 * 10 ms and more (on_busy's schedule, right for writers of other processes) would keep every
 * writer of this process queued for the nap's remainder. So it naps 100 us at a time, and
 * gives up after *max_naps of them (the pass is tried again later). */
static int on_busy_checkpoint(void *arg, int count)
{
    const int *max_naps = arg;
    if (count >= *max_naps)
        return 0;
    db_account_busy_wait();
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 100000L};
    nanosleep(&ts, NULL);
    return 1;
}

/* The PASSIVE passes write pages into the database file without syncing it (under load they
 * never copy the whole WAL, and SQLite syncs the file only then), so the locked RESTART pass's
 * fdatasync wrote out a second's worth of them, 35-72 ms with every writer queued (strace of
 * this thread, issue 12). The kernel is asked to start writing them out now, beside the
 * writers, and the locked pass's fdatasync is left with little. Only to start it: waiting for
 * it here (an fdatasync of its own) let full-rate writers push the WAL past its bound on a
 * loaded machine while it waited. */
static void start_writeback(sq_file *f)
{
    if (f->ckpt_db_fd >= 0)
        sync_file_range(f->ckpt_db_fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

/* Two kinds of pass. Every CKPT_PAGES new WAL pages a PASSIVE one copies the WAL into the
 * database and fsyncs, beside the writers. But writers keep appending while it runs, and SQLite
 * only starts the WAL over when a writer finds every frame copied and no reader in the WAL: left
 * to PASSIVE alone under a steady write load the WAL never restarts and grows without end. So
 * once the WAL has reached CKPT_RESTART_PAGES, the pass also holds the writer lock (writers
 * queue, none naps in SQLite) for a RESTART checkpoint: it copies the frames written meanwhile,
 * waits for readers still in the WAL, fsyncs, and the next writer starts over. Writers wait for
 * that whole pass (tens of milliseconds with its two fsyncs), so it runs at a quarter of the
 * PASSIVE rate: measured, a RESTART at every pass held the lock 12-16% of the time under a
 * steady like load and made most of the write p99 (docs/BENCHMARKS.md, issue 12). */
static void checkpoint_once(sq_file *f, sqlite3 *conn)
{
    int64_t t0 = monotonic_us();
    int log = 0, done = 0;
    sqlite3_wal_checkpoint_v2(conn, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    atomic_store(&f->ckpt_from, log > 0 ? log : 0);
    /* What the locked pass copies is what writers appended while the PASSIVE one ran: catch up
     * beside them first (each pass copies what the previous one saw appended, a few times
     * fewer pages each time) so the lock is held for little more than the two fsyncs. Writers
     * queue for the whole locked pass, and at 80% of the peak a queue drains at a fifth of
     * the rate it fills, so every locked millisecond costs about five in the tail. What is
     * left is measured against the WAL as the last commit left it (wal_frames): the log size
     * a pass reports is the one it started from, so it always looked caught up, the rounds
     * never ran, and the locked pass copied the 300-2,000 frames appended meanwhile. */
    if (log >= CKPT_RESTART_PAGES)
        start_writeback(f);
    for (int i = 0; i < CKPT_CATCHUP_ROUNDS && log >= CKPT_RESTART_PAGES &&
                    atomic_load(&f->wal_frames) - done > CKPT_LOCKED_FRAMES;
         i++)
        sqlite3_wal_checkpoint_v2(conn, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (log >= CKPT_RESTART_PAGES)
        start_writeback(f); /* what the catch-up rounds copied */
    if (log >= CKPT_RESTART_PAGES && file_lock_writer(f) == 0) {
        int64_t locked = monotonic_us();
        int left = atomic_load(&f->wal_frames) - done; /* no writer appends now */
        /* A reader descheduled in the WAL would keep every writer queued behind this pass: wait
         * for readers CKPT_READER_WAIT_NAPS naps, then let the writers go and try again at the
         * next pass (the WAL grows meanwhile); after CKPT_RESTART_MISSES misses in a row, wait
         * as long as it takes, so the WAL stays bounded. */
        f->ckpt_max_naps = f->ckpt_restart_misses < CKPT_RESTART_MISSES
                               ? CKPT_READER_WAIT_NAPS
                               : BUSY_TIMEOUT_MS * 10; /* 100 us naps */
        int rc = sqlite3_wal_checkpoint_v2(conn, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
        bool missed = rc == SQLITE_BUSY;
        f->ckpt_restart_misses = missed ? f->ckpt_restart_misses + 1 : 0;
        /* missed: the WAL goes on from here, and the next pass comes CKPT_PAGES later */
        atomic_store(&f->ckpt_from, missed ? atomic_load(&f->wal_frames) : 0);
        file_unlock_writer(f);
        db_account_checkpoint_restart(monotonic_us() - locked, left > 0 ? left : 0);
    }
    db_account_checkpoint(monotonic_us() - t0);
}

static void *checkpoint_main(void *arg)
{
    sq_file *f = arg;
    pthread_setname_np(pthread_self(), "sh-checkpoint");
    sqlite3 *conn = NULL;
    if (sqlite3_open_v2(f->path, &conn, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        sqlite3_close_v2(conn);
        conn = NULL; /* the writers' commits keep waking us; each wake is a no-op then */
    } else {
        f->ckpt_max_naps = BUSY_TIMEOUT_MS * 10; /* 100 us naps; RESTART passes set their own */
        f->ckpt_db_fd = open(f->path, O_RDONLY | O_CLOEXEC);
        sqlite3_busy_handler(conn, on_busy_checkpoint, &f->ckpt_max_naps);
        /* SQLite opens the file lazily: until this connection has read it, it does not know the
         * file is in WAL mode and every checkpoint is a silent no-op. */
        sqlite3_exec(conn, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
    }
    pthread_mutex_lock(&f->mu);
    while (!f->ckpt_stop) {
        if (!f->ckpt_wanted) {
            pthread_cond_wait(&f->ckpt_cond, &f->mu);
            continue;
        }
        pthread_mutex_unlock(&f->mu);
        if (conn)
            checkpoint_once(f, conn);
        pthread_mutex_lock(&f->mu);
        f->ckpt_wanted = false; /* commits during the pass saw the WAL before it started over */
    }
    pthread_mutex_unlock(&f->mu);
    sqlite3_close_v2(conn);
    if (f->ckpt_db_fd >= 0)
        close(f->ckpt_db_fd);
    return NULL;
}

/* sqlite3_wal_hook: runs after each commit, instead of the auto-checkpoint. */
static int on_wal_commit(void *arg, sqlite3 *conn, const char *schema, int frames)
{
    (void)conn;
    (void)schema;
    sq_file *f = arg;
    /* commits run one at a time (the writer lock), so this is the previous commit's count */
    int before = atomic_exchange_explicit(&f->wal_frames, frames, memory_order_relaxed);
    db_account_wal_frames(frames >= before ? frames - before : frames);
    int from = atomic_load_explicit(&f->ckpt_from, memory_order_relaxed);
    if (frames < from)
        from = 0; /* a writer started the WAL over since the last pass */
    if (frames - from < CKPT_PAGES)
        return SQLITE_OK;
    pthread_mutex_lock(&f->mu);
    if (!f->ckpt_started && !f->ckpt_stop)
        f->ckpt_started = pthread_create(&f->ckpt_thread, NULL, checkpoint_main, f) == 0;
    f->ckpt_wanted = true;
    pthread_cond_signal(&f->ckpt_cond);
    pthread_mutex_unlock(&f->mu);
    return SQLITE_OK;
}

/* ---- connections sharing a file ------------------------------------------------------------- */

static sq_file *file_ref(const char *path)
{
    pthread_mutex_lock(&files_lock);
    sq_file *f = files;
    while (f && strcmp(f->path, path) != 0)
        f = f->next;
    if (!f) {
        f = xcalloc(1, sizeof *f);
        f->path = xstrdup(path);
        f->ckpt_db_fd = -1;
        pthread_mutex_init(&f->mu, NULL);
        pthread_cond_init(&f->ckpt_cond, NULL);
        f->next = files;
        files = f;
    }
    f->refs++;
    pthread_mutex_unlock(&files_lock);
    return f;
}

/* The last connection stops the checkpoint thread and frees the file's state. */
static void file_unref(sq_file *f)
{
    pthread_mutex_lock(&files_lock);
    bool last = --f->refs == 0;
    if (last) {
        sq_file **p = &files;
        while (*p != f)
            p = &(*p)->next;
        *p = f->next;
    }
    pthread_mutex_unlock(&files_lock);
    if (!last)
        return;
    pthread_mutex_lock(&f->mu);
    f->ckpt_stop = true;
    bool started = f->ckpt_started;
    pthread_cond_signal(&f->ckpt_cond);
    pthread_mutex_unlock(&f->mu);
    if (started)
        pthread_join(f->ckpt_thread, NULL);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->ckpt_cond);
    free(f->path);
    free(f);
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
    sqlite3_close_v2(s->conn); /* rolls back an open transaction, so the lock can go */
    writer_release(s);
    if (s->file)
        file_unref(s->file);
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
    sq_db *d = (sq_db *)st->owner;
    int64_t t0 = monotonic_us();
    if (!s->started_us) {
        if (!sqlite3_stmt_readonly(s->st) && writer_acquire(d, s) < 0)
            return ERR_BUSY;
        s->started_us = t0;
    }
    int rc = sqlite3_step(s->st);
    int mapped = map_rc(d->conn, rc);
    if (rc != SQLITE_ROW) {
        db_account(monotonic_us() - s->started_us);
        s->started_us = 0;
        writer_stmt_done(d, s);
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
    writer_stmt_done((sq_db *)st->owner, s);
}

static int64_t sq_changes(db *d)
{
    return sqlite3_changes64(((sq_db *)d)->conn);
}

static int exec_sql(sq_db *s, const char *sql)
{
    int64_t t0 = monotonic_us();
    int rc = sqlite3_exec(s->conn, sql, NULL, NULL, NULL);
    db_account(monotonic_us() - t0);
    return rc == SQLITE_OK ? 0 : map_rc(s->conn, rc);
}

/* db_exec outside a transaction is DDL or a migration: it may write, so it takes the writer lock
 * (COMMIT and ROLLBACK end a transaction, whose lock they then give back). */
static int sq_exec(db *d, const char *sql)
{
    sq_db *s = (sq_db *)d;
    bool ends_tx = str_has_prefix(sql, "COMMIT") || str_has_prefix(sql, "ROLLBACK");
    if (!ends_tx && sqlite3_get_autocommit(s->conn)) {
        int rc = writer_acquire(s, NULL);
        if (rc < 0)
            return rc;
    }
    int rc = exec_sql(s, sql);
    if (!s->writer_stmt && sqlite3_get_autocommit(s->conn))
        writer_release(s);
    return rc;
}

/* BEGIN IMMEDIATE: the transaction holds SQLite's write lock from its first read, so it never
 * fails to upgrade; the writer lock, taken first, means SQLite's lock is free by then. */
static int sq_begin(db *d)
{
    sq_db *s = (sq_db *)d;
    int rc = writer_acquire(s, NULL);
    if (rc < 0)
        return rc;
    rc = exec_sql(s, "BEGIN IMMEDIATE");
    if (rc < 0 && !s->writer_stmt && sqlite3_get_autocommit(s->conn))
        writer_release(s);
    return rc;
}

/* ---- group commit (db_write) -----------------------------------------------------------------
 * Each like used to be a transaction of its own: a turn at the writer lock handed to a thread that
 * first had to be scheduled, a BEGIN, a COMMIT that appends ~10 WAL frames, several of them the
 * same hot pages (the newest index leaves) the next like writes again. Short writes that arrive
 * together now share one: the first caller leads, the others wait on their own condition variable
 * and are woken once their outcome is known. */

/* Runs one queued fn under a savepoint of the leader's transaction. Returns fn's result, or a
 * negative ERR_* with its writes and hooks undone; *broken when the transaction itself is gone
 * (SQLite rolls back the whole of it after some errors, e.g. a full disk). */
static int run_grouped(sq_db *s, gc_item *it, bool *broken)
{
    db *d = &s->base;
    if (exec_sql(s, "SAVEPOINT db_write") < 0) {
        *broken = sqlite3_get_autocommit(s->conn);
        return ERR_DB;
    }
    db_hook_mark mark = db_hooks_mark(d);
    trace_span *was = trace_swap_current(it->span);
    int rc = it->fn(d, it->arg);
    trace_swap_current(was);
    if (rc >= 0 && exec_sql(s, "RELEASE db_write") == 0)
        return rc;
    if (sqlite3_get_autocommit(s->conn)) {
        *broken = true;
        return rc < 0 ? rc : ERR_DB;
    }
    exec_sql(s, "ROLLBACK TO db_write");
    exec_sql(s, "RELEASE db_write");
    db_hooks_drop_since(d, mark);
    return rc < 0 ? rc : ERR_DB;
}

/* One shared transaction: takes the writer lock (more callers queue meanwhile), runs up to
 * GROUP_MAX queued fns, commits; every fn's outcome is in its item, its hooks have run. */
static void run_group(sq_db *s)
{
    sq_file *f = s->file;
    db *d = &s->base;
    int rc = db_begin(d);
    pthread_mutex_lock(&f->mu);
    gc_item *batch = f->gc_head, *last = batch;
    int n = 1;
    while (n < GROUP_MAX && last->next) {
        last = last->next;
        n++;
    }
    f->gc_head = last->next;
    if (!f->gc_head)
        f->gc_tail = NULL;
    last->next = NULL;
    pthread_mutex_unlock(&f->mu);
    if (rc < 0) {
        for (gc_item *it = batch; it; it = it->next)
            it->rc = rc;
        return;
    }
    bool broken = false;
    for (gc_item *it = batch; it; it = it->next)
        it->rc = broken ? ERR_DB : run_grouped(s, it, &broken);
    rc = broken ? ERR_DB : db_commit(d);
    if (rc < 0) {
        char esc[256];
        log_error("group commit failed", "\"writes\":%d,\"detail\":\"%s\"", n,
                  log_escape(sqlite3_errmsg(s->conn), esc, sizeof esc));
        db_rollback(d);
        for (gc_item *it = batch; it; it = it->next)
            if (it->rc >= 0)
                it->rc = rc;
    }
    db_account_group_commit(n);
    pthread_mutex_lock(&f->mu);
    for (gc_item *it = batch, *next; it; it = next) {
        next = it->next; /* the caller may return as soon as the lock is given back */
        it->done = true;
        pthread_cond_signal(&it->cond);
    }
    pthread_mutex_unlock(&f->mu);
}

static int sq_write(db *d, db_write_fn fn, void *arg)
{
    sq_db *s = (sq_db *)d;
    sq_file *f = s->file;
    if (!f || s->holds_writer)
        return db_write_alone(d, fn, arg);
    gc_item me = {.fn = fn, .arg = arg, .span = trace_current()};
    pthread_cond_init(&me.cond, NULL);
    db_account_group_waiting(1);
    pthread_mutex_lock(&f->mu);
    if (f->gc_tail)
        f->gc_tail->next = &me;
    else
        f->gc_head = &me;
    f->gc_tail = &me;
    if (!f->gc_leading)
        f->gc_leading = me.lead = true;
    while (!me.done && !me.lead)
        pthread_cond_wait(&me.cond, &f->mu);
    pthread_mutex_unlock(&f->mu);
    if (me.lead) {
        /* Lead a few shared transactions, then hand the queue to its oldest caller, so that a
         * leader's own answer waits for at most GROUP_LEADER_ROUNDS of them. */
        for (int round = 1;; round++) {
            run_group(s);
            pthread_mutex_lock(&f->mu);
            if (!f->gc_head) {
                f->gc_leading = false;
            } else if (round >= GROUP_LEADER_ROUNDS) {
                f->gc_head->lead = true;
                pthread_cond_signal(&f->gc_head->cond);
            } else {
                pthread_mutex_unlock(&f->mu);
                continue;
            }
            pthread_mutex_unlock(&f->mu);
            break;
        }
    }
    pthread_cond_destroy(&me.cond);
    db_account_group_waiting(-1);
    return me.rc;
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
 * allocated as they are read instead. Memory statistics are off: they put one process-wide mutex
 * around every allocation SQLite makes, which the event-loop threads' point reads contended for
 * (futex calls under load) and nothing here reads. Must run before SQLite initialises: it is
 * refused (and changes nothing) afterwards. */
static void configure_sqlite(void)
{
    sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
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
    sqlite3_busy_handler(conn, on_busy, NULL);
    /* WAL lets readers run beside the single writer. NORMAL sync does not fsync at commit, only
     * at checkpoints: a commit survives a process crash, and a power loss can take back the last
     * transactions before the next checkpoint but never corrupts the file (docs/operations.md). */
    const char *pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                          "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
                          "PRAGMA cache_size=-8000; PRAGMA journal_size_limit=" WAL_SIZE_LIMIT ";";
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
    /* An empty name is an in-memory or temporary database, private to this connection. */
    const char *file = sqlite3_db_filename(conn, "main");
    if (file && *file) {
        d->file = file_ref(file);
        sqlite3_wal_hook(conn, on_wal_commit, d->file); /* replaces the auto-checkpoint */
    }
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
    .write = sq_write,
};
