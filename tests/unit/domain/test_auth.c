/* SPDX-License-Identifier: MIT
 *
 * The account rules reachable without HTTP, on an in-memory database with an auth service built
 * in the test (cheap argon2id parameters): the field rules at their exact bounds, password
 * hashing, registration conflicts, login by email or handle, refresh-token rotation and reuse
 * detection (a rotated token coming back ends the session), logout, and the attempt limits (one
 * budget per account whichever identifier is typed, one per client address).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h needs the headers above; the blank line keeps clang-format from sorting it first */
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"

#include "core/util.h"
#include "domain/auth.h"
#include "domain/tokens.h"
#include "domain/validate.h"

/* argon2id's smallest parameters: the rules, not the cost, are under test */
#define OPS 1
#define MEM_KIB 8

static auth_service *service(int64_t rate_per_minute)
{
    auth_settings s = {.secret = "unit-test secret, long enough to be a secret",
                       .access_ttl_s = 900,
                       .refresh_ttl_s = 3600,
                       .code_ttl_s = 600,
                       .pw_opslimit = OPS,
                       .pw_memlimit_kib = MEM_KIB,
                       .rate_per_minute = rate_per_minute};
    return auth_new(&s);
}

static const auth_client client = {.ip = "192.0.2.1", .user_agent = "unit"};

static void reg(auth_service *a, const char *email, const char *handle, auth_result *out)
{
    domain_error err = {0};
    assert_int_equal(
        auth_register(a, fx_db, email, handle, "correct horse", NULL, &client, out, &err), 0);
}

static int login(auth_service *a, const char *ip, const char *id, const char *pw, auth_result *out,
                 domain_error *err)
{
    auth_client c = {.ip = ip, .user_agent = "unit"};
    memset(err, 0, sizeof *err);
    return auth_login(a, fx_db, id, pw, &c, out, err);
}

static int bearer(auth_service *a, const char *token, auth_principal *p, domain_error *err)
{
    char header[ACCESS_TOKEN_MAX + 8];
    snprintf(header, sizeof header, "Bearer %s", token);
    memset(err, 0, sizeof *err);
    return auth_authenticate(a, fx_db, header, p, err);
}

