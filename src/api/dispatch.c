/* SPDX-License-Identifier: MIT
 *
 * The one wrapper every declared route runs through (route.h): it opens the worker's database
 * connection, authenticates, checks the declared role, the query parameters and the JSON body,
 * and only then calls the handler with a context it can trust. Each check answers its own error
 * (503, 401, 403, 422) so handlers carry none of that code. It also assembles the HTTP route
 * table from the modules' declarations.
 */
#include "api/api.h"

#include "core/id.h"
#include "core/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool fail(jv_error *err, const char *field, const char *reason)
{
    *err = (jv_error){.field = field, .reason = reason};
    return false;
}

static bool fail_bounds(jv_error *err, const char *field, const char *reason, int64_t min,
                        int64_t max, bool has_min, bool has_max)
{
    *err = (jv_error){.field = field,
                      .reason = reason,
                      .min = min,
                      .max = max,
                      .has_min = has_min,
                      .has_max = has_max};
    return false;
}

static bool in_values(const char *const *values, const char *s)
{
    for (const char *const *v = values; *v; v++)
        if (!strcmp(*v, s))
            return true;
    return false;
}

/* A string's checks, shared by body members, array items and query parameters. */
static bool check_string(const char *name, const char *s, size_t bytes, const api_field *f,
                         size_t max_len, jv_error *err)
{
    if (strlen(s) != bytes)
        return fail(err, name, "invalid_format"); /* embedded NUL */
    size_t n = utf8_length(s);
    if ((max_len && n > max_len) || n < f->min_len)
        return fail_bounds(err, name, n < f->min_len ? "too_short" : "too_long",
                           (int64_t)f->min_len, (int64_t)max_len, f->min_len > 0, max_len > 0);
    if (f->values && !in_values(f->values, s))
        return fail(err, name, "not_allowed");
    return true;
}

static bool check_int(const char *name, int64_t v, const api_field *f, jv_error *err)
{
    if (f->bounded && (v < f->minimum || v > f->maximum))
        return fail_bounds(err, name, "out_of_range", f->minimum, f->maximum, true, true);
    return true;
}

static bool check_member(const api_field *f, json_t *v, jv_error *err)
{
    if (json_is_null(v))
        return f->nullable ? true : f->required ? fail(err, f->name, "required") : true;
    int64_t id;
    switch (f->type) {
    case API_STRING:
        if (!json_is_string(v))
            return fail(err, f->name, "must_be_string");
        return check_string(f->name, json_string_value(v), json_string_length(v), f, f->max_len,
                            err);
    case API_ID:
        if (!json_is_string(v))
            return fail(err, f->name, "must_be_string");
        return id_parse(json_string_value(v), &id) ? true : fail(err, f->name, "invalid_format");
    case API_INT:
        if (!json_is_integer(v))
            return fail(err, f->name, "must_be_integer");
        return check_int(f->name, json_integer_value(v), f, err);
    case API_BOOL:
        return json_is_boolean(v) ? true : fail(err, f->name, "must_be_boolean");
    case API_OBJECT:
        return json_is_object(v) ? true : fail(err, f->name, "must_be_object");
    case API_ARRAY: {
        if (!json_is_array(v))
            return fail(err, f->name, "must_be_array");
        size_t n = json_array_size(v);
        if (f->max_len && n > f->max_len)
            return fail_bounds(err, f->name, "too_many", 0, (int64_t)f->max_len, false, true);
        if (n < f->min_len)
            return fail_bounds(err, f->name, "too_few", (int64_t)f->min_len, 0, true, false);
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) {
            if (!json_is_string(item))
                return fail(err, f->name, "must_be_string");
            if (f->items == API_ID && !id_parse(json_string_value(item), &id))
                return fail(err, f->name, "invalid_format");
            if (f->items != API_ID) {
                api_field each = {.values = f->values};
                if (!check_string(f->name, json_string_value(item), json_string_length(item),
                                  &each, f->item_max_len, err))
                    return false;
            }
        }
        return true;
    }
    }
    return true;
}

bool api_fields_check(json_t *obj, const api_field *fields, jv_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        const api_field *f = fields;
        while (f->name && strcmp(f->name, key))
            f++;
        if (!f->name)
            return fail(err, key, "not_allowed");
    }
    for (const api_field *f = fields; f->name; f++) {
        json_t *m = json_object_get(obj, f->name);
        if (m && !check_member(f, m, err))
            return false;
    }
    for (const api_field *f = fields; f->name; f++) {
        json_t *m = json_object_get(obj, f->name);
        if (f->required && (!m || (json_is_null(m) && !f->nullable)))
            return fail(err, f->name, "required");
    }
    return true;
}

/* Query parameters: absent ones are left to the handler's default; unknown ones are ignored
 * (the document's conventions say so). */
