/* SPDX-License-Identifier: MIT
 *
 * Versioned schema migrations, one SQL file per migration and dialect under src/store/migrations/
 * (embedded at build time, see docs/architecture.md#migrations). Applying them is safe when
 * several processes start at once: SQLite serializes on the write lock (BEGIN IMMEDIATE),
 * PostgreSQL on a transaction-scoped advisory lock, and each process re-reads the applied
 * versions after it holds the lock.
 */
#ifndef STREAMHUB_STORE_MIGRATE_H
#define STREAMHUB_STORE_MIGRATE_H

#include "store/db.h"

#include <stddef.h>

/* One migration as embedded from src/store/migrations/ by scripts/migrations.py: its version and
 * name (what schema_migrations records) and its SQL for each database. */
typedef struct store_migration {
    int version;
    const char *name;
    const char *sqlite_sql;
    const char *pg_sql;
} store_migration;

/* Every migration, sorted by version (the generated file defines it); *count is their number. */
const store_migration *store_migrations(size_t *count);

/* Applies every missing migration. Returns the number applied (>= 0) or a negative ERR_*. */
int store_migrate(db *d, char *err, size_t err_size);
/* The same, stopping after version target: tests use it to fill an older schema with rows and
 * check that a later migration carries them over. */
int store_migrate_to(db *d, int target, char *err, size_t err_size);
/* Highest version this binary knows. */
int store_schema_version(void);
/* Highest version applied in the database (0 for none), or negative ERR_*. */
int store_applied_version(db *d);

#endif
