/* SPDX-License-Identifier: MIT
 *
 * Builds /openapi.json from the declarations: each route's path, parameters, body (every field
 * with its type and bounds, exactly what api_dispatch enforces), success answer and the errors
 * its declaration implies. The frame and the response schemas come from src/api/openapi/.
 */
#include "api/openapi.h"

#include "api/route.h"
#include "core/log.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *type_name(api_type t)
{
    switch (t) {
    case API_INT: return "integer";
    case API_BOOL: return "boolean";
    case API_ARRAY: return "array";
    case API_OBJECT: return "object";
    default: return "string";
    }
}

static json_t *field_schema(const api_field *f)
{
    json_t *s;
    if (f->type == API_OBJECT && f->schema) {
        char ref[160];
        snprintf(ref, sizeof ref, "#/components/schemas/%s", f->schema);
        s = json_pack("{s:s}", "$ref", ref);
    } else {
        s = json_pack("{s:s}", "type", type_name(f->type));
    }
    if (f->type == API_ID)
        json_object_set_new(s, "pattern", json_string("^[1-9][0-9]*$"));
    if (f->type == API_STRING && f->min_len)
        json_object_set_new(s, "minLength", json_integer((json_int_t)f->min_len));
    if (f->type == API_STRING && f->max_len)
        json_object_set_new(s, "maxLength", json_integer((json_int_t)f->max_len));
    if (f->type == API_INT && f->bounded) {
        json_object_set_new(s, "minimum", json_integer(f->minimum));
        json_object_set_new(s, "maximum", json_integer(f->maximum));
    }
    json_t *values = NULL;
    if (f->values) {
        values = json_array();
        for (const char *const *v = f->values; *v; v++)
            json_array_append_new(values, json_string(*v));
    }
    if (f->type == API_ARRAY) {
        json_t *items = json_pack("{s:s}", "type", "string");
        if (f->items == API_ID)
            json_object_set_new(items, "pattern", json_string("^[1-9][0-9]*$"));
        if (f->item_max_len)
            json_object_set_new(items, "maxLength", json_integer((json_int_t)f->item_max_len));
        if (values)
            json_object_set_new(items, "enum", values);
        json_object_set_new(s, "items", items);
        if (f->min_len)
            json_object_set_new(s, "minItems", json_integer((json_int_t)f->min_len));
        if (f->max_len)
            json_object_set_new(s, "maxItems", json_integer((json_int_t)f->max_len));
    } else if (values) {
        json_object_set_new(s, "enum", values);
    }
    if (f->nullable && !json_object_get(s, "$ref"))
        json_object_set_new(s, "type", json_pack("[s, s]", type_name(f->type), "null"));
    if (f->about)
        json_object_set_new(s, "description", json_string(f->about));
    return s;
}

static void add_error(json_t *responses, json_t *known, const char *status)
{
    if (json_object_get(responses, status))
        return;
    char name[16];
    snprintf(name, sizeof name, "E%s", status);
    if (json_object_get(known, name)) {
        char ref[64];
        snprintf(ref, sizeof ref, "#/components/responses/%s", name);
        json_object_set_new(responses, status, json_pack("{s:s}", "$ref", ref));
    } else {
        json_object_set_new(responses, status, json_pack("{s:s}", "description", "Error"));
    }
}

