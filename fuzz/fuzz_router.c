/* SPDX-License-Identifier: MIT
 *
 * Fuzzes route matching with arbitrary methods and paths: input is "METHOD PATH". The matcher
 * must never read out of bounds, and every captured parameter must lie inside the path.
 */
#include "http/router.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void noop(http_req *req, http_res *res) {}

static const http_route table[] = {
    {"GET", "/health", noop, 0, NULL, NULL},
    {"GET", "/docs/:file", noop, 0, NULL, NULL},
    {"GET", "/api/v1/users/:handle", noop, 0, NULL, NULL},
    {"PATCH", "/api/v1/users/:handle", noop, 0, NULL, NULL},
    {"DELETE", "/api/v1/auth/sessions/:id", noop, 0, NULL, NULL},
    {"PATCH", "/api/v1/admin/users/:id/role", noop, 0, NULL, NULL},
    {"GET", "/api/v1/:a/:b/:c/:d/:e/:f/:g/:h/:i", noop, 0, NULL, NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    char *space = strchr(s, ' ');
    const char *method = "GET", *path = s;
    if (space) {
        *space = '\0';
        method = s;
        path = space + 1;
    }
    static router *rt;
    if (!rt)
        rt = router_new(table, sizeof table / sizeof table[0]);
    route_match m;
    route_result r = router_find(rt, method, path, &m);
    size_t plen = strlen(path);
    if (r == ROUTE_FOUND)
        for (int i = 0; i < m.n_params; i++)
            if (m.params[i].value < path || m.params[i].value + m.params[i].value_len > path + plen)
                abort();
    free(s);
    return 0;
}
