/* SPDX-License-Identifier: MIT
 *
 * /api/v1/uploads: the tus 1.0.0 resumable upload protocol (core, creation, creation-with-upload,
 * creation-defer-length, termination, checksum, expiration). Every answer carries Tus-Resumable;
 * requests without the supported version get 412 with Tus-Version. PATCH and creation bodies are
 * spooled by the HTTP layer (HTTP_STREAM_BODY), so memory does not grow with the upload; a PATCH
 * whose client leaves in the middle still reaches its handler (HTTP_KEEP_PARTIAL_BODY), which
 * keeps what arrived as tus asks, so a resume starts where the connection dropped. The collection
 * answers with and without a trailing slash (tus clients are often configured with one).
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
    tus_headers(res);
    return false;
}

/* Protocol mistakes (bad headers) are 400 as tus expects; a refused file keeps its 422. */
static void fail(http_res *res, int rc, const domain_error *err)
{
    if (rc == ERR_INVALID && err && err->code && !err->field)
        http_res_error(res, 400, err->code, err->message ? err->message : "bad request", NULL);
    else
        api_fail(res, rc, err);
    tus_headers(res);
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
    tus_headers(res);
}

/* Before a body is read: the protocol version and a valid token (the session is checked with
 * the database afterwards). */
bool api_uploads_precheck(http_req *req, http_res *res)
{
    if (!version_ok(req, res))
        return false;
    if (!api_precheck_bearer(req, res)) {
        tus_headers(res);
        return false;
    }
    return true;
}

void api_uploads_options(http_req *req, http_res *res)
{
    char max[32];
    snprintf(max, sizeof max, "%" PRId64, uploads_max_size());
    http_res_empty(res, 204);
    http_res_header(res, "Tus-Version", TUS_VERSION);
    http_res_header(res, "Tus-Extension", TUS_EXTENSIONS);
    http_res_header(res, "Tus-Max-Size", max);
    http_res_header(res, "Tus-Checksum-Algorithm", "sha1,sha256");
    tus_headers(res);
}

/* Authenticates and parses :id; answers itself otherwise. */
static bool upload_request(http_req *req, http_res *res, db **d, auth_principal *p, int64_t *id)
{
    if (!version_ok(req, res))
        return false;
    *d = api_db(req, res);
    if (!*d || !api_auth(req, res, *d, p)) {
        tus_headers(res);
        return false;
    }
    if (id && !id_parse(http_req_param(req, "id"), id)) {
        http_res_error(res, 404, "upload_not_found", "no such upload", NULL);
        tus_headers(res);
        return false;
    }
    return true;
}

void api_uploads_create(http_req *req, http_res *res)
{
    db *d;
    auth_principal p;
    if (!upload_request(req, res, &d, &p, NULL))
        return;
    int64_t length = -1;
    const char *len = http_req_header(req, "Upload-Length");
    const char *defer = http_req_header(req, "Upload-Defer-Length");
    domain_error err = {0};
    if ((len && !parse_u64(len, &length)) || (defer && strcmp(defer, "1") != 0) ||
        (len && defer)) {
        err = (domain_error){.code = "bad_length",
                           .message = "Upload-Length must be a number, or Upload-Defer-Length 1"};
        http_res_error(res, 400, err.code, err.message, NULL);
        tus_headers(res);
        return;
    }
    uint64_t body = http_req_body_size(req);
    if (body > 0 && !octet_stream(req)) {
        http_res_error(res, 415, "unsupported_media_type",
                       "Content-Type must be application/offset+octet-stream", NULL);
        tus_headers(res);
        return;
    }
    store_upload u;
    int rc = uploads_create(d, &p.user, length, defer != NULL,
                            http_req_header(req, "Upload-Metadata"), &u, &err);
    if (rc == 0 && body > 0) /* creation-with-upload */
        rc = uploads_append(d, &p.user, u.id, 0, http_req_body_fd(req), body, false,
                            http_req_header(req, "Upload-Checksum"), -1, &u, &err);
    if (rc < 0 && !u.id) {
        fail(res, rc, &err);
        return;
    }
    char location[96];
    snprintf(location, sizeof location, "/api/v1/uploads/%" PRId64, u.id);
    if (rc < 0) {
        /* the upload exists; its first bytes were refused */
        fail(res, rc, &err);
        http_res_header(res, "Location", location);
        return;
    }
    http_res_empty(res, 201);
    http_res_header(res, "Location", location);
    offset_headers(res, &u);
}

void api_uploads_head(http_req *req, http_res *res)
{
    db *d;
    auth_principal p;
    int64_t id;
    if (!upload_request(req, res, &d, &p, &id))
        return;
    store_upload u;
    domain_error err = {0};
    int rc = uploads_get_own(d, p.user.id, id, &u, &err);
    if (rc < 0) {
        fail(res, rc, &err);
        return;
    }
    http_res_empty(res, 200);
    offset_headers(res, &u);
    char v[32];
    if (u.length >= 0) {
        snprintf(v, sizeof v, "%" PRId64, u.length);
        http_res_header(res, "Upload-Length", v);
    } else {
        http_res_header(res, "Upload-Defer-Length", "1");
    }
    if (u.metadata[0])
        http_res_header(res, "Upload-Metadata", u.metadata);
    http_res_header(res, "Cache-Control", "no-store");
}

void api_uploads_patch(http_req *req, http_res *res)
{
    db *d;
    auth_principal p;
    int64_t id, offset, length = -1;
    if (!upload_request(req, res, &d, &p, &id))
        return;
    if (!octet_stream(req)) {
        http_res_error(res, 415, "unsupported_media_type",
                       "Content-Type must be application/offset+octet-stream", NULL);
        tus_headers(res);
        return;
    }
    const char *len = http_req_header(req, "Upload-Length");
    if (!parse_u64(http_req_header(req, "Upload-Offset"), &offset) ||
        (len && !parse_u64(len, &length))) {
        http_res_error(res, 400, "bad_offset", "Upload-Offset (and Upload-Length) must be numbers",
                       NULL);
        tus_headers(res);
        return;
    }
    store_upload u;
    domain_error err = {0};
    int rc = uploads_append(d, &p.user, id, offset, http_req_body_fd(req), http_req_body_size(req),
                            http_req_body_cut(req), http_req_header(req, "Upload-Checksum"), length,
                            &u, &err);
    if (rc < 0) {
        fail(res, rc, &err);
        if (rc == ERR_CHECKSUM || rc == ERR_CONFLICT) {
            char v[32];
            snprintf(v, sizeof v, "%" PRId64, u.offset); /* unchanged */
            http_res_header(res, "Upload-Offset", v);
        }
        return;
    }
    http_res_empty(res, 204);
    offset_headers(res, &u);
}

void api_uploads_delete(http_req *req, http_res *res)
{
    db *d;
    auth_principal p;
    int64_t id;
    if (!upload_request(req, res, &d, &p, &id))
        return;
    domain_error err = {0};
    int rc = uploads_terminate(d, p.user.id, id, &err);
    if (rc < 0) {
        fail(res, rc, &err);
        return;
    }
    http_res_empty(res, 204);
    tus_headers(res);
}
