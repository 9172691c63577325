/* SPDX-License-Identifier: MIT
 *
 * GET /api/v1/ws: the one WebSocket of a client (docs/realtime.md), and the socket commands
 * that belong to no other resource: "auth" (first-message authentication and token refresh),
 * "ping" (an application-level round trip that echoes its data) and "sync" (a message to the
 * user's own other devices through the bus).
 *
 * The handshake is checked here (RFC 6455 §4.2: 426 for a missing upgrade or a version other
 * than 13, 400 for a bad key), on a worker because a token in the Authorization header is
 * verified like any request's, session row included (the route is API_OPTIONAL): a bad header
 * token is a 401 before any upgrade. Without a header the socket opens unauthenticated and must
 * send {"type":"auth","data":{"token":...}} within --ws-auth-timeout seconds: browsers cannot
 * set headers, and a token in the URL would land in logs. The socket then belongs to the hub
 * (src/ws/), which only sees a file descriptor and a release callback.
 */
#include "api/api.h"

#include "core/bus.h"
#include "core/util.h"
#include "ws/hub.h"
#include "ws/ws.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define TOKEN_MAX 2048

#define IP_BUCKETS 1024

/* Open sockets per client address, for --per-ip-connections: upgraded sockets leave
 * libmicrohttpd's books (and its per-address cap), so the cap is kept here, counted from the
 * handshake to the socket's release. */
typedef struct ip_count {
    struct ip_count *next;
    int count;
    char ip[64];
} ip_count;

static pthread_mutex_t ip_mu = PTHREAD_MUTEX_INITIALIZER;
static ip_count *ip_table[IP_BUCKETS];

static unsigned ip_bucket(const char *ip)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)ip; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % IP_BUCKETS;
}

/* Counts one more socket for ip unless it already has max (0 = no cap). */
static bool ip_take(const char *ip, int64_t max)
{
    bool ok = true;
    pthread_mutex_lock(&ip_mu);
    ip_count **p = &ip_table[ip_bucket(ip)];
    while (*p && strcmp((*p)->ip, ip))
        p = &(*p)->next;
    if (!*p) {
        *p = xcalloc(1, sizeof **p);
        snprintf((*p)->ip, sizeof(*p)->ip, "%s", ip);
    }
    if (max > 0 && (*p)->count >= max)
        ok = false;
    else
        (*p)->count++;
    if (!(*p)->count) {
        ip_count *dead = *p;
        *p = dead->next;
        free(dead);
    }
    pthread_mutex_unlock(&ip_mu);
    return ok;
}

static void ip_release(const char *ip)
{
    pthread_mutex_lock(&ip_mu);
    for (ip_count **p = &ip_table[ip_bucket(ip)]; *p; p = &(*p)->next)
        if (!strcmp((*p)->ip, ip)) {
            if (--(*p)->count <= 0) {
                ip_count *dead = *p;
                *p = dead->next;
                free(dead);
            }
            break;
        }
    pthread_mutex_unlock(&ip_mu);
}

/* Lives from the handshake to the socket's end: what the hub's release callback needs. */
typedef struct upgrade_ctx {
    int64_t user_id;
    int64_t session_id;
    int64_t expires_ms;
    http_upgrade *h;
    char ip[64];
} upgrade_ctx;

static void release_socket(void *arg)
{
    upgrade_ctx *u = arg;
    http_upgrade_close(u->h);
    ip_release(u->ip);
    free(u);
}

static void on_upgraded(void *arg, int fd, const char *extra, size_t extra_len, http_upgrade *h)
{
    upgrade_ctx *u = arg;
    if (fd < 0) { /* the 101 never went out */
        ip_release(u->ip);
        free(u);
        return;
    }
    u->h = h;
    ws_hub_adopt(fd, extra, extra_len, release_socket, u, u->user_id, u->session_id, u->expires_ms);
}

/* Whether a comma-separated header value contains token (case-insensitive), as Connection:
 * keep-alive, Upgrade does. */
static bool header_has_token(const char *value, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = value; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        size_t trimmed = len;
        while (trimmed && (p[trimmed - 1] == ' ' || p[trimmed - 1] == '\t'))
            trimmed--;
        if (trimmed == n && !strncasecmp(p, token, n))
            return true;
        p += len;
    }
    return false;
}

