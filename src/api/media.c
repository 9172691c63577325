/* SPDX-License-Identifier: MIT
 *
 * /api/v1/media: a media record and its processing state, for its owner.
 */
#include "api/api.h"

#include "core/id.h"
#include "core/util.h"
#include "domain/media.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int64_t media_post_max = 20 * 1024 * 1024;

json_t *api_media_urls(int64_t id, bool image)
{
    static const char *const video_files[][2] = {
        {"master", "hls/master.m3u8"},
        {"poster", "poster.jpg"},
        {"thumbnail_160", "thumb_160.jpg"},
        {"thumbnail_480", "thumb_480.jpg"},
        {"thumbnail_720", "thumb_720.jpg"},
        {"storyboard_vtt", "storyboard.vtt"},
        {"storyboard_image", "storyboard.jpg"},
        /* deprecated: the same as storyboard_vtt (docs/media.md) */
        {"storyboard", "storyboard.vtt"}};
    static const char *const image_files[][2] = {{"image", "image.jpg"},
                                                 {"thumbnail_160", "thumb_160.jpg"},
                                                 {"thumbnail_480", "thumb_480.jpg"},
                                                 {"thumbnail_720", "thumb_720.jpg"}};
    const char *const(*files)[2] = image ? image_files : video_files;
    size_t n = image ? sizeof image_files / sizeof image_files[0]
                     : sizeof video_files / sizeof video_files[0];
    int64_t exp = now_ms() / 1000 + MEDIA_URL_TTL_S;
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++) {
        char url[700];
        media_signed_url(id, files[i][1], exp, url, sizeof url);
        json_object_set_new(o, files[i][0], json_string(url));
    }
    return o;
}

void api_media_set_post_max(int64_t bytes)
{
    media_post_max = bytes;
}

json_t *api_media_json(const store_media *m)
{
    json_t *probe = m->probe ? json_loads(m->probe, 0, NULL) : NULL;
    json_t *renditions = m->renditions ? json_loads(m->renditions, 0, NULL) : NULL;
    json_t *o = json_pack("{s:o, s:s, s:s, s:s, s:I, s:s, s:I, s:o, s:o}", "id", json_id(m->id),
                          "kind", m->kind, "mime", m->mime, "filename", m->filename, "size",
                          (json_int_t)m->size, "state", m->state, "progress",
                          (json_int_t)m->progress, "created_at", json_time(m->created_at),
                          "updated_at", json_time(m->updated_at));
    json_object_set_new(o, "error", m->error[0] ? json_string(m->error) : json_null());
    json_object_set_new(o, "probe", probe ? probe : json_null());
    json_object_set_new(o, "renditions", renditions ? renditions : json_array());
    json_t *playback = json_null();
    if (!strcmp(m->state, "ready")) {
        /* signed, so they can be handed to a player or an <img> as they are */
        playback = api_media_urls(m->id, strcmp(m->kind, "image") == 0);
    }
    json_object_set_new(o, "playback", playback);
    return o;
}

/* Authenticates and parses :id (when id is not NULL); answers 401/404 itself. */
static bool media_request(http_req *req, http_res *res, db **d, auth_principal *p, int64_t *id)
{
    *d = api_db(req, res);
    if (!*d || !api_auth(req, res, *d, p))
        return false;
    if (id && !id_parse(http_req_param(req, "id"), id)) {
        http_res_error(res, 404, "media_not_found", "no such media", NULL);
        return false;
    }
    return true;
}

/* The media as JSON with status, or the domain failure; frees m either way. */
static void answer_media(http_res *res, int rc, const domain_error *err, store_media *m,
                         int status)
{
    if (rc < 0) {
        api_fail(res, rc, err);
        return;
    }
    http_res_json(res, status, api_media_json(m));
    media_free(m);
}

