/* SPDX-License-Identifier: MIT
 *
 * The S3-compatible backend of the object store (see objects.h), over libcurl. Every request is
 * signed by libcurl's own AWS SigV4 (CURLOPT_AWS_SIGV4 "aws:amz:<region>:s3" with the key pair as
 * CURLOPT_USERPWD): there is no signature code here. Query strings are written already in
 * canonical form (parameters sorted, values percent-encoded, "name=" for a bare name), because
 * libcurl 7.88 signs the query as it is given.
 *
 * Reliability: each request has bounded timeouts (connect, whole request for small ones, a
 * minimum transfer rate for bodies), is retried with exponential backoff and jitter on transport
 * errors, 5xx and 429, and goes through one circuit breaker per store (core/breaker.h): once the
 * store has failed `breaker_failures` times in a row, calls fail at once with ERR_BUSY for the
 * cool-down, so a dead or slow store cannot hold every worker thread for a timeout each.
 *
 * Threads: the store is shared by all threads; each thread keeps its own curl handle (and with it
 * its connection cache) in thread-specific data, freed when the thread exits. Counters are
 * atomics.
 *
 * Uploads above multipart_threshold go as a multipart upload (CreateMultipartUpload, UploadPart
 * of part_size pieces read straight from the file, CompleteMultipartUpload), aborted on failure
 * so no parts linger. Deletes by prefix list the keys (ListObjectsV2, following continuation
 * tokens) and DELETE each: DeleteObjects would need a Content-MD5 header, i.e. an MD5 of our own,
 * and a media record holds tens of objects (docs/media.md "Object storage").
 */
#include "store/objects_internal.h"

#include "core/breaker.h"
#include "core/log.h"
#include "core/util.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S3_LIST_BODY_MAX (4 * 1024 * 1024)
#define S3_SMALL_BODY_MAX (64 * 1024)
#define S3_BACKOFF_BASE_MS 100
#define S3_BACKOFF_MAX_MS 2000

typedef struct s3 {
    struct objects base;
    objects_s3_config cfg;
    char userpwd[512];
    char sigv4[128];
    char *token_header; /* "x-amz-security-token: ..." or NULL */
    breaker br;
    _Atomic uint64_t requests[6][2], retries, bytes_up, bytes_down, multipart_uploads,
        multipart_aborts;
} s3;

/* ---- configuration ----------------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes n bytes of in into out (size cap); false when malformed or too long. */
static bool url_decode(const char *in, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c == '%') {
            if (i + 2 >= n)
                return false;
            int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
            if (hi < 0 || lo < 0)
                return false;
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (k + 1 >= cap || c == '\0')
            return false;
        out[k++] = c;
    }
    out[k] = '\0';
    return true;
}

static bool bucket_ok(const char *b)
{
    size_t n = strlen(b);
    if (n < 3 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') || b[i] == '-' ||
              b[i] == '.'))
            return false;
    return b[0] != '-' && b[0] != '.' && b[n - 1] != '-' && b[n - 1] != '.';
}

static bool endpoint_ok(const char *e)
{
    const char *host = !strncmp(e, "http://", 7) ? e + 7 : !strncmp(e, "https://", 8) ? e + 8 : NULL;
    return host && *host && !strpbrk(host, "/?#@ ");
}

/* A whole number in [min, max] */
static bool int_param(const char *v, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < min || n > max)
        return false;
    *out = n;
    return true;
}

