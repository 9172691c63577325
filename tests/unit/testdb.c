/* SPDX-License-Identifier: MIT
 *
 * The flat unit tests' database (testdb.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "scratch.h"
#include "testdb.h"

#include "store/migrate.h"

db *testdb_open(const char *env_var, char *dir, int migrate_to)
{
    const char *env = env_var ? getenv(env_var) : NULL;
    char url[512], err[256];
    if (env && *env) {
        snprintf(url, sizeof url, "%s", env);
        dir[0] = '\0';
    } else {
        scratch_dir_make(dir);
        snprintf(url, sizeof url, "sqlite:%s/t.db", dir);
    }
    db *d;
    assert_int_equal(db_open(url, &d, err, sizeof err), 0);
    if (migrate_to == TESTDB_ALL)
        assert_true(store_migrate(d, err, sizeof err) > 0);
    else if (migrate_to > 0)
        assert_true(store_migrate_to(d, migrate_to, err, sizeof err) > 0);
    return d;
}

void testdb_close(db *d, const char *dir)
{
    db_close(d);
    if (dir[0])
        scratch_dir_remove(dir);
}
