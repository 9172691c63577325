/* SPDX-License-Identifier: MIT
 *
 * The HTTP server on libmicrohttpd: epoll event-loop threads accept and parse requests; handlers
 * that may block run on worker pools while their connection is suspended. Everything every
 * response shares lives here: routing (404/405/OPTIONS), CORS, security headers, request ids,
 * body limits (413 before the body is read when Content-Length says so), JSON parsing (400/415),
 * the per-client rate limit (429), the access log and request metrics.
 *
 * Framing is checked before anything else reads the request (RFC 9112): libmicrohttpd believes
 * Transfer-Encoding over Content-Length and the first of several Content-Lengths, so a request
 * carrying both, or two different lengths, would let a front proxy and us disagree about where
 * it ends (request smuggling). Such requests, HTTP/1.1 without one Host, codings other than
 * chunked and a %00 in the target are answered 4xx/501 with the connection closed: the bytes
 * after them are never parsed as a request.
 *
 * Slow clients: libmicrohttpd only times out idleness, so a byte every few seconds would hold a
 * connection for ever. A reaper thread gives every header block a deadline (--header-timeout),
 * the body callbacks enforce an average minimum rate (--min-body-rate), and an accept policy
 * caps open connections per address (--per-ip-connections). A request cut off in the middle of
 * its body (over the limit, too slow) is answered by writing the response on the socket
 * ourselves: libmicrohttpd cannot queue a response while it is reading a body.
 *
 * libmicrohttpd calls the access handler several times per request: first with headers only,
 * then once per body chunk, then once with no data. We answer on the last call (answering on the
 * first drops keep-alive) except when we refuse the body, where closing the connection is the
 * point.
 */
#include "http/http.h"

#include "core/log.h"
#include "core/trace.h"
#include "core/pool.h"
#include "core/ratelimit.h"
#include "http/framing.h"
#include "http/proxy.h"
#include "http/router.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEADERS 64
#define MAX_ARGS 32
#define MAX_RES_HEADERS 12
#define N_BUCKETS 14
/* X-Forwarded-For header lines kept for the walk; the rightmost ones matter (each proxy appends).
 */
#define MAX_XFF_LINES 16
/* How often the reaper looks for header blocks past their deadline. */
#define REAPER_TICK_MS 200
/* After a cut-off answer, what is still read and thrown away before the socket is closed, so
 * closing with unread data (a TCP reset) does not destroy the answer in the client's buffers. */
#define CUT_LINGER_BYTES (64 * 1024)
/* A body refused before any of it was read (declared too large, or a route's precheck): up to
 * this much of it is read and dropped, so a proxy streaming it (nginx, proxy_request_buffering
 * off) is not reset mid-body and passes the answer on instead of a 502. */
#define REFUSED_LINGER_BYTES (16 * 1024 * 1024)
#define CUT_LINGER_US (2 * 1000000)
#define IP_BUCKETS 4096

static const double bucket_bounds[N_BUCKETS - 1] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                    0.1,    0.25,  0.5,    1,     2.5,  5};

typedef struct kv {
    const char *key;
    const char *value;
} kv;

struct http_res {
    int status;
    char *body;
    size_t len;
    bool is_static;
    const char *content_type;
    int n_headers;
    char *headers[MAX_RES_HEADERS][2]; /* owned copies */
    /* A file body (http_res_file): libmicrohttpd sends it with sendfile and closes fd. */
    bool has_file;
    int fd;
    uint64_t file_offset;
    struct http_stream *stream; /* http_res_stream: handed to libmicrohttpd by queue_response */
    /* A protocol upgrade (http_res_upgrade): fn is owed exactly one call. */
    http_upgrade_fn upgrade_fn;
    void *upgrade_ctx;
};

typedef enum { REQ_RECEIVING, REQ_RUNNING, REQ_READY, REQ_ANSWERED } req_state;

struct http_req {
    http_server *srv;
    struct MHD_Connection *conn;
    const char *method;
    char method_override[16];
    const char *path;
    int route;
    route_result routing;
    route_match match;
    char *param_names[ROUTER_MAX_PARAMS];
    char *param_values[ROUTER_MAX_PARAMS];
    kv headers[MAX_HEADERS];
    int n_headers;
    kv args[MAX_ARGS];
    int n_args;
    char client_ip[64];
    char request_id[64];
    buf body;
    int body_fd; /* spooled body of a HTTP_STREAM_BODY route, -1 when none */
    uint64_t body_size;
    size_t discarded;
    bool too_large;
    bool body_cut;   /* the client left in the middle of the body (HTTP_KEEP_PARTIAL_BODY) */
    char **detached; /* strings copied out of libmicrohttpd's memory for a detached request */
    json_t *json;
    arena *mem; /* request-scoped memory, made on first use (http_req_arena) */
    void *ctx;
    int64_t start_us;
    int64_t user_id;
    req_state state;
    http_res res;
    bool started;       /* the access handler has seen it (else only the URI log callback) */
    bool nul_in_target; /* the raw request target holds %00 */
    struct conn_track *track;
    const char *xff[MAX_XFF_LINES]; /* the last X-Forwarded-For lines, in order */
    int n_xff;
    uint64_t body_seen; /* body bytes received, kept or not */
    int64_t cut_at_us;  /* answered in the middle of the body: lingering until closed */
    uint64_t cut_drained, cut_linger_bytes;
    trace_span *span; /* the request's SERVER span (NULL: tracing off or not sampled) */
};

typedef struct route_metrics {
    /* 600 slots, allocated by the route's first response: ~130 routes times 4.7 KiB would
     * otherwise stay resident in a server that answers only a few of them */
    _Atomic(_Atomic uint64_t *) by_status;
    _Atomic uint64_t buckets[N_BUCKETS];
    _Atomic uint64_t sum_us;
    _Atomic uint64_t count;
} route_metrics;

struct http_server {
    http_options opts;
    const http_route *routes;
    size_t n_routes;
    router *router; /* compiled from routes */
    struct MHD_Daemon *daemon;
    pool *workers;
    pool *hashers;
    ratelimit *limiter;
    char **origins;
    size_t n_origins;
    bool any_origin;
    unsigned port;
    atomic_long in_flight;
    atomic_bool stopping; /* set first by shutdown: no cut body is handed to the pool after */
    atomic_ullong request_seq;
    unsigned request_prefix;
    route_metrics *metrics;       /* n_routes + 1: the last counts unmatched requests */
    pthread_mutex_t streams_lock; /* open http_streams, closed by shutdown */
    struct http_stream *streams;
    size_t n_streams;
    http_proxies proxies;
    /* Every open connection (conn_track), its open count per address, and the reaper. */
    pthread_mutex_t conns_lock;
    struct conn_track *conns;
    struct ip_count *ip_counts[IP_BUCKETS];
    pthread_t reaper;
    bool reaper_started, reaper_stop;
    pthread_cond_t reaper_wake;
    /* /metrics: connections refused or cut by the limits above */
    atomic_ullong refused_per_ip, header_timeouts, bodies_too_slow, bodies_too_large, bad_framing;
    /* Point reads run by the event-loop threads themselves (loop_read), each thread's context */
    pthread_mutex_t loops_lock;
    struct loop_reader *loops;
    atomic_ullong loop_reads, loop_reads_to_pool;
};

/* ---- responses ---------------------------------------------------------------------------- */

static void stream_never_sent(struct http_stream *st);

static void res_clear(http_res *res)
{
    if (res->stream)
        stream_never_sent(res->stream);
    if (res->has_file)
        close(res->fd);  /* never handed to libmicrohttpd */
    if (res->upgrade_fn) /* the 101 was never sent: let the owner free its context */
        res->upgrade_fn(res->upgrade_ctx, -1, NULL, 0, NULL);
    if (!res->is_static)
        free(res->body);
    for (int i = 0; i < res->n_headers; i++) {
        free(res->headers[i][0]);
        free(res->headers[i][1]);
    }
    memset(res, 0, sizeof *res);
}

void http_res_bytes(http_res *res, int status, const char *content_type, const void *data,
                    size_t len, bool is_static)
{
    if (!res->is_static)
        free(res->body);
    res->status = status;
    res->content_type = content_type;
    res->is_static = is_static;
    res->len = len;
    if (is_static) {
        res->body = (char *)data;
    } else {
        res->body = xmalloc(len + 1);
        memcpy(res->body, data, len);
        res->body[len] = '\0';
    }
}

void http_res_file(http_res *res, int status, const char *content_type, int fd, uint64_t offset,
                   uint64_t len)
{
    http_res_bytes(res, status, content_type, "", 0, true);
    res->has_file = true;
    res->fd = fd;
    res->file_offset = offset;
    res->len = (size_t)len;
}

void http_res_json(http_res *res, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text) {
        http_res_error(res, 500, "internal_error", "could not encode response", NULL);
        return;
    }
    http_res_json_text(res, status, text, strlen(text));
}

void http_res_json_text(http_res *res, int status, char *text, size_t len)
{
    if (!res->is_static)
        free(res->body);
    res->status = status;
    res->content_type = "application/json";
    res->is_static = false;
    res->body = text;
    res->len = len;
}

void http_res_error(http_res *res, int status, const char *code, const char *message,
                    json_t *details)
{
    json_t *err = json_pack("{s:{s:s, s:s, s:o}}", "error", "code", code, "message", message,
                            "details", details ? details : json_object());
    http_res_json(res, status, err);
}