int objects_s3_parse(const char *spec, objects_s3_config *out, char *err, size_t err_size)
{
    *out = (objects_s3_config){.timeout_ms = 10000,
                               .connect_timeout_ms = 2000,
                               .retries = 2,
                               .breaker_failures = 5,
                               .breaker_cooldown_ms = 10000,
                               .multipart_threshold = 16 * 1024 * 1024,
                               .part_size = 8 * 1024 * 1024,
                               .list_max_keys = 1000};
    snprintf(out->region, sizeof out->region, "us-east-1");
    if (!spec || strncmp(spec, "s3://", 5) != 0) {
        snprintf(err, err_size, "an S3 store is s3://bucket?endpoint=...&region=...");
        return ERR_INVALID;
    }
    const char *p = spec + 5;
    size_t blen = strcspn(p, "?/");
    if (p[blen] == '/' && p[blen + 1] != '\0' && p[blen + 1] != '?') {
        snprintf(err, err_size, "s3:// takes a bucket, not a path (keys go under media/)");
        return ERR_INVALID;
    }
    if (blen >= sizeof out->bucket) {
        snprintf(err, err_size, "bucket name too long");
        return ERR_INVALID;
    }
    memcpy(out->bucket, p, blen);
    out->bucket[blen] = '\0';
    if (!bucket_ok(out->bucket)) {
        snprintf(err, err_size, "'%s' is not a valid bucket name (3-63 of a-z 0-9 . -)",
                 out->bucket);
        return ERR_INVALID;
    }
    p += blen;
    if (*p == '/')
        p++;
    bool path_style_given = false;
    if (*p == '?')
        p++;
    while (*p) {
        size_t len = strcspn(p, "&");
        const char *eq = memchr(p, '=', len);
        char name[40], value[512];
        size_t nlen = eq ? (size_t)(eq - p) : len;
        if (nlen == 0 || nlen >= sizeof name || !eq ||
            !url_decode(eq + 1, len - nlen - 1, value, sizeof value)) {
            snprintf(err, err_size, "malformed parameter in --object-store: %.*s", (int)len, p);
            return ERR_INVALID;
        }
        memcpy(name, p, nlen);
        name[nlen] = '\0';
        int64_t n = 0;
        bool ok = true;
        if (!strcmp(name, "endpoint")) {
            size_t vlen = strlen(value);
            while (vlen && value[vlen - 1] == '/')
                value[--vlen] = '\0';
            ok = endpoint_ok(value) && vlen < sizeof out->endpoint;
            if (ok)
                snprintf(out->endpoint, sizeof out->endpoint, "%s", value);
        } else if (!strcmp(name, "region")) {
            ok = *value && strlen(value) < sizeof out->region && !strpbrk(value, ":/ ");
            if (ok)
                memcpy(out->region, value, strlen(value) + 1); /* length checked above */
        } else if (!strcmp(name, "timeout_ms")) {
            ok = int_param(value, 100, 600000, &out->timeout_ms);
        } else if (!strcmp(name, "connect_timeout_ms")) {
            ok = int_param(value, 50, 60000, &out->connect_timeout_ms);
        } else if (!strcmp(name, "retries")) {
            ok = int_param(value, 0, 10, &n);
            out->retries = (int)n;
        } else if (!strcmp(name, "breaker_failures")) {
            ok = int_param(value, 1, 1000, &n);
            out->breaker_failures = (int)n;
        } else if (!strcmp(name, "breaker_cooldown_ms")) {
            ok = int_param(value, 100, 3600000, &out->breaker_cooldown_ms);
        } else if (!strcmp(name, "multipart_threshold")) {
            ok = int_param(value, 1, INT64_C(5) << 30, &n);
            out->multipart_threshold = (uint64_t)n;
        } else if (!strcmp(name, "part_size")) {
            /* S3's own bounds: every part but the last is 5 MiB to 5 GiB */
            ok = int_param(value, INT64_C(5) << 20, INT64_C(5) << 30, &n);
            out->part_size = (uint64_t)n;
        } else if (!strcmp(name, "list_max_keys")) {
            ok = int_param(value, 1, 1000, &n);
            out->list_max_keys = (int)n;
        } else if (!strcmp(name, "path_style")) {
            ok = int_param(value, 0, 1, &n);
            out->path_style = n == 1;
            path_style_given = true;
        } else {
            snprintf(err, err_size, "unknown --object-store parameter '%s'", name);
            return ERR_INVALID;
        }
        if (!ok) {
            snprintf(err, err_size, "bad value for --object-store parameter '%s'", name);
            return ERR_INVALID;
        }
        p += len;
        if (*p == '&')
            p++;
    }
    if (!path_style_given)
        out->path_style = out->endpoint[0] != '\0';
    return 0;
}

/* ---- URLs and content types ---------------------------------------------------------------- */

/* RFC 3986 percent-encoding as SigV4 wants it: unreserved bytes stay, the rest %XX (upper
 * case); '/' stays when keep_slash (object paths). */
static void encode(buf *out, const char *s, bool keep_slash)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/'))
            buf_append(out, (const char *)&c, 1);
        else
            buf_printf(out, "%%%02X", c);
    }
}

/* The URL of key (NULL: the bucket) with an already canonical query (may be NULL). */
static void url_of(s3 *s, const char *key, const char *query, buf *out)
{
    const objects_s3_config *c = &s->cfg;
    if (c->path_style)
        buf_printf(out, "%s/%s/", c->endpoint[0] ? c->endpoint : "https://s3.amazonaws.com",
                   c->bucket);
    else if (c->endpoint[0]) {
        const char *host = strstr(c->endpoint, "://") + 3;
        buf_printf(out, "%.*s%s.%s/", (int)(host - c->endpoint), c->endpoint, c->bucket, host);
    } else
        buf_printf(out, "https://%s.s3.%s.amazonaws.com/", c->bucket, c->region);
    if (key)
        encode(out, key, true);
    if (query)
        buf_printf(out, "?%s", query);
    buf_append(out, "", 1);
}

