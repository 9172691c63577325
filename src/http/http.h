/* SPDX-License-Identifier: MIT
 *
 * The HTTP layer's public face. Only src/http/ includes libmicrohttpd; handlers see opaque
 * request/response handles and this small API, so the server library can be swapped without
 * touching api/.
 *
 * Each route declares where its handler runs: on the event-loop thread (HTTP_INLINE: must never
 * block), on the worker pool (HTTP_BLOCKING: database work), or on the password-hashing pool
 * (HTTP_HASHING), kept separate so a login storm cannot take the threads other requests need.
 * Blocking handlers run while the connection is suspended, and the loop resumes it when the
 * response is ready.
 */
#ifndef STREAMHUB_HTTP_HTTP_H
#define STREAMHUB_HTTP_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/util.h"

typedef struct http_req http_req;
typedef struct http_res http_res;
typedef struct http_server http_server;

typedef void (*http_handler_fn)(http_req *req, http_res *res);

enum {
    HTTP_INLINE = 0,
    HTTP_BLOCKING = 1 << 0,      /* run on the worker pool */
    HTTP_HASHING = 1 << 1,       /* run on the password-hashing pool */
    HTTP_JSON_BODY = 1 << 2,     /* body must be a JSON object (415/400/413 otherwise) */
    HTTP_OPTIONAL_BODY = 1 << 3, /* with HTTP_JSON_BODY: an empty body is allowed */
    HTTP_NO_RATE_LIMIT = 1 << 4, /* probes and metrics skip the per-client limit */
    HTTP_CACHEABLE = 1 << 5,     /* static asset: no "Cache-Control: no-store" */
    HTTP_STREAM_BODY = 1 << 6,   /* body spooled to an unnamed file, up to stream_limit */
    /* with HTTP_STREAM_BODY: when the client goes away in the middle of the body, the handler
     * still runs (worker pool, answer discarded) with the part that arrived, and
     * http_req_body_cut() is true (tus keeps what arrived of an interrupted PATCH) */
    HTTP_KEEP_PARTIAL_BODY = 1 << 7,
    /* with HTTP_BLOCKING: a point read (a few indexed lookups, no writes, no waiting on others)
     * that the event-loop thread may run itself, on its own context, while its time budget
     * (http_options.loop_read_budget_ms) lasts; past it, or without a budget, the pool runs it */
    HTTP_POINT_READ = 1 << 8,
};

/* Optional, for HTTP_STREAM_BODY routes: runs on the event loop once the headers are in and
 * before any of the body is read; answering (returning false) refuses the request without
 * reading its body. It must not block (no database). */
typedef bool (*http_precheck_fn)(http_req *req, http_res *res);

typedef struct http_route {
    const char *method;
    const char *pattern;
    http_handler_fn fn;
    unsigned flags;
    http_precheck_fn precheck;
    const void *data; /* the route's owner's own description of it (http_req_route_data) */
} http_route;

typedef struct http_options {
    const char *host;
    unsigned port;
    int http_threads;
    int workers;
    int hash_workers;
    unsigned max_connections;
    unsigned per_ip_connections;
    unsigned connection_timeout; /* idle seconds (libmicrohttpd's own timer) */
    /* Seconds to receive a whole header block: from the accept for a connection's first request,
     * from the previous response plus connection_timeout for the next ones. */
    unsigned header_timeout;
    /* Bytes/second a request body must average, checked once header_timeout seconds have passed
     * since its headers; 0 = no minimum. */
    uint64_t min_body_rate;
    size_t connection_memory;
    size_t body_limit;
    /* HTTP_STREAM_BODY routes: where bodies are spooled (an unnamed O_TMPFILE there, so memory
     * does not grow with the body and nothing is left behind) and the largest one accepted. */
    const char *spool_dir;
    uint64_t stream_limit;
    size_t queue_limit;
    const char *cors_origins;
    bool trust_proxy;
    const char *trusted_proxies; /* see http/proxy.h; checked by http_server_start */
    int64_t rate_limit;
    int64_t rate_burst;
    bool access_log;
    /* Per worker-thread context (a database connection), handed to handlers. */
    void *(*thread_init)(void *app);
    void (*thread_done)(void *ctx);
    /* HTTP_POINT_READ routes: milliseconds per second each event-loop thread may spend running
     * them itself (0 = never: they go to the pool like any HTTP_BLOCKING route). The loop's own
     * context comes from loop_thread_init (NULL: this loop cannot, the pool runs them) and is
     * released with loop_thread_done when the server stops. */
    unsigned loop_read_budget_ms;
    void *(*loop_thread_init)(void *app);
    void (*loop_thread_done)(void *ctx);
    void *app;
} http_options;

http_server *http_server_start(const http_options *opts, const http_route *routes,
                               size_t n_routes, char *err, size_t err_size);
unsigned http_server_port(http_server *s);
/* Stops accepting connections, waits up to timeout_s for in-flight requests, then stops. */
void http_server_shutdown(http_server *s, int timeout_s);
/* Prometheus text for request counters, latencies, in-flight and pool queues. */
void http_server_metrics(http_server *s, buf *out);
size_t http_server_queue_length(http_server *s);
const char *http_library_version(void);

/* Request accessors. Strings live until the response is sent. */
const char *http_req_method(http_req *r);
const char *http_req_path(http_req *r);
const char *http_req_route(http_req *r);
/* The matched route's data pointer (NULL when none matched or it has none). */
const void *http_req_route_data(http_req *r);
const char *http_req_id(http_req *r);
const char *http_req_param(http_req *r, const char *name);
const char *http_req_query(http_req *r, const char *name);
const char *http_req_header(http_req *r, const char *name);
const char *http_req_client_ip(http_req *r);
/* The parsed JSON object body (HTTP_JSON_BODY routes), borrowed; NULL when absent. */
json_t *http_req_json(http_req *r);
/* the context of the thread running the handler: a worker's, or the event loop's for a point
 * read it runs itself (HTTP_POINT_READ); NULL for HTTP_INLINE routes */