/* GET /api/v1/media: the caller's media in every state, newest first, cursor-paginated. */
void api_media_list(http_req *req, http_res *res)
{
    db *d;
    auth_principal p;
    int64_t cursor;
    int limit;
    if (!media_request(req, res, &d, &p, NULL) || !api_page(req, res, &cursor, &limit))
        return;
    store_media *m = api_alloc(req, res, (size_t)limit + 1, sizeof *m);
    bool *posted = m ? api_alloc(req, res, (size_t)limit + 1, sizeof *posted) : NULL;
    if (!posted)
        return;
    domain_error err = {0};
    int n = media_list_own(d, p.user.id, cursor, limit + 1, m, posted, &err);
    if (n < 0) {
        api_fail(res, n, &err);
    } else {
        json_t *items = json_array();
        for (int i = 0; i < n && i < limit; i++) {
            json_t *o = api_media_json(&m[i]);
            json_object_set_new(o, "posted", json_boolean(posted[i]));
            json_array_append_new(items, o);
        }
        api_send_page(res, items, n, limit, n > limit ? m[limit - 1].id : 0);
        for (int i = 0; i < n; i++)
            media_free(&m[i]);
    }
}

void api_media_get(http_req *req, http_res *res)
{
    db *d;
    auth_principal p;
    int64_t id;
    if (!media_request(req, res, &d, &p, &id))
        return;
    store_media m;
    domain_error err = {0};
    answer_media(res, media_get_own(d, p.user.id, id, &m, &err), &err, &m, 200);
}

/* Before the body is read: a valid token and a declared size within --media-post-max. */
bool api_media_precheck(http_req *req, http_res *res)
{
    const char *cl = http_req_header(req, "Content-Length");
    if (cl && strtoull(cl, NULL, 10) > (unsigned long long)media_post_max) {
        http_res_error(res, 413, "body_too_large", "images sent this way are limited in size",
                       NULL);
        return false;
    }
    return api_precheck_bearer(req, res);
}

/* POST /api/v1/media: an image as the raw body (up to --media-post-max bytes); the file name may
 * come in ?filename=. */
void api_media_create(http_req *req, http_res *res)
{
    db *d;
    auth_principal p;
    if (!media_request(req, res, &d, &p, NULL))
        return;
    if (http_req_body_size(req) > (uint64_t)media_post_max) {
        http_res_error(res, 413, "body_too_large", "images sent this way are limited in size",
                       NULL);
        return;
    }
    const char *name = http_req_query(req, "filename");
    store_media m;
    domain_error err = {0};
    int rc = media_ingest_image_fd(d, &p.user, http_req_body_fd(req), http_req_body_size(req),
                                   name && strlen(name) < 200 ? name : "image", &m, &err);
    answer_media(res, rc, &err, &m, 201);
}

void api_media_delete(http_req *req, http_res *res)
{
    db *d;
    auth_principal p;
    int64_t id;
    if (!media_request(req, res, &d, &p, &id))
        return;
    domain_error err = {0};
    api_answer_empty(res, media_delete(d, p.user.id, id, &err), &err);
}

/* ---- playback -------------------------------------------------------------------------------
 * Files are served to the owner (bearer) or to anyone holding a signed URL for that exact path.
 * Playlists and the storyboard index are rewritten on the way out so every URL inside them is
 * signed too: a standard HLS player follows them without custom headers. Segments and images go
 * out with sendfile, Range (206/416), ETag/If-None-Match and Last-Modified. */

static const char *content_type_of(const char *rel, const store_media *m)
{
    const char *dot = strrchr(rel, '.');
    if (!strcmp(rel, "original"))
        return m->mime;
    if (dot && !strcmp(dot, ".m3u8"))
        return "application/vnd.apple.mpegurl";
    if (dot && !strcmp(dot, ".ts"))
        return "video/mp2t";
    if (dot && !strcmp(dot, ".jpg"))
        return "image/jpeg";
    if (dot && !strcmp(dot, ".vtt"))
        return "text/vtt; charset=utf-8";
    return "application/octet-stream";
}

/* Names a client may ask for; everything else is 404 before the file system is touched. */
static bool rendition_ok(const char *r)
{
    size_t n = strlen(r);
    if (n < 3 || n > 5 || r[n - 1] != 'p')
        return false;
    for (size_t i = 0; i + 1 < n; i++)
        if (r[i] < '0' || r[i] > '9')
            return false;
    return true;
}