static const char *content_type_of(const char *key)
{
    const char *dot = strrchr(key, '.'), *slash = strrchr(key, '/');
    if (!dot || (slash && dot < slash))
        return "application/octet-stream";
    static const char *const types[][2] = {
        {".m3u8", "application/vnd.apple.mpegurl"}, {".ts", "video/mp2t"},
        {".jpg", "image/jpeg"},  {".vtt", "text/vtt; charset=utf-8"},
        {".mp4", "video/mp4"},   {".json", "application/json"}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(dot, types[i][0]))
            return types[i][1];
    return "application/octet-stream";
}

/* What a CDN in front of a public bucket should do with it: playlists grow while a video is
 * being published (a rung at a time), everything else never changes under its name. */
static const char *cache_control_of(const char *key)
{
    const char *dot = strrchr(key, '.');
    return dot && !strcmp(dot, ".m3u8") ? "max-age=10" : "max-age=31536000, immutable";
}

/* ---- requests -------------------------------------------------------------------------------- */

typedef struct s3_request {
    int op; /* objects_op, for the counters */
    const char *method;
    const char *key;   /* NULL: the bucket */
    const char *query; /* canonical, or NULL */
    /* request body: a file region, or bytes in memory, or none */
    int upload_fd;
    uint64_t upload_offset, upload_len;
    const char *post_body;
    size_t post_len;
    const char *content_type;
    bool cache_headers;
    char range[64]; /* "bytes=a-b" or "" */
    bool head;
    /* response body: into a file (from its current start), or memory (capped), or a sink (a
     * retry then asks for the rest of range_from/range_len only), or dropped */
    int out_fd;
    objects_sink_fn sink;
    void *sink_arg;
    int sink_rc;
    uint64_t range_from, range_len, delivered;
    buf *out_buf;
    size_t out_cap;
    /* results */
    long status;
    char etag[128];
    uint64_t length;
    int64_t mtime_s;
    /* transfer state, reset per attempt */
    uint64_t sent, received;
    bool overflow;
} s3_request;

static pthread_key_t handle_key;
static pthread_once_t handle_once = PTHREAD_ONCE_INIT;

static void free_handle(void *h)
{
    curl_easy_cleanup(h);
}

static void init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_key_create(&handle_key, free_handle);
}

/* This thread's handle, reset (its connection cache survives the reset). */
static CURL *thread_handle(void)
{
    CURL *h = pthread_getspecific(handle_key);
    if (!h) {
        h = curl_easy_init();
        if (!h)
            return NULL;
        pthread_setspecific(handle_key, h);
    } else {
        curl_easy_reset(h);
    }
    return h;
}

static size_t read_body(char *out, size_t size, size_t n, void *arg)
{
    s3_request *r = arg;
    size_t want = size * n;
    if (r->post_body) {
        size_t left = r->post_len - r->sent;
        size_t k = want < left ? want : left;
        memcpy(out, r->post_body + r->sent, k);
        r->sent += k;
        return k;
    }
    uint64_t left = r->upload_len - r->sent;
    size_t k = want < left ? want : (size_t)left;
    if (k == 0)
        return 0;
    ssize_t got = pread(r->upload_fd, out, k, (off_t)(r->upload_offset + r->sent));
    if (got <= 0)
        return CURL_READFUNC_ABORT;
    r->sent += (uint64_t)got;
    return (size_t)got;
}

static size_t write_body(char *data, size_t size, size_t n, void *arg)
{
    s3_request *r = arg;
    size_t len = size * n;
    if (r->sink) {
        /* only a 2xx body is the object's bytes; an error document is not */
        long status = 0;
        curl_easy_getinfo(pthread_getspecific(handle_key), CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status < 300) {
            r->sink_rc = r->sink(r->sink_arg, data, len);
            if (r->sink_rc != 0)
                return 0;
            r->delivered += len;
        }
    } else if (r->out_fd >= 0) {
        size_t done = 0;
        while (done < len) {
            ssize_t w = write(r->out_fd, data + done, len - done);
            if (w <= 0)
                return 0;
            done += (size_t)w;
        }
    } else if (r->out_buf) {
        if (r->out_buf->len + len > r->out_cap) {
            r->overflow = true;
            return 0;
        }
        buf_append(r->out_buf, data, len);
    }
    r->received += len;
    return len;
}