void http_res_empty(http_res *res, int status)
{
    http_res_bytes(res, status, NULL, "", 0, true);
}

void http_res_header(http_res *res, const char *name, const char *value)
{
    for (int i = 0; i < res->n_headers; i++)
        if (strcasecmp(res->headers[i][0], name) == 0) {
            free(res->headers[i][1]);
            res->headers[i][1] = xstrdup(value);
            return;
        }
    if (res->n_headers == MAX_RES_HEADERS)
        return;
    res->headers[res->n_headers][0] = xstrdup(name);
    res->headers[res->n_headers][1] = xstrdup(value);
    res->n_headers++;
}

/* ---- protocol upgrades ------------------------------------------------------------------- */
/* libmicrohttpd sends the 101 and then calls on_upgraded with the socket. We take our own
 * duplicate of the descriptor and hand the original straight back (MHD_UPGRADE_ACTION_CLOSE):
 * libmicrohttpd then frees its connection (its memory pool, the http_req) at once instead of
 * holding about 10 KiB per open WebSocket for the socket's whole life. Closing its copy does
 * not end the TCP connection while ours is open. The cost: --max-connections no longer counts
 * upgraded sockets, so their owner caps them itself. */

struct http_upgrade {
    int fd;
};

void http_res_upgrade(http_res *res, const char *protocol, http_upgrade_fn fn, void *ctx)
{
    http_res_bytes(res, 101, NULL, "", 0, true);
    http_res_header(res, "Upgrade", protocol);
    res->upgrade_fn = fn;
    res->upgrade_ctx = ctx;
}

void http_upgrade_close(http_upgrade *h)
{
    if (!h)
        return;
    close(h->fd);
    free(h);
}

static void track_upgraded(struct conn_track *t);

static void on_upgraded(void *cls, struct MHD_Connection *c, void *con_cls, const char *extra,
                        size_t extra_len, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    http_req *r = cls;
    http_upgrade_fn fn = r->res.upgrade_fn;
    void *ctx = r->res.upgrade_ctx;
    r->res.upgrade_fn = NULL;
    r->res.upgrade_ctx = NULL;
    track_upgraded(r->track);
    int fd = fn ? fcntl(sock, F_DUPFD_CLOEXEC, 0) : -1;
    if (fd >= 0) {
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0)
            fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    }
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
    if (!fn)
        return;
    if (fd < 0) {
        fn(ctx, -1, NULL, 0, NULL);
        return;
    }
    http_upgrade *h = xmalloc(sizeof *h);
    h->fd = fd;
    fn(ctx, fd, extra, extra_len, h);
}

static bool res_has_header(const http_res *res, const char *name)
{
    for (int i = 0; i < res->n_headers; i++)
        if (strcasecmp(res->headers[i][0], name) == 0)
            return true;
    return false;
}

/* ---- streaming responses ------------------------------------------------------------------
 * See http.h. The content reader runs on the event loop: with bytes buffered it copies them out;
 * with none it suspends the connection (allowed from a content reader) and returns 0; a writer
 * on any thread appends and resumes it. Both sides hold the stream's lock around the
 * suspended flag, so a wake-up is never lost and a connection that is not suspended is never
 * resumed (undefined in libmicrohttpd). When libmicrohttpd drops the response, the free callback
 * marks the stream dead (later writes are refused without touching the connection), unlinks it,
 * runs the owner's on_closed and frees it. */

struct http_stream {
    pthread_mutex_t lock;
    pthread_cond_t room; /* http_stream_write_wait: the reader drained some, or the stream ended */
    uint64_t length;     /* MHD_SIZE_UNKNOWN for open-ended (chunked) streams */
    http_server *srv;
    struct MHD_Connection *conn; /* set when queued */
    buf data;
    size_t off; /* sent part of data */
    size_t cap;
    bool suspended, closing, overflow, dead;
    http_stream_closed_fn on_closed;
    void *ctx;
    struct http_stream *prev, *next; /* srv->streams */
};

#define STREAM_BLOCK 4096

http_stream *http_res_stream(http_res *res, int status, const char *content_type, size_t cap,
                             http_stream_closed_fn on_closed, void *ctx)
{
    http_res_bytes(res, status, content_type, "", 0, true);
    http_stream *st = xcalloc(1, sizeof *st);
    pthread_mutex_init(&st->lock, NULL);
    pthread_cond_init(&st->room, NULL);
    st->length = MHD_SIZE_UNKNOWN;
    st->cap = cap;
    st->on_closed = on_closed;
    st->ctx = ctx;
    res->stream = st;
    return st;
}

/* Wakes the connection if it sleeps; caller holds st->lock. */
static void stream_wake(http_stream *st)
{
    if (st->suspended && !st->dead) {
        st->suspended = false;
        MHD_resume_connection(st->conn);
    }
}

/* Queues bytes behind what the client has not read yet; the buffer starts over once it has
 * all been sent. Under st->lock. */
static void stream_append_locked(http_stream *st, const void *data, size_t len)
{
    if (st->off && st->off == st->data.len)
        st->data.len = st->off = 0;
    buf_append(&st->data, data, len);
}

