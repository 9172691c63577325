/* SPDX-License-Identifier: MIT
 *
 * The migrations as files (src/store/migrations/, docs/architecture.md#migrations). Three checks:
 * the embedded table is sorted with both dialects filled in; every migration file is listed in
 * CHECKSUMS with its SHA-256, so a released migration cannot be edited by mistake (a new one must
 * be added instead); and applying every migration from zero gives exactly the tables, columns,
 * indexes, views, triggers and functions listed in tests/unit/migrations/schema-<dialect>.txt.
 * The schema check runs on SQLite in a temporary file, or on the empty PostgreSQL database named
 * by STREAMHUB_MIGRATIONS_TEST_DB (tests/run-all.sh runs both); on a mismatch it writes what it
 * found next to the test binary, to compare with diff.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h needs the headers above; the blank line keeps clang-format from sorting it first */
#include <cmocka.h>
#include <dirent.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/textfold.h"
#include "store/db.h"
#include "store/migrate.h"
#include "testdb.h"

#define MIGRATIONS_DIR STREAMHUB_SOURCE_ROOT "/src/store/migrations"
#define SCHEMA_DIR STREAMHUB_SOURCE_ROOT "/tests/unit/migrations"
#define LISTING_MAX (256 * 1024)

static void test_table_sorted_and_complete(void **state)
{
    size_t n;
    const store_migration *m = store_migrations(&n);
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        assert_true(m[i].version > (i ? m[i - 1].version : 0));
        assert_true(m[i].name[0] && m[i].sqlite_sql[0] && m[i].pg_sql[0]);
    }
    assert_int_equal(store_schema_version(), m[n - 1].version);
}

/* The SHA-256 of a file in hex, or false when it cannot be read. */
static bool file_sha256(const char *path, char hex[2 * crypto_hash_sha256_BYTES + 1])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    unsigned char buf[8192], out[crypto_hash_sha256_BYTES];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        crypto_hash_sha256_update(&st, buf, got);
    fclose(f);
    crypto_hash_sha256_final(&st, out);
    sodium_bin2hex(hex, 2 * crypto_hash_sha256_BYTES + 1, out, sizeof out);
    return true;
}

/* Whether CHECKSUMS (sha256sum's format: "<hex>  <file>") has a line for fname. */
static bool listed(const char *checksums, const char *fname)
{
    char needle[300];
    snprintf(needle, sizeof needle, "  %s\n", fname);
    return strstr(checksums, needle) != NULL;
}

static void test_released_migrations_unchanged(void **state)
{
    static char sums[64 * 1024];
    FILE *f = fopen(MIGRATIONS_DIR "/CHECKSUMS", "r");
    assert_non_null(f);
    size_t len = fread(sums, 1, sizeof sums - 1, f);
    fclose(f);
    assert_true(len < sizeof sums - 1);
    sums[len] = '\0';
    int problems = 0;
    /* every listed file is there, unchanged */
    for (char *line = sums; *line;) {
        char *end = strchr(line, '\n');
        assert_non_null(end); /* every line ends with a newline */
        char hex[2 * crypto_hash_sha256_BYTES + 1], fname[256], path[512];
        if (line[0] != '#' && end > line) {
            assert_int_equal(sscanf(line, "%64s  %255[^\n]", hex, fname), 2);
            snprintf(path, sizeof path, "%s/%s", MIGRATIONS_DIR, fname);
            char now[sizeof hex];
            if (!file_sha256(path, now)) {
                print_error("%s is released (listed in CHECKSUMS) but gone: a released migration "
                            "is never removed; restore it\n",
                            fname);
                problems++;
            } else if (strcmp(now, hex) != 0) {
                print_error("%s was edited, but it is released (CHECKSUMS): databases that "
                            "already ran it will never run it again. Restore it (git checkout) "
                            "and add a new migration with the next free version instead\n",
                            fname);
                problems++;
            }
        }
        line = end + 1;
    }
    /* every migration file is listed */
    DIR *dir = opendir(MIGRATIONS_DIR);
    assert_non_null(dir);
    for (struct dirent *e; (e = readdir(dir));) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 4, ".sql") != 0 || listed(sums, e->d_name))
            continue;
        char path[512], hex[2 * crypto_hash_sha256_BYTES + 1];
        snprintf(path, sizeof path, "%s/%s", MIGRATIONS_DIR, e->d_name);
        assert_true(file_sha256(path, hex));
        print_error("%s is not in src/store/migrations/CHECKSUMS: once it is final, add the line\n"
                    "%s  %s\n",
                    e->d_name, hex, e->d_name);
        problems++;
    }
    closedir(dir);
    assert_int_equal(problems, 0);
}