static size_t read_header(char *data, size_t size, size_t n, void *arg)
{
    s3_request *r = arg;
    size_t len = size * n;
    if (len > 5 && !strncasecmp(data, "ETag:", 5)) {
        const char *v = data + 5;
        while (*v == ' ')
            v++;
        size_t vlen = len - (size_t)(v - data);
        while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
            vlen--;
        snprintf(r->etag, sizeof r->etag, "%.*s", (int)vlen, v);
    }
    return len;
}

/* Transport failures and the answers S3 documents as "try again". */
static bool retryable(CURLcode cc, long status)
{
    if (cc != CURLE_OK)
        return cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_COULDNT_CONNECT ||
               cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING ||
               cc == CURLE_PARTIAL_FILE || cc == CURLE_COULDNT_RESOLVE_HOST ||
               cc == CURLE_SSL_CONNECT_ERROR;
    return status >= 500 || status == 429 || status == 408;
}

static void reset_attempt(s3_request *r)
{
    r->sent = r->received = 0;
    r->overflow = false;
    r->etag[0] = '\0';
    if (r->out_fd >= 0 && (ftruncate(r->out_fd, 0) < 0 || lseek(r->out_fd, 0, SEEK_SET) < 0))
        log_warn("cannot rewind an object download", NULL);
    if (r->out_buf)
        r->out_buf->len = 0;
    if (r->sink)
        snprintf(r->range, sizeof r->range, "bytes=%llu-%llu",
                 (unsigned long long)(r->range_from + r->delivered),
                 (unsigned long long)(r->range_from + r->range_len - 1));
}

static CURLcode attempt(s3 *s, CURL *h, s3_request *r)
{
    buf url = {0};
    url_of(s, r->key, r->query, &url);
    struct curl_slist *headers = NULL;
    char line[256];
    if (r->content_type) {
        snprintf(line, sizeof line, "Content-Type: %s", r->content_type);
        headers = curl_slist_append(headers, line);
    }
    if (r->cache_headers) {
        snprintf(line, sizeof line, "Cache-Control: %s", cache_control_of(r->key));
        headers = curl_slist_append(headers, line);
    }
    if (r->range[0]) {
        snprintf(line, sizeof line, "Range: %s", r->range);
        headers = curl_slist_append(headers, line);
    }
    if (s->token_header)
        headers = curl_slist_append(headers, s->token_header);
    /* S3 wants the payload's SHA-256 in x-amz-content-sha256, and libcurl signs the value given
     * there as the payload hash: the real hash for bodies in memory (small XML) and for none,
     * UNSIGNED-PAYLOAD for file bodies (hashing a segment or a part would read it twice; the
     * transport's own integrity covers it) */
    char hash[2 * crypto_hash_sha256_BYTES + 1] = "UNSIGNED-PAYLOAD";
    if (r->upload_fd < 0) {
        unsigned char digest[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(digest, (const unsigned char *)(r->post_body ? r->post_body : ""),
                           r->post_body ? r->post_len : 0);
        sodium_bin2hex(hash, sizeof hash, digest, sizeof digest);
    }
    snprintf(line, sizeof line, "x-amz-content-sha256: %s", hash);
    headers = curl_slist_append(headers, line);
    /* no "Expect:" to turn 100-continue off: libcurl would sign the empty header, and proxies
     * drop it; a short wait for the 100 instead */
    curl_easy_setopt(h, CURLOPT_EXPECT_100_TIMEOUT_MS, 200L);
    curl_easy_setopt(h, CURLOPT_URL, url.data);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, s->sigv4);
    curl_easy_setopt(h, CURLOPT_USERPWD, s->userpwd);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)s->cfg.connect_timeout_ms);
    /* bodies of any size: a minimum rate instead of a total time */
    long stall_s = (long)((s->cfg.timeout_ms + 999) / 1000);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, stall_s);
    bool big = r->upload_len > S3_SMALL_BODY_MAX || r->out_fd >= 0 || r->sink;
    if (!big)
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)s->cfg.timeout_ms);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, read_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_FILETIME, 1L);
    if (r->head) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(r->method, "PUT")) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, read_body);
        curl_easy_setopt(h, CURLOPT_READDATA, r);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->upload_len);
    } else if (!strcmp(r->method, "POST")) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->post_body ? r->post_body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->post_len);
    } else if (strcmp(r->method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    }
    CURLcode cc = curl_easy_perform(h);
    r->status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_off_t length = -1, filetime = -1;
    curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    curl_easy_getinfo(h, CURLINFO_FILETIME_T, &filetime);
    r->length = length > 0 ? (uint64_t)length : 0;
    r->mtime_s = filetime > 0 ? (int64_t)filetime : 0;
    atomic_fetch_add(&s->bytes_up, r->sent);
    atomic_fetch_add(&s->bytes_down, r->received);
    curl_slist_free_all(headers);
    buf_free(&url);
    return cc;
}

