/* SPDX-License-Identifier: MIT
 *
 * The SSE service (docs/realtime.md, "Server-Sent Events"): the open event streams of this
 * node. Each stream carries what the user's sockets get on the user topic, is ended when its
 * token expires ("event: token.expired") or its login session is revoked ("event:
 * session.revoked", the session topic), and gets keepalive comments from one shared thread that
 * also notices clients that went away: no thread per stream. A user may hold
 * streams_per_user streams on this node; the count is taken and the stream listed under one
 * lock, so parallel opens cannot overshoot.
 *
 * The service knows no HTTP: the api layer (api/events.c) authenticates, opens the HTTP stream
 * and hands the service its writer as an sse_io.
 */
#ifndef STREAMHUB_SERVICES_SSE_H
#define STREAMHUB_SERVICES_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sse_service sse_service;
typedef struct sse_stream sse_stream;

typedef struct sse_options {
    int64_t heartbeat_ms;     /* --sse-heartbeat */
    int64_t streams_per_user; /* --sse-streams-per-user */
} sse_options;

/* How the service writes to and ends one stream (the api's HTTP stream). write returns 0 or
 * ERR_TOO_LARGE when the client is cut off as a slow consumer; close ends the stream, after
 * which the owner calls sse_stream_closed. */
typedef struct sse_io {
    int (*write)(void *io, const char *text, size_t len);
    void (*close)(void *io);
} sse_io;

sse_service *sse_open(const sse_options *o, char *err, size_t err_size);
/* Stops the keepalive thread; streams still open are forgotten (their owner ends them). */
void sse_close(sse_service *s);
int64_t sse_streams_per_user(const sse_service *s);
int64_t sse_heartbeat_ms(const sse_service *s);

/* Reserves a stream of user_id ending at expires_ms: NULL when the user already holds
 * sse_streams_per_user streams. The stream is listed but silent until sse_stream_start. */
sse_stream *sse_stream_reserve(sse_service *s, int64_t user_id, int64_t expires_ms);
/* Attaches the writer, writes hello first (before keepalives can), and subscribes the user and
 * session topics: nothing published after hello is missed. */
void sse_stream_start(sse_stream *st, const sse_io *io, void *io_ctx, const char *hello,
                      size_t hello_len, int64_t session_id);
/* Ends the stream as revoked (a revocation that committed before the subscription). */
void sse_stream_revoke(sse_stream *st);
/* The owner's stream ended (any reason): unsubscribes, unlists and frees st. */
void sse_stream_closed(sse_stream *st);

#endif
