/* SPDX-License-Identifier: MIT
 *
 * SQL for the jobs table.
 */
#include "store/jobs.h"

#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOB_COLS                                                                                  \
    "id, kind, payload, state, priority, attempts, max_attempts, run_after, "                     \
    "COALESCE(lease_owner, ''), lease_until, progress, COALESCE(last_error, ''), created_at, "    \
    "updated_at, COALESCE(finished_at, 0), COALESCE(traceparent, '')"

static void decode_job(db_stmt *s, store_job *j)
{
    j->id = db_col_int64(s, 0);
    snprintf(j->kind, sizeof j->kind, "%s", db_col_text(s, 1));
    j->payload = xstrdup(db_col_text(s, 2));
    snprintf(j->state, sizeof j->state, "%s", db_col_text(s, 3));
    j->priority = db_col_int64(s, 4);
    j->attempts = db_col_int64(s, 5);
    j->max_attempts = db_col_int64(s, 6);
    j->run_after = db_col_int64(s, 7);
    snprintf(j->lease_owner, sizeof j->lease_owner, "%s", db_col_text(s, 8));
    j->lease_until = db_col_int64(s, 9);
    j->progress = db_col_int64(s, 10);
    snprintf(j->last_error, sizeof j->last_error, "%s", db_col_text(s, 11));
    j->created_at = db_col_int64(s, 12);
    j->updated_at = db_col_int64(s, 13);
    j->finished_at = db_col_int64(s, 14);
    snprintf(j->traceparent, sizeof j->traceparent, "%s", db_col_text(s, 15));
}

void store_job_free(store_job *j)
{
    free(j->payload);
    j->payload = NULL;
}

int store_job_insert(db *d, int64_t id, const char *kind, const char *payload, int64_t priority,
                     int64_t max_attempts, int64_t run_after, int64_t now,
                     const char *traceparent)
{
    static const char *sql =
        "INSERT INTO jobs (id, kind, payload, state, priority, attempts, max_attempts, run_after, "
        "lease_until, progress, created_at, updated_at, traceparent) "
        "VALUES (?, ?, ?, 'queued', ?, 0, ?, ?, 0, 0, ?, ?, ?)";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, id);
    db_bind_text(s, 2, kind);
    db_bind_text(s, 3, payload);
    db_bind_int64(s, 4, priority);
    db_bind_int64(s, 5, max_attempts);
    db_bind_int64(s, 6, run_after);
    db_bind_int64(s, 7, now);
    db_bind_int64(s, 8, now);
    db_bind_text(s, 9, traceparent);
    return db_run(s);
}

int store_job_claim(db *d, const char *owner, int64_t now, int64_t lease_ms, store_job *out)
{
    /* One statement picks and leases: on PostgreSQL SKIP LOCKED lets concurrent claimers pass
     * each other's rows; SQLite holds the write lock for the statement, which is just as safe. */
    static const char *sqlite =
        "UPDATE jobs SET state = 'running', lease_owner = ?, lease_until = ?, "
        "attempts = attempts + 1, updated_at = ? WHERE id = (SELECT id FROM jobs WHERE "
        "(state = 'queued' AND run_after <= ?) OR (state = 'running' AND lease_until < ?) "
        "ORDER BY priority DESC, run_after, id LIMIT 1) RETURNING " JOB_COLS;
    static const char *pg =
        "UPDATE jobs SET state = 'running', lease_owner = ?, lease_until = ?, "
        "attempts = attempts + 1, updated_at = ? WHERE id = (SELECT id FROM jobs WHERE "
        "(state = 'queued' AND run_after <= ?) OR (state = 'running' AND lease_until < ?) "
        "ORDER BY priority DESC, run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING " JOB_COLS;
    db_stmt *s = db_prepare(d, db_kind_of(d) == DB_SQLITE ? sqlite : pg);
    if (!s)
        return ERR_DB;
    db_bind_text(s, 1, owner);
    db_bind_int64(s, 2, now + lease_ms);
    db_bind_int64(s, 3, now);
    db_bind_int64(s, 4, now);
    db_bind_int64(s, 5, now);
    int rc = db_step(s);
    if (rc == DB_ROW)
        decode_job(s, out);
    db_reset(s);
    return rc == DB_ROW ? 0 : rc == DB_DONE ? ERR_NOT_FOUND : rc;
}