/* The handshake's own checks (RFC 6455 §4.2): false after answering 426 or 400. */
static bool handshake_valid(http_req *req, http_res *res, char accept[WS_ACCEPT_LEN])
{
    const char *upgrade = http_req_header(req, "Upgrade");
    const char *connection = http_req_header(req, "Connection");
    const char *version = http_req_header(req, "Sec-WebSocket-Version");
    if (!header_has_token(upgrade, "websocket") || !header_has_token(connection, "upgrade")) {
        http_res_error(res, 426, "upgrade_required",
                       "this endpoint speaks WebSocket only (Upgrade: websocket)", NULL);
        http_res_header(res, "Upgrade", "websocket");
        http_res_header(res, "Sec-WebSocket-Version", "13");
        return false;
    }
    if (!version || strcmp(version, "13") != 0) {
        http_res_error(res, 426, "unsupported_websocket_version",
                       "only WebSocket version 13 is supported", NULL);
        http_res_header(res, "Sec-WebSocket-Version", "13");
        return false;
    }
    if (!ws_handshake_accept(http_req_header(req, "Sec-WebSocket-Key"), accept)) {
        http_res_error(res, 400, "invalid_handshake",
                       "Sec-WebSocket-Key must be the base64 of 16 bytes", NULL);
        return false;
    }
    return true;
}

/* A header token was authenticated by the wrapper (API_OPTIONAL); the socket also needs its
 * expiry, to warn and close when it passes. */
static void ws_handler(api_ctx *c)
{
    access_claims claims = {0};
    if (c->authed) {
        domain_error err = {0};
        int rc = auth_check_token(api_app(c->req)->auth, http_req_header(c->req, "Authorization"),
                                  &claims, &err);
        if (rc < 0) {
            api_fail(c->res, rc, &err);
            return;
        }
    }
    char accept[WS_ACCEPT_LEN];
    if (!handshake_valid(c->req, c->res, accept))
        return;
    /* upgraded sockets leave libmicrohttpd's books, so --max-connections is applied here */
    if (ws_hub_connections() >= (size_t)api_app(c->req)->cfg->max_connections) {
        http_res_error(c->res, 503, "too_many_connections",
                       "the server holds all the sockets it may", NULL);
        http_res_header(c->res, "Retry-After", "5");
        return;
    }
    const char *ip = http_req_client_ip(c->req);
    if (!ip_take(ip, api_app(c->req)->cfg->per_ip_connections)) {
        http_res_error(c->res, 429, "too_many_connections",
                       "this address holds all the sockets it may (--per-ip-connections)", NULL);
        http_res_header(c->res, "Retry-After", "5");
        return;
    }
    upgrade_ctx *u = xcalloc(1, sizeof *u);
    snprintf(u->ip, sizeof u->ip, "%s", ip);
    if (c->authed) {
        u->user_id = c->principal.user.id;
        u->session_id = c->principal.session_id;
        u->expires_ms = claims.expires_at * 1000;
    }
    http_res_upgrade(c->res, "websocket", on_upgraded, u);
    http_res_header(c->res, "Sec-WebSocket-Accept", accept);
}

/* ---- commands ----------------------------------------------------------------------------- */

/* {"type":"auth","id":I,"data":{"token":"<access token>"}}: the first message of a socket
 * opened without a header, or a refreshed token on an open one. On an unauthenticated socket a
 * bad token also closes it (4003): nothing else could be done with it. */
static void cmd_auth(ws_call *c)
{
    api_worker *w = ws_call_ctx(c);
    json_t *token = json_object_get(ws_call_data(c), "token");
    int64_t current = ws_call_user(c);
    if (!json_is_string(token) || !json_string_length(token) ||
        json_string_length(token) > TOKEN_MAX) {
        ws_call_error(c, "validation_failed", "data.token must be an access token");
        if (!current)
            ws_call_close(c, WS_CLOSE_AUTH_FAILED, "authentication failed");
        return;
    }
    db *d = w ? api_worker_db(w) : NULL;
    if (!d) {
        ws_call_error(c, "database_unavailable", "the database cannot be reached");
        return;
    }
    char header[TOKEN_MAX + 8];
    snprintf(header, sizeof header, "Bearer %s", json_string_value(token));
    access_claims claims;
    auth_principal p;
    domain_error err = {0};
    int rc = auth_check_token(w->env->auth, header, &claims, &err);
    if (rc == 0)
        rc = auth_authenticate(w->env->auth, d, header, &p, &err);
    if (rc == 0 && current && current != p.user.id) {
        ws_call_error(c, "user_mismatch", "a socket stays with the account it authenticated as");
        return;
    }
    if (rc < 0) {
        ws_call_error(c, err.code ? err.code : "invalid_token",
                      err.message ? err.message : "the access token is invalid");
        if (!current)
            ws_call_close(c, WS_CLOSE_AUTH_FAILED, "authentication failed");
        return;
    }
    ws_call_set_user(c, p.user.id, p.session_id, claims.expires_at * 1000);
    int64_t left = claims.expires_at - now_ms() / 1000;
    char uid[24], cid[24];
    snprintf(uid, sizeof uid, "%lld", (long long)p.user.id);
    snprintf(cid, sizeof cid, "%llu", (unsigned long long)ws_call_connection(c));
    ws_call_ack(c, json_pack("{s:s, s:s, s:I}", "user_id", uid, "connection_id", cid, "expires_in",
                             (json_int_t)(left > 0 ? left : 0)));
}

