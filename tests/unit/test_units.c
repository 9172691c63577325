/* SPDX-License-Identifier: MIT
 *
 * Unit tests for ids, JSON validation, the rate limiter, the option table, account field rules,
 * tokens, migrations, search folding and search.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scratch.h"

#include "core/config.h"
#include "core/id.h"
#include "core/json.h"
#include "core/ratelimit.h"
#include "core/textfold.h"
#include "core/util.h"
#include "domain/media.h"
#include "domain/search.h"
#include "domain/tokens.h"
#include "domain/validate.h"
#include "store/db.h"
#include "store/migrate.h"
#include "store/search.h"
#include "testdb.h"

static void test_ids(void **state)
{
    int64_t prev = id_next();
    for (int i = 0; i < 100000; i++) {
        int64_t id = id_next();
        assert_true(id > prev);
        prev = id;
    }
    int64_t t = id_time_ms(prev);
    assert_true(llabs(t - now_ms()) < 5000);
    int64_t v;
    const char *bad[] = {"", "0", "-1", "01", "1a", " 1", "99999999999999999999", NULL};
    for (int i = 0; bad[i]; i++)
        assert_false(id_parse(bad[i], &v));
    assert_true(id_parse("9223372036854775807", &v));
    assert_int_equal(v, INT64_MAX);
    assert_false(id_parse("9223372036854775808", &v));
    char s[ID_STR_MAX];
    id_format(prev, s);
    assert_true(id_parse(s, &v));
    assert_int_equal(v, prev);
}

static void test_json_validation(void **state)
{
    json_t *o = json_pack("{s:s, s:i, s:s, s:b, s:n}", "name", "añ😀", "num", 3, "long",
                          "abcdef", "flag", 1, "nil");
    json_object_set_new(o, "nul", json_stringn("a\0b", 3));
    const char *out;
    jv_error err;
    assert_true(jv_string(o, "name", true, 0, 3, &out, &err)); /* 3 code points, 7 bytes */
    assert_string_equal(out, "añ😀");
    assert_false(jv_string(o, "name", true, 0, 2, &out, &err));
    assert_string_equal(err.reason, "too_long");
    assert_false(jv_string(o, "num", true, 0, 0, &out, &err));
    assert_string_equal(err.reason, "must_be_string");
    assert_string_equal(err.field, "num");
    assert_false(jv_string(o, "missing", true, 0, 0, &out, &err));
    assert_string_equal(err.reason, "required");
    assert_true(jv_string(o, "missing", false, 0, 0, &out, &err));
    assert_null(out);
    assert_true(jv_string(o, "nil", false, 0, 0, &out, &err));
    assert_false(jv_string(o, "nul", true, 0, 0, &out, &err));
    assert_string_equal(err.reason, "invalid_format");
    int b;
    assert_true(jv_bool(o, "flag", true, &b, &err));
    assert_int_equal(b, 1);
    assert_false(jv_bool(o, "num", true, &b, &err));
    const char *allowed[] = {"name", "num", NULL};
    assert_false(jv_only(o, allowed, &err));
    json_decref(o);
    json_t *t = json_time(1700000000123LL);
    assert_string_equal(json_string_value(t), "2023-11-14T22:13:20.123Z");
    json_decref(t);
    t = json_time(0);
    assert_true(json_is_null(t));
}

static void test_ratelimit(void **state)
{
    ratelimit *rl = ratelimit_new(1.0, 3.0, 64);
    int retry = 0;
    int64_t t = 1000000000;
    for (int i = 0; i < 3; i++)
        assert_true(ratelimit_take(rl, "a", t, &retry));
    assert_false(ratelimit_take(rl, "a", t, &retry));
    assert_true(retry >= 1);
    assert_true(ratelimit_take(rl, "b", t, &retry)); /* keys are independent */
    assert_true(ratelimit_take(rl, "a", t + 1000001, &retry)); /* one token refilled */
    assert_false(ratelimit_take(rl, "a", t + 1000002, &retry));
    /* A tiny table under many keys evicts but never crashes, and once the buckets had time to
     * refill a fresh key is allowed (at once it may inherit an evicted key's restriction). */
    char key[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        ratelimit_take(rl, key, t, NULL);
    }
    assert_true(ratelimit_take(rl, "new-key", t + 4000000, &retry));
    int64_t ms = 0;
    assert_false(ratelimit_take_ms(rl, "a", t + 1000003, &ms)); /* evicted or not, still empty */
    assert_true(ms >= 1 && ms <= 1000);
    ratelimit_free(rl);
}

/* The eviction attack of issue 10: the victim's login budget is used up, then the attacker
 * sends attempts for other identifiers to push the victim's bucket out of the table. The victim
 * must still be refused, and get back only what the refill rate gives. */
static void exhaust(ratelimit *rl, const char *key, int64_t t)
{
    for (int i = 0; i < 5; i++)
        assert_true(ratelimit_take(rl, key, t, NULL));
    assert_false(ratelimit_take(rl, key, t, NULL));
}

static void test_ratelimit_eviction_flood(void **state)
{
    /* as the auth limiter: 5 a minute, but a small table so the flood surely evicts */
    ratelimit *rl = ratelimit_new(5.0 / 60.0, 5.0, 256);
    int64_t t = 1000000000;
    const char *victim = "login|victim@example.com";
    exhaust(rl, victim, t);
    size_t victim_set = ratelimit_test_set_of(rl, victim), same_set = 0;
    char key[64];
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof key, "login|attacker%d@example.com", i);
        same_set += ratelimit_test_set_of(rl, key) == victim_set;
        ratelimit_take(rl, key, t + 1 + i, NULL);
    }
    assert_true(same_set > 16); /* the victim's set was overrun: its bucket was evicted */
    int retry = 0;
    assert_false(ratelimit_take(rl, victim, t + 20001, &retry));
    assert_true(retry >= 1 && retry <= 12);
    ratelimit_free(rl);
}