static void test_field_bounds(void **state)
{
    (void)state;
    char s[600];
    /* handle: 3..30 */
    memset(s, 'h', sizeof s);
    s[VALIDATE_HANDLE_MIN - 1] = '\0';
    assert_string_equal(validate_handle(s), "too_short");
    s[VALIDATE_HANDLE_MIN - 1] = 'h';
    s[VALIDATE_HANDLE_MIN] = '\0';
    assert_null(validate_handle(s));
    memset(s, 'h', sizeof s);
    s[VALIDATE_HANDLE_MAX] = '\0';
    assert_null(validate_handle(s));
    s[VALIDATE_HANDLE_MAX] = 'h';
    s[VALIDATE_HANDLE_MAX + 1] = '\0';
    assert_string_equal(validate_handle(s), "too_long");
    assert_string_equal(validate_handle("ab-c"), "invalid_characters");
    assert_string_equal(validate_handle("12345"), "invalid_format");
    assert_null(validate_handle("1234a"));

    /* email: at most 254, a local part of at most 64 */
    memset(s, 'e', sizeof s);
    memcpy(s + 64, "@", 1);
    s[VALIDATE_EMAIL_MAX] = '\0';
    for (int i = 64 + 63; i < VALIDATE_EMAIL_MAX - 1; i += 64)
        s[i] = '.'; /* labels of 63 */
    s[VALIDATE_EMAIL_MAX - 3] = '.';
    assert_null(validate_email(s));
    s[VALIDATE_EMAIL_MAX] = 'e';
    s[VALIDATE_EMAIL_MAX + 1] = '\0';
    assert_non_null(validate_email(s));
    char local[80];
    memset(local, 'l', 65);
    strcpy(local + 65, "@x.org");
    assert_non_null(validate_email(local));
    strcpy(local + 64, "@x.org");
    assert_null(validate_email(local));

    /* phone: + then 8..15 digits */
    assert_null(validate_phone("+12345678"));
    assert_non_null(validate_phone("+1234567"));
    assert_null(validate_phone("+123456789012345"));
    assert_non_null(validate_phone("+1234567890123456"));
    assert_non_null(validate_phone("+1234567a9"));

    /* password: 8..128 characters, not only whitespace */
    memset(s, 'p', sizeof s);
    s[VALIDATE_PASSWORD_MAX] = '\0';
    assert_null(validate_password(s));
    s[VALIDATE_PASSWORD_MAX] = 'p';
    s[VALIDATE_PASSWORD_MAX + 1] = '\0';
    assert_string_equal(validate_password(s), "too_long");
    assert_string_equal(validate_password("\t \n \t \n "), "invalid_format");

    /* display name: up to 64 characters, may be empty, stored trimmed */
    char out[300];
    assert_null(validate_display_name("", out, sizeof out));
    assert_null(validate_display_name("  Ana  ", out, sizeof out));
    assert_string_equal(out, "Ana");
    memset(s, 'd', sizeof s);
    s[VALIDATE_DISPLAY_NAME_MAX] = '\0';
    assert_null(validate_display_name(s, out, sizeof out));
    s[VALIDATE_DISPLAY_NAME_MAX] = 'd';
    s[VALIDATE_DISPLAY_NAME_MAX + 1] = '\0';
    assert_string_equal(validate_display_name(s, out, sizeof out), "too_long");
    assert_string_equal(validate_display_name("a\xe2\x80\x8b", out, sizeof out), /* ZWSP */
                        "invalid_characters");

    /* the bounds an error states are the ones enforced */
    int64_t min, max;
    assert_true(validate_bounds("handle", &min, &max));
    assert_int_equal(min, VALIDATE_HANDLE_MIN);
    assert_int_equal(max, VALIDATE_HANDLE_MAX);
    assert_true(validate_bounds("new_password", &min, &max));
    assert_int_equal(max, VALIDATE_PASSWORD_MAX);
    assert_true(validate_bounds("email", &min, &max));
    assert_int_equal(min, -1);
    assert_false(validate_bounds("bio", &min, &max));
}

static void test_password_hashing(void **state)
{
    (void)state;
    char h1[PW_HASH_MAX], h2[PW_HASH_MAX];
    assert_int_equal(password_hash("correct horse", OPS, MEM_KIB, h1), 0);
    assert_int_equal(password_hash("correct horse", OPS, MEM_KIB, h2), 0);
    assert_string_not_equal(h1, h2); /* salted */
    assert_non_null(strstr(h1, "$argon2id$"));
    assert_true(password_verify(h1, "correct horse"));
    assert_true(password_verify(h2, "correct horse"));
    assert_false(password_verify(h1, "correct horse "));
    assert_false(password_verify(h1, ""));
    assert_false(password_verify("", "correct horse")); /* passwordless account */
    assert_false(password_verify(NULL, "correct horse"));
    assert_false(password_needs_rehash(h1, OPS, MEM_KIB));
    assert_true(password_needs_rehash(h1, OPS + 1, MEM_KIB));
    assert_true(password_needs_rehash(h1, OPS, MEM_KIB * 2));
}

