/* SPDX-License-Identifier: MIT
 *
 * Declared routes (src/api/route.h): the body checks every route runs before its handler, in
 * the order clients rely on (unknown members, then each present member, then the required ones),
 * and the declarations themselves: complete, unambiguous, and all in the generated document.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "api/openapi.h"
#include "api/route.h"

static const char *const colours[] = {"red", "green", NULL};
static const api_field fields[] = {
    {.name = "name", .type = API_STRING, .required = true, .min_len = 2, .max_len = 5},
    {.name = "count", .type = API_INT, .bounded = true, .minimum = 1, .maximum = 10},
    {.name = "id", .type = API_ID},
    {.name = "on", .type = API_BOOL},
    {.name = "colour", .type = API_STRING, .values = colours},
    {.name = "avatar", .type = API_ID, .nullable = true},
    {.name = "ids", .type = API_ARRAY, .items = API_ID, .max_len = 2},
    {.name = "tags", .type = API_ARRAY, .items = API_STRING, .min_len = 1, .item_max_len = 3},
    {0},
};

/* Checks text against fields; returns the failing field ("" when it passes) and its reason. */
static const char *check(const char *text, const char **reason)
{
    static jv_error err;
    json_t *o = json_loads(text, 0, NULL);
    assert_non_null(o);
    memset(&err, 0, sizeof err);
    bool ok = api_fields_check(o, fields, &err);
    json_decref(o);
    *reason = ok ? "" : err.reason;
    return ok ? "" : err.field;
}

#define EXPECT(text, field, why)                                                               \
    do {                                                                                       \
        const char *r;                                                                         \
        assert_string_equal(check(text, &r), field);                                           \
        assert_string_equal(r, why);                                                           \
    } while (0)

static void test_valid_bodies_pass(void **state)
{
    EXPECT("{\"name\":\"ab\"}", "", "");
    EXPECT("{\"name\":\"héllo\",\"count\":10,\"id\":\"42\",\"on\":false,\"colour\":\"red\","
           "\"avatar\":null,\"ids\":[\"1\",\"2\"],\"tags\":[\"abc\"]}",
           "", "");
}

static void test_each_bound(void **state)
{
    EXPECT("{\"name\":\"a\"}", "name", "too_short");
    EXPECT("{\"name\":\"abcdef\"}", "name", "too_long");
    EXPECT("{\"name\":\"ab\",\"count\":11}", "count", "out_of_range");
    EXPECT("{\"name\":\"ab\",\"count\":0}", "count", "out_of_range");
    EXPECT("{\"name\":\"ab\",\"count\":\"3\"}", "count", "must_be_integer");
    EXPECT("{\"name\":\"ab\",\"id\":\"x1\"}", "id", "invalid_format");
    EXPECT("{\"name\":\"ab\",\"id\":42}", "id", "must_be_string");
    EXPECT("{\"name\":\"ab\",\"on\":1}", "on", "must_be_boolean");
    EXPECT("{\"name\":\"ab\",\"colour\":\"blue\"}", "colour", "not_allowed");
    EXPECT("{\"name\":\"ab\",\"ids\":[\"1\",\"2\",\"3\"]}", "ids", "too_many");
    EXPECT("{\"name\":\"ab\",\"ids\":[\"1\",\"a\"]}", "ids", "invalid_format");
    EXPECT("{\"name\":\"ab\",\"ids\":\"1\"}", "ids", "must_be_array");
    EXPECT("{\"name\":\"ab\",\"tags\":[]}", "tags", "too_few");
    EXPECT("{\"name\":\"ab\",\"tags\":[\"abcd\"]}", "tags", "too_long");
    EXPECT("{\"name\":\"ab\",\"tags\":[7]}", "tags", "must_be_string");
}

static void test_order_names_the_field_sent(void **state)
{
    /* an unknown member first, whatever else is wrong */
    EXPECT("{\"count\":99,\"nope\":1}", "nope", "not_allowed");
    /* a bad member is named even when a required one is missing */
    EXPECT("{\"count\":99}", "count", "out_of_range");
    EXPECT("{}", "name", "required");
    EXPECT("{\"name\":null}", "name", "required");
    /* nullable members take null; others are as absent */
    EXPECT("{\"name\":\"ab\",\"avatar\":null,\"id\":null}", "", "");
}

static void test_declarations_are_complete_and_documented(void **state)
{
    size_t n;
    const http_route *table = api_routes(&n);
    assert_true(n > 100);
    size_t len;
    json_t *doc = json_loads(api_openapi_text(&len), 0, NULL);
    assert_non_null(doc);
    json_t *paths = json_object_get(doc, "paths");
    for (size_t i = 0; i < n; i++) {
        const api_route *r = table[i].data;
        assert_non_null(r);
        assert_ptr_equal(table[i].pattern, r->pattern);
        assert_non_null(r->handler);
        assert_non_null(r->operation_id);
        assert_true(r->summary && *r->summary);
        for (size_t j = 0; j < i; j++) {
            const api_route *o = table[j].data;
            assert_false(!strcmp(o->method, r->method) && !strcmp(o->pattern, r->pattern));
            assert_string_not_equal(o->operation_id, r->operation_id);
        }
        /* the document has it, under its "{param}" path and lower-case method */
        char path[256], method[16];
        size_t k = 0, o = 0;
        for (const char *p = r->pattern; *p; p++) {
            if (*p == ':') {
                size_t l = strcspn(p + 1, "/");
                o += (size_t)snprintf(path + o, sizeof path - o, "{%.*s}", (int)l, p + 1);
                p += l;
            } else {
                path[o++] = *p;
            }
        }
        path[o] = '\0';
        for (; r->method[k]; k++)
            method[k] = (char)(r->method[k] | 0x20);
        method[k] = '\0';
        json_t *op = json_object_get(json_object_get(paths, path), method);
        assert_non_null(op);
        assert_string_equal(json_string_value(json_object_get(op, "operationId")),
                            r->operation_id);
        /* every declared body member is in the document's schema */
        json_t *body = json_object_get(op, "requestBody");
        json_t *media = json_object_get(json_object_get(body, "content"), "application/json");
        json_t *props = json_object_get(json_object_get(media, "schema"), "properties");
        for (const api_field *f = r->body; f && f->name; f++)
            assert_non_null(json_object_get(props, f->name));
    }
    json_decref(doc);
}

/* Response schemas share one namespace: a name given twice would silently replace the other. */
static void test_schema_names_are_unique(void **state)
{
    json_t *seen = json_object();
    for (const api_openapi_fragment *f = api_openapi_fragments; f->name; f++) {
        json_t *part = json_loads(f->text, 0, NULL);
        assert_non_null(part);
        json_t *schemas = json_object_get(part, "schemas");
        if (!strcmp(f->name, "base"))
            schemas = json_object_get(json_object_get(part, "components"), "schemas");
        const char *name;
        json_t *v;
        json_object_foreach(schemas, name, v) {
            json_t *other = json_object_get(seen, name);
            if (other)
                fail_msg("schema %s is in openapi/%s.json and openapi/%s.json", name,
                         json_string_value(other), f->name);
            json_object_set_new(seen, name, json_string(f->name));
        }
        json_decref(part);
    }
    json_decref(seen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_bodies_pass),
        cmocka_unit_test(test_each_bound),
        cmocka_unit_test(test_order_names_the_field_sent),
        cmocka_unit_test(test_declarations_are_complete_and_documented),
        cmocka_unit_test(test_schema_names_are_unique),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
