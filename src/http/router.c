/* SPDX-License-Identifier: MIT
 *
 * Linear matching over the route table. With a few dozen routes a scan of pre-split patterns is
 * faster than building a trie and much easier to read; revisit when the table reaches hundreds.
 *
 * When several patterns match a path, the most specific wins: the first segment where they
 * differ decides, and a literal beats a :param there ("/users/by-id" over "/users/:handle"). So
 * the table's order does not matter, and each resource can declare its routes in its own file.
 */
#include "http/router.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Compares pattern against path segment by segment, capturing :params. *specificity gets one
 * bit per literal segment, the first segment the highest. */
static bool match_pattern(const char *pattern, const char *path, route_match *m,
                          uint32_t *specificity)
{
    int n = 0, seg = 0;
    *specificity = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return false;
        p++;
        s++;
        const char *pe = strchr(p, '/'), *se = strchr(s, '/');
        size_t plen = pe ? (size_t)(pe - p) : strlen(p);
        size_t slen = se ? (size_t)(se - s) : strlen(s);
        if (plen > 0 && *p == ':') {
            if (slen == 0 || n >= ROUTER_MAX_PARAMS)
                return false;
            m->params[n++] = (route_param){p + 1, plen - 1, s, slen};
        } else if (plen != slen || memcmp(p, s, plen) != 0) {
            return false;
        } else if (seg < 32) {
            *specificity |= UINT32_C(1) << (31 - seg);
        }
        seg++;
        p += plen;
        s += slen;
    }
    if (*p || *s)
        return false;
    m->n_params = n;
    return true;
}

static void allow_add(char *allow, size_t size, const char *method)
{
    if (strstr(allow, method))
        return;
    size_t len = strlen(allow);
    snprintf(allow + len, size - len, "%s%s", len ? ", " : "", method);
}

route_result router_match(const http_route *routes, size_t n_routes, const char *method,
                          const char *path, route_match *out)
{
    memset(out, 0, sizeof *out);
    out->route = -1;
    if (!path || path[0] != '/')
        return ROUTE_NOT_FOUND;
    bool is_head = strcmp(method, "HEAD") == 0;
    bool path_seen = false;
    route_match tmp;
    uint32_t best = 0;
    for (size_t i = 0; i < n_routes; i++) {
        memset(&tmp, 0, sizeof tmp);
        uint32_t specificity;
        if (!match_pattern(routes[i].pattern, path, &tmp, &specificity))
            continue;
        path_seen = true;
        allow_add(out->allow, sizeof out->allow, routes[i].method);
        if (strcmp(routes[i].method, "GET") == 0)
            allow_add(out->allow, sizeof out->allow, "HEAD");
        if ((out->route < 0 || specificity > best) &&
            (strcmp(routes[i].method, method) == 0 ||
             (is_head && strcmp(routes[i].method, "GET") == 0))) {
            best = specificity;
            char allow[sizeof out->allow];
            memcpy(allow, out->allow, sizeof allow);
            *out = tmp;
            memcpy(out->allow, allow, sizeof allow);
            out->route = (int)i;
        }
    }
    if (!path_seen)
        return ROUTE_NOT_FOUND;
    allow_add(out->allow, sizeof out->allow, "OPTIONS");
    return out->route >= 0 ? ROUTE_FOUND : ROUTE_METHOD_NOT_ALLOWED;
}
