/* SPDX-License-Identifier: MIT
 *
 * Route table matching: method + path pattern, where a segment starting with ':' captures one
 * path segment (`/api/v1/users/:handle`). The table is compiled once (router_new) and matching
 * is a pure function over it, so it is unit tested and fuzzed without a server. HEAD matches GET
 * routes.
 */
#ifndef STREAMHUB_HTTP_ROUTER_H
#define STREAMHUB_HTTP_ROUTER_H

#include <stddef.h>

#include "http/http.h"

#define ROUTER_MAX_PARAMS 8
#define ROUTER_MAX_SEGMENTS 16 /* per pattern; a longer path matches nothing */

typedef enum { ROUTE_FOUND, ROUTE_NOT_FOUND, ROUTE_METHOD_NOT_ALLOWED } route_result;

typedef struct route_param {
    const char *name;   /* points into the pattern, not NUL-terminated */
    size_t name_len;
    const char *value;  /* points into the path, not NUL-terminated */
    size_t value_len;
} route_param;

typedef struct route_match {
    int route;          /* index into the table, -1 when not found */
    int n_params;
    route_param params[ROUTER_MAX_PARAMS];
    char allow[96];     /* "GET, HEAD, POST": filled only for 405 and OPTIONS (else empty) */
} route_match;

typedef struct router router;

/* Compiles the table, which must outlive the router (patterns and methods are not copied). A
 * pattern that does not start with '/' or has more than ROUTER_MAX_SEGMENTS segments aborts. */
router *router_new(const http_route *routes, size_t n_routes);
void router_free(router *rt);

/* out's params point into the table's patterns and into path. */
route_result router_find(const router *rt, const char *method, const char *path,
                         route_match *out);

#endif