int http_stream_write(http_stream *st, const void *data, size_t len)
{
    int rc = 0;
    pthread_mutex_lock(&st->lock);
    if (st->closing || st->dead) {
        rc = ERR_GONE;
    } else if (st->data.len - st->off + len > st->cap) {
        st->closing = st->overflow = true;
        rc = ERR_TOO_LARGE;
    } else {
        stream_append_locked(st, data, len);
    }
    stream_wake(st);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

http_stream *http_res_stream_sized(http_res *res, int status, const char *content_type,
                                   uint64_t length, size_t cap, http_stream_closed_fn on_closed,
                                   void *ctx)
{
    http_stream *st = http_res_stream(res, status, content_type, cap, on_closed, ctx);
    st->length = length;
    return st;
}

int http_stream_write_wait(http_stream *st, const void *data, size_t len, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    int rc = 0;
    pthread_mutex_lock(&st->lock);
    /* a chunk larger than the whole buffer waits for an empty one */
    while (!st->closing && !st->dead && st->data.len - st->off > 0 &&
           st->data.len - st->off + len > st->cap)
        if (pthread_cond_timedwait(&st->room, &st->lock, &until) == ETIMEDOUT)
            break;
    if (st->closing || st->dead) {
        rc = ERR_GONE;
    } else if (st->data.len - st->off > 0 && st->data.len - st->off + len > st->cap) {
        st->closing = st->overflow = true; /* the client reads too slowly: cut it off */
        rc = ERR_BUSY;
    } else {
        stream_append_locked(st, data, len);
    }
    stream_wake(st);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

void http_stream_abort(http_stream *st)
{
    pthread_mutex_lock(&st->lock);
    st->closing = st->overflow = true;
    stream_wake(st);
    pthread_mutex_unlock(&st->lock);
}

void http_stream_close(http_stream *st)
{
    pthread_mutex_lock(&st->lock);
    st->closing = true;
    stream_wake(st);
    pthread_mutex_unlock(&st->lock);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    http_stream *st = cls;
    ssize_t n;
    pthread_mutex_lock(&st->lock);
    if (st->overflow) {
        n = MHD_CONTENT_READER_END_WITH_ERROR; /* cut off: what is buffered is not worth sending */
    } else if (st->data.len > st->off) {
        size_t k = st->data.len - st->off < max ? st->data.len - st->off : max;
        memcpy(out, st->data.data + st->off, k);
        st->off += k;
        pthread_cond_broadcast(&st->room);
        if (st->off == st->data.len)
            st->data.len = st->off = 0;
        /* a buffer grown by a burst is given back once drained */
        if (!st->data.len && st->data.cap > 4 * STREAM_BLOCK) {
            buf_free(&st->data);
            memset(&st->data, 0, sizeof st->data);
        }
        n = (ssize_t)k;
    } else if (st->closing) {
        /* a sized body that ended short must not look complete */
        n = st->length != MHD_SIZE_UNKNOWN && pos < st->length
                ? MHD_CONTENT_READER_END_WITH_ERROR
                : MHD_CONTENT_READER_END_OF_STREAM;
    } else {
        st->suspended = true;
        MHD_suspend_connection(st->conn);
        n = 0;
    }
    pthread_mutex_unlock(&st->lock);
    return n;
}

static void stream_finish(http_stream *st)
{
    pthread_mutex_lock(&st->lock);
    st->dead = true;
    pthread_cond_broadcast(&st->room);
    pthread_mutex_unlock(&st->lock);
    http_server *s = st->srv;
    if (s) {
        pthread_mutex_lock(&s->streams_lock);
        if (st->prev)
            st->prev->next = st->next;
        else
            s->streams = st->next;
        if (st->next)
            st->next->prev = st->prev;
        s->n_streams--;
        pthread_mutex_unlock(&s->streams_lock);
    }
    if (st->on_closed)
        st->on_closed(st->ctx);
    buf_free(&st->data);
    pthread_cond_destroy(&st->room);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

static void stream_free_cb(void *cls)
{
    stream_finish(cls);
}

/* A handler made a stream but its response was never queued (or replaced). */
static void stream_never_sent(http_stream *st)
{
    stream_finish(st);
}

/* The libmicrohttpd response of a stream; it owns the stream from here on. */
static struct MHD_Response *stream_response(http_req *r)
{
    http_server *s = r->srv;
    http_stream *st = r->res.stream;
    r->res.stream = NULL;
    st->conn = r->conn;
    st->srv = s;
    pthread_mutex_lock(&s->streams_lock);
    st->next = s->streams;
    if (s->streams)
        s->streams->prev = st;
    s->streams = st;
    s->n_streams++;
    pthread_mutex_unlock(&s->streams_lock);
    struct MHD_Response *mr = MHD_create_response_from_callback(st->length, STREAM_BLOCK,
                                                                stream_read, st, stream_free_cb);
    if (!mr)
        stream_finish(st);
    return mr;
}

/* Shutdown: every stream ends (libmicrohttpd must not stop with suspended connections). */
static void streams_close_all(http_server *s)
{
    pthread_mutex_lock(&s->streams_lock);
    for (http_stream *st = s->streams; st; st = st->next)
        http_stream_close(st);
    pthread_mutex_unlock(&s->streams_lock);
}

size_t http_server_streams(http_server *s)
{
    pthread_mutex_lock(&s->streams_lock);
    size_t n = s->n_streams;
    pthread_mutex_unlock(&s->streams_lock);
    return n;
}

/* ---- connections: header deadlines and the per-address cap ---------------------------------
 * libmicrohttpd tells us when each connection starts and ends (NOTIFY_CONNECTION, whose CLOSED
 * call comes before it closes the socket). We keep a conn_track per connection on a list under
 * conns_lock; the reaper thread, holding that lock, shuts down the socket of any connection whose
 * header block is late, so it never touches a descriptor that has been closed and reused. The
 * deadline runs from the accept for the first request; after a response it runs from the end of
 * that response for max(header_timeout, connection_timeout): the server cannot tell an idle
 * keep-alive connection from one trickling its next request, and idle ones are libmicrohttpd's
 * to time out. An upgraded connection has none: once handed over it is the hub's, and
 * libmicrohttpd frees its side at once (so it no longer counts against any HTTP limit). */

typedef struct ip_key {
    unsigned char b[17]; /* family byte, then the address (IPv4-mapped IPv6 taken as IPv4) */
} ip_key;

typedef struct ip_count {
    ip_key key;
    unsigned n;
    struct ip_count *next;
} ip_count;

typedef struct conn_track {
    struct MHD_Connection *conn;
    int fd;
    _Atomic int64_t deadline_us; /* 0: none */
    atomic_bool upgraded;
    bool counted; /* holds a slot of its address's count */
    ip_key key;
    char peer[INET6_ADDRSTRLEN]; /* the client's address as text, made once per connection */
    struct conn_track *prev, *next;
} conn_track;

static bool ip_key_of(const struct sockaddr *sa, ip_key *k, char *text, size_t text_size)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    memset(k, 0, sizeof *k);
    if (sa && sa->sa_family == AF_INET) {
        k->b[0] = 4;
        memcpy(k->b + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else if (sa && sa->sa_family == AF_INET6) {
        const unsigned char *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        if (!memcmp(a, mapped, sizeof mapped)) {
            k->b[0] = 4;
            memcpy(k->b + 1, a + 12, 4);
        } else {
            k->b[0] = 6;
            memcpy(k->b + 1, a, 16);
        }
    } else {
        return false;
    }
    if (text && !inet_ntop(k->b[0] == 4 ? AF_INET : AF_INET6, k->b + 1, text, (socklen_t)text_size))
        return false;
    return true;
}

static size_t ip_bucket(const ip_key *k)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < sizeof k->b; i++)
        h = (h ^ k->b[i]) * 1099511628211ull;
    return (size_t)(h % IP_BUCKETS);
}

/* Caller holds conns_lock. */
static ip_count **ip_find(http_server *s, const ip_key *k)
{
    ip_count **p = &s->ip_counts[ip_bucket(k)];
    while (*p && memcmp((*p)->key.b, k->b, sizeof k->b))
        p = &(*p)->next;
    return p;
}

/* Whether connections from this address count against --per-ip-connections: a trusted proxy
 * carries many clients, whose own addresses the rate limit sees instead. */
static bool ip_capped(http_server *s, const struct sockaddr *sa, ip_key *k)
{
    char text[INET6_ADDRSTRLEN];
    if (!s->opts.per_ip_connections || !ip_key_of(sa, k, text, sizeof text))
        return false;
    return !(s->opts.trust_proxy && http_proxies_trusted(&s->proxies, text));
}

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    http_server *s = cls;
    ip_key k;
    (void)addrlen;
    if (!ip_capped(s, addr, &k))
        return MHD_YES;
    pthread_mutex_lock(&s->conns_lock);
    ip_count *c = *ip_find(s, &k);
    bool ok = !c || c->n < s->opts.per_ip_connections;
    pthread_mutex_unlock(&s->conns_lock);
    if (!ok) {
        atomic_fetch_add_explicit(&s->refused_per_ip, 1, memory_order_relaxed);
        log_debug("connection refused", "\"reason\":\"per-ip-connections\",\"limit\":%u",
                  s->opts.per_ip_connections);
    }
    return ok ? MHD_YES : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    http_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        conn_track *t = xcalloc(1, sizeof *t);
        t->conn = c;
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        t->fd = fd ? fd->connect_fd : -1;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        t->counted = ip_capped(s, ci ? ci->client_addr : NULL, &t->key);
        ip_key unused;
        if (!ci || !ci->client_addr || !ip_key_of(ci->client_addr, &unused, t->peer, sizeof t->peer))
            strcpy(t->peer, "unknown");
        atomic_store(&t->deadline_us, monotonic_us() + (int64_t)s->opts.header_timeout * 1000000);
        pthread_mutex_lock(&s->conns_lock);
        if (t->counted) {
            ip_count **p = ip_find(s, &t->key);
            if (!*p) {
                *p = xcalloc(1, sizeof **p);
                (*p)->key = t->key;
            }
            (*p)->n++;
        }
        t->next = s->conns;
        if (s->conns)
            s->conns->prev = t;
        s->conns = t;
        pthread_mutex_unlock(&s->conns_lock);
        *socket_context = t;
        return;
    }
    conn_track *t = *socket_context;
    if (!t)
        return;
    pthread_mutex_lock(&s->conns_lock);
    if (t->prev)
        t->prev->next = t->next;
    else
        s->conns = t->next;
    if (t->next)
        t->next->prev = t->prev;
    if (t->counted) {
        ip_count **p = ip_find(s, &t->key);
        if (*p && --(*p)->n == 0) {
            ip_count *dead = *p;
            *p = dead->next;
            free(dead);
        }
    }
    pthread_mutex_unlock(&s->conns_lock);
    *socket_context = NULL;
    free(t);
}

static void track_upgraded(conn_track *t)
{
    if (t) {
        atomic_store(&t->upgraded, true);
        atomic_store(&t->deadline_us, 0);
    }
}

static conn_track *track_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void *reaper_main(void *arg)
{
    http_server *s = arg;
    pthread_mutex_lock(&s->conns_lock);
    while (!s->reaper_stop) {
        int64_t now = monotonic_us();
        for (conn_track *t = s->conns; t; t = t->next) {
            int64_t d = atomic_load(&t->deadline_us);
            if (d && now > d && !atomic_load(&t->upgraded) && t->fd >= 0) {
                atomic_store(&t->deadline_us, 0);
                /* libmicrohttpd sees the end of the stream and closes the connection itself */
                shutdown(t->fd, SHUT_RDWR);
                atomic_fetch_add_explicit(&s->header_timeouts, 1, memory_order_relaxed);
                log_debug("connection closed", "\"reason\":\"header-timeout\",\"limit_s\":%u",
                          s->opts.header_timeout);
            }
        }
        /* access-log lines a quiet loop thread still holds (core/log.h) */
        pthread_mutex_unlock(&s->conns_lock);
        log_flush_all();
        pthread_mutex_lock(&s->conns_lock);
        if (s->reaper_stop)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += REAPER_TICK_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->reaper_wake, &s->conns_lock, &ts);
    }
    pthread_mutex_unlock(&s->conns_lock);
    return NULL;
}

static void reaper_stop(http_server *s)
{
    if (!s->reaper_started)
        return;
    pthread_mutex_lock(&s->conns_lock);
    s->reaper_stop = true;
    pthread_cond_signal(&s->reaper_wake);
    pthread_mutex_unlock(&s->conns_lock);
    pthread_join(s->reaper, NULL);
    s->reaper_started = false;
}

static void ip_counts_free(http_server *s)
{
    for (size_t i = 0; i < IP_BUCKETS; i++)
        while (s->ip_counts[i]) {
            ip_count *next = s->ip_counts[i]->next;
            free(s->ip_counts[i]);
            s->ip_counts[i] = next;
        }
}

/* ---- request accessors -------------------------------------------------------------------- */

const char *http_req_method(http_req *r)
{
    return r->method;
}
const char *http_req_path(http_req *r)
{
    return r->path;
}
const char *http_req_id(http_req *r)
{
    return r->request_id;
}
const char *http_req_client_ip(http_req *r)
{
    return r->client_ip;
}
json_t *http_req_json(http_req *r)
{
    return r->json;
}
int http_req_body_fd(http_req *r)
{
    return r->body_fd;
}

uint64_t http_req_body_size(http_req *r)
{
    return r->body_size;
}

bool http_req_body_cut(http_req *r)
{
    return r->body_cut;
}

