/* SPDX-License-Identifier: MIT
 *
 * Fuzzes the search query normaliser and the cursor reader (domain/search.c) with arbitrary
 * bytes. The property that keeps user input from ever being read as text-engine syntax is
 * checked directly: every FTS5 expression the normaliser writes runs against a real FTS5 table
 * (same tokeniser as the migration) without an error, and every to_tsquery text is quoted words
 * joined by " & " with an optional ":*" at the end. A cursor that is accepted must be exactly
 * what the formatter writes for its key. The Arabic folding (core/textfold.c) runs on the same
 * bytes: it never lengthens text, is idempotent, keeps valid UTF-8 valid, leaves no character it
 * folds behind, and the query (hashtag prefixes included) comes out already folded.
 */
#include "core/textfold.h"
#include "domain/posts.h"
#include "domain/search.h"
#include "store/users.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static sqlite3 *conn;
static sqlite3_stmt *match;
static search_query cursor_query;

static void setup(void)
{
    domain_error err = {0};
    if (sqlite3_open(":memory:", &conn) != SQLITE_OK ||
        sqlite3_exec(
            conn,
            "CREATE VIRTUAL TABLE t USING fts5(a, tokenize='unicode61 remove_diacritics 2');"
            "INSERT INTO t VALUES ('sunset over the café'), ('near and far'), ('😀 x'),"
            "('مدرسه احمد محمد علي جميل 2024');",
            NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(conn, "SELECT count(*) FROM t WHERE t MATCH ?", -1, &match, NULL) !=
            SQLITE_OK ||
        search_parse("sun", NULL, &cursor_query, &err) != 0)
        abort();
}

/* 'word' ( & 'word')* (:*)?, where a word holds no quote, space or backslash. */
static bool tsquery_well_formed(const char *s)
{
    if (!*s)
        return true;
    for (;;) {
        if (*s++ != '\'')
            return false;
        size_t n = strcspn(s, "' \\");
        if (n == 0 || s[n] != '\'')
            return false;
        s += n + 1;
        if (!*s || !strcmp(s, ":*"))
            return true;
        if (strncmp(s, " & ", 3) != 0)
            return false;
        s += 3;
    }
}

/* Strict UTF-8, as domain/search.c checks it; sets *folded_left when a character that folding
 * changes is still there. */
static bool utf8_ok(const unsigned char *s, size_t n, bool *folded_left)
{
    size_t i = 0;
    while (i < n) {
        int more = s[i] < 0x80             ? 0
                   : (s[i] & 0xE0) == 0xC0 ? 1
                   : (s[i] & 0xF0) == 0xE0 ? 2
                   : (s[i] & 0xF8) == 0xF0 ? 3
                                           : -1;
        if (more < 0 || (size_t)more >= n - i)
            return false;
        unsigned long cp = more ? s[i] & (0x3F >> more) : s[i];
        for (int k = 1; k <= more; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        static const unsigned long min_cp[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[more] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        if (textfold_code_point(cp) != (long)cp)
            *folded_left = true;
        i += (size_t)more + 1;
    }
    return true;
}

/* Any bytes: never longer. Valid UTF-8 (what the API lets in): stays valid, nothing foldable
 * is left, and folding again changes nothing. (Malformed bytes can pair up once a mark between
 * them is removed, so idempotence holds for valid text only.) */
static void check_fold(const char *s, size_t size)
{
    char *once = malloc(size + 1), *twice = malloc(size + 1);
    size_t n1 = textfold_search(s, size, once);
    if (n1 > size)
        abort();
    bool left_in = false, left_out = false;
    if (utf8_ok((const unsigned char *)s, size, &left_in)) {
        size_t n2 = textfold_search(once, n1, twice);
        if (!utf8_ok((const unsigned char *)once, n1, &left_out) || left_out || n2 != n1 ||
            memcmp(once, twice, n1) != 0)
            abort();
    }
    free(once);
    free(twice);
}

static bool is_folded(const char *s)
{
    size_t n = strlen(s);
    char *f = malloc(n + 1);
    textfold_search(s, n, f);
    bool same = strcmp(f, s) == 0;
    free(f);
    return same;
}

/* The database side of search.c, which the parsers never reach. */
int store_search_users(db *d, const store_search_query *q, int64_t viewer,
                       const store_search_key *after, store_user *out, store_search_key *keys,
                       int max)
{
    abort();
}
int store_search_posts(db *d, const store_search_query *q, int64_t viewer,
                       const store_search_key *after, store_post *out, store_search_key *keys,
                       int max)
{
    abort();
}
int store_search_hashtags(db *d, const char *prefix, const store_search_key *after,
                          store_hashtag *out, store_search_key *keys, int max)
{
    abort();
}
int store_user_by_id(db *d, int64_t id, store_user *out)
{
    abort();
}
bool posts_can_view(db *d, int64_t viewer, const store_user *author, const store_post *p)
{
    abort();
}
const char *db_errmsg(db *d)
{
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!conn)
        setup();
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    check_fold((const char *)data, size);
    static const char *const types[] = {"users", "posts", "hashtags"};
    for (int t = 0; t < 3; t++) {
        search_query q;
        domain_error err = {0};
        if (search_parse(s, types[t], &q, &err) != 0)
            continue;
        if (!tsquery_well_formed(q.tsquery) || !is_folded(q.fts5) || !is_folded(q.tsquery) ||
            !is_folded(q.hashtag_prefix))
            abort();
        if (q.fts5[0]) {
            sqlite3_bind_text(match, 1, q.fts5, -1, SQLITE_STATIC);
            if (sqlite3_step(match) != SQLITE_ROW)
                abort(); /* an FTS5 syntax error: user input leaked into the syntax */
            sqlite3_reset(match);
        }
    }
    store_search_key k;
    domain_error err = {0};
    if (search_cursor_parse(&cursor_query, s, &k, &err) == 0) {
        char again[SEARCH_CURSOR_MAX];
        search_cursor_format(&cursor_query, &k, again);
        if (strcmp(again, s) != 0)
            abort();
    }
    free(s);
    return 0;
}
