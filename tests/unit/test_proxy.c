/* SPDX-License-Identifier: MIT
 *
 * Trusted proxies (src/http/proxy.c): the CIDR parser (IPv4, IPv6, prefixes, host bits, junk)
 * and the X-Forwarded-For walk from the right that picks the client's address.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>
#include <sys/socket.h>

#include "core/util.h"
#include "http/proxy.h"

static int parse(const char *text, http_cidr *out)
{
    return http_cidr_parse(text, strlen(text), out);
}

static void test_cidr_valid(void **state)
{
    http_cidr c;
    assert_int_equal(parse("10.0.0.0/8", &c), 0);
    assert_int_equal(c.family, AF_INET);
    assert_int_equal(c.prefix, 8);
    assert_int_equal(c.addr[0], 10);
    assert_int_equal(parse(" 192.168.1.7 ", &c), 0); /* a bare address is a /32 */
    assert_int_equal(c.prefix, 32);
    assert_int_equal(parse("0.0.0.0/0", &c), 0);
    assert_int_equal(c.prefix, 0);
    assert_int_equal(parse("::1", &c), 0);
    assert_int_equal(c.family, AF_INET6);
    assert_int_equal(c.prefix, 128);
    assert_int_equal(parse("fd00::/8", &c), 0);
    assert_int_equal(c.prefix, 8);
    assert_int_equal(parse("2001:db8:80::/41", &c), 0);
    assert_int_equal(c.prefix, 41);
    /* an IPv4-mapped address is the IPv4 address */
    assert_int_equal(parse("::ffff:10.1.2.0/120", &c), 0);
    assert_int_equal(c.family, AF_INET);
    assert_int_equal(c.prefix, 24);
}

static void test_cidr_invalid(void **state)
{
    http_cidr c;
    const char *bad[] = {"",
                         "/8",
                         "10.0.0.0/",
                         "10.0.0.0/33",
                         "::/129",
                         "10.0.0.1/8",
                         "fd00::1/8",
                         "10.0.0.0/-1",
                         "10.0.0.0/8x",
                         "300.1.1.1",
                         "localhost",
                         "10.0.0.0/0008",
                         "1.2.3",
                         "10.0.0.0 /8x",
                         "::ffff:10.1.2.0/95"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(parse(bad[i], &c), ERR_INVALID);
}

static void test_list(void **state)
{
    http_proxies p;
    char err[256] = "";
    assert_int_equal(http_proxies_parse("127.0.0.0/8, ::1,10.0.0.0/8 ,, ", &p, err, sizeof err), 0);
    assert_int_equal(p.n, 3);
    assert_true(http_proxies_trusted(&p, "127.8.9.10"));
    assert_true(http_proxies_trusted(&p, "::1"));
    assert_true(http_proxies_trusted(&p, "::ffff:10.200.0.1"));
    assert_false(http_proxies_trusted(&p, "11.0.0.1"));
    assert_false(http_proxies_trusted(&p, "::2"));
    assert_false(http_proxies_trusted(&p, "junk"));
    assert_int_equal(http_proxies_parse("127.0.0.1, 10.0.0.1/8", &p, err, sizeof err), ERR_INVALID);
    assert_non_null(strstr(err, "'10.0.0.1/8'"));
    assert_int_equal(http_proxies_parse("", &p, err, sizeof err), 0);
    assert_int_equal(p.n, 0);
}

static void test_prefix_edges(void **state)
{
    http_proxies p;
    char err[64];
    assert_int_equal(http_proxies_parse("192.168.0.0/23, 2001:db8:80::/41", &p, err, sizeof err),
                     0);
    assert_true(http_proxies_trusted(&p, "192.168.1.255"));
    assert_false(http_proxies_trusted(&p, "192.168.2.0"));
    assert_true(http_proxies_trusted(&p, "2001:db8:80::1"));
    assert_true(http_proxies_trusted(&p, "2001:db8:ff:ffff::1"));
    assert_false(http_proxies_trusted(&p, "2001:db8:100::1"));
    assert_false(http_proxies_trusted(&p, "2001:db8:7f::1"));
}

static const char *walk(const http_proxies *p, const char *peer, const char *const *xff, size_t n)
{
    static char out[64];
    http_client_address(p, peer, xff, n, out, sizeof out);
    return out;
}

static void test_walk(void **state)
{
    http_proxies p;
    char err[64];
    assert_int_equal(http_proxies_parse("127.0.0.0/8, ::1, 10.0.0.0/8", &p, err, sizeof err), 0);
    const char *one[] = {"6.6.6.6, 1.2.3.4"};
    assert_string_equal(walk(&p, "127.0.0.1", one, 1), "1.2.3.4"); /* not the leftmost */
    const char *hops[] = {"6.6.6.6, 1.2.3.4, 10.0.0.5, 10.0.0.6"};
    assert_string_equal(walk(&p, "10.0.0.7", hops, 1), "1.2.3.4"); /* trusted hops skipped */
    const char *lines[] = {"6.6.6.6", "1.2.3.4"};
    assert_string_equal(walk(&p, "127.0.0.1", lines, 2), "1.2.3.4"); /* later line = nearer */
    const char *spread[] = {"6.6.6.6, 5.5.5.5", "10.1.1.1"};
    assert_string_equal(walk(&p, "127.0.0.1", spread, 2), "5.5.5.5");
    assert_string_equal(walk(&p, "8.8.8.8", one, 1), "8.8.8.8"); /* untrusted peer: no walk */
    assert_string_equal(walk(&p, "127.0.0.1", NULL, 0), "127.0.0.1");
    const char *all[] = {"10.0.0.1, 127.0.0.2"};
    assert_string_equal(walk(&p, "::1", all, 1), "10.0.0.1"); /* all trusted: the leftmost */
    const char *junk[] = {"6.6.6.6, nonsense, 10.0.0.9"};
    assert_string_equal(walk(&p, "127.0.0.1", junk, 1), "10.0.0.9"); /* stops at junk */
    const char *v6[] = {" 2001:DB8::A ,::1 "};
    assert_string_equal(walk(&p, "::1", v6, 1), "2001:db8::a"); /* canonical form */
    const char *mapped[] = {"::ffff:1.2.3.4"};
    assert_string_equal(walk(&p, "::ffff:127.0.0.1", mapped, 1), "1.2.3.4");
    const char *empty[] = {"6.6.6.6,,  ,"};
    assert_string_equal(walk(&p, "127.0.0.1", empty, 1), "6.6.6.6"); /* empty items skipped */
    const char *port[] = {"1.2.3.4:5678"};
    assert_string_equal(walk(&p, "127.0.0.1", port, 1), "127.0.0.1");
    http_proxies none;
    assert_int_equal(http_proxies_parse("", &none, err, sizeof err), 0);
    assert_string_equal(walk(&none, "127.0.0.1", one, 1), "127.0.0.1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cidr_valid), cmocka_unit_test(test_cidr_invalid),
        cmocka_unit_test(test_list),       cmocka_unit_test(test_prefix_edges),
        cmocka_unit_test(test_walk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