arena *http_req_arena(http_req *r)
{
    /* made on first use: health checks, static files and upgrades never pay for one */
    if (!r->mem)
        r->mem = arena_create(0);
    return r->mem;
}

void *http_req_ctx(http_req *r)
{
    return r->ctx;
}
void *http_req_app(http_req *r)
{
    return r->srv->opts.app;
}
http_server *http_req_server(http_req *r)
{
    return r->srv;
}
void http_req_set_user(http_req *r, int64_t user_id)
{
    r->user_id = user_id;
}

const char *http_req_route(http_req *r)
{
    return r->route >= 0 ? r->srv->routes[r->route].pattern : NULL;
}

const void *http_req_route_data(http_req *r)
{
    return r->route >= 0 ? r->srv->routes[r->route].data : NULL;
}

const char *http_req_param(http_req *r, const char *name)
{
    for (int i = 0; i < r->match.n_params; i++)
        if (strcmp(r->param_names[i], name) == 0)
            return r->param_values[i];
    return NULL;
}

static const char *kv_find(const kv *list, int n, const char *key, bool icase)
{
    for (int i = 0; i < n; i++)
        if (icase ? strcasecmp(list[i].key, key) == 0 : strcmp(list[i].key, key) == 0)
            return list[i].value;
    return NULL;
}

const char *http_req_query(http_req *r, const char *name)
{
    return kv_find(r->args, r->n_args, name, false);
}

const char *http_req_header(http_req *r, const char *name)
{
    return kv_find(r->headers, r->n_headers, name, true);
}

/* ---- request set-up ----------------------------------------------------------------------- */

static enum MHD_Result collect_value(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    http_req *r = cls;
    if (kind == MHD_HEADER_KIND && !strcasecmp(key, "X-Forwarded-For") && value) {
        if (r->n_xff == MAX_XFF_LINES) { /* keep the rightmost: the trusted hops are there */
            memmove(r->xff, r->xff + 1, (MAX_XFF_LINES - 1) * sizeof r->xff[0]);
            r->n_xff--;
        }
        r->xff[r->n_xff++] = value;
    }
    if (kind == MHD_HEADER_KIND && r->n_headers < MAX_HEADERS)
        r->headers[r->n_headers++] = (kv){key, value ? value : ""};
    else if (kind == MHD_GET_ARGUMENT_KIND && r->n_args < MAX_ARGS)
        r->args[r->n_args++] = (kv){key, value ? value : ""};
    return MHD_YES;
}

static bool request_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 64 - 1)
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return false;
    return true;
}

static void set_client_ip(http_server *s, http_req *r)
{
    char own[INET6_ADDRSTRLEN] = "unknown";
    const char *peer = r->track ? r->track->peer : own;
    if (!r->track) { /* not seen by on_connection: would be a libmicrohttpd change */
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        ip_key k;
        if (ci && ci->client_addr)
            ip_key_of(ci->client_addr, &k, own, sizeof own);
    }
    if (s->opts.trust_proxy && r->n_xff)
        http_client_address(&s->proxies, peer, r->xff, (size_t)r->n_xff, r->client_ip,
                            sizeof r->client_ip);
    else
        snprintf(r->client_ip, sizeof r->client_ip, "%s", peer);
}

/* "%08x%010llx" of the process's random prefix and the request's sequence number, by hand:
 * snprintf was a tenth of the work of an empty request. */
static void make_request_id(char *out, unsigned prefix, unsigned long long seq)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 7; i >= 0; i--, prefix >>= 4)
        out[i] = hex[prefix & 15];
    for (int i = 17; i >= 8; i--, seq >>= 4)
        out[i] = hex[seq & 15];
    out[18] = '\0';
}

/* libmicrohttpd's URI log callback: runs once per request with the target as the client sent
 * it, before it decodes %XX (a decoded NUL would silently end the path or a query value). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    http_req *r = xcalloc(1, sizeof *r);
    r->body_fd = -1;
    http_framing f = {0};
    http_framing_target(&f, uri);
    r->nul_in_target = f.nul_in_target;
    (void)cls;
    (void)c;
    return r;
}

/* The request's SERVER span, named "METHOD route" (OpenTelemetry's HTTP naming; the method
 * alone when no route matched). A traceparent that does not parse is ignored: the span is a new
 * root, and the request is answered as if the header were absent. */
static void begin_server_span(http_req *r)
{
    trace_context parent;
    bool remote = trace_parse_traceparent(http_req_header(r, "traceparent"), &parent);
    const char *route = http_req_route(r);
    char name[160];
    snprintf(name, sizeof name, "%s%s%s", r->method, route ? " " : "", route ? route : "");
    r->span = trace_begin(name, TRACE_SERVER, remote ? &parent : NULL);
    if (!r->span)
        return;
    trace_set_str(r->span, "http.request.method", r->method);
    if (route)
        trace_set_str(r->span, "http.route", route);
    trace_set_str(r->span, "url.path", r->path);
    trace_set_str(r->span, "client.address", r->client_ip);
    trace_set_str(r->span, "http.request.header.x-request-id", r->request_id);
}

static void end_server_span(http_req *r, enum MHD_RequestTerminationCode toe)
{
    trace_set_int(r->span, "http.response.status_code", r->res.status);
    if (r->user_id) {
        char user[24];
        snprintf(user, sizeof user, "%lld", (long long)r->user_id);
        trace_set_str(r->span, "user.id", user); /* ids are strings in the API */
    }
    if (r->res.status >= 500)
        trace_set_error(r->span, NULL);
    else if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
        trace_set_error(r->span, "connection closed before the response was complete");
    trace_end(r->span);
    r->span = NULL; /* a cut body's handler may still run: it runs untraced */
}

/* Fills in the request made by on_uri once its headers are in. */
static void request_start(http_req *r, http_server *s, struct MHD_Connection *c, const char *url,
                          const char *method)
{
    r->started = true;
    r->srv = s;
    r->conn = c;
    r->method = method;
    r->path = url;
    r->start_us = monotonic_us();
    r->track = track_of(c);
    if (r->track) /* the header block is in: its deadline is met */
        atomic_store(&r->track->deadline_us, 0);
    MHD_get_connection_values(c, MHD_HEADER_KIND | MHD_GET_ARGUMENT_KIND, collect_value, r);
    /* Clients behind proxies that only pass GET and POST (tus asks servers to honour this)
     * send the real method in this header. */
    const char *override = http_req_header(r, "X-HTTP-Method-Override");
    if (override && !strcmp(method, "POST") && *override && strlen(override) < 16) {
        snprintf(r->method_override, sizeof r->method_override, "%s", override);
        for (char *m = r->method_override; *m; m++)
            *m = (char)toupper((unsigned char)*m);
        method = r->method = r->method_override;
    }
    const char *rid = http_req_header(r, "X-Request-Id");
    if (rid && request_id_ok(rid))
        snprintf(r->request_id, sizeof r->request_id, "%s", rid);
    else
        make_request_id(r->request_id, s->request_prefix,
                        (unsigned long long)atomic_fetch_add(&s->request_seq, 1));
    set_client_ip(s, r);
    r->routing = router_find(s->router, method, url, &r->match);
    r->route = r->match.route;
    for (int i = 0; i < r->match.n_params; i++) {
        r->param_names[i] = xstrndup(r->match.params[i].name, r->match.params[i].name_len);
        r->param_values[i] = xstrndup(r->match.params[i].value, r->match.params[i].value_len);
    }
    if (trace_enabled())
        begin_server_span(r);
    atomic_fetch_add(&s->in_flight, 1);
}

static void request_free(http_req *r)
{
    for (int i = 0; i < r->match.n_params; i++) {
        free(r->param_names[i]);
        free(r->param_values[i]);
    }
    buf_free(&r->body);
    if (r->body_fd >= 0)
        close(r->body_fd);
    for (char **d = r->detached; d && *d; d++)
        free(*d);
    free(r->detached);
    json_decref(r->json);
    res_clear(&r->res);
    arena_free(r->mem);
    free(r);
}

/* ---- answering ---------------------------------------------------------------------------- */

static bool origin_allowed(http_server *s, const char *origin)
{
    if (!origin || !*origin)
        return false;
    if (s->any_origin)
        return true;
    for (size_t i = 0; i < s->n_origins; i++)
        if (strcmp(s->origins[i], origin) == 0)
            return true;
    return false;
}

