/* SPDX-License-Identifier: MIT
 *
 * Route matching: parameters, 404 versus 405 with the Allow list, HEAD on GET routes, and the
 * most specific pattern winning whatever the table's order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "http/router.h"

static void noop(http_req *req, http_res *res) {}

static const http_route table[] = {
    {"GET", "/health", noop, 0, NULL, NULL},
    {"GET", "/api/v1/users/:handle", noop, 0, NULL, NULL},
    {"PATCH", "/api/v1/users/:handle", noop, 0, NULL, NULL},
    {"DELETE", "/api/v1/auth/sessions/:id", noop, 0, NULL, NULL},
    {"PATCH", "/api/v1/admin/users/:id/role", noop, 0, NULL, NULL},
    {"POST", "/api/v1/auth/login", noop, 0, NULL, NULL},
    /* declared after the :handle routes it overlaps, as a module listed later would be */
    {"GET", "/api/v1/users/by-id", noop, 0, NULL, NULL},
    {"GET", "/api/v1/users/:handle/posts", noop, 0, NULL, NULL},
    {"GET", "/api/v1/users/me/saved", noop, 0, NULL, NULL},
};
#define N (sizeof table / sizeof table[0])

static route_result match(const char *method, const char *path, route_match *m)
{
    static router *rt;
    if (!rt)
        rt = router_new(table, N); /* one for the whole run, as a server holds it */
    return router_find(rt, method, path, m);
}

static void test_static_route(void **state)
{
    route_match m;
    assert_int_equal(match("GET", "/health", &m), ROUTE_FOUND);
    assert_int_equal(m.route, 0);
    assert_int_equal(m.n_params, 0);
}

static void test_params(void **state)
{
    route_match m;
    assert_int_equal(match("PATCH", "/api/v1/admin/users/42/role", &m), ROUTE_FOUND);
    assert_int_equal(m.route, 4);
    assert_int_equal(m.n_params, 1);
    assert_int_equal(m.params[0].name_len, 2);
    assert_memory_equal(m.params[0].name, "id", 2);
    assert_int_equal(m.params[0].value_len, 2);
    assert_memory_equal(m.params[0].value, "42", 2);
    assert_int_equal(match("PATCH", "/api/v1/users/ana", &m), ROUTE_FOUND);
    assert_int_equal(m.route, 2);
}

static void test_not_found(void **state)
{
    route_match m;
    const char *paths[] = {"/", "", "health", "/health/", "/healthz", "/api/v1/users/",
                           "/api/v1/users//x", "/api/v1/admin/users/1/role/x", "//health"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        assert_int_equal(match("GET", paths[i], &m), ROUTE_NOT_FOUND);
    assert_int_equal(m.route, -1);
}

static void test_method_not_allowed(void **state)
{
    route_match m;
    assert_int_equal(match("POST", "/api/v1/users/ana", &m),
                     ROUTE_METHOD_NOT_ALLOWED);
    assert_string_equal(m.allow, "GET, HEAD, PATCH, OPTIONS");
    assert_int_equal(match("GET", "/api/v1/auth/login", &m),
                     ROUTE_METHOD_NOT_ALLOWED);
    assert_string_equal(m.allow, "POST, OPTIONS");
}

static void test_head_matches_get(void **state)
{
    route_match m;
    assert_int_equal(match("HEAD", "/health", &m), ROUTE_FOUND);
    assert_int_equal(m.route, 0);
    assert_int_equal(match("HEAD", "/api/v1/auth/login", &m),
                     ROUTE_METHOD_NOT_ALLOWED);
}

static void test_most_specific_wins(void **state)
{
    route_match m;
    assert_int_equal(match("GET", "/api/v1/users/by-id", &m), ROUTE_FOUND);
    assert_int_equal(m.route, 6);
    assert_int_equal(m.n_params, 0);
    assert_int_equal(match("GET", "/api/v1/users/ana", &m), ROUTE_FOUND);
    assert_int_equal(m.route, 1);
    assert_int_equal(match("GET", "/api/v1/users/me/saved", &m), ROUTE_FOUND);
    assert_int_equal(m.route, 8);
    assert_int_equal(match("GET", "/api/v1/users/me/posts", &m), ROUTE_FOUND);
    assert_int_equal(m.route, 7);
    /* PATCH only has the :handle route, so it serves "by-id" too */
    assert_int_equal(match("PATCH", "/api/v1/users/by-id", &m), ROUTE_FOUND);
    assert_int_equal(m.route, 2);
}

static void test_long_path(void **state)
{
    char path[5000];
    memset(path, 'a', sizeof path);
    path[0] = '/';
    path[sizeof path - 1] = '\0';
    route_match m;
    assert_int_equal(match("GET", path, &m), ROUTE_NOT_FOUND);
    memcpy(path, "/api/v1/users/", 14);
    assert_int_equal(match("GET", path, &m), ROUTE_FOUND);
    assert_int_equal(m.params[0].value_len, sizeof path - 1 - 14);
}

/* Segments are compared whole: a trailing or doubled slash is another segment, an empty one never
 * fills a :param, and a path with more segments than any pattern may have matches nothing. */
static void test_segments(void **state)
{
    route_match m;
    assert_int_equal(match("GET", "/health/", &m), ROUTE_NOT_FOUND);
    assert_int_equal(match("GET", "//health", &m), ROUTE_NOT_FOUND);
    assert_int_equal(match("GET", "/api/v1/users/", &m), ROUTE_NOT_FOUND);
    assert_int_equal(match("GET", "/api/v1/users//posts", &m), ROUTE_NOT_FOUND);
    assert_int_equal(match("GET", "", &m), ROUTE_NOT_FOUND);
    assert_int_equal(match("GET", "health", &m), ROUTE_NOT_FOUND);
    char deep[64] = "";
    for (int i = 0; i <= ROUTER_MAX_SEGMENTS; i++)
        strcat(deep, "/a");
    assert_int_equal(match("GET", deep, &m), ROUTE_NOT_FOUND);
    static const http_route slash[] = {{"POST", "/uploads/", noop, 0, NULL, NULL},
                                       {"GET", "/", noop, 0, NULL, NULL}};
    router *rt = router_new(slash, 2);
    assert_int_equal(router_find(rt, "POST", "/uploads/", &m), ROUTE_FOUND);
    assert_int_equal(m.route, 0);
    assert_int_equal(router_find(rt, "POST", "/uploads", &m), ROUTE_NOT_FOUND);
    assert_int_equal(router_find(rt, "GET", "/", &m), ROUTE_FOUND);
    assert_int_equal(m.route, 1);
    router_free(rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_static_route),      cmocka_unit_test(test_params),
        cmocka_unit_test(test_not_found),         cmocka_unit_test(test_method_not_allowed),
        cmocka_unit_test(test_head_matches_get),  cmocka_unit_test(test_long_path),
        cmocka_unit_test(test_most_specific_wins), cmocka_unit_test(test_segments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