static int64_t mono_ms(void)
{
    return monotonic_us() / 1000;
}

/* Sleeps the backoff before retry n (1-based): base * 2^(n-1), capped, with jitter. */
static void backoff(int n)
{
    int64_t ms = S3_BACKOFF_BASE_MS << (n - 1 < 10 ? n - 1 : 10);
    if (ms > S3_BACKOFF_MAX_MS)
        ms = S3_BACKOFF_MAX_MS;
    ms = ms / 2 + (int64_t)((uint64_t)rand() % (uint64_t)(ms / 2 + 1));
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Runs r with retries through the breaker: 0 for a 2xx answer, ERR_NOT_FOUND for 404, ERR_BUSY
 * when the store is unreachable (or the breaker is open), ERR_IO for anything else. */
static int perform(s3 *s, s3_request *r)
{
    CURL *h = thread_handle();
    if (!h)
        return ERR_NOMEM;
    int rc = ERR_BUSY;
    for (int n = 0; n <= s->cfg.retries; n++) {
        if (!breaker_allow(&s->br, mono_ms())) {
            rc = ERR_BUSY;
            break;
        }
        if (n > 0) {
            atomic_fetch_add(&s->retries, 1);
            reset_attempt(r);
        }
        CURLcode cc = attempt(s, h, r);
        bool local_failure = cc == CURLE_WRITE_ERROR || cc == CURLE_ABORTED_BY_CALLBACK ||
                             cc == CURLE_READ_ERROR;
        if (cc == CURLE_OK && r->status >= 200 && r->status < 300) {
            breaker_success(&s->br);
            rc = 0;
            break;
        }
        if (cc == CURLE_OK && !retryable(cc, r->status)) {
            /* the store answered: it is up, the request was wrong or the key is absent */
            breaker_success(&s->br);
            rc = r->status == 404 ? ERR_NOT_FOUND : ERR_IO;
            if (rc == ERR_IO)
                log_warn("object store refused a request",
                         "\"method\":\"%s\",\"key\":\"%s\",\"status\":%ld", r->method,
                         r->key ? r->key : "", r->status);
            break;
        }
        if (local_failure) {
            breaker_release(&s->br);
            rc = r->sink_rc ? r->sink_rc : ERR_IO;
            break;
        }
        breaker_failure(&s->br, mono_ms());
        log_warn("object store request failed",
                 "\"method\":\"%s\",\"key\":\"%s\",\"status\":%ld,\"curl\":\"%s\",\"attempt\":%d",
                 r->method, r->key ? r->key : "", r->status, curl_easy_strerror(cc), n + 1);
        rc = ERR_BUSY;
        if (n < s->cfg.retries)
            backoff(n + 1);
    }
    atomic_fetch_add(&s->requests[r->op][rc == 0 || rc == ERR_NOT_FOUND], 1);
    return rc;
}

static s3_request request(int op, const char *method, const char *key)
{
    return (s3_request){.op = op, .method = method, .key = key, .upload_fd = -1, .out_fd = -1};
}

/* ---- operations ------------------------------------------------------------------------------ */

static void s3_close(objects *o)
{
    s3 *s = (s3 *)o;
    breaker_destroy(&s->br);
    free(s->token_header);
    free(s);
}

static int abort_multipart(s3 *s, const char *key, const char *upload_id)
{
    buf q = {0};
    buf_printf(&q, "uploadId=");
    encode(&q, upload_id, false);
    buf_append(&q, "", 1);
    s3_request r = request(OBJECTS_MULTIPART, "DELETE", key);
    r.query = q.data;
    int rc = perform(s, &r);
    buf_free(&q);
    atomic_fetch_add(&s->multipart_aborts, 1);
    return rc;
}

/* The text between <tag> and </tag> after *from (entities decoded); advances *from past it. */
static bool xml_take(const char **from, const char *end, const char *tag, char *out, size_t n)
{
    char open[64], close_tag[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close_tag, sizeof close_tag, "</%s>", tag);
    const char *a = memmem(*from, (size_t)(end - *from), open, strlen(open));
    if (!a)
        return false;
    a += strlen(open);
    const char *b = memmem(a, (size_t)(end - a), close_tag, strlen(close_tag));
    if (!b)
        return false;
    size_t k = 0;
    for (const char *p = a; p < b && k + 1 < n; p++) {
        static const char *const ents[][2] = {
            {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}};
        bool matched = false;
        for (size_t e = 0; e < 5 && *p == '&'; e++) {
            size_t el = strlen(ents[e][0]);
            if ((size_t)(b - p) >= el && !memcmp(p, ents[e][0], el)) {
                out[k++] = ents[e][1][0];
                p += el - 1;
                matched = true;
                break;
            }
        }
        if (!matched)
            out[k++] = *p;
    }
    out[k] = '\0';
    *from = b + strlen(close_tag);
    return true;
}

static int put_multipart(s3 *s, const char *key, int fd, uint64_t size)
{
    s3_request r = request(OBJECTS_MULTIPART, "POST", key);
    buf answer = {0};
    r.query = "uploads=";
    r.content_type = content_type_of(key);
    r.cache_headers = true;
    r.out_buf = &answer;
    r.out_cap = S3_SMALL_BODY_MAX;
    int rc = perform(s, &r);
    char upload_id[512] = "";
    const char *p = answer.data;
    if (rc == 0 && (!p || !xml_take(&p, p + answer.len, "UploadId", upload_id, sizeof upload_id)))
        rc = ERR_IO;
    buf_free(&answer);
    if (rc < 0)
        return rc;
    atomic_fetch_add(&s->multipart_uploads, 1);
    buf complete = {0}, q = {0};
    buf_printf(&complete, "<CompleteMultipartUpload>");
    int part = 1;
    for (uint64_t off = 0; off < size && rc == 0; off += s->cfg.part_size, part++) {
        q.len = 0;
        buf_printf(&q, "partNumber=%d&uploadId=", part);
        encode(&q, upload_id, false);
        buf_append(&q, "", 1);
        s3_request pr = request(OBJECTS_PUT, "PUT", key);
        pr.query = q.data;
        pr.upload_fd = fd;
        pr.upload_offset = off;
        pr.upload_len = size - off < s->cfg.part_size ? size - off : s->cfg.part_size;
        rc = perform(s, &pr);
        if (rc == 0 && !pr.etag[0])
            rc = ERR_IO;
        if (rc == 0)
            buf_printf(&complete, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", part,
                       pr.etag);
    }
    buf_printf(&complete, "</CompleteMultipartUpload>");
    if (rc == 0) {
        q.len = 0;
        buf_printf(&q, "uploadId=");
        encode(&q, upload_id, false);
        buf_append(&q, "", 1);
        s3_request cr = request(OBJECTS_MULTIPART, "POST", key);
        buf reply = {0};
        cr.query = q.data;
        cr.post_body = complete.data;
        cr.post_len = complete.len;
        cr.content_type = "application/xml";
        cr.out_buf = &reply;
        cr.out_cap = S3_SMALL_BODY_MAX;
        rc = perform(s, &cr);
        /* S3 may answer 200 with an error document once the parts are being assembled */
        if (rc == 0 && reply.data && memmem(reply.data, reply.len, "<Error>", 7))
            rc = ERR_IO;
        buf_free(&reply);
    }
    if (rc < 0)
        abort_multipart(s, key, upload_id);
    buf_free(&complete);
    buf_free(&q);
    return rc;
}

static int s3_put_file(objects *o, const char *key, const char *path)
{
    s3 *s = (s3 *)o;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return ERR_IO;
    }
    int rc;
    if ((uint64_t)st.st_size > s->cfg.multipart_threshold) {
        rc = put_multipart(s, key, fd, (uint64_t)st.st_size);
    } else {
        s3_request r = request(OBJECTS_PUT, "PUT", key);
        r.upload_fd = fd;
        r.upload_len = (uint64_t)st.st_size;
        r.content_type = content_type_of(key);
        r.cache_headers = true;
        rc = perform(s, &r);
    }
    close(fd);
    if (rc == 0)
        unlink(path);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Each file on its own, `last` at the end; then what the prefix held before and dir does not
 * (a rendition made again may have fewer segments) is deleted. */
static int s3_put_dir(objects *o, const char *prefix, const char *dir, const char *last)
{
    DIR *d = opendir(dir);
    if (!d)
        return ERR_IO;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || (last && !strcmp(e->d_name, last)))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = xrealloc(names, cap * sizeof *names);
        }
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    int rc = 0;
    char key[1200], path[4400];
    for (size_t i = 0; i <= n && rc == 0; i++) {
        const char *name = i < n ? names[i] : last;
        if (!name)
            continue;
        snprintf(key, sizeof key, "%s/%s", prefix, name);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        rc = s3_put_file(o, key, path);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (rc == 0)
        objects_remove_tree(dir);
    return rc;
}