/* One line per schema object; tables with their columns (in order), then indexes and triggers,
 * by table name. schema_migrations is included: the runner makes it. */
static const char *SQLITE_SCHEMA =
    "WITH t AS (SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
    "  AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\') "
    "SELECT line FROM ("
    " SELECT t.name AS k, 0 AS g, 0 AS n, m.type || ' ' || t.name AS line "
    "  FROM t JOIN sqlite_master m ON m.name = t.name "
    " UNION ALL SELECT t.name, 1, c.cid, 'column ' || t.name || '.' || c.name "
    "  || CASE WHEN c.type = '' THEN '' ELSE ' ' || c.type END "
    "  || CASE WHEN c.\"notnull\" THEN ' NOT NULL' ELSE '' END "
    "  || CASE WHEN c.pk THEN ' PRIMARY KEY' ELSE '' END "
    "  FROM t, pragma_table_info(t.name) c "
    " UNION ALL SELECT t.name, 2, 0, 'index ' || t.name || '.' || il.name || ' (' "
    "  || (SELECT group_concat(COALESCE(name, '(expression)'), ', ') FROM "
    "      (SELECT name FROM pragma_index_info(il.name) ORDER BY seqno)) || ')' "
    "  || CASE WHEN il.\"unique\" THEN ' UNIQUE' ELSE '' END "
    "  || CASE WHEN il.partial THEN ' PARTIAL' ELSE '' END "
    "  FROM t, pragma_index_list(t.name) il "
    " UNION ALL SELECT tbl_name, 3, 0, 'trigger ' || tbl_name || '.' || name "
    "  FROM sqlite_master WHERE type = 'trigger'"
    ") ORDER BY k, g, n, line";

static const char *PG_SCHEMA =
    "WITH t AS (SELECT c.oid, c.relname, c.relkind FROM pg_class c JOIN pg_namespace s "
    "  ON s.oid = c.relnamespace WHERE s.nspname = current_schema() AND c.relkind IN ('r', 'v')) "
    "SELECT line FROM ("
    " SELECT t.relname AS k, 0 AS g, 0 AS n, "
    "  CASE t.relkind WHEN 'v' THEN 'view ' ELSE 'table ' END || t.relname AS line FROM t "
    " UNION ALL SELECT t.relname, 1, a.attnum, 'column ' || t.relname || '.' || a.attname || ' ' "
    "  || format_type(a.atttypid, a.atttypmod) "
    "  || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END "
    "  || CASE WHEN EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = t.oid AND x.indisprimary "
    "     AND a.attnum = ANY (x.indkey)) THEN ' PRIMARY KEY' ELSE '' END "
    "  || CASE WHEN a.attgenerated <> '' THEN ' GENERATED' ELSE '' END "
    "  FROM t JOIN pg_attribute a ON a.attrelid = t.oid WHERE a.attnum > 0 AND NOT a.attisdropped "
    " UNION ALL SELECT t.relname, 2, 0, 'index ' || t.relname || '.' || i.relname || ' (' "
    "  || (SELECT string_agg(COALESCE(a.attname, '(expression)'), ', ' ORDER BY k.n) "
    "      FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, n) "
    "      LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum) || ')' "
    "  || CASE WHEN x.indisunique THEN ' UNIQUE' ELSE '' END "
    "  || CASE WHEN x.indpred IS NOT NULL THEN ' PARTIAL' ELSE '' END "
    "  FROM t JOIN pg_index x ON x.indrelid = t.oid JOIN pg_class i ON i.oid = x.indexrelid "
    " UNION ALL SELECT t.relname, 3, 0, 'trigger ' || t.relname || '.' || g.tgname "
    "  FROM t JOIN pg_trigger g ON g.tgrelid = t.oid WHERE NOT g.tgisinternal "
    " UNION ALL SELECT '', 4, 0, 'function ' || p.proname FROM pg_proc p JOIN pg_namespace s "
    "  ON s.oid = p.pronamespace WHERE s.nspname = current_schema()"
    ") x ORDER BY k, g, n, line";