static void test_ratelimit_eviction_aimed(void **state)
{
    ratelimit *rl = ratelimit_new(5.0 / 60.0, 5.0, 65536);
    /* the attacker's best case: the hash key is known, so colliding identifiers can be found
     * offline, as FNV allowed before */
    unsigned char secret[16] = {0};
    ratelimit_test_set_secret(rl, secret);
    int64_t t = 1000000000;
    const char *victim = "otp|+15550100";
    size_t victim_set = ratelimit_test_set_of(rl, victim);
    char colliding[64][48];
    int found = 0;
    for (long i = 0; found < 64 && i < 50000000; i++) {
        snprintf(colliding[found], sizeof colliding[found], "otp|+1555%07ld", i);
        if (strcmp(colliding[found], victim) &&
            ratelimit_test_set_of(rl, colliding[found]) == victim_set)
            found++;
    }
    assert_int_equal(found, 64);
    exhaust(rl, victim, t);
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < found; i++)
            ratelimit_take(rl, colliding[i], t + 1, NULL);
    assert_false(ratelimit_take(rl, victim, t + 2, NULL));
    /* 12 s later the refill gave one token, and only one: eviction reset nothing */
    assert_true(ratelimit_take(rl, victim, t + 12000002, NULL));
    assert_false(ratelimit_take(rl, victim, t + 12000003, NULL));
    /* a key in another set is untouched by all this */
    const char *other = "otp|+15550199";
    assert_true(ratelimit_test_set_of(rl, other) != victim_set);
    assert_true(ratelimit_take(rl, other, t + 2, NULL));
    /* with its own random secret, another limiter puts these keys elsewhere */
    ratelimit *fresh = ratelimit_new(1, 1, 65536);
    int still = 0;
    for (int i = 0; i < found; i++)
        still += ratelimit_test_set_of(fresh, colliding[i]) == ratelimit_test_set_of(fresh, victim);
    assert_true(still < 8);
    ratelimit_free(fresh);
    ratelimit_free(rl);
}

static void test_config(void **state)
{
    config c;
    config_defaults(&c);
    assert_int_equal(c.port, 8080);
    assert_string_equal(c.host, "127.0.0.1");
    setenv("STREAMHUB_PORT", "9000", 1);
    char *a1[] = {"--workers=4", "--trust-proxy", "--data-dir", "/tmp/x"};
    assert_int_equal(config_load(&c, 4, a1), 0);
    assert_int_equal(c.port, 9000);
    assert_int_equal(c.workers, 4);
    assert_true(c.trust_proxy);
    assert_string_equal(c.data_dir, "/tmp/x");
    char *a2[] = {"--port", "0"};
    assert_int_equal(config_load(&c, 2, a2), 0);
    assert_int_equal(c.port, 0);
    unsetenv("STREAMHUB_PORT");
    char *bad1[] = {"--port", "70000"};
    char *bad2[] = {"--nope"};
    char *bad3[] = {"--port"};
    char *bad4[] = {"--port", "12x"};
    assert_int_equal(config_load(&c, 2, bad1), -1);
    assert_int_equal(config_load(&c, 1, bad2), -1);
    assert_int_equal(config_load(&c, 1, bad3), -1);
    assert_int_equal(config_load(&c, 2, bad4), -1);
    /* the realtime budgets: documented defaults, 0 switches a rate off, caps are at least 1 */
    assert_int_equal(c.ws_message_rate, 120);
    assert_int_equal(c.ws_rooms_per_socket, 50);
    assert_int_equal(c.sse_streams_per_user, 8);
    char *off[] = {"--ws-message-rate", "0", "--ws-command-rate=0"};
    assert_int_equal(config_load(&c, 3, off), 0);
    assert_int_equal(c.ws_message_rate, 0);
    char *no_rooms[] = {"--ws-rooms-per-socket", "0"};
    char *no_streams[] = {"--sse-streams-per-user", "-1"};
    char *too_fast[] = {"--ws-typing-rate", "1000001"};
    assert_int_equal(config_load(&c, 2, no_rooms), -1);
    assert_int_equal(config_load(&c, 2, no_streams), -1);
    assert_int_equal(config_load(&c, 2, too_fast), -1);
    config_free(&c);
}

static void test_validate(void **state)
{
    const char *good_handles[] = {"ana", "Ana_B.c", "a1b", "user_123", "x.y.z", NULL};
    const char *bad_handles[] = {"ab", "a..b", "abc.", ".abc", "_abc", "123", "ADMIN", "me",
                                 "ña_ña", "a b c", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL};
    for (int i = 0; good_handles[i]; i++)
        assert_null(validate_handle(good_handles[i]));
    for (int i = 0; bad_handles[i]; i++)
        assert_non_null(validate_handle(bad_handles[i]));
    assert_string_equal(validate_handle("Admin"), "reserved");
    assert_null(validate_email("a@b.co"));
    assert_null(validate_email("first.last+tag@sub.example.org"));
    const char *bad_emails[] = {"a", "a@b", "@b.co", "a@@b.co", "a b@c.co", "a@b..co", "a@-b.co",
                                "a.@b.co", "a@b.co-", NULL};
    for (int i = 0; bad_emails[i]; i++)
        assert_non_null(validate_email(bad_emails[i]));
    assert_null(validate_phone("+15551234567"));
    assert_non_null(validate_phone("15551234567"));
    assert_non_null(validate_phone("+0551234567"));
    assert_non_null(validate_phone("+1555"));
    assert_string_equal(validate_password("1234567"), "too_short");
    assert_null(validate_password("😀😀😀😀😀😀😀😀")); /* 8 code points */
    assert_string_equal(validate_password("😀😀😀😀😀😀😀"), "too_short");
    assert_string_equal(validate_password("         "), "invalid_format");
    char longpw[200];
    memset(longpw, 'x', 129);
    longpw[129] = '\0';
    assert_string_equal(validate_password(longpw), "too_long");
    assert_null(validate_display_name("Ana 🎬", NULL, 0));
    assert_non_null(validate_display_name("a\tb", NULL, 0));
}

