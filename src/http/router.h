/* SPDX-License-Identifier: MIT
 *
 * Route table matching: method + path pattern, where a segment starting with ':' captures one
 * path segment (`/api/v1/users/:handle`). Pure functions over the table, so they are unit tested
 * and fuzzed without a server. HEAD matches GET routes.
 */
#ifndef STREAMHUB_HTTP_ROUTER_H
#define STREAMHUB_HTTP_ROUTER_H

#include <stddef.h>

#include "http/http.h"

#define ROUTER_MAX_PARAMS 8

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
    char allow[96];     /* for 405 and OPTIONS: "GET, HEAD, POST" */
} route_match;

route_result router_match(const http_route *routes, size_t n_routes, const char *method,
                          const char *path, route_match *out);

#endif