/* {"type":"ping","id":I,"data":{...}} -> ack with the same data: keepalive for clients that
 * cannot see protocol pings, and a round-trip probe. */
static void cmd_ping(ws_call *c)
{
    ws_call_ack(c, json_deep_copy(ws_call_data(c)));
}

/* {"type":"sync","data":{...}} -> every socket of this user, on every node, receives
 * {"type":"sync","data":{"connection_id":sender,"payload":{...}}} (drafts, UI state handoff);
 * the sender skips its own copy by connection_id. */
static void cmd_sync(ws_call *c)
{
    char cid[24];
    snprintf(cid, sizeof cid, "%llu", (unsigned long long)ws_call_connection(c));
    int n =
        bus_publish_user(ws_call_user(c), "sync",
                         json_pack("{s:s, s:O}", "connection_id", cid, "payload", ws_call_data(c)));
    ws_call_ack(c, json_pack("{s:i}", "delivered", n));
}

/* ---- per-user budgets (docs/realtime.md#limits) ------------------------------------------ */

static ws_budget *message_budget;

void api_realtime_limits(const config *cfg)
{
    /* one budget for every way of writing a message, so neither channel doubles the other's */
    message_budget = ws_budget_new("messages", "--ws-message-rate", cfg->ws_message_rate);
    static const char *const writes[] = {"message.send", "message.edit", "message.delete",
                                         "room.send"};
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++)
        ws_command_budget(writes[i], message_budget);
    ws_command_budget("typing",
                      ws_budget_new("typing commands", "--ws-typing-rate", cfg->ws_typing_rate));
    ws_command_budget("room.join",
                      ws_budget_new("room joins", "--ws-room-join-rate", cfg->ws_room_join_rate));
    ws_command_budget_others(
        ws_budget_new("socket commands", "--ws-command-rate", cfg->ws_command_rate));
}

bool api_message_budget_allows(http_res *res, int64_t user)
{
    int64_t wait_ms = 0;
    if (ws_budget_take(message_budget, user, &wait_ms))
        return true;
    char message[160], retry[24];
    json_t *details = ws_budget_refusal(message_budget, wait_ms, message, sizeof message);
    http_res_error(res, 429, "rate_limited", message, details);
    snprintf(retry, sizeof retry, "%lld", (long long)((wait_ms + 999) / 1000));
    http_res_header(res, "Retry-After", retry);
    return false;
}

void api_realtime_register(void)
{
    ws_command_register("auth", cmd_auth, WS_CMD_BLOCKING | WS_CMD_ANONYMOUS);
    ws_command_register("ping", cmd_ping, WS_CMD_INLINE);
    ws_command_register("sync", cmd_sync, WS_CMD_INLINE);
}

/* Without a header token the socket opens unauthenticated and authenticates with its first
 * message ("auth" above): the route is API_OPTIONAL, and a bad header token is a 401. */
