/* SPDX-License-Identifier: MIT
 *
 * SQL for the outbox. Claiming is one UPDATE ... RETURNING so that two delivery workers (in one
 * process or several) never lease the same row: PostgreSQL skips rows another transaction has
 * locked, SQLite serializes writers anyway.
 */
#include "store/outbox.h"

#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>

int store_outbox_insert(db *d, int64_t id, const char *channel, const char *recipient,
                        const char *template_name, const char *payload, int64_t now,
                        const char *traceparent)
{
    static const char *sql = "INSERT INTO outbox (id, channel, recipient, template, payload, "
                             "next_attempt_at, created_at, traceparent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
    db_stmt *st = db_prepare(d, sql);
    if (!st)
        return ERR_DB;
    db_bind_int64(st, 1, id);
    db_bind_text(st, 2, channel);
    db_bind_text(st, 3, recipient);
    db_bind_text(st, 4, template_name);
    db_bind_text(st, 5, payload);
    db_bind_int64(st, 6, now);
    db_bind_int64(st, 7, now);
    db_bind_text(st, 8, traceparent);
    return db_run(st);
}

int store_outbox_claim(db *d, int64_t now, int64_t lease_ms, store_outbox_msg *out, int max)
{
    static const char *sql_sqlite =
        "UPDATE outbox SET state = 'sending', lease_until = ?, attempts = attempts + 1 "
        "WHERE id IN (SELECT id FROM outbox WHERE (state = 'pending' AND next_attempt_at <= ?) "
        "OR (state = 'sending' AND lease_until < ?) ORDER BY id LIMIT ?) "
        "RETURNING id, channel, recipient, template, payload, attempts, "
        "COALESCE(traceparent, '')";
    static const char *sql_pg =
        "UPDATE outbox SET state = 'sending', lease_until = ?, attempts = attempts + 1 "
        "WHERE id IN (SELECT id FROM outbox WHERE (state = 'pending' AND next_attempt_at <= ?) "
        "OR (state = 'sending' AND lease_until < ?) ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED) "
        "RETURNING id, channel, recipient, template, payload, attempts, "
        "COALESCE(traceparent, '')";
    db_stmt *st = db_prepare(d, db_kind_of(d) == DB_SQLITE ? sql_sqlite : sql_pg);
    if (!st)
        return ERR_DB;
    db_bind_int64(st, 1, now + lease_ms);
    db_bind_int64(st, 2, now);
    db_bind_int64(st, 3, now);
    db_bind_int64(st, 4, max);
    int n = 0, rc;
    while ((rc = db_step(st)) == DB_ROW) {
        if (n >= max)
            continue;
        store_outbox_msg *m = &out[n++];
        m->id = db_col_int64(st, 0);
        snprintf(m->channel, sizeof m->channel, "%s", db_col_text(st, 1));
        snprintf(m->recipient, sizeof m->recipient, "%s", db_col_text(st, 2));
        snprintf(m->template_name, sizeof m->template_name, "%s", db_col_text(st, 3));
        m->payload = xstrdup(db_col_text(st, 4));
        snprintf(m->traceparent, sizeof m->traceparent, "%s", db_col_text(st, 6));
        m->attempts = db_col_int64(st, 5);
    }
    db_reset(st);
    if (rc < 0) {
        for (int i = 0; i < n; i++)
            free(out[i].payload);
        return rc;
    }
    return n;
}

int store_outbox_sent(db *d, int64_t id, int64_t now)
{
    static const char *sql =
        "UPDATE outbox SET state = 'sent', sent_at = ?, last_error = NULL WHERE id = ?";
    db_stmt *st = db_prepare(d, sql);
    if (!st)
        return ERR_DB;
    db_bind_int64(st, 1, now);
    db_bind_int64(st, 2, id);
    return db_run(st);
}

int store_outbox_retry(db *d, int64_t id, int64_t next_at, const char *error)
{
    static const char *sql = "UPDATE outbox SET state = ?, next_attempt_at = ?, last_error = ?, "
                             "lease_until = 0 WHERE id = ?";
    db_stmt *st = db_prepare(d, sql);
    if (!st)
        return ERR_DB;
    db_bind_text(st, 1, next_at ? "pending" : "failed");
    db_bind_int64(st, 2, next_at);
    db_bind_text(st, 3, error);
    db_bind_int64(st, 4, id);
    return db_run(st);
}

int64_t store_outbox_pending(db *d)
{
    static const char *sql = "SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')";
    db_stmt *st = db_prepare(d, sql);
    int64_t n = 0;
    if (st)
        db_query_int64(st, &n);
    return n;
}
