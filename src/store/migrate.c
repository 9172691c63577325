/* SPDX-License-Identifier: MIT
 *
 * The migration runner. The migrations themselves are SQL files under src/store/migrations/,
 * embedded at build time by scripts/migrations.py into a table sorted by version (see
 * docs/architecture.md#migrations); this file only applies the missing ones. A migration, once
 * released, is never edited: add a new one (tests/unit/test_migrations.c checks the released
 * files against src/store/migrations/CHECKSUMS). Both dialects keep the same versions with the
 * same meaning; only types and syntax differ (SQLite wants INTEGER PRIMARY KEY for a rowid
 * alias, PostgreSQL BIGINT). Migration 23's SQLite half calls search_fold(), which the SQLite
 * backend registers in C on every connection (db_sqlite.c); no migration runs C code itself.
 */
#include "store/migrate.h"

#include "core/util.h"

#include <stdio.h>
#include <string.h>

int store_schema_version(void)
{
    size_t n;
    const store_migration *list = store_migrations(&n);
    return list[n - 1].version;
}

static const char *CREATE_VERSIONS =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";
static const char *MAX_VERSION = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
static const char *RECORD_VERSION =
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)";

int store_applied_version(db *d)
{
    db_stmt *s = db_prepare(d, MAX_VERSION);
    if (!s)
        return ERR_DB;
    int64_t v;
    int rc = db_query_int64(s, &v);
    return rc < 0 ? rc : (int)v;
}

int store_migrate(db *d, char *err, size_t err_size)
{
    return store_migrate_to(d, store_schema_version(), err, err_size);
}

int store_migrate_to(db *d, int target, char *err, size_t err_size)
{
    size_t n;
    const store_migration *list = store_migrations(&n);
    bool sqlite = db_kind_of(d) == DB_SQLITE;
    int rc = db_exec(d, CREATE_VERSIONS);
    if (rc < 0 && rc != ERR_CONFLICT && !sqlite)
        rc = db_exec(d, CREATE_VERSIONS); /* the racer's table is committed now: a no-op */
    if (rc < 0 && rc != ERR_CONFLICT) {
        /* two PostgreSQL processes racing on CREATE TABLE IF NOT EXISTS can hit a unique
         * violation in the catalog, or "type ... already exists" (seen in CI); the table
         * exists either way, which the retry above finds. */
        snprintf(err, err_size, "create schema_migrations: %s", db_errmsg(d));
        return rc;
    }
    if ((rc = db_begin(d)) < 0) {
        snprintf(err, err_size, "begin: %s", db_errmsg(d));
        return rc;
    }
    if (db_kind_of(d) == DB_POSTGRES &&
        (rc = db_exec(d, "SELECT pg_advisory_xact_lock(7353718)")) < 0) {
        snprintf(err, err_size, "migration lock: %s", db_errmsg(d));
        goto fail;
    }
    int applied = store_applied_version(d), count = 0;
    if (applied < 0) {
        rc = applied;
        snprintf(err, err_size, "read schema version: %s", db_errmsg(d));
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        if (list[i].version <= applied)
            continue;
        if (list[i].version > target)
            break;
        if ((rc = db_exec(d, sqlite ? list[i].sqlite_sql : list[i].pg_sql)) < 0) {
            snprintf(err, err_size, "migration %d (%s): %s", list[i].version, list[i].name,
                     db_errmsg(d));
            goto fail;
        }
        db_stmt *s = db_prepare(d, RECORD_VERSION);
        if (!s) {
            rc = ERR_DB;
            snprintf(err, err_size, "record migration: %s", db_errmsg(d));
            goto fail;
        }
        db_bind_int64(s, 1, list[i].version);
        db_bind_text(s, 2, list[i].name);
        db_bind_int64(s, 3, now_ms());
        if ((rc = db_run(s)) < 0) {
            snprintf(err, err_size, "record migration: %s", db_errmsg(d));
            goto fail;
        }
        count++;
    }
    if ((rc = db_commit(d)) < 0) {
        snprintf(err, err_size, "commit: %s", db_errmsg(d));
        goto fail;
    }
    return count;
fail:
    db_rollback(d);
    return rc;
}
