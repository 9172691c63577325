/* SPDX-License-Identifier: MIT
 *
 * The OpenAPI document and the Swagger UI that renders it, all served from memory.
 */
#include "api/api.h"

#include "api/assets.h"
#include "api/openapi.h"

#include <string.h>

static void serve_asset(http_res *res, const char *name, const char *content_type)
{
    const unsigned char *data;
    size_t len;
    if (!asset_get(name, &data, &len)) {
        http_res_error(res, 404, "not_found", "no such file", NULL);
        return;
    }
    http_res_bytes(res, 200, content_type, data, len, true);
    http_res_header(res, "Cache-Control", "public, max-age=3600");
}

void api_openapi(http_req *req, http_res *res)
{
    size_t len;
    const char *doc = api_openapi_text(&len);
    http_res_bytes(res, 200, "application/json", (const unsigned char *)doc, len, true);
    http_res_header(res, "Cache-Control", "public, max-age=3600");
}

void api_docs_page(http_req *req, http_res *res)
{
    serve_asset(res, "docs.html", "text/html; charset=utf-8");
    http_res_header(res, "Content-Security-Policy",
                    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                    "frame-ancestors 'none'");
}

void api_docs_asset(http_req *req, http_res *res)
{
    const char *file = http_req_param(req, "file");
    const char *type = NULL;
    if (strcmp(file, "swagger-ui.css") == 0)
        type = "text/css; charset=utf-8";
    else if (strcmp(file, "swagger-ui-bundle.js") == 0 || strcmp(file, "docs-init.js") == 0)
        type = "application/javascript; charset=utf-8";
    if (!type) {
        http_res_error(res, 404, "not_found", "no such file", NULL);
        return;
    }
    serve_asset(res, file, type);
}