/* The one rule for user-visible names (display names, circle names, group titles). */
static void test_validate_name(void **state)
{
    (void)state;
    char out[256];
    static const struct {
        const char *in, *why, *stored;
    } cases[] = {
        {"Ana", NULL, "Ana"},
        {"  Ana  Ñúñez \u3000", NULL, "Ana  Ñúñez"}, /* trimmed at both ends, inside kept */
        {"\u00a0Ana\u2003", NULL, "Ana"},
        {"", "required", ""},
        {"   ", "required", ""},
        {"\u3000\u00a0", "required", ""},
        {"a\tb", "invalid_characters", NULL},
        {"\nAna", "invalid_characters", NULL}, /* line breaks are controls, not trimmed */
        {"Ana\x7f", "invalid_characters", NULL},
        {"Ana\xc2\x85", "invalid_characters", NULL}, /* C1: next line */
        {"Ana\xc2\x9b", "invalid_characters", NULL},
        {"Ana\u202e", "invalid_characters", NULL}, /* right-to-left override */
        {"\u202agpj.exe", "invalid_characters", NULL},
        {"Ana\u2066x\u2069", "invalid_characters", NULL}, /* isolates */
        {"Ana\u200f", "invalid_characters", NULL},        /* RLM */
        {"Ana\u061c", "invalid_characters", NULL},        /* ALM */
        {"A\u200bna", "invalid_characters", NULL},        /* zero-width space */
        {"\ufeffAna", "invalid_characters", NULL},
        {"A\u2060na", "invalid_characters", NULL},
        {"A\u00adna", "invalid_characters", NULL},
        {"\u3164", "invalid_characters", NULL}, /* Hangul filler: a blank-looking name */
        {"\u2800", "invalid_characters", NULL},
        {"Ana\u2028", "invalid_characters", NULL},
        {"Ana\xef\xbf\xbe", "invalid_characters", NULL}, /* U+FFFE */
        {"Ana\xc0\xaf", "invalid_characters", NULL},     /* overlong "/" */
        {"Ana\xed\xa0\x80", "invalid_characters", NULL}, /* a surrogate */
        {"Ana\xff", "invalid_characters", NULL},
        /* ZWNJ and ZWJ between letters (Persian, Devanagari) and in emoji sequences */
        {"\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", NULL, NULL},
        {"\u0915\u094d\u200d\u0937", NULL, NULL},
        {"\U0001f468\u200d\U0001f469\u200d\U0001f467", NULL, NULL},
        {"\u2764\ufe0f\u200d\U0001f525", NULL, NULL},
        {"\U0001f469\U0001f3fd\u200d\U0001f4bb", NULL, NULL},
        /* ... but not at an end, beside a space, or doubled */
        {"\u200dAna", "invalid_characters", NULL},
        {"Ana\u200c", "invalid_characters", NULL},
        {"Ana \u200d x", "invalid_characters", NULL},
        {"A\u200d\u200dna", "invalid_characters", NULL},
        {"A\u200c\u200dna", "invalid_characters", NULL},
        {"\u200d", "invalid_characters", NULL},
        /* a subdivision flag (England) is fine; stray tags and the language tag are not */
        {"\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f", NULL, NULL},
        {"Ana\U000e0067", "invalid_characters", NULL},
        {"Ana\U000e0001", "invalid_characters", NULL},
        {"\ufe0fAna", "invalid_characters", NULL},
        {"\u2764\ufe0f", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *why = validate_name(cases[i].in, 10, false, out, sizeof out);
        if (cases[i].why) {
            assert_non_null(why);
            assert_string_equal(why, cases[i].why);
        } else {
            if (why)
                fail_msg("case %zu refused: %s", i, why);
            assert_string_equal(out, cases[i].stored ? cases[i].stored : cases[i].in);
        }
    }
    /* the limit counts code points after trimming */
    assert_null(validate_name("  0123456789  ", 10, false, out, sizeof out));
    assert_string_equal(validate_name("0123456789a", 10, false, out, sizeof out), "too_long");
    assert_null(validate_name("\U0001f3ac\U0001f3ac\U0001f3ac", 3, false, NULL, 0));
    assert_string_equal(validate_name("abcd", 4, false, out, 4), "too_long"); /* out too small */
    /* display names may be empty (the handle stands in), whitespace-only clears */
    assert_null(validate_display_name("", out, sizeof out));
    assert_null(validate_display_name("  ", out, sizeof out));
    assert_string_equal(out, "");
    assert_null(validate_display_name(" Ana ", out, sizeof out));
    assert_string_equal(out, "Ana");
    assert_string_equal(validate_display_name("Ana\xc2\x85", NULL, 0), "invalid_characters");
    char longname[80];
    memset(longname, 'x', 65);
    longname[65] = '\0';
    assert_string_equal(validate_display_name(longname, NULL, 0), "too_long");
}

static void test_tokens(void **state)
{
    token_keys k, other;
    tokens_init(&k, "a secret that is long enough for the tests here");
    tokens_init(&other, "another secret that is long enough for tests!!");
    char tok[ACCESS_TOKEN_MAX];
    assert_int_equal(tokens_issue_access(&k, 123, 456, "user", 1000, 60, tok), 0);
    access_claims c;
    bool expired;
    assert_int_equal(tokens_verify_access(&k, tok, 1010, &c, &expired), 0);
    assert_int_equal(c.user_id, 123);
    assert_int_equal(c.session_id, 456);
    /* verified tokens are cached per thread (tokens.c): everything below runs against a token
     * this thread has in its cache, so the hit path meets every check the decode path does */
    access_claims again = {0};
    assert_int_equal(tokens_verify_access(&k, tok, 1020, &again, &expired), 0);
    assert_memory_equal(&again, &c, sizeof c);
    char tok2[ACCESS_TOKEN_MAX];
    assert_int_equal(tokens_issue_access(&k, 124, 457, "user", 1000, 60, tok2), 0);
    assert_int_equal(tokens_verify_access(&k, tok2, 1010, &again, &expired), 0);
    assert_int_equal(again.user_id, 124);
    assert_int_equal(tokens_verify_access(&k, tok, 1010, &again, &expired), 0);
    assert_int_equal(again.user_id, 123);
    assert_int_equal(tokens_verify_access(&k, tok, 1061, &c, &expired), ERR_UNAUTHORIZED);
    assert_true(expired);
    assert_int_equal(tokens_verify_access(&other, tok, 1010, &c, &expired), ERR_UNAUTHORIZED);
    assert_false(expired);
    char tampered[ACCESS_TOKEN_MAX];
    strcpy(tampered, tok);
    size_t n = strlen(tampered);
    tampered[n - 3] = tampered[n - 3] == 'A' ? 'B' : 'A';
    assert_int_equal(tokens_verify_access(&k, tampered, 1010, &c, &expired), ERR_UNAUTHORIZED);
    /* alg=none: header {"alg":"none","typ":"JWT"}, the original payload, no signature. */
    char none[ACCESS_TOKEN_MAX];
    const char *payload = strchr(tok, '.') + 1;
    size_t plen = (size_t)(strrchr(tok, '.') - payload);
    snprintf(none, sizeof none, "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.%.*s.", (int)plen, payload);
    assert_int_equal(tokens_verify_access(&k, none, 1010, &c, &expired), ERR_UNAUTHORIZED);
    assert_int_equal(tokens_verify_access(&k, "garbage", 1010, &c, &expired), ERR_UNAUTHORIZED);

    char r1[REFRESH_TOKEN_LEN], r2[REFRESH_TOKEN_LEN];
    tokens_new_refresh(r1);
    tokens_new_refresh(r2);
    assert_int_equal(strlen(r1), 43);
    assert_string_not_equal(r1, r2);
    char h1[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN];
    tokens_hash_secret("123456", h1);
    tokens_hash_code(&k, "123456", h2);
    assert_int_equal(strlen(h1), 64);
    assert_string_not_equal(h1, h2);
    char otp[7];
    tokens_new_otp(otp);
    assert_int_equal(strlen(otp), 6);
    assert_int_equal(strspn(otp, "0123456789"), 6);

    char hash[PW_HASH_MAX];
    assert_int_equal(password_hash("correct horse", 2, 19456, hash), 0);
    assert_true(strncmp(hash, "$argon2id$", 10) == 0);
    assert_true(password_verify(hash, "correct horse"));
    assert_false(password_verify(hash, "wrong horse"));
    assert_false(password_verify("", "x"));
    assert_false(password_needs_rehash(hash, 2, 19456));
    assert_true(password_needs_rehash(hash, 3, 19456));
}

static void test_migrations(void **state)
{
    char dir[] = "/tmp/sh-unit-XXXXXX";
    scratch_dir_make(dir);
    char url[128], err[256];
    snprintf(url, sizeof url, "sqlite:%s/t.db", dir);
    db *d;
    assert_int_equal(db_open(url, &d, err, sizeof err), 0);
    assert_true(store_migrate(d, err, sizeof err) > 0);
    assert_int_equal(store_migrate(d, err, sizeof err), 0);
    assert_int_equal(store_applied_version(d), store_schema_version());
    /* the schema works: a unique violation is reported as a conflict */
    assert_int_equal(db_exec(d, "INSERT INTO users (id, email, email_norm, handle, handle_norm, "
                                "created_at, updated_at) VALUES (1, 'a', 'a', 'h', 'h', 0, 0)"), 0);
    assert_int_equal(db_exec(d, "INSERT INTO users (id, email, email_norm, handle, handle_norm, "
                                "created_at, updated_at) VALUES (2, 'b', 'b', 'h', 'h', 0, 0)"),
                     ERR_CONFLICT);
    static const char *count_sql = "SELECT COUNT(*) FROM users WHERE handle_norm = ?";
    db_stmt *s = db_prepare(d, count_sql);
    db_bind_text(s, 1, "h");
    int64_t count;
    assert_int_equal(db_query_int64(s, &count), 0);
    assert_int_equal(count, 1);
    assert_ptr_equal(db_prepare(d, count_sql), s); /* cached per connection */
    db_close(d);
    scratch_dir_remove(dir);
}

static void test_search_parse(void **state)
{
    search_query q;
    domain_error err = {0};
    assert_int_equal(search_parse("  Sun SET \t", "posts", &q, &err), 0);
    assert_int_equal(q.type, SEARCH_POSTS);
    assert_string_equal(q.fts5, "\"sun\" \"set\"*");
    assert_string_equal(q.tsquery, "'sun' & 'set':*");
    assert_string_equal(q.handle_prefix, "");

    /* users: a handle-like query also matches handles by prefix; "@" matches handles only */
    assert_int_equal(search_parse("Alice_S", NULL, &q, &err), 0);
    assert_int_equal(q.type, SEARCH_USERS);
    assert_string_equal(q.handle_prefix, "alice_s");
    assert_string_equal(q.fts5, "\"alice\" \"s\"*");
    assert_int_equal(search_parse("@Ali ce", "users", &q, &err), 0);
    assert_true(q.handle_only);
    assert_string_equal(q.handle_prefix, "ali");
    assert_string_equal(q.fts5, "");
    assert_int_equal(search_parse("@", "users", &q, &err), 0);
    assert_string_equal(q.handle_prefix, "");
    assert_int_equal(q.n_words, 0);
    assert_int_equal(search_parse("ana maria", "users", &q, &err), 0);
    assert_string_equal(q.handle_prefix, "");

    /* engine syntax in the input is only ever a separator; non-ASCII words stay whole */
    assert_int_equal(search_parse("\"*(NEAR) -a:b' OR \\ café^", "posts", &q, &err), 0);
    assert_string_equal(q.fts5, "\"near\" \"a\" \"b\" \"or\" \"café\"*");
    assert_string_equal(q.tsquery, "'near' & 'a' & 'b' & 'or' & 'café':*");
    assert_int_equal(search_parse("\"*()", "posts", &q, &err), 0);
    assert_int_equal(q.n_words, 0);
    assert_string_equal(q.fts5, "");

    char text[512];
    const struct {
        const char *q, *type, *field, *reason;
    } bad[] = {
        {NULL, NULL, "q", "required"},
        {" \t ", NULL, "q", "required"},
        {"\xff", NULL, "q", "invalid_format"},
        {"a\xc0\xaf", NULL, "q", "invalid_format"},  /* overlong "/" */
        {"\xed\xa0\x80", NULL, "q", "invalid_format"}, /* surrogate */
        {"\xe2\x82", NULL, "q", "invalid_format"},     /* cut short */
        {"ok", "people", "type", "not_allowed"},
        {"ok", "tags", "type", "not_allowed"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        assert_int_equal(search_parse(bad[i].q, bad[i].type, &q, &err), ERR_INVALID);
        assert_string_equal(err.field, bad[i].field);
        assert_string_equal(err.reason, bad[i].reason);
    }
    memset(text, 'x', 101);
    text[101] = '\0';
    assert_int_equal(search_parse(text, NULL, &q, &err), ERR_INVALID);
    assert_string_equal(err.reason, "too_long");
    text[0] = ' ', text[100] = ' '; /* 99 characters once trimmed */
    assert_int_equal(search_parse(text, NULL, &q, &err), 0);
    text[0] = '\0';
    for (int i = 0; i < 100; i++)
        strcat(text, "é");
    assert_int_equal(search_parse(text, NULL, &q, &err), 0);
}

static void test_search_cursor(void **state)
{
    search_query q, other;
    domain_error err = {0};
    store_search_key k = {.bucket = 1, .score = 1234567, .followers = 42, .id = 383678566308511744};
    store_search_key back;
    char cursor[SEARCH_CURSOR_MAX];
    assert_int_equal(search_parse("sun", NULL, &q, &err), 0);
    search_cursor_format(&q, &k, cursor);
    assert_int_equal(search_cursor_parse(&q, cursor, &back, &err), 0);
    assert_memory_equal(&k, &back, sizeof k);

    assert_int_equal(search_parse("sunset", NULL, &other, &err), 0);
    assert_int_equal(search_cursor_parse(&other, cursor, &back, &err), ERR_INVALID);
    assert_string_equal(err.reason, "query_changed");
    assert_int_equal(search_parse("sun", "posts", &other, &err), 0);
    assert_int_equal(search_cursor_parse(&other, cursor, &back, &err), ERR_INVALID);
    assert_string_equal(err.reason, "query_changed");

    char forged[SEARCH_CURSOR_MAX];
    const char *texts[] = {"u.00000000.+1.2.3.4", "u.0.1.2.3.4", "x", "u.00000000.1.2.3.0",
                           "u.00000000.7.2.3.4", "", NULL};
    for (int i = 0; texts[i]; i++) {
        sodium_bin2base64(forged, sizeof forged, (const unsigned char *)texts[i],
                          strlen(texts[i]), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        assert_int_equal(search_cursor_parse(&q, forged, &back, &err), ERR_INVALID);
        assert_string_equal(err.reason, "invalid_format");
    }
    const char *garbage[] = {"!!!", "12345", "dS4w=", "a b", NULL};
    for (int i = 0; garbage[i]; i++) {
        assert_int_equal(search_cursor_parse(&q, garbage[i], &back, &err), ERR_INVALID);
        assert_string_equal(err.reason, "invalid_format");
    }
}

/* The triggers keep the FTS5 tables in step, and no input makes an FTS5 syntax error. */
static void test_search_sqlite(void **state)
{
    char dir[] = "/tmp/sh-unit-XXXXXX";
    scratch_dir_make(dir);
    char url[128], err[256];
    snprintf(url, sizeof url, "sqlite:%s/t.db", dir);
    db *d;
    assert_int_equal(db_open(url, &d, err, sizeof err), 0);
    assert_true(store_migrate(d, err, sizeof err) > 0);
    assert_int_equal(
        db_exec(d, "INSERT INTO users (id, handle, handle_norm, display_name, created_at, "
                   "updated_at) VALUES (1, 'Ana_B', 'ana_b', 'Ana Bê', 0, 0);"
                   "INSERT INTO posts (id, author_id, type, caption, visibility, created_at, "
                   "updated_at) VALUES (10, 1, 'text', 'Sunset in Lisboa', 'public', 0, 0),"
                   "(11, 1, 'text', 'sunrise', 'public', 0, 0);"),
        0);
    store_user users[4];
    store_post posts[4];
    store_search_key keys[4];
    search_query q;
    domain_error aerr = {0};
    const char *nasty[] = {"\"",     "*",     "(",        ")",    "NEAR", "NEAR(a b)",
                           "a OR b", "-sun",  "caption:sun", "sun*", "^sun", "'",
                           "\\",     "a AND", "NOT",      "{caption}: x", "\"sun", "😀",
                           "😀 sun",   "。",    "@",        "@ana", "..",   NULL};
    for (int i = 0; nasty[i]; i++) {
        for (int t = 0; t < 2; t++) {
            assert_int_equal(search_parse(nasty[i], t ? "posts" : "users", &q, &aerr), 0);
            store_search_query sq = {q.handle_prefix, q.fts5, q.tsquery};
            int n = t ? store_search_posts(d, &sq, 0, NULL, posts, keys, 4)
                      : store_search_users(d, &sq, 0, NULL, users, keys, 4);
            assert_true(n >= 0);
        }
    }
    assert_int_equal(search_parse("lisbo", "posts", &q, &aerr), 0);
    store_search_query sq = {q.handle_prefix, q.fts5, q.tsquery};
    assert_int_equal(store_search_posts(d, &sq, 0, NULL, posts, keys, 4), 1);
    assert_int_equal(posts[0].id, 10);
    /* an edited caption is found by its new words only; a deleted post not at all */
    assert_int_equal(db_exec(d, "UPDATE posts SET caption = 'Porto' WHERE id = 10"), 0);
    assert_int_equal(store_search_posts(d, &sq, 0, NULL, posts, keys, 4), 0);
    assert_int_equal(search_parse("porto", "posts", &q, &aerr), 0);
    sq = (store_search_query){q.handle_prefix, q.fts5, q.tsquery};
    assert_int_equal(store_search_posts(d, &sq, 0, NULL, posts, keys, 4), 1);
    assert_int_equal(db_exec(d, "UPDATE posts SET deleted_at = 5 WHERE id = 10"), 0);
    assert_int_equal(store_search_posts(d, &sq, 0, NULL, posts, keys, 4), 0);
    assert_int_equal(db_exec(d, "DELETE FROM posts"), 0);
    /* users: accents fold, the handle prefix ranks first */
    assert_int_equal(search_parse("ana", "users", &q, &aerr), 0);
    sq = (store_search_query){q.handle_prefix, q.fts5, q.tsquery};
    assert_int_equal(store_search_users(d, &sq, 0, NULL, users, keys, 4), 1);
    assert_int_equal(keys[0].bucket, 1);
    assert_int_equal(search_parse("be", "users", &q, &aerr), 0);
    sq = (store_search_query){q.handle_prefix, q.fts5, q.tsquery};
    assert_int_equal(store_search_users(d, &sq, 0, NULL, users, keys, 4), 1);
    assert_int_equal(keys[0].bucket, 2);
    assert_int_equal(db_exec(d, "UPDATE users SET display_name = 'Ana' WHERE id = 1"), 0);
    assert_int_equal(store_search_users(d, &sq, 0, NULL, users, keys, 4), 0);
    assert_int_equal(db_exec(d, "INSERT INTO users_fts (users_fts) VALUES ('integrity-check')"),
                     0);
    db_close(d);
    scratch_dir_remove(dir);
}

static const char *fold(const char *in)
{
    static char out[256];
    assert_true(strlen(in) < sizeof out);
    textfold_search(in, strlen(in), out);
    return out;
}

static size_t utf8_put(unsigned long cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Next code point of a valid UTF-8 string; advances *s. */
static unsigned long utf8_take(const char **s)
{
    const unsigned char *p = (const unsigned char *)*s;
    unsigned long cp;
    int more = p[0] < 0x80 ? 0 : p[0] < 0xE0 ? 1 : p[0] < 0xF0 ? 2 : 3;
    cp = more ? p[0] & (0x3F >> more) : p[0];
    for (int i = 1; i <= more; i++)
        cp = (cp << 6) | (p[i] & 0x3F);
    *s += more + 1;
    return cp;
}

/* What PostgreSQL's translate(text, TEXTFOLD_FROM, TEXTFOLD_TO) does to one code point. */
static long translate_code_point(unsigned long cp)
{
    const char *from = TEXTFOLD_FROM, *to = TEXTFOLD_TO;
    while (*from) {
        unsigned long f = utf8_take(&from);
        unsigned long t = *to ? utf8_take(&to) : 0;
        if (f == cp)
            return t ? (long)t : -1;
    }
    return (long)cp;
}

/* The folding people expect of Arabic search, and the table PostgreSQL indexes with (the same
 * characters through translate()) agreeing with the C code on every code point. */
static void test_textfold(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"مدرسة", "مدرسه"},                       /* teh marbuta -> heh */
        {"أحمد", "احمد"},                         /* alef with hamza above */
        {"إسلام", "اسلام"},                       /* alef with hamza below */
        {"آمال", "امال"},                         /* alef with madda */
        {"ٱلله", "الله"},                         /* alef wasla */
        {"على", "علي"},                           /* alef maqsura -> yeh */
        {"مُحَمَّد", "محمد"},                         /* damma, fatha, shadda */
        {"جمـــيل", "جميل"},                      /* tatweel */
        {"سَلَامٌ عَلَيْكُمْ", "سلام عليكم"},             /* tanween, sukun */
        {"ٱلرَّحْمَٰنِ", "الرحمن"},                     /* superscript alef */
        {"ذَٰلِكَ لَا رَيْبَ ۛ فِيهِ ۛ", "ذلك لا ريب  فيه "}, /* Quranic marks */
        {"ا\u0654", "ا"},                   /* a decomposed hamza folds like the composed one */
        {"٢٠٢٤ ۱۴۰۳", "2024 1403"},         /* Arabic-Indic and Eastern Arabic-Indic digits */
        {"مؤمن رئيس", "مؤمن رئيس"},         /* hamza on waw and yeh is kept */
        {"Café ☕ #cairo", "Café ☕ #cairo"}, /* other scripts pass untouched */
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(fold(cases[i].in), cases[i].out);
    /* Idempotent, so folding a query twice or an already folded text changes nothing. */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(fold(cases[i].out), cases[i].out);
    /* Malformed bytes pass as they are and nothing is read past the length given. */
    assert_int_equal(memcmp(fold("\xD9"), "\xD9", 2), 0);
    assert_int_equal(memcmp(fold("\xD9\xD9\x8E"), "\xD9", 2), 0); /* lead byte, then a fatha */
    assert_int_equal(memcmp(fold("\x8E\xD8"), "\x8E\xD8", 3), 0);
    char half[8] = "\xD9\x8E"
                   "ab";
    assert_int_equal(textfold_search(half, 1, half), 1); /* half a fatha is not a fatha */
    assert_int_equal((unsigned char)half[0], 0xD9);
    /* In place, never longer. */
    char text[64] = "مُحَمَّد ١٢";
    size_t len = strlen(text), n = textfold_search(text, len, text);
    assert_true(n <= len);
    assert_string_equal(text, "محمد 12");
    /* The C code and the translate() table agree on every code point. */
    for (unsigned long cp = 1; cp < 0x110000; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        long c = textfold_code_point(cp), t = translate_code_point(cp);
        if (c != t)
            fail_msg("U+%04lX: C folds to %ld, the SQL table to %ld", cp, c, t);
        char one[5] = {0}, folded[5], want[5] = {0};
        size_t k = utf8_put(cp, one);
        if (c >= 0)
            utf8_put((unsigned long)c, want);
        textfold_search(one, k, folded);
        assert_string_equal(folded, want);
    }
}

/* Queries fold as the index does: every typed variant is the same query, cursor included. */
static void test_search_parse_arabic(void **state)
{
    search_query a, b;
    domain_error err = {0};
    static const char *pairs[][2] = {
        {"مدرسة", "مدرسه"}, {"أحمد", "احمد"},    {"مُحَمَّد", "محمد"},
        {"على", "علي"},     {"جمـــيل", "جميل"}, {"أحمد مُحَمَّد ٢٠٢٤", "احمد محمد 2024"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        for (int t = 0; t < 2; t++) {
            const char *type = t ? "posts" : "users";
            assert_int_equal(search_parse(pairs[i][0], type, &a, &err), 0);
            assert_int_equal(search_parse(pairs[i][1], type, &b, &err), 0);
            assert_string_equal(a.fts5, b.fts5);
            assert_string_equal(a.tsquery, b.tsquery);
            assert_int_equal(a.fingerprint, b.fingerprint);
        }
    }
    /* harakat no longer split a word in two */
    assert_int_equal(search_parse("مُحَمَّد", "posts", &a, &err), 0);
    assert_int_equal(a.n_words, 1);
    assert_string_equal(a.fts5, "\"محمد\"*");
    assert_string_equal(a.tsquery, "'محمد':*");
    /* only marks: no words, nothing found, not an error */
    assert_int_equal(search_parse("\u064E\u0651", "posts", &a, &err), 0);
    assert_int_equal(a.n_words, 0);
    /* hashtag prefixes fold too */
    assert_int_equal(search_parse("#مدرسة", "hashtags", &a, &err), 0);
    assert_string_equal(a.hashtag_prefix, "مدرسه");
    /* the 100-character limit counts what was typed, marks included */
    char text[SEARCH_Q_MAX_CHARS * 4 + 8] = "";
    for (int i = 0; i < SEARCH_Q_MAX_CHARS / 2 + 1; i++)
        strcat(text, "مَ");
    assert_int_equal(search_parse(text, NULL, &a, &err), ERR_INVALID);
}

/* Runs the migrations up to the one before search folding, fills the tables the old way, then
 * migrates: existing rows must be found by folded queries, and the triggers must keep folding. */
static int search_count(db *d, const char *q, const char *type)
{
    search_query sq;
    domain_error err = {0};
    assert_int_equal(search_parse(q, type, &sq, &err), 0);
    store_search_query s = {sq.handle_prefix, sq.fts5, sq.tsquery};
    store_user users[4];
    store_post posts[4];
    store_hashtag tags[4];
    store_search_key keys[4];
    if (!strcmp(type, "users"))
        return store_search_users(d, &s, 0, NULL, users, keys, 4);
    if (!strcmp(type, "posts"))
        return store_search_posts(d, &s, 0, NULL, posts, keys, 4);
    return store_search_hashtags(d, sq.hashtag_prefix, NULL, tags, keys, 4);
}

/* Rows of table whose search index holds word, asked of the index itself (FTS5 or tsvector). */
static int64_t raw_match_count(db *d, const char *table, const char *word)
{
    char sql[160];
    if (db_kind_of(d) == DB_SQLITE)
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s_fts WHERE %s_fts MATCH ?", table,
                 table);
    else
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM %s WHERE search_tsv @@ to_tsquery('simple', ?)", table);
    char quoted[64];
    snprintf(quoted, sizeof quoted, db_kind_of(d) == DB_SQLITE ? "\"%s\"" : "%s", word);
    db_stmt *s = db_prepare(d, sql);
    assert_non_null(s);
    db_bind_text(s, 1, quoted);
    int64_t n = -1;
    assert_int_equal(db_query_int64(s, &n), 0);
    return n;
}

static void test_search_fold_migration(void **state)
{
    /* STREAMHUB_SEARCH_TEST_DB names an empty PostgreSQL database to run this on instead. */
    char dir[] = "/tmp/sh-unit-XXXXXX", err[256];
    db *d = testdb_open("STREAMHUB_SEARCH_TEST_DB", dir, 22);
    assert_int_equal(store_applied_version(d), 22); /* public_count (22) is there, folding (23) not */
    assert_int_equal(
        db_exec(d, "INSERT INTO users (id, handle, handle_norm, display_name, bio, created_at, "
                   "updated_at) VALUES (1, 'ahmed', 'ahmed', 'أحمد مُحَمَّد', 'مدرسة', 0, 0);"
                   "INSERT INTO posts (id, author_id, type, caption, visibility, created_at, "
                   "updated_at) VALUES (10, 1, 'text', 'جمـــيل على #مدرسة', 'public', 0, 0),"
                   "(11, 1, 'text', 'مُحَمَّد', 'public', 0, 5);"
                   "INSERT INTO hashtags (id, tag, post_count, public_count, created_at) "
                   "VALUES (20, 'مدرسة', 1, 1, 0);"),
        0);
    /* before: harakat split words and the spellings differ. Asked of the index directly: the
     * store's queries read columns that later migrations add. */
    assert_int_equal(raw_match_count(d, "users", "محمد"), 0);
    assert_int_equal(raw_match_count(d, "posts", "جميل"), 0);
    assert_true(store_migrate(d, err, sizeof err) > 0);
    assert_int_equal(store_applied_version(d), store_schema_version());
    /* after: the existing rows, by every spelling */
    assert_int_equal(search_count(d, "احمد محمد", "users"), 1);
    assert_int_equal(search_count(d, "أحمد مُحَمَّد", "users"), 1);
    assert_int_equal(search_count(d, "مدرسه", "users"), 1); /* the bio */
    assert_int_equal(search_count(d, "جميل علي", "posts"), 1);
    assert_int_equal(search_count(d, "جمـيل عَلى", "posts"), 1);
    assert_int_equal(search_count(d, "محمد", "posts"), 1);
    assert_int_equal(search_count(d, "#مدرسه", "hashtags"), 1);
    assert_int_equal(search_count(d, "مدر", "hashtags"), 1);
    /* the triggers fold new text, drop the old words, and leave deleted posts out */
    assert_int_equal(db_exec(d, "UPDATE users SET display_name = 'مُنى' WHERE id = 1;"
                                "UPDATE posts SET caption = 'إسلام' WHERE id = 10;"
                                "UPDATE posts SET deleted_at = 1 WHERE id = 11;"
                                "INSERT INTO posts (id, author_id, type, caption, visibility, "
                                "created_at, updated_at) VALUES (12, 1, 'text', 'آمال', "
                                "'public', 0, 0);"),
                     0);
    assert_int_equal(search_count(d, "مني", "users"), 1);
    assert_int_equal(search_count(d, "محمد", "users"), 0);
    assert_int_equal(search_count(d, "اسلام", "posts"), 1);
    assert_int_equal(search_count(d, "جميل", "posts"), 0);
    assert_int_equal(search_count(d, "محمد", "posts"), 0);
    assert_int_equal(search_count(d, "امال", "posts"), 1);
    /* The database's search_fold (C on SQLite, SQL on PostgreSQL) is the C folding, for the whole
     * Arabic block and for text with only letters to map, only marks to drop, or neither. */
    char block[0x100 * 2 + 1] = "", *w = block;
    for (unsigned long cp = 0x0600; cp <= 0x06FF; cp++)
        w += utf8_put(cp, w);
    *w = '\0';
    const char *samples[] = {block, "أحمد ٣", "مُحَمَّد", "sunset ☕", "", NULL};
    for (int i = 0; samples[i]; i++) {
        db_stmt *st = db_prepare(d, "SELECT search_fold(?)");
        assert_non_null(st);
        db_bind_text(st, 1, samples[i]);
        assert_int_equal(db_step(st), DB_ROW);
        char want[sizeof block];
        textfold_search(samples[i], strlen(samples[i]), want);
        assert_string_equal(db_col_text(st, 0), want);
        db_reset(st);
    }
    if (db_kind_of(d) == DB_SQLITE) {
        /* the index matches its content views exactly */
        assert_int_equal(db_exec(d, "INSERT INTO users_fts (users_fts, rank) "
                                    "VALUES ('integrity-check', 1)"),
                         0);
        assert_int_equal(db_exec(d, "INSERT INTO posts_fts (posts_fts, rank) "
                                    "VALUES ('integrity-check', 1)"),
                         0);
    }
    assert_int_equal(db_exec(d, "DELETE FROM posts; DELETE FROM hashtags; DELETE FROM users"), 0);
    assert_int_equal(search_count(d, "امال", "posts"), 0);
    assert_int_equal(search_count(d, "مني", "users"), 0);
    testdb_close(d, dir);
}

/* Signed media URLs: valid until their expiry, for exactly their path, with the key they were
 * made with. */
static void test_media_signatures(void **state)
{
    unsigned char key[32] = {1, 2, 3};
    media_set_url_key(key);
    char url[512];
    media_signed_url(5, "hls/240p/seg000.ts", 1000, url, sizeof url);
    static const char prefix[] = "/api/v1/media/5/hls/240p/seg000.ts?exp=1000&sig=";
    assert_int_equal(strncmp(url, prefix, sizeof prefix - 1), 0);
    assert_int_equal(strlen(url), sizeof prefix - 1 + 32);
    const char *sig = strstr(url, "sig=") + 4;
    const char *path = "/api/v1/media/5/hls/240p/seg000.ts";
    assert_true(media_url_valid(path, "1000", sig, 999));
    assert_true(media_url_valid(path, "1000", sig, 1000));
    assert_false(media_url_valid(path, "1000", sig, 1001));              /* expired */
    assert_false(media_url_valid(path, "2000", sig, 999));               /* exp changed */
    assert_false(media_url_valid("/api/v1/media/5/hls/240p/seg001.ts", "1000", sig, 999));
    assert_false(media_url_valid(path, "1000", "00000000000000000000000000000000", 999));
    assert_false(media_url_valid(path, "1000", "short", 999));
    assert_false(media_url_valid(path, "10x0", sig, 999));
    key[0] = 9; /* another server secret: old links stop working */
    media_set_url_key(key);
    assert_false(media_url_valid(path, "1000", sig, 999));
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        /* one test a line: parallel branches add tests without touching each other's lines */
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_json_validation),
        cmocka_unit_test(test_ratelimit),
        cmocka_unit_test(test_ratelimit_eviction_flood),
        cmocka_unit_test(test_ratelimit_eviction_aimed),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_validate_name),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_migrations),
        cmocka_unit_test(test_search_parse),
        cmocka_unit_test(test_search_cursor),
        cmocka_unit_test(test_search_sqlite),
        cmocka_unit_test(test_media_signatures),
        cmocka_unit_test(test_textfold),
        cmocka_unit_test(test_search_parse_arabic),
        cmocka_unit_test(test_search_fold_migration),
    };
    /* On PostgreSQL (tests/run-all.sh) only the test that uses the database runs. */
    const char *pg = getenv("STREAMHUB_SEARCH_TEST_DB");
    if (pg && *pg) {
        const struct CMUnitTest pg_tests[] = {cmocka_unit_test(test_search_fold_migration)};
        return cmocka_run_group_tests(pg_tests, NULL, NULL);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