/* Runs an UPDATE guarded by "id = ? AND lease_owner = ? AND state = 'running'" (the last two
 * binds); ERR_NOT_FOUND when no row matched, i.e. the lease is no longer ours. */
static int run_leased(db *d, db_stmt *s)
{
    int rc = db_run(s);
    if (rc < 0)
        return rc;
    return db_changes(d) == 1 ? 0 : ERR_NOT_FOUND;
}

int store_job_heartbeat(db *d, int64_t id, const char *owner, int64_t progress,
                        int64_t lease_until, int64_t now)
{
    static const char *sql = "UPDATE jobs SET progress = ?, lease_until = ?, updated_at = ? "
                             "WHERE id = ? AND lease_owner = ? AND state = 'running'";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, progress);
    db_bind_int64(s, 2, lease_until);
    db_bind_int64(s, 3, now);
    db_bind_int64(s, 4, id);
    db_bind_text(s, 5, owner);
    return run_leased(d, s);
}

int store_job_finish(db *d, int64_t id, const char *owner, const char *state, const char *error,
                     int64_t now)
{
    static const char *sql =
        "UPDATE jobs SET state = ?, last_error = ?, finished_at = ?, updated_at = ?, "
        "lease_until = 0, progress = CASE WHEN ? = 'done' THEN 100 ELSE progress END "
        "WHERE id = ? AND lease_owner = ? AND state = 'running'";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_text(s, 1, state);
    db_bind_text(s, 2, error);
    db_bind_int64(s, 3, now);
    db_bind_int64(s, 4, now);
    db_bind_text(s, 5, state);
    db_bind_int64(s, 6, id);
    db_bind_text(s, 7, owner);
    return run_leased(d, s);
}

int store_job_retry_later(db *d, int64_t id, const char *owner, const char *error,
                          int64_t retry_at, int64_t now)
{
    static const char *sql =
        "UPDATE jobs SET state = 'queued', last_error = ?, run_after = ?, lease_owner = NULL, "
        "lease_until = 0, updated_at = ? WHERE id = ? AND lease_owner = ? AND state = 'running'";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_text(s, 1, error);
    db_bind_int64(s, 2, retry_at);
    db_bind_int64(s, 3, now);
    db_bind_int64(s, 4, id);
    db_bind_text(s, 5, owner);
    return run_leased(d, s);
}

int store_job_cancel(db *d, int64_t id, int64_t now)
{
    static const char *sql =
        "UPDATE jobs SET state = 'cancelled', finished_at = ?, updated_at = ?, lease_until = 0 "
        "WHERE id = ? AND state IN ('queued', 'running')";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, id);
    int rc = db_run(s);
    if (rc < 0)
        return rc;
    return db_changes(d) == 1 ? 0 : ERR_NOT_FOUND;
}

int store_job_get(db *d, int64_t id, store_job *out)
{
    static const char *sql = "SELECT " JOB_COLS " FROM jobs WHERE id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, id);
    int rc = db_step(s);
    if (rc == DB_ROW)
        decode_job(s, out);
    db_reset(s);
    return rc == DB_ROW ? 0 : rc == DB_DONE ? ERR_NOT_FOUND : rc;
}

int store_job_active(db *d, const char *kind)
{
    db_stmt *s = db_prepare(
        d, "SELECT 1 FROM jobs WHERE kind = ? AND state IN ('queued', 'running') LIMIT 1");
    if (!s)
        return ERR_DB;
    db_bind_text(s, 1, kind);
    int rc = db_step(s);
    db_reset(s);
    return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : rc;
}

int store_job_cancel_matching(db *d, const char *kind, const char *payload, int64_t now)
{
    static const char *sql =
        "UPDATE jobs SET state = 'cancelled', finished_at = ?, updated_at = ?, lease_until = 0 "
        "WHERE kind = ? AND payload = ? AND state IN ('queued', 'running')";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, now);
    db_bind_text(s, 3, kind);
    db_bind_text(s, 4, payload);
    int rc = db_run(s);
    return rc < 0 ? rc : (int)db_changes(d);
}