static enum MHD_Result queue_response(http_req *r)
{
    http_server *s = r->srv;
    http_res *res = &r->res;
    if (res->status == 0)
        http_res_error(res, 500, "internal_error", "the handler produced no response", NULL);
    struct MHD_Response *mr;
    if (res->stream) {
        mr = stream_response(r);
    } else if (res->has_file) {
        /* libmicrohttpd owns the descriptor from here on, even when this fails */
        res->has_file = false;
        mr = MHD_create_response_from_fd_at_offset64(res->len, res->fd, res->file_offset);
    } else if (res->upgrade_fn && res->status == 101) {
        mr = MHD_create_response_for_upgrade(on_upgraded, r);
    } else {
        mr = MHD_create_response_from_buffer(res->len, res->body, MHD_RESPMEM_PERSISTENT);
    }
    if (!mr)
        return MHD_NO;
    for (int i = 0; i < res->n_headers; i++)
        MHD_add_response_header(mr, res->headers[i][0], res->headers[i][1]);
    if (res->content_type && !res_has_header(res, "Content-Type"))
        MHD_add_response_header(mr, "Content-Type", res->content_type);
    MHD_add_response_header(mr, "X-Request-Id", r->request_id);
    MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(mr, "Referrer-Policy", "no-referrer");
    if (!res_has_header(res, "X-Frame-Options"))
        MHD_add_response_header(mr, "X-Frame-Options", "DENY");
    if (!res_has_header(res, "Content-Security-Policy"))
        MHD_add_response_header(mr, "Content-Security-Policy",
                                "default-src 'none'; frame-ancestors 'none'");
    bool cacheable = r->route >= 0 && (s->routes[r->route].flags & HTTP_CACHEABLE);
    if (!cacheable && !res_has_header(res, "Cache-Control"))
        MHD_add_response_header(mr, "Cache-Control", "no-store");
    const char *origin = http_req_header(r, "Origin");
    if (origin_allowed(s, origin)) {
        MHD_add_response_header(mr, "Access-Control-Allow-Origin", origin);
        MHD_add_response_header(mr, "Vary", "Origin");
        MHD_add_response_header(mr, "Access-Control-Expose-Headers",
                                "X-Request-Id, Retry-After, Location, Upload-Offset, "
                                "Upload-Length, Upload-Metadata, Upload-Expires, "
                                "Upload-Defer-Length, Upload-Media-Id, Tus-Resumable, "
                                "Tus-Version, Tus-Extension, Tus-Max-Size, "
                                "Tus-Checksum-Algorithm, Content-Range, ETag");
    }
    enum MHD_Result ok = MHD_queue_response(r->conn, (unsigned)res->status, mr);
    MHD_destroy_response(mr);
    r->state = REQ_ANSWERED;
    return ok;
}

/* Runs the route's handler with the request's span current on this thread, so what the handler
 * does below (SQL, queued jobs) nests under it. */
static void call_handler(http_server *s, http_req *r)
{
    trace_span *outer = trace_swap_current(r->span);
    s->routes[r->route].fn(r, &r->res);
    trace_swap_current(outer);
}

static void run_handler(void *task, void *ctx)
{
    http_req *r = task;
    r->ctx = ctx;
    call_handler(r->srv, r);
    r->state = REQ_READY;
    MHD_resume_connection(r->conn);
}

/* ---- point reads on the event loop -------------------------------------------------------- *
 *
 * Handing a request to the pool and back costs two thread wake-ups and an eventfd round trip,
 * more than a point read itself costs (issue 12: 47% kernel time on GET /auth/me). So each
 * event-loop thread keeps its own context (a database connection of its own, opened on its first
 * point read) and runs HTTP_POINT_READ routes itself. What bounds the harm of a read that turns
 * out slow is a token bucket per loop thread: it refills at loop_read_budget_ms per second up to
 * a tenth of a second's worth, each run spends the time it took, and while it is empty the pool
 * runs the point reads. A slow read can still hold its loop once, for as long as it takes, but
 * not again until the loop has earned that time back, so the loop's share of point-read time
 * stays under the budget whatever the queries cost. */
typedef struct loop_reader {
    http_server *srv;
    void *ctx;         /* loop_thread_init's, or NULL: this loop hands its point reads over */
    int64_t tokens;    /* in ns of budget (µs × 1000, no refill lost to rounding); runs while > 0 */
    int64_t refilled_at_us;
    struct loop_reader *next;
} loop_reader;

static _Thread_local loop_reader *this_loop;

/* A tenth of a second's budget: loop_read_budget_ms ms/s × 0.1 s, in ns. */
static int64_t bucket_cap(const http_server *s)
{
    return (int64_t)s->opts.loop_read_budget_ms * 100 * 1000;
}

/* The calling loop thread's reader, made on its first point read. A thread belongs to one
 * daemon for its life, so one pointer per thread suffices. */
static loop_reader *loop_reader_get(http_server *s)
{
    if (this_loop && this_loop->srv == s)
        return this_loop;
    loop_reader *l = xcalloc(1, sizeof *l);
    l->srv = s;
    l->ctx = s->opts.loop_thread_init ? s->opts.loop_thread_init(s->opts.app) : NULL;
    l->refilled_at_us = monotonic_us();
    l->tokens = bucket_cap(s);
    pthread_mutex_lock(&s->loops_lock);
    l->next = s->loops;
    s->loops = l;
    pthread_mutex_unlock(&s->loops_lock);
    this_loop = l;
    return l;
}

/* Runs r's handler on this loop thread when it is a point read and the budget allows; false
 * when the pool must run it. */
static bool loop_read(http_server *s, http_req *r, unsigned flags)
{
    if (!(flags & HTTP_POINT_READ) || !s->opts.loop_read_budget_ms)
        return false;
    loop_reader *l = loop_reader_get(s);
    if (!l->ctx)
        return false;
    int64_t now = monotonic_us();
    l->tokens += (now - l->refilled_at_us) * (int64_t)s->opts.loop_read_budget_ms;
    if (l->tokens > bucket_cap(s))
        l->tokens = bucket_cap(s);
    l->refilled_at_us = now;
    if (l->tokens <= 0) {
        atomic_fetch_add_explicit(&s->loop_reads_to_pool, 1, memory_order_relaxed);
        return false;
    }
    r->ctx = l->ctx;
    call_handler(s, r);
    int64_t done = monotonic_us();
    l->tokens -= (done - now) * 1000;
    atomic_fetch_add_explicit(&s->loop_reads, 1, memory_order_relaxed);
    return true;
}

/* After the daemon stopped: no loop thread is left to use them. */
static void loop_readers_free(http_server *s)
{
    while (s->loops) {
        loop_reader *l = s->loops;
        s->loops = l->next;
        if (l->ctx && s->opts.loop_thread_done)
            s->opts.loop_thread_done(l->ctx);
        free(l);
    }
}

static bool content_type_is_json(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    size_t n = strcspn(ct, "; ");
    return n == 16 && strncasecmp(ct, "application/json", 16) == 0;
}

/* Answers what the server decides without a handler; returns true when it did. */
static bool answer_early(http_server *s, http_req *r)
{
    http_res *res = &r->res;
    /* a route may answer OPTIONS itself (tus advertises its capabilities there) */
    bool options =
        strcmp(r->method, "OPTIONS") == 0 &&
        (r->routing != ROUTE_FOUND || http_req_header(r, "Access-Control-Request-Method"));
    if (r->routing == ROUTE_NOT_FOUND) {
        http_res_error(res, 404, "route_not_found", "no such route", NULL);
        return true;
    }
    if (options) {
        http_res_empty(res, 204);
        http_res_header(res, "Allow", r->match.allow);
        const char *origin = http_req_header(r, "Origin");
        if (origin_allowed(s, origin) && http_req_header(r, "Access-Control-Request-Method")) {
            http_res_header(res, "Access-Control-Allow-Methods", r->match.allow);
            http_res_header(res, "Access-Control-Allow-Headers",
                            "Authorization, Content-Type, Idempotency-Key, X-Request-Id, "
                            "Upload-Offset, Upload-Length, Upload-Metadata, "
                            "Upload-Defer-Length, Upload-Checksum, Upload-Concat, "
                            "Tus-Resumable, X-HTTP-Method-Override, Range, If-None-Match");
            http_res_header(res, "Access-Control-Max-Age", "600");
        }
        return true;
    }
    if (r->routing == ROUTE_METHOD_NOT_ALLOWED) {
        http_res_error(res, 405, "method_not_allowed", "method not allowed on this route", NULL);
        http_res_header(res, "Allow", r->match.allow);
        return true;
    }
    unsigned flags = s->routes[r->route].flags;
    if (s->limiter && !(flags & HTTP_NO_RATE_LIMIT)) {
        int retry = 1;
        if (!ratelimit_take(s->limiter, r->client_ip, monotonic_us(), &retry)) {
            char v[16];
            snprintf(v, sizeof v, "%d", retry);
            http_res_error(res, 429, "rate_limited", "too many requests", NULL);
            http_res_header(res, "Retry-After", v);
            return true;
        }
    }
    if (flags & HTTP_JSON_BODY) {
        if (r->body.len == 0) {
            if (flags & HTTP_OPTIONAL_BODY)
                return false;
            http_res_error(res, 400, "body_required", "a JSON object body is required", NULL);
            return true;
        }
        if (!content_type_is_json(http_req_header(r, "Content-Type"))) {
            http_res_error(res, 415, "unsupported_media_type",
                           "Content-Type must be application/json", NULL);
            return true;
        }
        json_error_t jerr;
        r->json = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &jerr);
        if (!r->json) {
            http_res_error(res, 400, "malformed_json", "request body is not valid JSON",
                           json_pack("{s:s, s:i, s:i}", "reason", jerr.text, "line", jerr.line,
                                     "column", jerr.column));
            return true;
        }
        if (!json_is_object(r->json)) {
            http_res_error(res, 400, "malformed_json", "request body must be a JSON object", NULL);
            return true;
        }
    }
    return false;
}

static bool streams_body(http_server *s, http_req *r)
{
    return r->route >= 0 && (s->routes[r->route].flags & HTTP_STREAM_BODY);
}

static uint64_t body_limit_of(http_server *s, http_req *r)
{
    return streams_body(s, r) ? s->opts.stream_limit : s->opts.body_limit;
}

/* Appends a chunk of a streamed body to its spool file (on the event loop: a write into the page
 * cache, like the socket read that brought it). */