static int s3_stat(objects *o, const char *key, object_info *info)
{
    s3_request r = request(OBJECTS_HEAD, "HEAD", key);
    r.head = true;
    int rc = perform((s3 *)o, &r);
    if (rc == 0) {
        info->size = r.length;
        info->mtime_ns = r.mtime_s * 1000000000LL;
    }
    return rc;
}

/* GETs bytes [from, from+len) of key into fd (at its start). */
static int get_into(s3 *s, const char *key, uint64_t from, uint64_t len, int fd, bool whole)
{
    s3_request r = request(OBJECTS_GET, "GET", key);
    r.out_fd = fd;
    if (!whole) {
        if (len == 0)
            return 0;
        snprintf(r.range, sizeof r.range, "bytes=%llu-%llu", (unsigned long long)from,
                 (unsigned long long)(from + len - 1));
    }
    int rc = perform(s, &r);
    if (rc == 0 && !whole && r.received != len)
        rc = ERR_IO; /* a store that ignored the Range */
    return rc;
}

static int s3_read(objects *o, const char *key, uint64_t from, uint64_t len,
                   objects_sink_fn sink, void *arg)
{
    if (len == 0)
        return 0;
    s3_request r = request(OBJECTS_GET, "GET", key);
    r.sink = sink;
    r.sink_arg = arg;
    r.range_from = from;
    r.range_len = len;
    snprintf(r.range, sizeof r.range, "bytes=%llu-%llu", (unsigned long long)from,
             (unsigned long long)(from + len - 1));
    int rc = perform((s3 *)o, &r);
    if (rc == 0 && r.delivered != len)
        rc = ERR_IO; /* a store that ignored the Range */
    return rc;
}

