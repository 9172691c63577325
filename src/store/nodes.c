/* SPDX-License-Identifier: MIT
 *
 * SQL for node_leases.
 */
#include "store/nodes.h"

#include "core/util.h"

#include <stdbool.h>

int store_nodes_now_ms(db *d, int64_t *out)
{
    static const char *sqlite = "SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";
    static const char *pg = "SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT";
    db_stmt *s = db_prepare(d, db_kind_of(d) == DB_SQLITE ? sqlite : pg);
    if (!s)
        return ERR_DB;
    return db_query_int64(s, out);
}

/* Marks the ids whose lease is still running. */
static int held_ids(db *d, int64_t now, bool held[NODE_ID_COUNT])
{
    db_stmt *s = db_prepare(d, "SELECT node_id FROM node_leases WHERE expires_at >= ?");
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, now);
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        int64_t id = db_col_int64(s, 0);
        if (id >= 0 && id < NODE_ID_COUNT)
            held[id] = true;
    }
    db_reset(s);
    return rc == DB_DONE ? 0 : rc;
}

int store_nodes_claim(db *d, const char *holder, int64_t ttl_ms, int *node_id)
{
    int64_t now;
    int rc = store_nodes_now_ms(d, &now);
    if (rc < 0)
        return rc;
    bool held[NODE_ID_COUNT] = {0};
    if ((rc = held_ids(d, now, held)) < 0)
        return rc;
    /* The upsert takes a free id only if its lease is still expired when it runs: two processes
     * that picked the same id both try, one row changes, the other moves on to the next id. */
    static const char *sql =
        "INSERT INTO node_leases (node_id, holder, expires_at) VALUES (?, ?, ?) "
        "ON CONFLICT (node_id) DO UPDATE SET holder = excluded.holder, "
        "expires_at = excluded.expires_at WHERE node_leases.expires_at < ?";
    for (int id = 0; id < NODE_ID_COUNT; id++) {
        if (held[id])
            continue;
        db_stmt *s = db_prepare(d, sql);
        if (!s)
            return ERR_DB;
        db_bind_int64(s, 1, id);
        db_bind_text(s, 2, holder);
        db_bind_int64(s, 3, now + ttl_ms);
        db_bind_int64(s, 4, now);
        if ((rc = db_run(s)) < 0)
            return rc;
        if (db_changes(d) > 0) {
            *node_id = id;
            return 0;
        }
    }
    return ERR_CONFLICT;
}

int store_nodes_renew(db *d, int node_id, const char *holder, int64_t ttl_ms)
{
    int64_t now;
    int rc = store_nodes_now_ms(d, &now);
    if (rc < 0)
        return rc;
    /* expires_at >= now: a lease that ran out is not revived, even if nobody took it yet; its
     * holder may have been paused past the point where it promised to stop minting ids. */
    db_stmt *s = db_prepare(d, "UPDATE node_leases SET expires_at = ? "
                               "WHERE node_id = ? AND holder = ? AND expires_at >= ?");
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, now + ttl_ms);
    db_bind_int64(s, 2, node_id);
    db_bind_text(s, 3, holder);
    db_bind_int64(s, 4, now);
    if ((rc = db_run(s)) < 0)
        return rc;
    return db_changes(d) > 0 ? 0 : ERR_NOT_FOUND;
}

int store_nodes_release(db *d, int node_id, const char *holder)
{
    db_stmt *s = db_prepare(d, "DELETE FROM node_leases WHERE node_id = ? AND holder = ?");
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, node_id);
    db_bind_text(s, 2, holder);
    return db_run(s);
}
