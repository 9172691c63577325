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

static void openapi_handler(api_ctx *c)
{
    size_t len;
    const char *doc = api_openapi_text(&len);
    http_res_bytes(c->res, 200, "application/json", (const unsigned char *)doc, len, true);
    http_res_header(c->res, "Cache-Control", "public, max-age=3600");
}

static void page_handler(api_ctx *c)
{
    serve_asset(c->res, "docs.html", "text/html; charset=utf-8");
    http_res_header(c->res, "Content-Security-Policy",
                    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                    "frame-ancestors 'none'");
}

static void asset_handler(api_ctx *c)
{
    const char *file = http_req_param(c->req, "file");
    const char *type = NULL;
    if (strcmp(file, "swagger-ui.css") == 0)
        type = "text/css; charset=utf-8";
    else if (strcmp(file, "swagger-ui-bundle.js") == 0 || strcmp(file, "docs-init.js") == 0)
        type = "application/javascript; charset=utf-8";
    if (!type) {
        http_res_error(c->res, 404, "not_found", "no such file", NULL);
        return;
    }
    serve_asset(c->res, file, type);
}

static const api_route routes[] = {
    {"GET", "/openapi.json", openapi_handler, HTTP_CACHEABLE, API_ANONYMOUS,
     .operation_id = "openapi", .summary = "This document", .response = "OpenApiDocument",
     .response_about = "OpenAPI 3.1 document"},
    {"GET", "/docs", page_handler, HTTP_CACHEABLE, API_ANONYMOUS, .operation_id = "docsPage",
     .summary = "Swagger UI", .response = "HtmlPage", .response_about = "HTML page",
     .media_type = "text/html"},
    {"GET", "/docs/:file", asset_handler, HTTP_CACHEABLE, API_ANONYMOUS,
     .operation_id = "docsAsset", .summary = "Swagger UI assets",
     .description = "`file` is swagger-ui.css, swagger-ui-bundle.js or docs-init.js; anything "
                    "else is 404 `not_found`.",
     .response_about = "swagger-ui.css, swagger-ui-bundle.js or docs-init.js"},
};

API_MODULE(docs, "This document and the Swagger UI that renders it", routes);