static bool spool(http_server *s, http_req *r, const char *data, size_t n)
{
    if (r->body_fd < 0) {
        r->body_fd = open(s->opts.spool_dir ? s->opts.spool_dir : "/tmp",
                          O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (r->body_fd < 0)
            return false;
    }
    while (n > 0) {
        ssize_t w = write(r->body_fd, data, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        data += w;
        n -= (size_t)w;
        r->body_size += (uint64_t)w;
    }
    return true;
}

static void answer_body_too_large(http_req *r)
{
    char limit[32];
    snprintf(limit, sizeof limit, "%llu", (unsigned long long)body_limit_of(r->srv, r));
    http_res_error(&r->res, 413, "body_too_large", "request body is larger than the limit",
                   json_pack("{s:s}", "limit_bytes", limit));
    http_res_header(&r->res, "Connection", "close");
}

/* ---- framing (RFC 9112 section 6; the rules are in framing.c) ------------------------------ */

/* Sees every header line, not only the MAX_HEADERS the request keeps: a second Content-Length
 * hidden behind 64 others must count too. */
static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    http_framing_header(cls, key, value);
    return MHD_YES;
}

/* Answers (with the connection closed) a request whose framing or target cannot be trusted;
 * returns true when it did. */
static bool refuse_framing(http_req *r, const char *version)
{
    http_framing f = {.nul_in_target = r->nul_in_target};
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_framing, &f);
    const char *code, *message;
    int status = http_framing_verdict(&f, version, &code, &message);
    if (!status)
        return false;
    atomic_fetch_add_explicit(&r->srv->bad_framing, 1, memory_order_relaxed);
    http_res_error(&r->res, status, code, message, NULL);
    http_res_header(&r->res, "Connection", "close");
    return true;
}

/* Answers now, in the middle of the body, by writing the response on the socket: libmicrohttpd
 * cannot queue one while it reads a body. The write side is then shut; the rest of what the
 * client sends is read and dropped for a little while (CUT_LINGER_*) before the connection is
 * closed, so the client sees the answer rather than a reset. Returns what the access handler
 * returns. */