static int s3_fetch(objects *o, const char *key, const char *path)
{
    char tmp[4400];
    snprintf(tmp, sizeof tmp, "%s.fetching", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return ERR_IO;
    int rc = get_into((s3 *)o, key, 0, 0, fd, true);
    if (rc == 0 && fsync(fd) < 0)
        rc = ERR_IO;
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = ERR_IO;
    if (rc < 0)
        unlink(tmp);
    return rc;
}

static int s3_open_range(objects *o, const char *key, uint64_t from, uint64_t len, int *fd,
                         uint64_t *offset)
{
    s3 *s = (s3 *)o;
    /* an unnamed file in the scratch space: nothing to clean up after a crash (file systems
     * without O_TMPFILE: a named one, unlinked at once) */
    *fd = open(s->base.root, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (*fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
        char path[4200];
        snprintf(path, sizeof path, "%s/read-XXXXXX", s->base.root);
        *fd = mkostemp(path, O_CLOEXEC);
        if (*fd >= 0)
            unlink(path);
    }
    if (*fd < 0)
        return ERR_IO;
    int rc = get_into(s, key, from, len, *fd, false);
    if (rc < 0) {
        close(*fd);
        *fd = -1;
        return rc;
    }
    *offset = 0;
    return 0;
}

typedef struct listed_key {
    char *key;
    object_info info;
} listed_key;

static int64_t parse_time(const char *iso)
{
    struct tm tm = {0};
    const char *end = strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm);
    return end ? (int64_t)timegm(&tm) : 0;
}

/* Every key under prefix + "/", into *out (count returned). */
static int list_all(s3 *s, const char *prefix, listed_key **out)
{
    char token[1024] = "", dir[1100];
    snprintf(dir, sizeof dir, "%s/", prefix);
    size_t n = 0, cap = 0;
    *out = NULL;
    buf page = {0}, q = {0};
    int rc = 0;
    do {
        q.len = 0;
        if (token[0]) {
            buf_printf(&q, "continuation-token=");
            encode(&q, token, false);
            buf_printf(&q, "&");
        }
        buf_printf(&q, "list-type=2&max-keys=%d&prefix=", s->cfg.list_max_keys);
        encode(&q, dir, false);
        buf_append(&q, "", 1);
        s3_request r = request(OBJECTS_LIST, "GET", NULL);
        r.query = q.data;
        r.out_buf = &page;
        r.out_cap = S3_LIST_BODY_MAX;
        page.len = 0;
        rc = perform(s, &r);
        if (rc < 0)
            break;
        const char *p = page.data, *end = page.data + page.len;
        const char *c;
        while (p && (c = memmem(p, (size_t)(end - p), "<Contents>", 10))) {
            const char *stop = memmem(c, (size_t)(end - c), "</Contents>", 11);
            if (!stop)
                break;
            char key[1100] = "", size[32] = "0", modified[64] = "";
            const char *f = c;
            xml_take(&f, stop, "Key", key, sizeof key);
            f = c;
            xml_take(&f, stop, "Size", size, sizeof size);
            f = c;
            xml_take(&f, stop, "LastModified", modified, sizeof modified);
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                *out = xrealloc(*out, cap * sizeof **out);
            }
            (*out)[n++] = (listed_key){xstrdup(key),
                                       {strtoull(size, NULL, 10), parse_time(modified) * 1000000000LL}};
            p = stop + 11;
        }
        char truncated[8] = "false";
        p = page.data;
        if (p)
            xml_take(&p, end, "IsTruncated", truncated, sizeof truncated);
        token[0] = '\0';
        p = page.data;
        if (p && !strcmp(truncated, "true") &&
            !xml_take(&p, end, "NextContinuationToken", token, sizeof token))
            rc = ERR_IO;
    } while (rc == 0 && token[0]);
    buf_free(&page);
    buf_free(&q);
    if (rc < 0) {
        for (size_t i = 0; i < n; i++)
            free((*out)[i].key);
        free(*out);
        *out = NULL;
        return rc;
    }
    return (int)n;
}