static bool segment_ok(const char *f)
{
    if (!strcmp(f, "index.m3u8"))
        return true;
    size_t n = strlen(f);
    if (n < 9 || n > 12 || strncmp(f, "seg", 3) != 0 || strcmp(f + n - 3, ".ts") != 0)
        return false;
    for (size_t i = 3; i < n - 3; i++)
        if (f[i] < '0' || f[i] > '9')
            return false;
    return true;
}

static bool top_file_ok(const char *f)
{
    static const char *const names[] = {"image.jpg",      "poster.jpg",     "thumb_160.jpg",
                                        "thumb_480.jpg",  "thumb_720.jpg",  "storyboard.jpg",
                                        "storyboard.vtt", "original",       NULL};
    for (const char *const *n = names; *n; n++)
        if (!strcmp(*n, f))
            return true;
    return false;
}

/* Rewrites each URI line of a playlist (or the image reference of a storyboard cue) into a signed
 * absolute path; dir is the playlist's directory relative to the media root. */
static void sign_references(int64_t id, const char *dir, const char *text, int64_t exp,
                            bool vtt, buf *out)
{
    const char *line = text;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *hash = memchr(line, '#', len);
        bool uri = !vtt && len > 0 && line[0] != '#' && !memchr(line, ' ', len);
        bool vtt_ref = vtt && len > 15 && !strncmp(line, "storyboard.jpg#", 15);
        if (uri || vtt_ref) {
            size_t name_len = vtt_ref ? (size_t)(hash - line) : len;
            buf rel = {0};
            char url[700];
            buf_printf(&rel, "%s%s%.*s", dir, *dir ? "/" : "", (int)name_len, line);
            media_signed_url(id, rel.data, exp, url, sizeof url);
            buf_free(&rel);
            buf_printf(out, "%s%.*s\n", url, (int)(len - name_len), line + name_len);
        } else {
            buf_printf(out, "%.*s\n", (int)len, line);
        }
        line = end ? end + 1 : line + len;
    }
}

/* Parses "bytes=a-b", "bytes=a-" or "bytes=-n" against size; false for anything else (then the
 * whole file is sent, as RFC 9110 allows), *unsatisfiable when the range lies past the end. */