static enum MHD_Result cut_off(http_req *r, int status, const char *reason)
{
    r->state = REQ_ANSWERED;
    r->cut_at_us = monotonic_us();
    if (!r->cut_linger_bytes)
        r->cut_linger_bytes = CUT_LINGER_BYTES;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return MHD_NO;
    char head[2048];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\nX-Request-Id: %s\r\nX-Content-Type-Options: nosniff\r\n"
                     "Cache-Control: no-store\r\n",
                     status, reason, r->res.len, r->request_id);
    /* the handler's own headers (Retry-After, Tus-Resumable, ...) as far as they fit */
    for (int i = 0; i < r->res.n_headers && n > 0 && (size_t)n < sizeof head; i++) {
        const char *name = r->res.headers[i][0];
        if (!strcasecmp(name, "Connection") || !strcasecmp(name, "Content-Type") ||
            !strcasecmp(name, "Content-Length"))
            continue;
        int m = snprintf(head + n, sizeof head - (size_t)n, "%s: %s\r\n", name,
                         r->res.headers[i][1]);
        if (m < 0 || (size_t)(n + m) >= sizeof head - 2)
            break;
        n += m;
    }
    n += snprintf(head + n, sizeof head - (size_t)n, "\r\n");
    struct iovec iov[2] = {{head, (size_t)n}, {r->res.body, r->res.len}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
    /* the socket has nothing else queued while a request is being read: this fits at once */
    if (sendmsg(ci->connect_fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        return MHD_NO;
    shutdown(ci->connect_fd, SHUT_WR);
    return MHD_YES;
}

static enum MHD_Result lingering(http_req *r, size_t n)
{
    r->cut_drained += n;
    if (r->cut_drained > r->cut_linger_bytes || monotonic_us() - r->cut_at_us > CUT_LINGER_US || !n)
        return MHD_NO;
    return MHD_YES;
}

/* The body callbacks' checks on a slow body: the average since the headers, once the grace of
 * header_timeout seconds is over. A body that stops altogether is libmicrohttpd's idle timeout. */
static bool body_too_slow(http_server *s, http_req *r)
{
    if (!s->opts.min_body_rate)
        return false;
    int64_t us = monotonic_us() - r->start_us;
    if (us <= (int64_t)s->opts.header_timeout * 1000000)
        return false;
    return (double)r->body_seen < (double)s->opts.min_body_rate * ((double)us / 1e6);
}

static enum MHD_Result answer_too_slow(http_req *r)
{
    atomic_fetch_add_explicit(&r->srv->bodies_too_slow, 1, memory_order_relaxed);
    char msg[128];
    snprintf(msg, sizeof msg, "the request body arrived slower than %llu bytes/second",
             (unsigned long long)r->srv->opts.min_body_rate);
    http_res_error(
        &r->res, 408, "body_too_slow", msg,
        json_pack("{s:I}", "min_bytes_per_second", (json_int_t)r->srv->opts.min_body_rate));
    return cut_off(r, 408, "Request Timeout");
}

/* Answers a request refused before its body was read. Without a body, as any answer. With one,
 * written straight to the socket (cut_off) and the body read and dropped up to
 * REFUSED_LINGER_BYTES: libmicrohttpd would close with the body unread, the kernel then resets
 * the connection, and a proxy still sending the body (nginx) answers its client 502 instead of
 * this answer. */
static enum MHD_Result refuse_body(http_req *r)
{
    const char *cl = http_req_header(r, "Content-Length");
    const char *te = http_req_header(r, "Transfer-Encoding");
    unsigned long long declared = cl ? strtoull(cl, NULL, 10) : 0;
    /* a client that waits for 100 Continue sends no body once it has the answer */
    if ((!declared && !te) || http_req_header(r, "Expect"))
        return queue_response(r);
    r->cut_linger_bytes = declared && declared < REFUSED_LINGER_BYTES ? declared
                                                                      : REFUSED_LINGER_BYTES;
    if (r->cut_linger_bytes < CUT_LINGER_BYTES)
        r->cut_linger_bytes = CUT_LINGER_BYTES;
    const char *reason = MHD_get_reason_phrase_for((unsigned)r->res.status);
    return cut_off(r, r->res.status, reason && *reason ? reason : "Error");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    http_server *s = cls;
    http_req *r = *con_cls;
    if (!r) /* the URI callback always makes one; this would be a libmicrohttpd change */
        return MHD_NO;
    if (!r->started) {
        request_start(r, s, c, url, method);
        if (refuse_framing(r, version))
            return queue_response(r); /* closes: the rest is never parsed as a request */
        const char *cl = http_req_header(r, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > body_limit_of(s, r)) {
            /* Refuse before reading: the connection closes after this answer. */
            answer_body_too_large(r);
            return refuse_body(r);
        }
        /* a large body is not read for a request that will be refused anyway */
        if (r->route >= 0 && s->routes[r->route].precheck &&
            !s->routes[r->route].precheck(r, &r->res)) {
            http_res_header(&r->res, "Connection", "close");
            return refuse_body(r);
        }
        return MHD_YES;
    }
    if (r->cut_at_us) {
        size_t n = *upload_size;
        *upload_size = 0;
        return lingering(r, n);
    }
    if (r->state == REQ_ANSWERED) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        r->body_seen += *upload_size;
        if (body_too_slow(s, r)) {
            *upload_size = 0;
            return answer_too_slow(r);
        }
    }
    if (*upload_size && streams_body(s, r)) {
        if (r->body_size + *upload_size > s->opts.stream_limit) {
            *upload_size = 0;
            atomic_fetch_add_explicit(&s->bodies_too_large, 1, memory_order_relaxed);
            answer_body_too_large(r);
            return cut_off(r, 413, "Content Too Large");
        }
        if (r->too_large || !spool(s, r, upload_data, *upload_size))
            r->too_large = true; /* could not spool: answered at the end */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        bool keep = r->route >= 0 && (s->routes[r->route].flags & HTTP_JSON_BODY);
        size_t have = keep ? r->body.len : r->discarded;
        if (have + *upload_size > s->opts.body_limit) {
            /* Cut off as soon as the limit is passed: a chunked body has no length to refuse up
             * front, and one chunk may declare 2^64-1 bytes. */
            *upload_size = 0;
            atomic_fetch_add_explicit(&s->bodies_too_large, 1, memory_order_relaxed);
            answer_body_too_large(r);
            return cut_off(r, 413, "Content Too Large");
        }
        if (keep)
            buf_append(&r->body, upload_data, *upload_size);
        else
            r->discarded += *upload_size;
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->state == REQ_READY)
        return queue_response(r);
    if (r->state == REQ_RUNNING)
        return MHD_YES;
    if (r->too_large) {
        answer_body_too_large(r);
        return queue_response(r);
    }
    if (answer_early(s, r))
        return queue_response(r);
    unsigned flags = s->routes[r->route].flags;
    pool *p = (flags & HTTP_HASHING) ? s->hashers : (flags & HTTP_BLOCKING) ? s->workers : NULL;
    if (!p) {
        call_handler(s, r);
        return queue_response(r);
    }
    if (loop_read(s, r, flags))
        return queue_response(r);
    r->state = REQ_RUNNING;
    MHD_suspend_connection(c);
    if (pool_submit(p, run_handler, r) < 0) {
        http_res_error(&r->res, 503, "overloaded", "server is busy, retry shortly", NULL);
        http_res_header(&r->res, "Retry-After", "1");
        r->state = REQ_READY;
        MHD_resume_connection(c);
    }
    return MHD_YES;
}

/* ---- completion: access log and metrics --------------------------------------------------- */

/* m's status counters, allocated if this is its first response (two threads may race: the
 * loser frees its copy). */
static _Atomic uint64_t *status_counts(route_metrics *m)
{
    _Atomic uint64_t *counts = atomic_load_explicit(&m->by_status, memory_order_acquire);
    if (counts)
        return counts;
    _Atomic uint64_t *fresh = xcalloc(600, sizeof *fresh);
    if (atomic_compare_exchange_strong_explicit(&m->by_status, &counts, fresh, memory_order_acq_rel,
                                                memory_order_acquire))
        return fresh;
    free(fresh);
    return counts;
}

static void record_metrics(http_server *s, http_req *r, int64_t us)
{
    route_metrics *m = &s->metrics[r->route >= 0 ? (size_t)r->route : s->n_routes];
    int status = r->res.status;
    if (status >= 100 && status < 600)
        atomic_fetch_add_explicit(&status_counts(m)[status], 1, memory_order_relaxed);
    double secs = (double)us / 1e6;
    int b = 0;
    while (b < N_BUCKETS - 1 && secs > bucket_bounds[b])
        b++;
    atomic_fetch_add_explicit(&m->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->sum_us, (uint64_t)us, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
}

/* The access line is built by appending, not with snprintf: formatting its eleven members with
 * printf cost ~13,000 instructions a request (callgrind, issue 12), a sixth of /health/live. */
typedef struct line_out {
    char *p, *end;
} line_out;

static void put(line_out *o, const char *s, size_t n)
{
    if (n > (size_t)(o->end - o->p))
        n = (size_t)(o->end - o->p);
    memcpy(o->p, s, n);
    o->p += n;
}

static void put_str(line_out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void put_uint(line_out *o, unsigned long long v, int min_digits)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v || n < min_digits);
    while (n > 0 && o->p < o->end)
        *o->p++ = digits[--n];
}

/* "2026-12-03T05:51:54" for the current second, kept per thread: gmtime_r once a second. */
static const char *utc_second(time_t secs)
{
    static _Thread_local time_t cached_secs = -1;
    static _Thread_local char text[24];
    if (secs != cached_secs) {
        struct tm tm;
        gmtime_r(&secs, &tm);
        line_out o = {text, text + sizeof text - 1};
        put_uint(&o, (unsigned)(tm.tm_year + 1900), 4);
        put(&o, "-", 1);
        put_uint(&o, (unsigned)(tm.tm_mon + 1), 2);
        put(&o, "-", 1);
        put_uint(&o, (unsigned)tm.tm_mday, 2);
        put(&o, "T", 1);
        put_uint(&o, (unsigned)tm.tm_hour, 2);
        put(&o, ":", 1);
        put_uint(&o, (unsigned)tm.tm_min, 2);
        put(&o, ":", 1);
        put_uint(&o, (unsigned)tm.tm_sec, 2);
        *o.p = '\0';
        cached_secs = secs;
    }
    return text;
}

static void write_access_log(http_req *r, int64_t us, enum MHD_RequestTerminationCode toe)
{
    char path[512], method[64], line[1024];
    int64_t wall = now_us();
    line_out o = {line, line + sizeof line - 2}; /* room for "}\n" */
    put_str(&o, "{\"time\":\"");
    put_str(&o, utc_second((time_t)(wall / 1000000)));
    put(&o, ".", 1);
    put_uint(&o, (unsigned long long)(wall / 1000 % 1000), 3);
    put_str(&o, "Z\",\"level\":\"info\",\"msg\":\"request\",\"request_id\":\"");
    put_str(&o, r->request_id);
    put_str(&o, "\",\"method\":\"");
    put_str(&o, log_escape(r->method, method, sizeof method));
    put_str(&o, "\",\"route\":");
    const char *pattern = http_req_route(r);
    if (pattern) {
        put(&o, "\"", 1);
        put_str(&o, pattern);
        put(&o, "\"", 1);
    } else {
        put_str(&o, "null");
    }
    put_str(&o, ",\"path\":\"");
    put_str(&o, log_escape(r->path, path, sizeof path));
    put_str(&o, "\",\"status\":");
    put_uint(&o, (unsigned)r->res.status, 1);
    put_str(&o, ",\"us\":");
    put_uint(&o, (unsigned long long)(us > 0 ? us : 0), 1);
    put_str(&o, ",\"user_id\":");
    if (r->user_id) {
        put(&o, "\"", 1);
        put_uint(&o, (unsigned long long)r->user_id, 1);
        put(&o, "\"", 1);
    } else {
        put_str(&o, "null");
    }
    put_str(&o, ",\"ip\":\"");
    put_str(&o, r->client_ip);
    put(&o, "\"", 1);
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
        put_str(&o, ",\"aborted\":true");
    o.end += 2;
    put(&o, "}\n", 2);
    log_write_buffered(line, (unsigned long)(o.p - line));
}

static bool keeps_partial_body(http_server *s, http_req *r, enum MHD_RequestTerminationCode toe)
{
    return toe != MHD_REQUEST_TERMINATED_COMPLETED_OK &&
           toe != MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN && r->state == REQ_RECEIVING &&
           r->route >= 0 && (s->routes[r->route].flags & HTTP_KEEP_PARTIAL_BODY) && !r->too_large &&
           r->body_fd >= 0 && r->body_size > 0 && !atomic_load(&s->stopping);
}

/* The connection is gone, so everything the handler may read is copied off libmicrohttpd's
 * memory before it frees it. */
static void detach_request(http_req *r)
{
    size_t n = 0, cap = 2 * (size_t)(r->n_headers + r->n_args) + 3;
    r->detached = xcalloc(cap, sizeof *r->detached);
    for (int i = 0; i < r->n_headers; i++) {
        r->headers[i].key = r->detached[n++] = xstrdup(r->headers[i].key);
        r->headers[i].value = r->detached[n++] = xstrdup(r->headers[i].value);
    }
    for (int i = 0; i < r->n_args; i++) {
        r->args[i].key = r->detached[n++] = xstrdup(r->args[i].key);
        r->args[i].value = r->detached[n++] = xstrdup(r->args[i].value);
    }
    r->path = r->detached[n++] = xstrdup(r->path);
    if (r->method != r->method_override)
        r->method = r->detached[n++] = xstrdup(r->method);
    r->conn = NULL;
    r->body_cut = true;
}

/* A cut body's handler runs on the worker pool; its answer has nobody to go to. */
static void run_cut_handler(void *task, void *ctx)
{
    http_req *r = task;
    http_server *s = r->srv;
    r->ctx = ctx;
    s->routes[r->route].fn(r, &r->res);
    request_free(r);
    atomic_fetch_sub(&s->in_flight, 1);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    http_server *s = cls;
    http_req *r = *con_cls;
    if (!r)
        return;
    *con_cls = NULL;
    if (!r->started) { /* refused by libmicrohttpd before its headers were in */
        free(r);
        return;
    }
    if (r->track && !atomic_load(&r->track->upgraded) &&
        toe == MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        /* the next request's header block: see the connections section */
        unsigned secs = s->opts.header_timeout > s->opts.connection_timeout
                            ? s->opts.header_timeout
                            : s->opts.connection_timeout;
        atomic_store(&r->track->deadline_us, monotonic_us() + (int64_t)secs * 1000000);
    }
    int64_t us = monotonic_us() - r->start_us;
    record_metrics(s, r, us);
    if (r->span)
        end_server_span(r, toe);
    if (s->opts.access_log && log_get_level() <= LOG_INFO)
        write_access_log(r, us, toe);
    *con_cls = NULL;
    if (keeps_partial_body(s, r, toe)) {
        /* still counted in flight, so shutdown waits for it */
        detach_request(r);
        if (pool_submit(s->workers, run_cut_handler, r) == 0)
            return;
    }
    atomic_fetch_sub(&s->in_flight, 1);
    request_free(r);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512], esc[600];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_msg(LOG_WARN, "libmicrohttpd", "\"detail\":\"%s\"", log_escape(msg, esc, sizeof esc));
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static void parse_origins(http_server *s, const char *list)
{
    if (!list)
        return;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        const char *start = p;
        while (n && *start == ' ') {
            start++;
            n--;
        }
        while (n && start[n - 1] == ' ')
            n--;
        if (n == 1 && *start == '*')
            s->any_origin = true;
        else if (n) {
            s->origins = xrealloc(s->origins, (s->n_origins + 1) * sizeof *s->origins);
            s->origins[s->n_origins++] = xstrndup(start, n);
        }
        p += strcspn(p, ",");
        if (*p == ',')
            p++;
    }
}

