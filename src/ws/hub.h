/* SPDX-License-Identifier: MIT
 *
 * The hub's lifecycle and its door from http/: what main.c and api/realtime.c use (command
 * handlers use ws.h). The hub owns upgraded sockets on its own epoll thread(s); it never sees an
 * HTTP type: the socket arrives as a file descriptor plus a release callback that gives it back
 * to whoever owns it (libmicrohttpd's upgrade handle), so the HTTP library can be swapped
 * without touching src/ws/.
 */
#ifndef STREAMHUB_WS_HUB_H
#define STREAMHUB_WS_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

/* Application close codes (RFC 6455 leaves 4000-4999 to applications); docs/realtime.md. */
enum {
    WS_CLOSE_IDLE = 4000,            /* nothing received for --ws-idle-timeout seconds */
    WS_CLOSE_TOKEN_EXPIRED = 4001,   /* the access token expired and no new one came */
    WS_CLOSE_SESSION_REVOKED = 4002, /* its login session ended: logout, revocation, password */
    WS_CLOSE_AUTH_FAILED = 4003,     /* bad token, or none within --ws-auth-timeout seconds */
};

typedef struct ws_hub_options {
    int threads;        /* epoll event-loop threads owning sockets */
    int workers;        /* WS_CMD_BLOCKING pool threads */
    size_t queue_limit; /* queued blocking commands before "overloaded" */
    size_t max_message; /* largest client message (1009 beyond) */
    size_t send_queue;  /* bytes queued to one socket before 1013 */
    int idle_timeout_s;
    int ping_interval_s;
    int auth_timeout_s;
    int auth_grace_s;                /* auth.expiring this long before the token expires */
    void *(*thread_init)(void *app); /* per worker: the context ws_call_ctx returns */
    void (*thread_done)(void *ctx);
    void *app;
} ws_hub_options;

/* Starts the threads; commands must be registered before. 0 or a negative ERR_* code. */
int ws_hub_start(const ws_hub_options *opts, char *err, size_t err_size);
/* Closes every socket with 1001 (waiting briefly for the close handshakes) and stops. */
void ws_hub_stop(void);
/* Sockets open now (this node). */
size_t ws_hub_connections(void);
/* Prometheus text: sockets, messages, closes by code, bus counters. */
void ws_hub_metrics(buf *out);

#define WS_ACCEPT_LEN 29
/* RFC 6455 §4.2: false unless key is the base64 of 16 bytes; out gets Sec-WebSocket-Accept. */
bool ws_handshake_accept(const char *key, char out[WS_ACCEPT_LEN]);

typedef void (*ws_release_fn)(void *arg);
/* Hands an upgraded, non-blocking socket to the hub. extra: bytes already read past the
 * handshake (copied). user_id 0: the client must authenticate with a first "auth" message;
 * otherwise it is authenticated until expires_ms (wall clock ms; 0 = never) for the login
 * session session_id (0 = none; see ws_call_set_user). release(arg) runs exactly once, on a hub
 * thread, instead of close(fd). Safe from any thread. */
void ws_hub_adopt(int fd, const char *extra, size_t extra_len, ws_release_fn release,
                  void *release_arg, int64_t user_id, int64_t session_id, int64_t expires_ms);

#endif