static void test_register_and_login(void **state)
{
    (void)state;
    auth_service *a = service(0);
    auth_result r;
    domain_error err = {0};
    reg(a, "Ana@Example.org", "Ana_B", &r);
    assert_true(r.created);
    assert_true(r.session_id != 0);
    assert_string_equal(r.user.role, "user");
    assert_string_not_equal(r.user.password_hash, "correct horse");

    /* conflicts ignore case; invalid fields name the field; nothing is created */
    static const struct {
        const char *email, *handle, *password, *code, *field;
        int rc;
    } bad[] = {
        {"other@example.org", "ANA_b", "correct horse", "handle_taken", NULL, ERR_CONFLICT},
        {"ANA@example.ORG", "someone", "correct horse", "email_taken", NULL, ERR_CONFLICT},
        {"not-an-email", "someone", "correct horse", NULL, "email", ERR_INVALID},
        {"x@example.org", "ab", "correct horse", NULL, "handle", ERR_INVALID},
        {"x@example.org", "admin", "correct horse", NULL, "handle", ERR_INVALID},
        {"x@example.org", "someone", "short", NULL, "password", ERR_INVALID},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        auth_result out;
        assert_int_equal(auth_register(a, fx_db, bad[i].email, bad[i].handle, bad[i].password, NULL,
                                       &client, &out, &err),
                         bad[i].rc);
        if (bad[i].code)
            assert_string_equal(err.code, bad[i].code);
        if (bad[i].field)
            assert_string_equal(err.field, bad[i].field);
    }
    assert_int_equal(store_user_count(fx_db), 1);

    /* login by email or handle, any case */
    auth_result l;
    assert_int_equal(login(a, "192.0.2.2", "ana@example.org", "correct horse", &l, &err), 0);
    assert_int_equal(l.user.id, r.user.id);
    assert_true(l.session_id != r.session_id);
    assert_int_equal(login(a, "192.0.2.2", "ANA_B", "correct horse", &l, &err), 0);
    assert_int_equal(l.user.id, r.user.id);
    /* a wrong password and an unknown account answer alike */
    assert_int_equal(login(a, "192.0.2.2", "ana_b", "wrong horse", &l, &err), ERR_UNAUTHORIZED);
    assert_string_equal(err.code, "invalid_credentials");
    assert_int_equal(login(a, "192.0.2.2", "nobody", "correct horse", &l, &err), ERR_UNAUTHORIZED);
    assert_string_equal(err.code, "invalid_credentials");

    /* the access token loads the user while its session lives */
    auth_principal p;
    assert_int_equal(bearer(a, l.access_token, &p, &err), 0);
    assert_int_equal(p.user.id, r.user.id);
    assert_int_equal(p.session_id, l.session_id);
    char forged[ACCESS_TOKEN_MAX];
    snprintf(forged, sizeof forged, "%s", l.access_token);
    forged[strlen(forged) - 2] ^= 1;
    assert_int_equal(bearer(a, forged, &p, &err), ERR_UNAUTHORIZED);
    assert_string_equal(err.code, "invalid_token");
    memset(&err, 0, sizeof err);
    assert_int_equal(auth_authenticate(a, fx_db, l.access_token, &p, &err), ERR_UNAUTHORIZED);
    auth_free(a);
}

static void test_refresh_rotation(void **state)
{
    (void)state;
    auth_service *a = service(0);
    auth_result r, r2, r3, other;
    domain_error err = {0};
    reg(a, "rot@example.org", "rotator", &r);
    assert_int_equal(login(a, "192.0.2.3", "rotator", "correct horse", &other, &err), 0);

    /* each refresh gives a new token for the same session */
    assert_int_equal(auth_refresh(a, fx_db, r.refresh_token, &client, &r2, &err), 0);
    assert_int_equal(r2.session_id, r.session_id);
    assert_string_not_equal(r2.refresh_token, r.refresh_token);
    auth_principal p;
    assert_int_equal(bearer(a, r2.access_token, &p, &err), 0);

    memset(&err, 0, sizeof err);
    assert_int_equal(auth_refresh(a, fx_db, "not-a-token", &client, &r3, &err), ERR_UNAUTHORIZED);
    assert_string_equal(err.code, "invalid_refresh_token");

    /* the rotated token comes back: someone holds a copy, the whole session ends */
    memset(&err, 0, sizeof err);
    assert_int_equal(auth_refresh(a, fx_db, r.refresh_token, &client, &r3, &err), ERR_UNAUTHORIZED);
    assert_string_equal(err.code, "refresh_token_reused");
    memset(&err, 0, sizeof err);
    assert_int_equal(auth_refresh(a, fx_db, r2.refresh_token, &client, &r3, &err),
                     ERR_UNAUTHORIZED);
    assert_string_equal(err.code, "session_revoked");
    assert_int_equal(bearer(a, r2.access_token, &p, &err), ERR_UNAUTHORIZED);
    assert_string_equal(err.code, "session_revoked");
    /* the account's other session is untouched */
    assert_int_equal(bearer(a, other.access_token, &p, &err), 0);
    assert_int_equal(auth_refresh(a, fx_db, other.refresh_token, &client, &r3, &err), 0);

    /* logout ends the session and its refresh tokens */
    assert_int_equal(bearer(a, r3.access_token, &p, &err), 0);
    assert_int_equal(auth_logout(a, fx_db, &p), 0);
    assert_int_equal(bearer(a, r3.access_token, &p, &err), ERR_UNAUTHORIZED);
    memset(&err, 0, sizeof err);
    assert_int_equal(auth_refresh(a, fx_db, r3.refresh_token, &client, &r2, &err),
                     ERR_UNAUTHORIZED);
    assert_string_equal(err.code, "session_revoked");
    auth_free(a);
}

