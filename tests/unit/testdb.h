/* SPDX-License-Identifier: MIT
 *
 * A real database for the flat unit tests that need one: a SQLite file in a fresh temporary
 * directory, or the PostgreSQL database an environment variable names (tests/run-all.sh sets
 * them for the runs on PostgreSQL). Each call asserts that it worked.
 */
#ifndef STREAMHUB_TESTS_UNIT_TESTDB_H
#define STREAMHUB_TESTS_UNIT_TESTDB_H

#include "store/db.h"

/* TESTDB_ALL: every migration; TESTDB_NONE: an empty database; else migrations up to that
 * version. */
#define TESTDB_ALL (-1)
#define TESTDB_NONE 0

/* Opens the database env_var names when it is set and not empty (env_var may be NULL), else
 * "sqlite:<dir>/t.db" in a new directory made from dir (a mkdtemp template, "" afterwards when
 * PostgreSQL was used), then migrates it as asked. */
db *testdb_open(const char *env_var, char *dir, int migrate_to);
/* Closes d and removes the directory testdb_open made, if any. */
void testdb_close(db *d, const char *dir);

#endif