http_server *http_server_start(const http_options *opts, const http_route *routes, size_t n_routes,
                               char *err, size_t err_size)
{
    http_server *s = xcalloc(1, sizeof *s);
    s->opts = *opts;
    s->routes = routes;
    s->n_routes = n_routes;
    s->router = router_new(routes, n_routes);
    pthread_mutex_init(&s->streams_lock, NULL);
    pthread_mutex_init(&s->conns_lock, NULL);
    pthread_cond_init(&s->reaper_wake, NULL);
    pthread_mutex_init(&s->loops_lock, NULL);
    random_bytes(&s->request_prefix, sizeof s->request_prefix);
    parse_origins(s, opts->cors_origins);
    s->metrics = xcalloc(n_routes + 1, sizeof *s->metrics);
    if (opts->rate_limit > 0)
        s->limiter = ratelimit_new((double)opts->rate_limit, (double)opts->rate_burst, 65536);
    s->workers = pool_create(&(pool_options){.name = "sh-worker",
                                             .threads = opts->workers,
                                             .queue_limit = opts->queue_limit,
                                             .thread_init = opts->thread_init,
                                             .thread_done = opts->thread_done,
                                             .arg = opts->app});
    /* Hashing runs at a lower priority: under a login storm the kernel still schedules the
     * event loop and the database workers first. */
    s->hashers = pool_create(&(pool_options){.name = "sh-hash",
                                             .threads = opts->hash_workers,
                                             .queue_limit = 256,
                                             .nice = 5,
                                             .thread_init = opts->thread_init,
                                             .thread_done = opts->thread_done,
                                             .arg = opts->app});

    if (http_proxies_parse(opts->trusted_proxies, &s->proxies, err, err_size) < 0)
        goto fail;
    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof addr);
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO |
                     MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
    if (inet_pton(AF_INET, opts->host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)opts->port);
    } else if (inet_pton(AF_INET6, opts->host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)opts->port);
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, err_size, "--host must be an IPv4 or IPv6 address, got '%s'", opts->host);
        goto fail;
    }
    int threads = opts->http_threads > 0 ? opts->http_threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1)
        threads = 1;
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)opts->port, on_accept, s, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_log, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)threads, MHD_OPTION_CONNECTION_LIMIT, opts->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, opts->connection_timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        opts->connection_memory, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        s, MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096u, MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(err, err_size, "cannot listen on %s:%u (address in use or not permitted)",
                 opts->host, opts->port);
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : opts->port;
    if (pthread_create(&s->reaper, NULL, reaper_main, s) == 0)
        s->reaper_started = true;
    else
        log_warn("no header-timeout thread", "\"errno\":%d", errno);
    return s;
fail:
    pool_destroy(s->workers);
    pool_destroy(s->hashers);
    ratelimit_free(s->limiter);
    router_free(s->router);
    for (size_t i = 0; i <= n_routes; i++)
        free(atomic_load(&s->metrics[i].by_status));
    free(s->metrics);
    for (size_t i = 0; i < s->n_origins; i++)
        free(s->origins[i]);
    free(s->origins);
    free(s);
    return NULL;
}

const char *http_library_version(void)
{
    return MHD_get_version();
}

unsigned http_server_port(http_server *s)
{
    return s->port;
}

size_t http_server_queue_length(http_server *s)
{
    return pool_queue_length(s->workers) + pool_queue_length(s->hashers);
}

void http_server_shutdown(http_server *s, int timeout_s)
{
    atomic_store(&s->stopping, true);
    /* The listening socket stops taking connections now (shutdown refuses new ones), but its fd
     * is closed only after MHD_stop_daemon: libmicrohttpd's loop threads may still be removing
     * it from their epoll sets, and a reused fd number would be theirs to misuse. */
    int listen_fd = MHD_quiesce_daemon(s->daemon);
    if (listen_fd >= 0)
        shutdown(listen_fd, SHUT_RDWR);
    streams_close_all(s);
    int64_t deadline = monotonic_us() + (int64_t)timeout_s * 1000000;
    while (atomic_load(&s->in_flight) > 0 && monotonic_us() < deadline)
        usleep(10000);
    /* Joining the pools lets running handlers finish and resume their connections, which
     * libmicrohttpd requires before it stops. */
    pool_destroy(s->workers);
    pool_destroy(s->hashers);
    reaper_stop(s);
    MHD_stop_daemon(s->daemon);
    log_flush_all(); /* the loop threads' access-log lines */
    if (listen_fd >= 0)
        close(listen_fd);
    loop_readers_free(s);
    ip_counts_free(s);
    router_free(s->router);
    ratelimit_free(s->limiter);
    for (size_t i = 0; i <= s->n_routes; i++)
        free(atomic_load(&s->metrics[i].by_status));
    free(s->metrics);
    for (size_t i = 0; i < s->n_origins; i++)
        free(s->origins[i]);
    free(s->origins);
    free(s);
}

void http_server_metrics(http_server *s, buf *out)
{
    buf_puts(out,
             "# HELP streamhub_http_requests_total HTTP requests by route, method and status.\n"
             "# TYPE streamhub_http_requests_total counter\n");
    for (size_t i = 0; i <= s->n_routes; i++) {
        const char *route = i < s->n_routes ? s->routes[i].pattern : "unmatched";
        const char *method = i < s->n_routes ? s->routes[i].method : "";
        _Atomic uint64_t *counts =
            atomic_load_explicit(&s->metrics[i].by_status, memory_order_acquire);
        for (int st = 100; counts && st < 600; st++) {
            uint64_t v = atomic_load_explicit(&counts[st], memory_order_relaxed);
            if (v)
                buf_printf(out,
                           "streamhub_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"}"
                           " %llu\n",
                           route, method, st, (unsigned long long)v);
        }
    }
    buf_puts(out,
             "# HELP streamhub_http_request_duration_seconds Time from request start to "
             "response completion.\n# TYPE streamhub_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i <= s->n_routes; i++) {
        route_metrics *m = &s->metrics[i];
        uint64_t count = atomic_load_explicit(&m->count, memory_order_relaxed);
        if (!count)
            continue;
        const char *route = i < s->n_routes ? s->routes[i].pattern : "unmatched";
        const char *method = i < s->n_routes ? s->routes[i].method : "";
        uint64_t cum = 0;
        for (int b = 0; b < N_BUCKETS; b++) {
            cum += atomic_load_explicit(&m->buckets[b], memory_order_relaxed);
            if (b < N_BUCKETS - 1)
                buf_printf(out,
                           "streamhub_http_request_duration_seconds_bucket{route=\"%s\",method=\"%"
                           "s\",le=\"%g\"} %llu\n",
                           route, method, bucket_bounds[b], (unsigned long long)cum);
            else
                buf_printf(out,
                           "streamhub_http_request_duration_seconds_bucket{route=\"%s\",method=\"%"
                           "s\",le=\"+Inf\"} %llu\n",
                           route, method, (unsigned long long)cum);
        }
        buf_printf(out,
                   "streamhub_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\"} %.6f\n",
                   route, method, (double)atomic_load(&m->sum_us) / 1e6);
        buf_printf(
            out, "streamhub_http_request_duration_seconds_count{route=\"%s\",method=\"%s\"} %llu\n",
            route, method, (unsigned long long)count);
    }
    buf_printf(out,
               "# HELP streamhub_http_requests_in_flight Requests being handled now.\n"
               "# TYPE streamhub_http_requests_in_flight gauge\n"
               "streamhub_http_requests_in_flight %ld\n"
               "# HELP streamhub_worker_queue_length Requests waiting for a worker thread.\n"
               "# TYPE streamhub_worker_queue_length gauge\n"
               "streamhub_worker_queue_length{pool=\"workers\"} %zu\n"
               "streamhub_worker_queue_length{pool=\"hash\"} %zu\n"
               "# HELP streamhub_worker_busy_threads Worker threads running a handler now.\n"
               "# TYPE streamhub_worker_busy_threads gauge\n"
               "streamhub_worker_busy_threads{pool=\"workers\"} %zu\n"
               "streamhub_worker_busy_threads{pool=\"hash\"} %zu\n",
               atomic_load(&s->in_flight), pool_queue_length(s->workers),
               pool_queue_length(s->hashers), pool_busy_threads(s->workers),
               pool_busy_threads(s->hashers));
    buf_printf(out,
               "# HELP streamhub_http_point_reads_total Point reads (HTTP_POINT_READ routes) by "
               "the thread that ran them: the event loop itself, or the pool once the loop's "
               "budget was spent.\n"
               "# TYPE streamhub_http_point_reads_total counter\n"
               "streamhub_http_point_reads_total{ran_on=\"loop\"} %llu\n"
               "streamhub_http_point_reads_total{ran_on=\"pool\"} %llu\n",
               (unsigned long long)atomic_load(&s->loop_reads),
               (unsigned long long)atomic_load(&s->loop_reads_to_pool));
    buf_printf(out,
               "# HELP streamhub_http_connections_cut_total Connections refused or closed by the "
               "HTTP limits, by reason.\n"
               "# TYPE streamhub_http_connections_cut_total counter\n"
               "streamhub_http_connections_cut_total{reason=\"per_ip_connections\"} %llu\n"
               "streamhub_http_connections_cut_total{reason=\"header_timeout\"} %llu\n"
               "streamhub_http_connections_cut_total{reason=\"min_body_rate\"} %llu\n"
               "streamhub_http_connections_cut_total{reason=\"body_limit_mid_body\"} %llu\n"
               "streamhub_http_connections_cut_total{reason=\"bad_framing\"} %llu\n",
               (unsigned long long)atomic_load(&s->refused_per_ip),
               (unsigned long long)atomic_load(&s->header_timeouts),
               (unsigned long long)atomic_load(&s->bodies_too_slow),
               (unsigned long long)atomic_load(&s->bodies_too_large),
               (unsigned long long)atomic_load(&s->bad_framing));
}