static bool check_query(http_req *req, const api_field *fields, jv_error *err)
{
    for (const api_field *f = fields; f && f->name; f++) {
        const char *s = http_req_query(req, f->name);
        if (!s || !*s) {
            if (f->required)
                return fail(err, f->name, "required");
            continue;
        }
        int64_t v;
        char *end;
        switch (f->type) {
        case API_ID:
            if (!id_parse(s, &v))
                return fail(err, f->name, "invalid_format");
            break;
        case API_INT:
            v = strtoll(s, &end, 10);
            if (*end)
                return f->bounded ? fail_bounds(err, f->name, "out_of_range", f->minimum,
                                                f->maximum, true, true)
                                  : fail(err, f->name, "must_be_integer");
            if (!check_int(f->name, v, f, err))
                return false;
            break;
        case API_BOOL:
            if (strcmp(s, "true") && strcmp(s, "false"))
                return fail(err, f->name, "must_be_boolean");
            break;
        default:
            if (!check_string(f->name, s, strlen(s), f, f->max_len, err))
                return false;
        }
    }
    return true;
}

/* The Authorization header, else the declared query parameter as "Bearer <token>" (in bearer);
 * NULL when the caller sent neither. A token too long for bearer is cut and so fails. */
static const char *credentials(http_req *req, const api_route *r, char *bearer, size_t size)
{
    const char *header = http_req_header(req, "Authorization");
    const char *query = r->token_query ? http_req_query(req, r->token_query) : NULL;
    if (header || !query || !*query)
        return header;
    snprintf(bearer, size, "Bearer %s", query);
    return bearer;
}

/* A present but bad token is 401 even where signing in is optional: treating it as anonymous
 * would hide client bugs. */
static bool authenticate(api_ctx *c)
{
    domain_error err = {0};
    int rc = auth_authenticate(api_app(c->req)->auth, c->db, c->authorization, &c->principal,
                               &err);
    if (rc < 0) {
        api_fail(c->res, rc, &err);
        return false;
    }
    http_req_set_user(c->req, c->principal.user.id);
    c->authed = true;
    c->viewer = c->principal.user.id;
    return true;
}

static void api_dispatch(http_req *req, http_res *res)
{
    const api_route *r = http_req_route_data(req);
    api_ctx c = {.req = req, .res = res, .route = r, .arena = http_req_arena(req)};
    if (r->flags & (HTTP_BLOCKING | HTTP_HASHING)) {
        api_worker *w = http_req_ctx(req);
        c.db = r->db_optional ? (w ? api_worker_db(w) : NULL) : api_db(req, res);
        if (!c.db && !r->db_optional)
            return;
    }
    char bearer[2048];
    if (r->auth != API_ANONYMOUS) {
        c.authorization = credentials(req, r, bearer, sizeof bearer);
        if ((c.authorization || r->auth == API_SIGNED_IN) && !authenticate(&c))
            return;
    }
    if (r->role) {
        domain_error err = {0};
        int rc = auth_require_role(&c.principal.user, r->role, &err);
        if (rc < 0) {
            api_fail(res, rc, &err);
            return;
        }
    }
    jv_error verr;
    if (r->query && !check_query(req, r->query, &verr)) {
        api_invalid(res, &verr);
        return;
    }
    json_t *empty = NULL;
    if (r->body) {
        c.body = http_req_json(req);
        if (!c.body)
            c.body = empty = json_object();
        if (!api_fields_check(c.body, r->body, &verr)) {
            api_invalid(res, &verr);
            json_decref(empty);
            return;
        }
    }
    r->handler(&c);
    json_decref(empty);
}

const http_route *api_routes(size_t *n)
{
    /* built once, before the servers start (app.c asks for it from the main thread) */
    static http_route *table;
    static size_t count;
    if (!table) {
        for (const api_module *const *m = api_modules; *m; m++)
            count += (*m)->n_routes;
        table = xcalloc(count ? count : 1, sizeof *table);
        size_t i = 0;
        for (const api_module *const *m = api_modules; *m; m++)
            for (size_t j = 0; j < (*m)->n_routes; j++, i++) {
                const api_route *r = &(*m)->routes[j];
                table[i] = (http_route){r->method, r->pattern, api_dispatch,
                                        r->flags | (r->body ? HTTP_JSON_BODY : 0) |
                                            (r->point_read ? HTTP_POINT_READ : 0),
                                        r->precheck,
                                        r};
            }
    }
    *n = count;
    return table;
}

static json_t *body_member(const api_ctx *c, const char *name)
{
    json_t *v = c->body ? json_object_get(c->body, name) : NULL;
    return v && !json_is_null(v) ? v : NULL;
}

const char *api_body_string(const api_ctx *c, const char *name)
{
    return json_string_value(body_member(c, name));
}

int64_t api_body_id(const api_ctx *c, const char *name)
{
    int64_t id = 0;
    const char *s = api_body_string(c, name);
    if (s && !id_parse(s, &id))
        id = 0;
    return id;
}

int64_t api_body_int(const api_ctx *c, const char *name, int64_t absent)
{
    json_t *v = body_member(c, name);
    return v ? json_integer_value(v) : absent;
}

int api_body_bool(const api_ctx *c, const char *name)
{
    json_t *v = body_member(c, name);
    return v ? json_is_true(v) : -1;
}

bool api_body_has(const api_ctx *c, const char *name)
{
    return c->body && json_object_get(c->body, name) != NULL;
}