/* rate_per_minute 3: a burst of 3, then one more every 20 s, far longer than this test. */
static void test_rate_limit_keys(void **state)
{
    (void)state;
    auth_service *a = service(3);
    auth_result r;
    domain_error err = {0};
    reg(a, "lim@example.org", "limited", &r);
    reg(a, "free@example.org", "unlimited", &r);

    /* one budget per account whichever identifier is typed (each try from its own address) */
    assert_int_equal(login(a, "198.51.100.1", "limited", "wrong horse", &r, &err),
                     ERR_UNAUTHORIZED);
    assert_int_equal(login(a, "198.51.100.2", "LIM@example.org", "wrong horse", &r, &err),
                     ERR_UNAUTHORIZED);
    assert_int_equal(login(a, "198.51.100.3", "Limited", "wrong horse", &r, &err),
                     ERR_UNAUTHORIZED);
    assert_int_equal(login(a, "198.51.100.4", "lim@example.org", "correct horse", &r, &err),
                     ERR_RATE_LIMITED);
    assert_string_equal(err.code, "rate_limited");
    assert_true(err.retry_after > 0);
    /* another account is not affected */
    assert_int_equal(login(a, "198.51.100.5", "unlimited", "correct horse", &r, &err), 0);
    /* an unknown login has a budget of its own, by its text */
    for (int i = 0; i < 3; i++) {
        char ip[32];
        snprintf(ip, sizeof ip, "198.51.100.%d", 10 + i);
        assert_int_equal(login(a, ip, "ghost", "x", &r, &err), ERR_UNAUTHORIZED);
    }
    assert_int_equal(login(a, "198.51.100.20", "GHOST", "x", &r, &err), ERR_RATE_LIMITED);
    assert_int_equal(login(a, "198.51.100.21", "ghost2", "x", &r, &err), ERR_UNAUTHORIZED);

    /* one budget per client address, across accounts */
    assert_int_equal(login(a, "203.0.113.9", "unlimited", "correct horse", &r, &err), 0);
    assert_int_equal(login(a, "203.0.113.9", "nobody1", "x", &r, &err), ERR_UNAUTHORIZED);
    assert_int_equal(login(a, "203.0.113.9", "nobody2", "x", &r, &err), ERR_UNAUTHORIZED);
    assert_int_equal(login(a, "203.0.113.9", "nobody3", "x", &r, &err), ERR_RATE_LIMITED);
    /* actions are budgeted apart: registering from that address still works */
    auth_client c = {.ip = "203.0.113.9", .user_agent = "unit"};
    memset(&err, 0, sizeof err);
    assert_int_equal(
        auth_register(a, fx_db, "new@example.org", "newcomer", "correct horse", NULL, &c, &r, &err),
        0);
    auth_free(a);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_field_bounds),
        cmocka_unit_test(test_password_hashing),
        cmocka_unit_test_setup_teardown(test_register_and_login, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_refresh_rotation, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit_keys, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
