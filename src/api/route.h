/* SPDX-License-Identifier: MIT
 *
 * Declared routes. Each resource file (api/<resource>.c) describes its endpoints as data, in one
 * table, and exports it with API_MODULE. Everything else is produced from those declarations:
 *  - the HTTP route table (api_routes, assembled at start-up from every module),
 *  - the checks every request passes before its handler runs (api_dispatch: the database
 *    connection, authentication, the role, the query parameters and the JSON body, each field's
 *    type and limits), so a handler receives a context it can trust,
 *  - the OpenAPI document served at /openapi.json (api/openapi.c), so a route cannot exist
 *    undocumented, or be documented with other limits than it enforces.
 * The list of modules is generated at build time from the API_MODULE lines of the files in src/api
 * (scripts/api-modules.py): a new resource file registers itself.
 */
#ifndef STREAMHUB_API_ROUTE_H
#define STREAMHUB_API_ROUTE_H

#include "core/arena.h"
#include "core/json.h"
#include "domain/auth.h"
#include "http/http.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define API_PAGE_DEFAULT 20
#define API_PAGE_MAX 100

typedef enum api_type {
    API_STRING = 1,
    API_ID,     /* an id sent as a decimal string */
    API_INT,    /* a JSON integer (query: decimal digits) */
    API_BOOL,   /* a JSON boolean (query: true/false) */
    API_ARRAY,  /* a JSON array of .items */
    API_OBJECT, /* a JSON object the handler reads itself (documented by .schema) */
} api_type;

/* One body member or query parameter. Lengths count Unicode code points. */
typedef struct api_field {
    const char *name;
    api_type type;
    bool required;
    bool nullable;            /* JSON null is accepted (and means "remove") */
    size_t min_len, max_len;  /* strings: characters; arrays: items; 0 = no bound */
    bool bounded;             /* integers: minimum..maximum apply */
    int64_t minimum, maximum;
    const char *const *values; /* strings: the allowed values, NULL-terminated */
    api_type items;            /* arrays: the type of each item (API_STRING or API_ID) */
    size_t item_max_len;       /* arrays of strings: each item's length bound */
    const char *schema;        /* API_OBJECT: a components/schemas name documenting it */
    const char *about;         /* its description in the document */
} api_field;

typedef enum api_auth_level {
    API_ANONYMOUS = 0, /* no token is read */
    API_OPTIONAL,      /* a token makes the caller known; a bad token is still 401 */
    API_SIGNED_IN,     /* 401 without a valid token */
} api_auth_level;

typedef struct api_route api_route;

/* What a handler is given: the checks of its declaration have passed. */
typedef struct api_ctx {
    http_req *req;
    http_res *res;
    const api_route *route;
    db *db;                  /* the running thread's connection (a worker's or, for a point read,
                              * the event loop's own), else NULL */
    auth_principal principal; /* the caller when authed */
    const char *authorization; /* the credentials authenticated ("Bearer ..."), or NULL */
    bool authed;
    int64_t viewer;          /* principal.user.id, or 0 for an anonymous caller */
    arena *arena;            /* request-scoped memory (api_alloc) */
    json_t *body;            /* the validated JSON body (an empty object when none was sent) */
} api_ctx;

typedef void (*api_handler_fn)(api_ctx *c);

struct api_route {
    const char *method;
    const char *pattern;  /* "/api/v1/posts/:id" */
    api_handler_fn handler;
    unsigned flags;       /* HTTP_*: the thread class and how the body arrives */
    api_auth_level auth;
    /* the handler answers without a database too (c->db NULL when it cannot be reached) instead
     * of the wrapper's 503: probes and metrics, which report the outage themselves */
    bool db_optional;
    /* a point read (a few indexed lookups, no writes): the event-loop thread may run it on its own
     * database connection instead of handing it to the pool (HTTP_POINT_READ), on SQLite only */
    bool point_read;
    const char *role;     /* the least role that may call it ("moderator", "admin"), or NULL */
    /* a query parameter that may carry the access token when no Authorization header is sent,
     * for clients that cannot set headers (EventSource); NULL = the header only */
    const char *token_query;
    const api_field *body;  /* JSON body members, ended by {0}; NULL = no JSON body */
    const api_field *query; /* query parameters, ended by {0} */
    http_precheck_fn precheck;
    /* the document */
    const char *operation_id;
    const char *summary;
    const char *description;
    int status;           /* the success status (200 when 0) */
    const char *response; /* components/schemas name of the success body ("page:X": a page of
                           * X, {items, next_cursor}); NULL = none */
    const char *response_about; /* the success answer's description ("The post") */
    const char *media_type; /* of the success body when not application/json */
    const char *errors;   /* statuses beyond those the declaration implies, e.g. "403 404 409" */
};

typedef struct api_module {
    const char *name;  /* the document's tag */
    const char *about; /* the tag's description */
    const api_route *routes;
    size_t n_routes;
} api_module;

#define API_MODULE(name_, about_, routes_)                                                     \
    const api_module api_module_##name_ = {#name_, about_, routes_,                            \
                                           sizeof routes_ / sizeof routes_[0]}

/* ?cursor= (an id) and ?limit= (1..API_PAGE_MAX), as every id-paged list declares them. */
#define API_PAGE_QUERY                                                                          \
    {.name = "cursor", .type = API_ID, .about = "next_cursor of the previous page"},             \
    {.name = "limit", .type = API_INT, .bounded = true, .minimum = 1, .maximum = API_PAGE_MAX,  \
     .about = "items per page (default 20)"}

/* Every module, from the generated list (build/api_modules.c), ended by NULL. */
extern const api_module *const api_modules[];

/* The route table built from the declarations; each entry's data points at its api_route. */
const http_route *api_routes(size_t *n);

/* The validated body's members, for the handler (absent: NULL / 0 / -1 / the default). */
const char *api_body_string(const api_ctx *c, const char *name);
int64_t api_body_id(const api_ctx *c, const char *name);
int64_t api_body_int(const api_ctx *c, const char *name, int64_t absent);
int api_body_bool(const api_ctx *c, const char *name); /* -1 absent, else 0/1 */
bool api_body_has(const api_ctx *c, const char *name);

/* Checks one JSON object against declared fields: unknown members, then each present member's
 * type and bounds, then the required ones. Used for bodies and unit tested alone. */
bool api_fields_check(json_t *obj, const api_field *fields, jv_error *err);

#endif