static const api_route routes[] = {
    {"GET", "/api/v1/ws", ws_handler, HTTP_BLOCKING, API_OPTIONAL,
     .operation_id = "realtimeSocket", .summary = "Open the realtime WebSocket",
     .description =
         "The handshake (RFC 6455, version 13): `Upgrade: websocket`, `Connection` containing "
         "`Upgrade`, `Sec-WebSocket-Version: 13` and `Sec-WebSocket-Key` (base64 of 16 random "
         "bytes); the 101 carries `Sec-WebSocket-Accept`. 426 `upgrade_required` (not a WebSocket "
         "upgrade request) or `unsupported_websocket_version` (only 13), with "
         "`Sec-WebSocket-Version: 13`; 400 `invalid_handshake` (a bad key); 429 `rate_limited` or "
         "`too_many_connections` (this address holds `--per-ip-connections` sockets) and 503 "
         "`too_many_connections` (the node holds `--max-connections` sockets) or "
         "`database_unavailable`, with `Retry-After`.\n\nOpens the client's one WebSocket (RFC "
         "6455, version 13): DMs, group chat, typing, presence, receipts, live notifications and "
         "rooms all arrive on it. The full protocol is in docs/realtime.md; in short:\n\n- "
         "**Auth**: `Authorization: Bearer <access token>` on the upgrade request (a bad one is a "
         "401, no upgrade; the socket then first receives "
         "`{\"type\":\"ready\",\"data\":{\"user_id\",\"connection_id\",\"expires_in\"}}`), or, "
         "for browsers, the first message "
         "`{\"type\":\"auth\",\"id\":\"1\",\"data\":{\"token\":\"...\"}}` within "
         "`--ws-auth-timeout` seconds (ack carries the same fields). The same message on an open "
         "socket refreshes the token. `{\"type\":\"auth.expiring\",\"data\":{\"expires_in\":N}}` "
         "comes `--ws-auth-grace` seconds before expiry; without a new token the socket closes "
         "4001.\n- **Envelope**: text frames of JSON "
         "`{\"type\":\"...\",\"id\":\"...\",\"data\":{...}}`. Every client request gets exactly "
         "one `{\"type\":\"ack\",\"id\":I,\"data\":{...}}` or "
         "`{\"type\":\"error\",\"id\":I,\"data\":{\"code\",\"message\"}}` with its id "
         "(`malformed_json`, `invalid_message`, `unknown_type`, `unauthenticated`, "
         "`too_many_requests`, `overloaded`, or the command's own; an error may carry "
         "`data.details`). `rate_limited` means the user's per-minute budget for that kind of "
         "command is spent (`--ws-message-rate`, shared with the REST message routes, "
         "`--ws-typing-rate`, `--ws-room-join-rate`, `--ws-command-rate`): `details` "
         "`{retry_after_ms, budget, limit, window_seconds}`, the wait in milliseconds. "
         "`room.join` beyond `--ws-rooms-per-socket` or `--ws-rooms-per-user` answers "
         "`too_many_rooms` with `details` `{scope, limit}`. Server pushes have no id.\n- "
         "**Commands here**: `auth`, `ping` (acks with its own data), `sync` (to all of the "
         "user's sockets as `{\"type\":\"sync\",\"data\":{\"connection_id\",\"payload\"}}`).\n- "
         "**Close codes**: 1000 normal, 1001 server shutting down, 1002 protocol error, 1003 "
         "binary message, 1007 invalid UTF-8, 1009 message over `--ws-max-message`, 1011 internal "
         "error, 1013 send queue over `--ws-send-queue` (client too slow), 4000 idle for "
         "`--ws-idle-timeout` (pongs count; the server pings after `--ws-ping-interval` of "
         "silence), 4001 token expired, 4003 authentication failed or timed out.\n- **Live "
         "notifications, presence and rooms** (docs/realtime.md, \"Live notifications, SSE, "
         "presence and rooms\"): server pushes `notification` (the `GET /notifications` item, "
         "after its action commits), `notifications.unread` `{count}`, `media.progress` "
         "`{media_id, state, progress}`, `presence` `{user_id, status, last_seen_at}`, "
         "`room.message` `{room, id, text, sender:{id, handle}, sent_at}`, `room.members` `{room, "
         "count}`, `room.removed` `{room, reason}`. Commands: `presence.subscribe` "
         "`{user_ids:[...]}` (mutual followers only; ack `{presence:[...], denied:[...]}`), "
         "`presence.unsubscribe` `{user_ids}`, `presence.set` `{status:\"away\"|\"online\"}`, "
         "`room.join` `{room}` (ack `{room, members, slow_mode_seconds}`; error `banned`), "
         "`room.leave` `{room}`, `room.send` `{room, text}` (1-500 characters; errors "
         "`not_member`, `slow_mode`). Room names: `[a-z0-9_-]{1,64}`. The same pushes reach "
         "clients without WebSockets through `GET /api/v1/events` (SSE).\n- **Conversations** "
         "(DMs and groups): commands `message.send` {conversation_id, text, attachments, "
         "reply_to, client_id} (ack {message, existing}), `message.edit` {conversation_id, "
         "message_id, text}, `message.delete` {conversation_id, message_id}, `typing` "
         "{conversation_id} (ack {throttled, expires_in_ms}; one per 3 s), `read` and `delivered` "
         "{conversation_id, message_id}, `sync` (or `message.sync`) {after: last message id seen} "
         "(ack {messages, changed, has_more, changed_complete, last_id}: every missed message, "
         "oldest first; without `after`, `sync` is the device relay). Events: `message.new`, "
         "`message.edited`, `message.deleted` (a message), `conversation.read` and "
         "`message.delivered` {conversation_id, user_id, message_id}, `typing` {conversation_id, "
         "user_id, expires_in_ms}, `conversation.accepted` {conversation_id, user_id}. Writes "
         "persist before they are delivered; see docs/realtime.md#conversations.",
     .status = 101,
     .response_about = "Switching Protocols: the connection is now a WebSocket (see the "
                       "description).",
     .errors = "400 426"},
};

API_MODULE(realtime, "The realtime WebSocket: one socket per client for chat, presence, rooms "
                     "and live notifications (docs/realtime.md)",
           routes);