static bool parse_range(const char *h, uint64_t size, uint64_t *from, uint64_t *to,
                        bool *unsatisfiable)
{
    *unsatisfiable = false;
    if (!h || strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
        return false;
    const char *p = h + 6;
    char *end;
    if (*p == '-') {
        unsigned long long n = strtoull(p + 1, &end, 10);
        if (end == p + 1 || *end)
            return false;
        if (n == 0 || size == 0) {
            *unsatisfiable = true;
            return true;
        }
        *from = n >= size ? 0 : size - n;
        *to = size - 1;
        return true;
    }
    unsigned long long a = strtoull(p, &end, 10);
    if (end == p || *end != '-')
        return false;
    p = end + 1;
    unsigned long long b = size ? size - 1 : 0;
    if (*p) {
        b = strtoull(p, &end, 10);
        if (*end || b < a)
            return false;
        if (b >= size)
            b = size - 1;
    }
    if (a >= size) {
        *unsatisfiable = true;
        return true;
    }
    *from = a;
    *to = b;
    return true;
}

static void http_date(time_t t, char *out, size_t n)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static void serve(http_req *req, http_res *res, const char *rel)
{
    db *d = api_db(req, res);
    if (!d)
        return;
    int64_t id;
    if (!id_parse(http_req_param(req, "id"), &id)) {
        http_res_error(res, 404, "media_not_found", "no such media", NULL);
        return;
    }
    const char *sig = http_req_query(req, "sig");
    store_media m;
    int rc;
    if (sig) {
        domain_error err = {0};
        rc = media_get_signed(d, id, rel, http_req_path(req), http_req_query(req, "exp"), sig, &m,
                              &err);
        if (rc == ERR_FORBIDDEN) {
            api_fail(res, rc, &err);
            return;
        }
    } else {
        auth_principal p;
        if (!api_auth(req, res, d, &p))
            return;
        domain_error err = {0};
        rc = media_get_own(d, p.user.id, id, &m, &err);
    }
    if (rc == 0 && strcmp(rel, "original") != 0 && strcmp(m.state, "ready") != 0)
        rc = ERR_NOT_FOUND; /* nothing to play before processing has finished */
    if (rc < 0) {
        if (rc == 0 || rc == ERR_NOT_FOUND)
            http_res_error(res, 404, "media_not_found", "no such media", NULL);
        else
            api_fail(res, rc, NULL);
        if (rc == 0)
            media_free(&m);
        return;
    }
    const char *type = content_type_of(rel, &m);
    media_free(&m);
    int fd;
    object_info st;
    if (media_open_file(id, rel, &fd, &st) < 0) {
        http_res_error(res, 404, "file_not_found", "no such file", NULL);
        return;
    }
    const char *dot = strrchr(rel, '.');
    bool rewrite = dot && (!strcmp(dot, ".m3u8") || !strcmp(dot, ".vtt"));
    if (rewrite) {
        /* small text files: read, sign what they reference, answer from memory */
        buf text = {0}, out = {0};
        char chunk[8192];
        ssize_t n;
        while ((n = read(fd, chunk, sizeof chunk)) > 0)
            buf_append(&text, chunk, (size_t)n);
        buf_append(&text, "", 1);
        close(fd);
        char dir[256];
        snprintf(dir, sizeof dir, "%s", rel);
        char *slash = strrchr(dir, '/');
        *(slash ? slash : dir) = '\0';
        sign_references(id, dir, text.data, now_ms() / 1000 + MEDIA_URL_TTL_S,
                        !strcmp(dot, ".vtt"), &out);
        http_res_bytes(res, 200, type, out.data, out.len, false);
        http_res_header(res, "Cache-Control", "private, max-age=60");
        buf_free(&text);
        buf_free(&out);
        return;
    }
    char etag[64], modified[64];
    snprintf(etag, sizeof etag, "\"%llx-%llx\"", (unsigned long long)st.size,
             (unsigned long long)st.mtime_ns);
    http_date((time_t)(st.mtime_ns / 1000000000LL), modified, sizeof modified);
    http_res_header(res, "ETag", etag);
    http_res_header(res, "Last-Modified", modified);
    http_res_header(res, "Accept-Ranges", "bytes");
    /* segments and images never change under a name; the original might be replaced */
    http_res_header(res, "Cache-Control", strcmp(rel, "original") ? "private, max-age=31536000, "
                                                                    "immutable"
                                                                  : "private, max-age=3600");
    const char *inm = http_req_header(req, "If-None-Match");
    if (inm && !strcmp(inm, etag)) {
        close(fd);
        http_res_empty(res, 304);
        return;
    }
    uint64_t size = st.size, from = 0, to = size ? size - 1 : 0;
    bool bad;
    if (parse_range(http_req_header(req, "Range"), size, &from, &to, &bad)) {
        char cr[96];
        if (bad) {
            close(fd);
            snprintf(cr, sizeof cr, "bytes */%llu", (unsigned long long)size);
            http_res_error(res, 416, "range_not_satisfiable", "the range is outside the file",
                           NULL);
            http_res_header(res, "Content-Range", cr);
            return;
        }
        snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu", (unsigned long long)from,
                 (unsigned long long)to, (unsigned long long)size);
        http_res_file(res, 206, type, fd, from, to - from + 1);
        http_res_header(res, "Content-Range", cr);
        return;
    }
    http_res_file(res, 200, type, fd, 0, size);
}

void api_media_master(http_req *req, http_res *res)
{
    serve(req, res, "hls/master.m3u8");
}

void api_media_variant(http_req *req, http_res *res)
{
    const char *r = http_req_param(req, "rendition"), *f = http_req_param(req, "file");
    if (!rendition_ok(r) || !segment_ok(f)) {
        http_res_error(res, 404, "file_not_found", "no such file", NULL);
        return;
    }
    char rel[64];
    snprintf(rel, sizeof rel, "hls/%s/%s", r, f);
    serve(req, res, rel);
}

void api_media_file(http_req *req, http_res *res)
{
    const char *f = http_req_param(req, "file");
    if (!top_file_ok(f)) {
        http_res_error(res, 404, "file_not_found", "no such file", NULL);
        return;
    }
    serve(req, res, f);
}
