/* SPDX-License-Identifier: MIT
 *
 * /api/v1/uploads: the tus 1.0.0 resumable upload protocol (core, creation, creation-with-upload,
 * creation-defer-length, termination, checksum, expiration). Every answer carries Tus-Resumable;
 * requests without the supported version get 412 with Tus-Version. PATCH and creation bodies are
 * spooled by the HTTP layer (HTTP_STREAM_BODY), so memory does not grow with the upload; a PATCH
 * whose client leaves in the middle still reaches its handler (HTTP_KEEP_PARTIAL_BODY), which
 * keeps what arrived as tus asks, so a resume starts where the connection dropped. The collection
 * answers with and without a trailing slash (tus clients are often configured with one).
 *
 * Every route but OPTIONS has the same precheck, run before the wrapper (api/dispatch.c) and
 * before any body is read: it stamps Tus-Resumable on the answer, whatever answers later (the
 * wrapper's 401 and 503 included), then refuses another version (412, before 401 as tus orders
 * them) and a missing or bad token.
 */
#include "api/api.h"

#include "core/id.h"
#include "domain/uploads.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define TUS_VERSION "1.0.0"
/* concatenation is not offered: see docs/media.md */
#define TUS_EXTENSIONS                                                                            \
    "creation,creation-with-upload,creation-defer-length,termination,checksum,expiration"

static void tus_headers(http_res *res)
{
    http_res_header(res, "Tus-Resumable", TUS_VERSION);
}

/* 412 unless the client speaks our version. */
static bool version_ok(http_req *req, http_res *res)
{
    const char *v = http_req_header(req, "Tus-Resumable");
    if (v && !strcmp(v, TUS_VERSION))
        return true;
    http_res_error(res, 412, "unsupported_version", "Tus-Resumable 1.0.0 is required", NULL);
    http_res_header(res, "Tus-Version", TUS_VERSION);
    return false;
}

/* Protocol mistakes (bad headers) are 400 as tus expects; a refused file keeps its 422. */
static void fail(http_res *res, int rc, const domain_error *err)
{
    if (rc == ERR_INVALID && err && err->code && !err->field)
        http_res_error(res, 400, err->code, err->message ? err->message : "bad request", NULL);
    else
        api_fail(res, rc, err);
}

static bool parse_u64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno || s[0] == '-' || v > INT64_MAX)
        return false;
    *out = (int64_t)v;
    return true;
}

static bool octet_stream(http_req *req)
{
    const char *ct = http_req_header(req, "Content-Type");
    return ct && !strncasecmp(ct, "application/offset+octet-stream", 31);
}

/* 415 unless the body is declared as tus bytes. */
static bool octet_stream_ok(http_req *req, http_res *res)
{
    if (octet_stream(req))
        return true;
    http_res_error(res, 415, "unsupported_media_type",
                   "Content-Type must be application/offset+octet-stream", NULL);
    return false;
}

static void expires_header(http_res *res, int64_t ms)
{
    char text[64];
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    http_res_header(res, "Upload-Expires", text);
}

static void offset_headers(http_res *res, const store_upload *u)
{
    char v[32];
    snprintf(v, sizeof v, "%" PRId64, u->offset);
    http_res_header(res, "Upload-Offset", v);
    if (!strcmp(u->state, "uploading"))
        expires_header(res, u->expires_at);
    if (u->media_id) {
        snprintf(v, sizeof v, "%" PRId64, u->media_id);
        http_res_header(res, "Upload-Media-Id", v);
    }
}

/* See the top of the file: runs on the event loop, so it checks the token's signature only (the
 * wrapper checks the session with the database afterwards). */
static bool uploads_precheck(http_req *req, http_res *res)
{
    tus_headers(res);
    return version_ok(req, res) && api_precheck_bearer(req, res);
}

static void uploads_options_handler(api_ctx *c)
{
    char max[32];
    snprintf(max, sizeof max, "%" PRId64, uploads_max_size());
    http_res_empty(c->res, 204);
    http_res_header(c->res, "Tus-Version", TUS_VERSION);
    http_res_header(c->res, "Tus-Extension", TUS_EXTENSIONS);
    http_res_header(c->res, "Tus-Max-Size", max);
    http_res_header(c->res, "Tus-Checksum-Algorithm", "sha1,sha256");
    tus_headers(c->res);
}