static void free_listing(listed_key *keys, int n)
{
    for (int i = 0; i < n; i++)
        free(keys[i].key);
    free(keys);
}

static int s3_delete_prefix(objects *o, const char *prefix)
{
    s3 *s = (s3 *)o;
    listed_key *keys;
    int n = list_all(s, prefix, &keys);
    if (n < 0)
        return n;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        s3_request r = request(OBJECTS_DELETE, "DELETE", keys[i].key);
        rc = perform(s, &r);
        if (rc == ERR_NOT_FOUND)
            rc = 0;
    }
    free_listing(keys, n);
    return rc;
}

static int s3_list(objects *o, const char *prefix,
                   void (*fn)(void *arg, const char *key, const object_info *info), void *arg)
{
    listed_key *keys;
    int n = list_all((s3 *)o, prefix, &keys);
    for (int i = 0; i < n; i++)
        fn(arg, keys[i].key, &keys[i].info);
    if (n >= 0)
        free_listing(keys, n);
    return n;
}

static void s3_stats(objects *o, objects_stats *out)
{
    s3 *s = (s3 *)o;
    for (int i = 0; i < 6; i++)
        for (int k = 0; k < 2; k++)
            out->requests[i][k] = atomic_load(&s->requests[i][k]);
    out->retries = atomic_load(&s->retries);
    out->bytes_up = atomic_load(&s->bytes_up);
    out->bytes_down = atomic_load(&s->bytes_down);
    out->multipart_uploads = atomic_load(&s->multipart_uploads);
    out->multipart_aborts = atomic_load(&s->multipart_aborts);
    out->breaker_state = (int)breaker_get_state(&s->br, &out->breaker_opened,
                                                &out->breaker_rejected);
}

static const objects_ops s3_ops = {
    .name = "s3",
    .remote = true,
    .close = s3_close,
    .put_file = s3_put_file,
    .put_dir = s3_put_dir,
    .fetch = s3_fetch,
    .stat = s3_stat,
    .open_range = s3_open_range,
    .read = s3_read,
    .delete_prefix = s3_delete_prefix,
    .list = s3_list,
    .stats = s3_stats,
};

int objects_s3_open(const char *spec, const char *scratch, objects **out, char *err,
                    size_t err_size)
{
    objects_s3_config cfg;
    int rc = objects_s3_parse(spec, &cfg, err, err_size);
    if (rc < 0)
        return rc;
    const char *id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY"),
               *token = getenv("AWS_SESSION_TOKEN");
    if (!id || !*id || !secret || !*secret) {
        snprintf(err, err_size,
                 "an S3 object store needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the "
                 "environment");
        return ERR_INVALID;
    }
    if (make_dirs(scratch) < 0) {
        snprintf(err, err_size, "cannot create %s", scratch);
        return ERR_IO;
    }
    pthread_once(&handle_once, init_once);
    s3 *s = xcalloc(1, sizeof *s);
    s->base.ops = &s3_ops;
    snprintf(s->base.root, sizeof s->base.root, "%s", scratch);
    s->cfg = cfg;
    snprintf(s->userpwd, sizeof s->userpwd, "%s:%s", id, secret);
    snprintf(s->sigv4, sizeof s->sigv4, "aws:amz:%s:s3", cfg.region);
    if (token && *token)
        s->token_header = xasprintf("x-amz-security-token: %s", token);
    breaker_init(&s->br, cfg.breaker_failures, cfg.breaker_cooldown_ms);
    *out = &s->base;
    return 0;
}
