/* SPDX-License-Identifier: MIT
 *
 * /api/v1/media: a media record and its processing state, for its owner; its files, to the owner
 * or to anyone holding a signed link; and the "media.progress" event the owner receives live
 * (the domain reports plain values, this file shapes what clients see).
 */
#include "api/api.h"

#include "core/bus.h"
#include "core/id.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/util.h"
#include "domain/media.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ?filename= of POST /api/v1/media: a longer one is replaced by "image" rather than refused,
 * leaving room in store_media.filename. */
#define IMAGE_FILENAME_MAX_BYTES 199

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
    bool playable = media_playable(m);
    json_object_set_new(o, "playable", json_boolean(playable));
    json_t *playback = json_null();
    if (playable) {
        /* signed, so they can be handed to a player or an <img> as they are */
        playback = api_media_urls(m->id, strcmp(m->kind, "image") == 0);
    }
    json_object_set_new(o, "playback", playback);
    return o;
}

/* The "media.progress" event the owner's sockets and event streams receive (the domain's
 * progress listener, installed by app.c). */
void api_media_progress(const media_progress *p)
{
    json_t *data = json_pack("{s:o, s:s, s:I}", "media_id", json_id(p->media_id), "state",
                             p->state, "progress", (json_int_t)p->progress);
    /* only where it says something "ready" does not: a video playing while still processing
     * (the other events keep the shape clients know) */
    if (p->playable && strcmp(p->state, "ready") != 0)
        json_object_set_new(data, "playable", json_true());
    bus_publish_user(p->owner, "media.progress", data);
}

