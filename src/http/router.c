/* SPDX-License-Identifier: MIT
 *
 * Route matching over a table compiled once. Each pattern is split into segments when the
 * router is built, and the routes are grouped by their number of segments; a request's path is
 * split once, and only the routes with as many segments are compared, segment by segment
 * (length first). Scanning every pattern's text for every request cost ~27,000 instructions on
 * /health/live with ~250 routes (callgrind, issue 12); this costs a few hundred.
 *
 * When several patterns match a path, the most specific wins: the first segment where they
 * differ decides, and a literal beats a :param there ("/users/by-id" over "/users/:handle"). So
 * the table's order does not matter, and each resource can declare its routes in its own file.
 */
#include "http/router.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct segment {
    const char *text; /* into the pattern; a :param's name without the ':' */
    size_t len;
    bool param;
} segment;

typedef struct compiled_route {
    segment segs[ROUTER_MAX_SEGMENTS];
    int n_segs;
    uint32_t specificity; /* one bit per literal segment, the first segment the highest */
    bool is_get;
} compiled_route;

/* calloc or abort: the router is built once at start, and it links alone into its fuzz target,
 * without core/util's xcalloc. */
static void *zalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort();
    return p;
}

struct router {
    const http_route *routes;
    compiled_route *compiled;
    /* by_count[n] lists the indexes of the routes with n segments, in table order */
    size_t *by_count[ROUTER_MAX_SEGMENTS + 1];
    size_t n_by_count[ROUTER_MAX_SEGMENTS + 1];
};

/* Splits "/a/b" into {"a", "b"} ("/" is one empty segment). Returns the number of segments, or
 * -1 when s does not start with '/' or has more than max. */
static int split(const char *s, segment *out, int max)
{
    if (!s || *s != '/')
        return -1;
    int n = 0;
    for (;;) {
        s++; /* past the '/' */
        const char *end = s;
        while (*end && *end != '/')
            end++;
        if (n == max)
            return -1;
        out[n++] = (segment){s, (size_t)(end - s), false};
        if (!*end)
            return n;
        s = end;
    }
}

router *router_new(const http_route *routes, size_t n_routes)
{
    router *rt = zalloc(1, sizeof *rt);
    rt->routes = routes;
    rt->compiled = zalloc(n_routes ? n_routes : 1, sizeof *rt->compiled);
    for (size_t i = 0; i < n_routes; i++) {
        compiled_route *c = &rt->compiled[i];
        c->n_segs = split(routes[i].pattern, c->segs, ROUTER_MAX_SEGMENTS);
        if (c->n_segs < 0) {
            fprintf(stderr, "route pattern %s: must start with '/' and have at most %d segments\n",
                    routes[i].pattern, ROUTER_MAX_SEGMENTS);
            abort(); /* a declaration error, found by the first test that starts a server */
        }
        for (int k = 0; k < c->n_segs; k++) {
            segment *g = &c->segs[k];
            if (g->len > 0 && g->text[0] == ':') {
                g->param = true;
                g->text++;
                g->len--;
            } else if (k < 32) {
                c->specificity |= UINT32_C(1) << (31 - k);
            }
        }
        c->is_get = strcmp(routes[i].method, "GET") == 0;
        rt->n_by_count[c->n_segs]++;
    }
    for (int n = 0; n <= ROUTER_MAX_SEGMENTS; n++) {
        rt->by_count[n] = zalloc(rt->n_by_count[n] ? rt->n_by_count[n] : 1, sizeof(size_t));
        rt->n_by_count[n] = 0;
    }
    for (size_t i = 0; i < n_routes; i++) {
        int n = rt->compiled[i].n_segs;
        rt->by_count[n][rt->n_by_count[n]++] = i;
    }
    return rt;
}

void router_free(router *rt)
{
    if (!rt)
        return;
    for (int n = 0; n <= ROUTER_MAX_SEGMENTS; n++)
        free(rt->by_count[n]);
    free(rt->compiled);
    free(rt);
}

/* Compares a compiled pattern with the path's segments, capturing :params into m. */
static bool segments_match(const compiled_route *c, const segment *path, route_match *m)
{
    int n = 0;
    for (int k = 0; k < c->n_segs; k++) {
        const segment *p = &c->segs[k], *s = &path[k];
        if (p->param) {
            if (s->len == 0 || n >= ROUTER_MAX_PARAMS)
                return false;
            m->params[n++] = (route_param){p->text, p->len, s->text, s->len};
        } else if (p->len != s->len || memcmp(p->text, s->text, p->len) != 0) {
            return false;
        }
    }
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

route_result router_find(const router *rt, const char *method, const char *path,
                         route_match *out)
{
    out->route = -1;
    out->n_params = 0;
    out->allow[0] = '\0';
    segment segs[ROUTER_MAX_SEGMENTS];
    int n_segs = split(path, segs, ROUTER_MAX_SEGMENTS);
    if (n_segs < 0)
        return ROUTE_NOT_FOUND; /* no pattern has more segments than a router allows */
    bool is_head = strcmp(method, "HEAD") == 0;
    size_t seen[32]; /* the routes whose pattern matched, for the Allow list */
    size_t n_seen = 0;
    route_match tmp;
    uint32_t best = 0;
    for (size_t j = 0; j < rt->n_by_count[n_segs]; j++) {
        size_t i = rt->by_count[n_segs][j];
        const compiled_route *c = &rt->compiled[i];
        if (!segments_match(c, segs, &tmp))
            continue;
        if (n_seen < sizeof seen / sizeof seen[0])
            seen[n_seen++] = i;
        const char *route_method = rt->routes[i].method;
        if ((out->route < 0 || c->specificity > best) &&
            (strcmp(route_method, method) == 0 || (is_head && c->is_get))) {
            best = c->specificity;
            out->route = (int)i;
            out->n_params = tmp.n_params;
            memcpy(out->params, tmp.params, sizeof tmp.params[0] * (size_t)tmp.n_params);
        }
    }
    if (!n_seen)
        return ROUTE_NOT_FOUND;
    /* only 405 and OPTIONS answers carry the list: formatting it for every request cost more
     * than the matching */
    if (out->route < 0 || strcmp(method, "OPTIONS") == 0) {
        for (size_t k = 0; k < n_seen; k++) {
            allow_add(out->allow, sizeof out->allow, rt->routes[seen[k]].method);
            if (rt->compiled[seen[k]].is_get)
                allow_add(out->allow, sizeof out->allow, "HEAD");
        }
        allow_add(out->allow, sizeof out->allow, "OPTIONS");
    }
    return out->route >= 0 ? ROUTE_FOUND : ROUTE_METHOD_NOT_ALLOWED;
}