/* The :id upload; answers 404 itself. */
static bool upload_id(api_ctx *c, int64_t *id)
{
    if (id_parse(http_req_param(c->req, "id"), id))
        return true;
    http_res_error(c->res, 404, "upload_not_found", "no such upload", NULL);
    return false;
}

/* Upload-Length n, or Upload-Defer-Length 1 (*length -1), exactly one of them; 400 otherwise. */
static bool creation_length(api_ctx *c, int64_t *length, bool *deferred)
{
    const char *len = http_req_header(c->req, "Upload-Length");
    const char *defer = http_req_header(c->req, "Upload-Defer-Length");
    *length = -1;
    *deferred = defer != NULL;
    if ((len && !parse_u64(len, length)) || (defer && strcmp(defer, "1") != 0) ||
        (len && defer)) {
        http_res_error(c->res, 400, "bad_length",
                       "Upload-Length must be a number, or Upload-Defer-Length 1", NULL);
        return false;
    }
    return true;
}

static void uploads_create_handler(api_ctx *c)
{
    int64_t length;
    bool deferred;
    if (!creation_length(c, &length, &deferred))
        return;
    uint64_t body = http_req_body_size(c->req);
    if (body > 0 && !octet_stream_ok(c->req, c->res))
        return;
    store_upload u;
    domain_error err = {0};
    int rc = uploads_create(c->db, &c->principal.user, length, deferred,
                            http_req_header(c->req, "Upload-Metadata"), &u, &err);
    if (rc == 0 && body > 0) /* creation-with-upload */
        rc = uploads_append(c->db, &c->principal.user, u.id, 0, http_req_body_fd(c->req), body,
                            false, http_req_header(c->req, "Upload-Checksum"), -1, &u, &err);
    if (rc < 0 && !u.id) {
        fail(c->res, rc, &err);
        return;
    }
    char location[96];
    snprintf(location, sizeof location, "/api/v1/uploads/%" PRId64, u.id);
    if (rc < 0) {
        /* the upload exists; its first bytes were refused */
        fail(c->res, rc, &err);
        http_res_header(c->res, "Location", location);
        return;
    }
    http_res_empty(c->res, 201);
    http_res_header(c->res, "Location", location);
    offset_headers(c->res, &u);
}

/* Answers HEAD (the router sends HEAD to GET routes). */
static void uploads_head_handler(api_ctx *c)
{
    int64_t id;
    if (!upload_id(c, &id))
        return;
    store_upload u;
    domain_error err = {0};
    int rc = uploads_get_own(c->db, c->viewer, id, &u, &err);
    if (rc < 0) {
        fail(c->res, rc, &err);
        return;
    }
    http_res_empty(c->res, 200);
    offset_headers(c->res, &u);
    char v[32];
    if (u.length >= 0) {
        snprintf(v, sizeof v, "%" PRId64, u.length);
        http_res_header(c->res, "Upload-Length", v);
    } else {
        http_res_header(c->res, "Upload-Defer-Length", "1");
    }
    if (u.metadata[0])
        http_res_header(c->res, "Upload-Metadata", u.metadata);
    http_res_header(c->res, "Cache-Control", "no-store");
}

static void uploads_patch_handler(api_ctx *c)
{
    int64_t id, offset, length = -1;
    if (!upload_id(c, &id) || !octet_stream_ok(c->req, c->res))
        return;
    const char *len = http_req_header(c->req, "Upload-Length");
    if (!parse_u64(http_req_header(c->req, "Upload-Offset"), &offset) ||
        (len && !parse_u64(len, &length))) {
        http_res_error(c->res, 400, "bad_offset",
                       "Upload-Offset (and Upload-Length) must be numbers", NULL);
        return;
    }
    store_upload u;
    domain_error err = {0};
    int rc = uploads_append(c->db, &c->principal.user, id, offset, http_req_body_fd(c->req),
                            http_req_body_size(c->req), http_req_body_cut(c->req),
                            http_req_header(c->req, "Upload-Checksum"), length, &u, &err);
    if (rc < 0) {
        fail(c->res, rc, &err);
        if (rc == ERR_CHECKSUM || rc == ERR_CONFLICT) {
            char v[32];
            snprintf(v, sizeof v, "%" PRId64, u.offset); /* unchanged */
            http_res_header(c->res, "Upload-Offset", v);
        }
        return;
    }
    http_res_empty(c->res, 204);
    offset_headers(c->res, &u);
}