void *http_req_ctx(http_req *r);
/* Memory that lives as long as the request: everything in it (and its arena_on_free hooks) is
 * released in one go with the request record, after the answer went out. Never NULL; its cap is
 * ARENA_MAX_BYTES, past which its allocators return NULL (answer 413). Not for anything that
 * outlives the request (jobs, bus messages, upgraded connections): copy those out. */
arena *http_req_arena(http_req *r);
/* HTTP_STREAM_BODY routes: the spooled body (fd positioned anywhere; use pread or
 * copy_file_range with explicit offsets) and its size; -1 and 0 when there was none. The fd is
 * closed when the request ends. */
int http_req_body_fd(http_req *r);
uint64_t http_req_body_size(http_req *r);
/* HTTP_KEEP_PARTIAL_BODY routes: the body ended early (the client left); nobody gets the answer. */
bool http_req_body_cut(http_req *r);
void *http_req_app(http_req *r);
http_server *http_req_server(http_req *r);
void http_req_set_user(http_req *r, int64_t user_id); /* for the access log */

/* Responses. Every handler sets exactly one. */
void http_res_json(http_res *res, int status, json_t *body); /* steals body */
/* JSON already written as text (malloc'd, len bytes, NUL-terminated); steals text. */
void http_res_json_text(http_res *res, int status, char *text, size_t len);
void http_res_error(http_res *res, int status, const char *code, const char *message,
                    json_t *details); /* steals details (may be NULL) */
void http_res_bytes(http_res *res, int status, const char *content_type, const void *data,
                    size_t len, bool is_static);
void http_res_empty(http_res *res, int status);
/* A body of len bytes of the open file fd from offset, sent with sendfile; takes fd (closed
 * when the response is done or dropped). */
void http_res_file(http_res *res, int status, const char *content_type, int fd,
                   uint64_t offset, uint64_t len);
void http_res_header(http_res *res, const char *name, const char *value);

/* ---- streaming responses (Server-Sent Events) ------------------------------------------------
 * An open-ended chunked body written from any thread. Writes go into a bounded per-stream
 * buffer and wake the connection, which libmicrohttpd keeps suspended (no polling, no thread)
 * while there is nothing to send. A stream whose client cannot keep up (the buffer would pass
 * cap) is cut off rather than allowed to grow. While suspended libmicrohttpd does not notice a
 * client that left, so owners write a heartbeat now and then: the failed write ends it. */
typedef struct http_stream http_stream;
/* Runs exactly once, on an event-loop thread (or the thread that stops the server), when the
 * stream ends for any reason: client gone, overflow, http_stream_close, server shutdown. Once it
 * returns the handle is freed: the owner must by then have stopped everything that writes. */
typedef void (*http_stream_closed_fn)(void *ctx);
/* Makes res a streaming response (status, content type, no Content-Length). Writes may start at
 * once; they are sent after the headers. */
http_stream *http_res_stream(http_res *res, int status, const char *content_type, size_t cap,
                             http_stream_closed_fn on_closed, void *ctx);
/* Thread-safe and non-blocking. 0, ERR_TOO_LARGE (buffer full: the stream is now closing) or
 * ERR_GONE (already closing). */
int http_stream_write(http_stream *st, const void *data, size_t len);
/* Ends the stream after what is buffered has been sent. Thread-safe. */
void http_stream_close(http_stream *st);
/* A stream with a known body length (sent as Content-Length): a proxied file. Ending it
 * (http_stream_close) before length bytes were written ends the response as an error (the
 * connection is closed), so a client never takes a short body for the whole. */
http_stream *http_res_stream_sized(http_res *res, int status, const char *content_type,
                                   uint64_t length, size_t cap, http_stream_closed_fn on_closed,
                                   void *ctx);
/* A blocking write for producers that can wait (a thread copying a body through): waits while
 * the buffer holds more than cap - len bytes, for the client to read, up to timeout_ms. 0,
 * ERR_GONE (the stream ended: the client left, or shutdown), or ERR_BUSY (the client read
 * nothing for timeout_ms: the stream is cut off). Never call it from an event-loop thread. */
int http_stream_write_wait(http_stream *st, const void *data, size_t len, int timeout_ms);
/* Ends the stream at once as failed: what is buffered is dropped, the connection closed. */
void http_stream_abort(http_stream *st);
/* Open streams of this server, for /metrics. */
size_t http_server_streams(http_server *s);
/* Protocol upgrades (WebSocket). The handler answers 101 Switching Protocols with
 * http_res_upgrade; once the 101 is sent, fn runs (on an event-loop thread, must not block) with
 * the raw non-blocking socket and any bytes the server already read past the request. The new
 * owner ends it with http_upgrade_close(h), once, from any thread (never close(fd) itself).
 * Upgraded sockets no longer count against the server's connection limit. If the upgrade never
 * happens (the connection died first), fn runs with fd -1 and h NULL so ctx can be freed. */
typedef struct http_upgrade http_upgrade;
typedef void (*http_upgrade_fn)(void *ctx, int fd, const char *extra, size_t extra_len,
                                http_upgrade *h);
void http_res_upgrade(http_res *res, const char *protocol, http_upgrade_fn fn, void *ctx);
void http_upgrade_close(http_upgrade *h);

#endif
