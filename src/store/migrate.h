/* SPDX-License-Identifier: MIT
 *
 * Versioned schema migrations, one list per SQL dialect. Applying them is safe when several
 * processes start at once: SQLite serializes on the write lock (BEGIN IMMEDIATE), PostgreSQL on
 * a transaction-scoped advisory lock, and each process re-reads the applied versions after it
 * holds the lock.
 */
#ifndef STREAMHUB_STORE_MIGRATE_H
#define STREAMHUB_STORE_MIGRATE_H

#include "store/db.h"

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
