/* SPDX-License-Identifier: MIT
 *
 * Request framing (src/http/framing.c): the smuggling shapes (Content-Length with
 * Transfer-Encoding, conflicting lengths), codings other than chunked, Host rules and %00.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "http/framing.h"

/* headers: "Key", "value", ... NULL */
static int verdict(const char *version, const char *target, const char **code, ...)
{
    http_framing f = {0};
    http_framing_target(&f, target);
    va_list ap;
    va_start(ap, code);
    for (const char *k; (k = va_arg(ap, const char *));)
        http_framing_header(&f, k, va_arg(ap, const char *));
    va_end(ap);
    const char *message;
    return http_framing_verdict(&f, version, code, &message);
}

static void test_plain_requests_pass(void **state)
{
    const char *code;
    assert_int_equal(verdict("HTTP/1.1", "/health", &code, "Host", "x", NULL), 0);
    assert_null(code);
    assert_int_equal(verdict("HTTP/1.1", "/a", &code, "Host", "x", "Content-Length", "5", NULL), 0);
    assert_int_equal(
        verdict("HTTP/1.1", "/a", &code, "host", "x", "transfer-encoding", " Chunked ", NULL), 0);
    assert_int_equal(verdict("HTTP/1.1", "/a", &code, "Host", "x", "Content-Length", "5",
                             "Content-Length", "5", NULL),
                     0);
    assert_int_equal(verdict("HTTP/1.0", "/a", &code, NULL), 0); /* 1.0 needs no Host */
    assert_int_equal(verdict("HTTP/1.1", "/a?x=%2500", &code, "Host", "x", NULL), 0);
}

static void test_smuggling_shapes(void **state)
{
    const char *code;
    assert_int_equal(verdict("HTTP/1.1", "/a", &code, "Host", "x", "Content-Length", "5",
                             "Transfer-Encoding", "chunked", NULL),
                     400);
    assert_string_equal(code, "bad_framing");
    assert_int_equal(verdict("HTTP/1.1", "/a", &code, "Host", "x", "Transfer-Encoding", "chunked",
                             "Content-Length", "0", NULL),
                     400);
    assert_int_equal(
        verdict("HTTP/1.0", "/a", &code, "Content-Length", "0", "Content-Length", "44", NULL), 400);
    assert_string_equal(code, "bad_framing");
    assert_int_equal(verdict("HTTP/1.1", "/a", &code, "Host", "x", "Content-Length", "5",
                             "Content-Length", "05", NULL),
                     400);
}

static void test_codings(void **state)
{
    const char *code;
    const char *bad[] = {"gzip", "gzip, chunked", "chunked, identity", "chunked;x", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(
            verdict("HTTP/1.1", "/a", &code, "Host", "x", "Transfer-Encoding", bad[i], NULL), 501);
        assert_string_equal(code, "unsupported_transfer_encoding");
    }
    assert_int_equal(verdict("HTTP/1.1", "/a", &code, "Host", "x", "Transfer-Encoding", "chunked",
                             "Transfer-Encoding", "chunked", NULL),
                     501);
}

static void test_host_and_nul(void **state)
{
    const char *code;
    assert_int_equal(verdict("HTTP/1.1", "/a", &code, NULL), 400);
    assert_string_equal(code, "bad_request");
    assert_int_equal(verdict("HTTP/1.1", "/a", &code, "Host", "a", "Host", "b", NULL), 400);
    assert_int_equal(verdict("HTTP/1.1", "/a%00b", &code, "Host", "x", NULL), 400);
    assert_int_equal(verdict("HTTP/1.0", "/a?q=%00", &code, NULL), 400);
    assert_string_equal(code, "bad_request");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_requests_pass),
        cmocka_unit_test(test_smuggling_shapes),
        cmocka_unit_test(test_codings),
        cmocka_unit_test(test_host_and_nul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