static void uploads_delete_handler(api_ctx *c)
{
    int64_t id;
    if (!upload_id(c, &id))
        return;
    domain_error err = {0};
    int rc = uploads_terminate(c->db, c->viewer, id, &err);
    if (rc < 0)
        fail(c->res, rc, &err);
    else
        http_res_empty(c->res, 204);
}

#define TUS_ABOUT                                                                                  \
    "tus 1.0.0 (tus.io/protocols/resumable-upload) with the creation, creation-with-upload, "     \
    "creation-defer-length, termination, checksum (sha1, sha256) and expiration extensions (not " \
    "concatenation); see docs/media.md. Every answer carries Tus-Resumable; another version "     \
    "gets 412 with Tus-Version."
#define TUS_CREATED                                                                                \
    "Created: Location, Upload-Offset, Upload-Expires (and Upload-Media-Id when complete)"
#define TUS_OPTIONS "Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm headers"
/* what a request with a body may be refused for, beyond the declaration's own statuses */
#define TUS_BODY_ERRORS "400 412 413 415 422 460"

static const api_route routes[] = {
    {"OPTIONS", "/api/v1/uploads", uploads_options_handler, HTTP_INLINE, API_ANONYMOUS,
     .operation_id = "tusOptions", .summary = "What the tus server supports",
     .description = TUS_ABOUT, .status = 204, .response_about = TUS_OPTIONS},
    {"POST", "/api/v1/uploads", uploads_create_handler, HTTP_BLOCKING | HTTP_STREAM_BODY,
     API_SIGNED_IN, .precheck = uploads_precheck, .operation_id = "tusCreate",
     .summary = "Create an upload (optionally with its first bytes)", .description = TUS_ABOUT,
     .status = 201, .response_about = TUS_CREATED, .errors = TUS_BODY_ERRORS},
    {"OPTIONS", "/api/v1/uploads/", uploads_options_handler, HTTP_INLINE, API_ANONYMOUS,
     .operation_id = "tusOptionsSlash",
     .summary = "What the tus server supports (the same, with a trailing slash)",
     .description = TUS_ABOUT, .status = 204, .response_about = TUS_OPTIONS},
    {"POST", "/api/v1/uploads/", uploads_create_handler, HTTP_BLOCKING | HTTP_STREAM_BODY,
     API_SIGNED_IN, .precheck = uploads_precheck, .operation_id = "tusCreateSlash",
     .summary = "Create an upload (optionally with its first bytes) (the same, with a trailing "
                "slash)",
     .description = TUS_ABOUT, .status = 201, .response_about = TUS_CREATED,
     .errors = TUS_BODY_ERRORS},
    {"GET", "/api/v1/uploads/:id", uploads_head_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .precheck = uploads_precheck, .operation_id = "tusHead",
     .summary = "Upload state (used as HEAD: Upload-Offset, Upload-Length or "
                "Upload-Defer-Length, Upload-Metadata)",
     .description = TUS_ABOUT,
     .response_about = "Upload-Offset etc. in headers; Upload-Media-Id once complete",
     .errors = "410 412"},
    {"PATCH", "/api/v1/uploads/:id", uploads_patch_handler,
     HTTP_BLOCKING | HTTP_STREAM_BODY | HTTP_KEEP_PARTIAL_BODY, API_SIGNED_IN,
     .precheck = uploads_precheck, .operation_id = "tusPatch",
     .summary = "Append bytes at Upload-Offset",
     .description = TUS_ABOUT " A PATCH cut short (the client left) keeps the bytes that arrived "
                              "(fsynced, then counted), unless it carried Upload-Checksum, which "
                              "a prefix cannot match; HEAD then shows the kept offset.",
     .status = 204,
     .response_about = "Upload-Offset, Upload-Expires (Upload-Media-Id when complete)",
     .errors = "409 410 " TUS_BODY_ERRORS},
    {"DELETE", "/api/v1/uploads/:id", uploads_delete_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .precheck = uploads_precheck, .operation_id = "tusTerminate",
     .summary = "Terminate an upload", .description = TUS_ABOUT, .status = 204,
     .response_about = "Terminated", .errors = "412"},
};

API_MODULE(uploads, "Uploads: resumable uploads (tus 1.0.0) that become media", routes);