static size_t read_schema(db *d, char *out, size_t size)
{
    db_stmt *s = db_prepare(d, db_kind_of(d) == DB_SQLITE ? SQLITE_SCHEMA : PG_SCHEMA);
    if (!s)
        print_error("schema query: %s\n", db_errmsg(d));
    assert_non_null(s);
    size_t len = 0;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        int n = snprintf(out + len, size - len, "%s\n", db_col_text(s, 0));
        assert_true(n > 0 && (size_t)n < size - len);
        len += (size_t)n;
    }
    assert_int_equal(rc, DB_DONE);
    db_reset(s);
    return len;
}

/* The first line where two listings differ, for the failure message. */
static void print_first_difference(const char *want, const char *got)
{
    int line = 1;
    while (*want && *want == *got) {
        if (*want == '\n')
            line++;
        want++;
        got++;
    }
    while (line > 1 && want[-1] != '\n')
        want--, got--;
    print_error("first difference at line %d: expected \"%.*s\", found \"%.*s\"\n", line,
                (int)strcspn(want, "\n"), want, (int)strcspn(got, "\n"), got);
}

static void test_schema_from_zero(void **state)
{
    char dir[] = "/tmp/sh-migrations-XXXXXX", err[256];
    db *d = testdb_open("STREAMHUB_MIGRATIONS_TEST_DB", dir, TESTDB_NONE);
    const char *dialect = db_kind_of(d) == DB_SQLITE ? "sqlite" : "pg";
    size_t n;
    store_migrations(&n);
    int applied = store_migrate(d, err, sizeof err);
    if (applied != (int)n)
        print_error("expected an empty database and %zu migrations applied, got %d: %s\n", n,
                    applied, applied < 0 ? err : "");
    assert_int_equal(applied, (int)n);

    static char want[LISTING_MAX], got[LISTING_MAX];
    char path[512];
    snprintf(path, sizeof path, "%s/schema-%s.txt", SCHEMA_DIR, dialect);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t want_len = fread(want, 1, sizeof want - 1, f);
    fclose(f);
    want[want_len] = '\0';
    size_t got_len = read_schema(d, got, sizeof got);
    if (strcmp(want, got) != 0) {
        snprintf(path, sizeof path, "%s/schema-%s.found.txt", STREAMHUB_BUILD_DIR, dialect);
        if ((f = fopen(path, "w"))) {
            fwrite(got, 1, got_len, f);
            fclose(f);
        }
        print_first_difference(want, got);
        print_error("the schema after every migration differs from tests/unit/migrations/"
                    "schema-%s.txt; what was found is in %s: after a new migration, read the "
                    "difference, then cp %s tests/unit/migrations/schema-%s.txt\n",
                    dialect, path, path, dialect);
    }
    assert_true(strcmp(want, got) == 0);

    if (db_kind_of(d) == DB_POSTGRES) {
        /* PostgreSQL folds search text in SQL: its search_fold must use the C table as it is
         * now, so a change to core/textfold.h needs a migration that redefines the function. */
        db_stmt *s = db_prepare(d, "SELECT prosrc FROM pg_proc WHERE proname = 'search_fold'");
        assert_non_null(s);
        assert_int_equal(db_step(s), DB_ROW);
        const char *src = db_col_text(s, 0);
        assert_non_null(strstr(src, "'[" TEXTFOLD_FROM "]'"));
        assert_non_null(strstr(src, "'" TEXTFOLD_MAPPED "', '" TEXTFOLD_TO "'"));
        assert_non_null(strstr(src, "translate(t, '" TEXTFOLD_REMOVED "', '')"));
        db_reset(s);
    }
    testdb_close(d, dir);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_sorted_and_complete),
        cmocka_unit_test(test_released_migrations_unchanged),
        cmocka_unit_test(test_schema_from_zero),
    };
    /* On PostgreSQL (tests/run-all.sh) only the test that uses the database runs. */
    const char *pg = getenv("STREAMHUB_MIGRATIONS_TEST_DB");
    if (pg && *pg) {
        const struct CMUnitTest pg_tests[] = {cmocka_unit_test(test_schema_from_zero)};
        return cmocka_run_group_tests(pg_tests, NULL, NULL);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