/* The :id media; answers 404 itself. */
static bool media_id(api_ctx *c, int64_t *id)
{
    if (id_parse(http_req_param(c->req, "id"), id))
        return true;
    http_res_error(c->res, 404, "media_not_found", "no such media", NULL);
    return false;
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

static void media_list_handler(api_ctx *c)
{
    int64_t cursor;
    int limit;
    if (!api_page(c->req, c->res, &cursor, &limit))
        return;
    store_media *m = api_alloc(c->req, c->res, (size_t)limit + 1, sizeof *m);
    bool *posted = m ? api_alloc(c->req, c->res, (size_t)limit + 1, sizeof *posted) : NULL;
    if (!posted)
        return;
    domain_error err = {0};
    int n = media_list_own(c->db, c->viewer, cursor, limit + 1, m, posted, &err);
    if (n < 0) {
        api_fail(c->res, n, &err);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++) {
        json_t *o = api_media_json(&m[i]);
        json_object_set_new(o, "posted", json_boolean(posted[i]));
        json_array_append_new(items, o);
    }
    api_send_page(c->res, items, n, limit, n > limit ? m[limit - 1].id : 0);
    for (int i = 0; i < n; i++)
        media_free(&m[i]);
}

static void media_get_handler(api_ctx *c)
{
    int64_t id;
    if (!media_id(c, &id))
        return;
    store_media m;
    domain_error err = {0};
    answer_media(c->res, media_get_own(c->db, c->viewer, id, &m, &err), &err, &m, 200);
}

/* Before the body is read: a valid token and a declared size within --media-post-max. */
static bool media_create_precheck(http_req *req, http_res *res)
{
    const char *cl = http_req_header(req, "Content-Length");
    if (cl && strtoull(cl, NULL, 10) > (unsigned long long)media_post_max) {
        http_res_error(res, 413, "body_too_large", "images sent this way are limited in size",
                       NULL);
        return false;
    }
    return api_precheck_bearer(req, res);
}

/* The image is the raw body (up to --media-post-max bytes: a chunked body declares no size up
 * front, so it is measured again once spooled). */
static void media_create_handler(api_ctx *c)
{
    if (http_req_body_size(c->req) > (uint64_t)media_post_max) {
        http_res_error(c->res, 413, "body_too_large", "images sent this way are limited in size",
                       NULL);
        return;
    }
    const char *name = http_req_query(c->req, "filename");
    if (!name || strlen(name) > IMAGE_FILENAME_MAX_BYTES)
        name = "image";
    store_media m;
    domain_error err = {0};
    int rc = media_ingest_image_fd(c->db, &c->principal.user, http_req_body_fd(c->req),
                                   http_req_body_size(c->req), name, &m, &err);
    answer_media(c->res, rc, &err, &m, 201);
}

static void media_delete_handler(api_ctx *c)
{
    int64_t id;
    if (!media_id(c, &id))
        return;
    domain_error err = {0};
    api_answer_empty(c->res, media_delete(c->db, c->viewer, id, &err), &err);
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

/* The media a file request may open, answering itself otherwise: with ?sig= the link is the
 * permission (no token needed; a bad one is still 401, as on every API_OPTIONAL route), without
 * one the caller must be its owner. Nothing but the original is served before processing has
 * finished. */
static bool playable_media(api_ctx *c, int64_t id, const char *rel, store_media *m)
{
    const char *sig = http_req_query(c->req, "sig");
    domain_error err = {0};
    int rc;
    if (sig) {
        rc = media_get_signed(c->db, id, rel, http_req_path(c->req),
                              http_req_query(c->req, "exp"), sig, m, &err);
        if (rc == ERR_FORBIDDEN) {
            api_fail(c->res, rc, &err);
            return false;
        }
    } else {
        /* neither a link nor a token: the same 401 as a route that requires one */
        if (!c->authed && !api_auth(c->req, c->res, c->db, &c->principal))
            return false;
        rc = media_get_own(c->db, c->viewer, id, m, &err);
    }
    if (rc == 0 && strcmp(rel, "original") != 0 && !media_playable(m)) {
        media_free(m);
        rc = ERR_NOT_FOUND;
    }
    if (rc == ERR_NOT_FOUND)
        http_res_error(c->res, 404, "media_not_found", "no such media", NULL);
    else if (rc < 0)
        api_fail(c->res, rc, NULL);
    return rc == 0;
}

/* Playlists and the storyboard index (small text files): read, sign what they reference, answer
 * from memory, cached as cache_control says. Takes fd. */
static void send_signed_text(http_res *res, int64_t id, const char *rel, int fd, const char *type,
                             const char *cache_control)
{
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
    const char *dot = strrchr(rel, '.');
    sign_references(id, dir, text.data, now_ms() / 1000 + MEDIA_URL_TTL_S,
                    dot && !strcmp(dot, ".vtt"), &out);
    http_res_bytes(res, 200, type, out.data, out.len, false);
    http_res_header(res, "Cache-Control", cache_control);
    buf_free(&text);
    buf_free(&out);
}

/* The answer when the object store failed: 503 while it is unavailable (its circuit breaker
 * open, or unreachable after retries), else 404. */
static void file_failed(http_res *res, int rc)
{
    if (rc == ERR_BUSY) {
        http_res_error(res, 503, "storage_unavailable", "the media store cannot be reached", NULL);
        http_res_header(res, "Retry-After", "5");
        return;
    }
    http_res_error(res, 404, "file_not_found", "no such file", NULL);
}

/* ---- proxied reads from a remote store ----------------------------------------------------
 * A segment in an S3-compatible store is streamed to the client as it arrives: a thread of a
 * small pool GETs the range and copies libcurl's pieces into the response's bounded buffer,
 * waiting while it is full (the client's pace throttles the store's transfer); so memory per
 * read is the buffer, whatever the object's size, and the first byte goes out as soon as the
 * store sends it. The pool's size caps concurrent proxied reads (a full queue answers 503); a
 * client that reads nothing for MEDIA_PROXY_STALL_MS is cut off so it cannot hold a thread.
 * The response carries its Content-Length; a store failure mid-body closes the connection
 * rather than end the body short. */
#define MEDIA_PROXY_THREADS 16
#define MEDIA_PROXY_QUEUE 64
#define MEDIA_PROXY_BUFFER (256 * 1024)
#define MEDIA_PROXY_STALL_MS 30000

typedef struct proxy_read {
    pthread_mutex_t lock; /* held around every use of st; gone is set under it */
    bool gone;            /* the stream ended (freed once on_closed returns) */
    atomic_int refs;      /* the copying task and the stream */
    http_stream *st;
    int64_t id;
    char rel[64];
    uint64_t from, len;
} proxy_read;

static pool *proxy_pool;
static pthread_once_t proxy_once = PTHREAD_ONCE_INIT;

static void proxy_pool_start(void)
{
    proxy_pool = pool_create(&(pool_options){
        .name = "media-proxy", .threads = MEDIA_PROXY_THREADS, .queue_limit = MEDIA_PROXY_QUEUE});
}

static void proxy_unref(proxy_read *p)
{
    if (atomic_fetch_sub(&p->refs, 1) == 1) {
        pthread_mutex_destroy(&p->lock);
        free(p);
    }
}

/* The stream ended (client gone, finished, shutdown): no more use of st after this. */
static void proxy_stream_closed(void *arg)
{
    proxy_read *p = arg;
    pthread_mutex_lock(&p->lock);
    p->gone = true;
    pthread_mutex_unlock(&p->lock);
    proxy_unref(p);
}

static int proxy_to_client(void *arg, const void *data, size_t len)
{
    proxy_read *p = arg;
    pthread_mutex_lock(&p->lock);
    int rc = p->gone ? ERR_GONE : http_stream_write_wait(p->st, data, len, MEDIA_PROXY_STALL_MS);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

static void proxy_copy(void *task, void *thread_ctx)
{
    proxy_read *p = task;
    int rc = media_read_range(p->id, p->rel, p->from, p->len, proxy_to_client, p);
    if (rc < 0 && rc != ERR_GONE)
        log_warn("media read from the store failed mid-answer",
                 "\"media_id\":%lld,\"file\":\"%s\",\"rc\":%d", (long long)p->id, p->rel, rc);
    pthread_mutex_lock(&p->lock);
    if (!p->gone) {
        if (rc == 0)
            http_stream_close(p->st);
        else
            http_stream_abort(p->st);
    }
    pthread_mutex_unlock(&p->lock);
    proxy_unref(p);
}

/* Answers status with len bytes of rel from byte from, streamed from the remote store. */
static void proxy_file(http_res *res, int status, const char *type, int64_t id, const char *rel,
                       uint64_t from, uint64_t len)
{
    pthread_once(&proxy_once, proxy_pool_start);
    proxy_read *p = xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    atomic_init(&p->refs, 2);
    p->id = id;
    snprintf(p->rel, sizeof p->rel, "%s", rel);
    p->from = from;
    p->len = len;
    p->st = http_res_stream_sized(res, status, type, len, MEDIA_PROXY_BUFFER, proxy_stream_closed,
                                  p);
    if (pool_submit(proxy_pool, proxy_copy, p) < 0) {
        proxy_unref(p); /* the task's reference; the stream's goes with the replaced answer */
        http_res_error(res, 503, "busy", "too many media reads in progress", NULL);
        http_res_header(res, "Retry-After", "1");
    }
}

/* Segments and images: ETag/If-None-Match (304), Last-Modified and one Range (206/416). Only the
 * bytes answered are read: from the local store's file with sendfile, or streamed from a remote
 * store (above). */
static void send_file(http_req *req, http_res *res, int64_t id, const char *rel,
                      const object_info *st, const char *type)
{
    char etag[64], modified[64];
    snprintf(etag, sizeof etag, "\"%llx-%llx\"", (unsigned long long)st->size,
             (unsigned long long)st->mtime_ns);
    http_date((time_t)(st->mtime_ns / 1000000000LL), modified, sizeof modified);
    http_res_header(res, "ETag", etag);
    http_res_header(res, "Last-Modified", modified);
    http_res_header(res, "Accept-Ranges", "bytes");
    /* segments and images never change under a name; the original might be replaced */
    http_res_header(res, "Cache-Control", strcmp(rel, "original") ? "private, max-age=31536000, "
                                                                    "immutable"
                                                                  : "private, max-age=3600");
    const char *inm = http_req_header(req, "If-None-Match");
    if (inm && !strcmp(inm, etag)) {
        http_res_empty(res, 304);
        return;
    }
    uint64_t size = st->size, from = 0, to = size ? size - 1 : 0, offset;
    bool bad, ranged = parse_range(http_req_header(req, "Range"), size, &from, &to, &bad);
    char cr[96];
    if (ranged && bad) {
        snprintf(cr, sizeof cr, "bytes */%llu", (unsigned long long)size);
        http_res_error(res, 416, "range_not_satisfiable", "the range is outside the file", NULL);
        http_res_header(res, "Content-Range", cr);
        return;
    }
    uint64_t len = size ? to - from + 1 : 0;
    int fd;
    if (media_store_remote()) {
        proxy_file(res, ranged ? 206 : 200, type, id, rel, from, len);
    } else {
        int rc = media_open_range(id, rel, from, len, &fd, &offset);
        if (rc < 0) {
            file_failed(res, rc);
            return;
        }
        http_res_file(res, ranged ? 206 : 200, type, fd, offset, len);
    }
    if (ranged) {
        snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu", (unsigned long long)from,
                 (unsigned long long)to, (unsigned long long)size);
        http_res_header(res, "Content-Range", cr);
    }
}

static void serve(api_ctx *c, const char *rel)
{
    int64_t id;
    store_media m;
    if (!media_id(c, &id) || !playable_media(c, id, rel, &m))
        return;
    const char *type = content_type_of(rel, &m);
    /* The master gains a variant as each rung completes: until the media is ready a browser
     * must ask again rather than replay its copy for a minute (hls.js reloading the master for a
     * new session got the old ladder, tests/e2e/playback.test.mjs). Other playlists never change
     * but for their signatures, which outlive the minute by hours. */
    bool growing = !strcmp(rel, "hls/master.m3u8") && strcmp(m.state, "ready") != 0;
    media_free(&m);
    int fd, rc;
    object_info st;
    const char *dot = strrchr(rel, '.');
    if (dot && (!strcmp(dot, ".m3u8") || !strcmp(dot, ".vtt"))) {
        if ((rc = media_open_file(id, rel, &fd, &st)) < 0)
            file_failed(c->res, rc);
        else
            send_signed_text(c->res, id, rel, fd, type,
                             growing ? "private, no-cache" : "private, max-age=60");
    } else if ((rc = media_stat_file(id, rel, &st)) < 0) {
        file_failed(c->res, rc);
    } else {
        send_file(c->req, c->res, id, rel, &st, type);
    }
}

static void media_master_handler(api_ctx *c)
{
    serve(c, "hls/master.m3u8");
}

static void media_variant_handler(api_ctx *c)
{
    const char *r = http_req_param(c->req, "rendition"), *f = http_req_param(c->req, "file");
    if (!rendition_ok(r) || !segment_ok(f)) {
        http_res_error(c->res, 404, "file_not_found", "no such file", NULL);
        return;
    }
    char rel[64];
    snprintf(rel, sizeof rel, "hls/%s/%s", r, f);
    serve(c, rel);
}

static void media_file_handler(api_ctx *c)
{
    const char *f = http_req_param(c->req, "file");
    if (!top_file_ok(f)) {
        http_res_error(c->res, 404, "file_not_found", "no such file", NULL);
        return;
    }
    serve(c, f);
}

static const api_field page_query[] = {API_PAGE_QUERY, {0}};
static const api_field create_query[] = {
    {.name = "filename", .type = API_STRING,
     .about = "the name kept with the image (an over-long one becomes \"image\")"},
    {0},
};
static const api_field link_query[] = {
    {.name = "exp", .type = API_INT, .about = "the signed link's expiry (Unix seconds)"},
    {.name = "sig", .type = API_STRING, .about = "the signed link's signature"},
    {0},
};

#define PLAYBACK_ABOUT                                                                             \
    "Owner with a bearer token, or anyone with the signed URL the API hands out (`?exp=&sig=`; "  \
    "tampered or expired: 403 `bad_signature`). Range requests (206/416), ETag/If-None-Match "     \
    "(304) and Last-Modified; playlists and the storyboard index come back with every URL "       \
    "inside them signed."

static const api_route routes[] = {
    {"GET", "/api/v1/media", media_list_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .query = page_query, .operation_id = "listMedia",
     .summary = "Your media in every state (drafts, uploads being processed, failed), newest first",
     .response = "page:Media", .response_about = "A page of your media records, each with posted"},
    {"POST", "/api/v1/media", media_create_handler, HTTP_BLOCKING | HTTP_STREAM_BODY,
     API_SIGNED_IN, .query = create_query, .precheck = media_create_precheck,
     .operation_id = "createMedia",
     .summary = "An image as the raw request body (videos use resumable uploads)",
     .description = "The body is the image's bytes (its type is sniffed from them), up to "
                    "--media-post-max (a larger declared Content-Length is refused before the "
                    "body is read); anything but an image is 422 `use_resumable_upload`.",
     .status = 201, .response = "Media", .response_about = "The media record",
     .errors = "413 422"},
    {"GET", "/api/v1/media/:id", media_get_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .operation_id = "getMedia", .summary = "One of your media records and its processing state",
     .response = "Media", .response_about = "The media"},
    {"DELETE", "/api/v1/media/:id", media_delete_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .operation_id = "deleteMedia",
     .summary = "Delete one of your media records: its processing stops and its files are removed",
     .status = 204, .response_about = "Deleted", .errors = "409"},
    {"GET", "/api/v1/media/:id/hls/master.m3u8", media_master_handler,
     HTTP_BLOCKING | HTTP_CACHEABLE, API_OPTIONAL, .query = link_query,
     .operation_id = "mediaMaster", .summary = "HLS master playlist",
     .description = PLAYBACK_ABOUT, .response = "HlsPlaylist",
     .response_about = "The master playlist", .media_type = "application/vnd.apple.mpegurl",
     .errors = "403 416 503"},
    {"GET", "/api/v1/media/:id/hls/:rendition/:file", media_variant_handler,
     HTTP_BLOCKING | HTTP_CACHEABLE, API_OPTIONAL, .query = link_query,
     .operation_id = "mediaVariant",
     .summary = "A rendition's playlist (index.m3u8) or segment (segNNN.ts)",
     .description = PLAYBACK_ABOUT " rendition is NNNp (480p); file is index.m3u8 or segNNN.ts.",
     .response = "MediaFile", .response_about = "Playlist or segment", .media_type = "video/mp2t",
     .errors = "403 416 503"},
    {"GET", "/api/v1/media/:id/:file", media_file_handler, HTTP_BLOCKING | HTTP_CACHEABLE,
     API_OPTIONAL, .query = link_query, .operation_id = "mediaFile",
     .summary = "Poster, thumbnails, storyboard and original",
     .description = PLAYBACK_ABOUT " file is one of image.jpg, poster.jpg, thumb_160.jpg, "
                                   "thumb_480.jpg, thumb_720.jpg, storyboard.jpg, storyboard.vtt "
                                   "and original (the owner's only: 403 `owner_only` by link).",
     .response = "MediaFile", .response_about = "The file", .media_type = "image/jpeg",
     .errors = "403 416 503"},
};

API_MODULE(media, "Media: images and videos, their processing and signed playback", routes);