static json_t *operation(const api_module *m, const api_route *r, json_t *known_errors)
{
    json_t *op = json_pack("{s:s, s:s, s:[s]}", "operationId", r->operation_id, "summary",
                           r->summary ? r->summary : "", "tags", m->name);
    if (r->description)
        json_object_set_new(op, "description", json_string(r->description));
    if (r->auth == API_SIGNED_IN)
        json_object_set_new(op, "security", json_pack("[{s:[]}]", "bearerAuth"));
    else if (r->auth == API_OPTIONAL)
        json_object_set_new(op, "security", json_pack("[{}, {s:[]}]", "bearerAuth"));
    else
        json_object_set_new(op, "security", json_array());
    if (r->role)
        json_object_set_new(op, "x-required-role", json_string(r->role));

    json_t *params = json_array();
    for (const char *p = strchr(r->pattern, ':'); p; p = strchr(p, ':')) {
        size_t n = strcspn(p + 1, "/");
        json_array_append_new(params, json_pack("{s:s%, s:s, s:b, s:{s:s}}", "name", p + 1, n,
                                                "in", "path", "required", 1, "schema", "type",
                                                "string"));
        p += n + 1;
    }
    if (r->token_query)
        json_array_append_new(
            params, json_pack("{s:s, s:s, s:b, s:{s:s}, s:s}", "name", r->token_query, "in",
                              "query", "required", 0, "schema", "type", "string", "description",
                              "the access token, read only when no Authorization header is sent "
                              "(for clients that cannot set headers). A token in a URL may be "
                              "kept in proxy logs and browser history: prefer the header."));
    for (const api_field *f = r->query; f && f->name; f++) {
        json_t *q = json_pack("{s:s, s:s, s:b, s:o}", "name", f->name, "in", "query",
                              "required", f->required, "schema", field_schema(f));
        json_array_append_new(params, q);
    }
    if (json_array_size(params))
        json_object_set_new(op, "parameters", params);
    else
        json_decref(params);

    json_t *responses = json_object();
    char status[8];
    int ok = r->status ? r->status : 200;
    snprintf(status, sizeof status, "%d", ok);
    json_t *answer = json_pack("{s:s}", "description",
                               r->response_about ? r->response_about
                               : ok == 201      ? "Created"
                               : ok == 204      ? "No Content"
                                                : "OK");
    if (r->response) {
        /* "page:X" is a page of X: {"items": [X], "next_cursor": string or null} */
        bool page = !strncmp(r->response, "page:", 5);
        char ref[160];
        snprintf(ref, sizeof ref, "#/components/schemas/%s", r->response + (page ? 5 : 0));
        json_t *schema = json_pack("{s:s}", "$ref", ref);
        if (page)
            schema = json_pack("{s:s, s:[s], s:{s:{s:s, s:o}, s:{s:[s, s]}}}", "type", "object",
                               "required", "items", "properties", "items", "type", "array",
                               "items", schema, "next_cursor", "type", "string", "null");
        json_object_set_new(answer, "content",
                            json_pack("{s:{s:o}}",
                                      r->media_type ? r->media_type : "application/json",
                                      "schema", schema));
    }
    json_object_set_new(responses, status, answer);

    if (r->body) {
        json_t *props = json_object(), *required = json_array();
        for (const api_field *f = r->body; f->name; f++) {
            json_object_set_new(props, f->name, field_schema(f));
            if (f->required)
                json_array_append_new(required, json_string(f->name));
        }
        json_t *schema = json_pack("{s:s, s:b, s:o}", "type", "object", "additionalProperties", 0,
                                   "properties", props);
        if (json_array_size(required))
            json_object_set_new(schema, "required", required);
        else
            json_decref(required);
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b, s:{s:{s:o}}}", "required",
                                      !(r->flags & HTTP_OPTIONAL_BODY), "content",
                                      "application/json", "schema", schema));
        add_error(responses, known_errors, "400");
        add_error(responses, known_errors, "413");
        add_error(responses, known_errors, "415");
        add_error(responses, known_errors, "422");
    }
    if (r->query)
        add_error(responses, known_errors, "422");
    if (r->auth != API_ANONYMOUS)
        add_error(responses, known_errors, "401");
    if (r->role)
        add_error(responses, known_errors, "403");
    if (strchr(r->pattern, ':'))
        add_error(responses, known_errors, "404");
    for (const char *e = r->errors; e && *e;) {
        size_t n = strcspn(e, " ");
        if (n > 0 && n < sizeof status) {
            memcpy(status, e, n);
            status[n] = '\0';
            add_error(responses, known_errors, status);
        }
        e += n;
        e += strspn(e, " ");
    }
    if (!(r->flags & HTTP_NO_RATE_LIMIT))
        add_error(responses, known_errors, "429");
    if ((r->flags & (HTTP_BLOCKING | HTTP_HASHING)) && !r->db_optional)
        add_error(responses, known_errors, "503");
    json_object_set_new(op, "responses", responses);
    return op;
}

/* ":id" segments become "{id}". */
static void openapi_path(const char *pattern, char *out, size_t n)
{
    size_t o = 0;
    for (const char *p = pattern; *p && o + 2 < n; p++) {
        if (*p == ':') {
            size_t len = strcspn(p + 1, "/");
            o += (size_t)snprintf(out + o, n - o, "{%.*s}", (int)len, p + 1);
            p += len;
        } else {
            out[o++] = *p;
        }
    }
    out[o < n ? o : n - 1] = '\0';
}

static json_t *build(void)
{
    json_t *doc = NULL;
    for (const api_openapi_fragment *f = api_openapi_fragments; f->name; f++)
        if (!strcmp(f->name, "base"))
            doc = json_loads(f->text, 0, NULL);
    if (!doc)
        return NULL;
    json_t *components = json_object_get(doc, "components");
    json_t *schemas = json_object_get(components, "schemas");
    for (const api_openapi_fragment *f = api_openapi_fragments; f->name; f++) {
        if (!strcmp(f->name, "base"))
            continue;
        json_t *part = json_loads(f->text, 0, NULL);
        json_object_update(schemas, json_object_get(part, "schemas"));
        json_decref(part);
    }
    json_t *paths = json_object_get(doc, "paths");
    if (!paths) {
        paths = json_object();
        json_object_set_new(doc, "paths", paths);
    }
    json_t *tags = json_object_get(doc, "tags");
    json_t *known_errors = json_object_get(components, "responses");
    for (const api_module *const *m = api_modules; *m; m++) {
        bool tagged = false;
        size_t i;
        json_t *t;
        json_array_foreach(tags, i, t) tagged = tagged || !strcmp(json_string_value(
                                                              json_object_get(t, "name")),
                                                          (*m)->name);
        if (!tagged)
            json_array_append_new(tags, json_pack("{s:s, s:s}", "name", (*m)->name, "description",
                                                  (*m)->about ? (*m)->about : ""));
        for (size_t j = 0; j < (*m)->n_routes; j++) {
            const api_route *r = &(*m)->routes[j];
            char path[256], method[16];
            openapi_path(r->pattern, path, sizeof path);
            size_t k = 0;
            for (; r->method[k] && k + 1 < sizeof method; k++)
                method[k] = (char)(r->method[k] | 0x20);
            method[k] = '\0';
            json_t *item = json_object_get(paths, path);
            if (!item) {
                item = json_object();
                json_object_set_new(paths, path, item);
            }
            json_object_set_new(item, method, operation(*m, r, known_errors));
        }
    }
    return doc;
}

static char *text;
static size_t text_len;

static void build_once(void)
{
    json_t *doc = build();
    text = doc ? json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (!text) {
        log_error("the OpenAPI document cannot be built", NULL);
        text = strdup("{}");
    }
    text_len = strlen(text);
}

const char *api_openapi_text(size_t *len)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, build_once);
    *len = text_len;
    return text;
}
