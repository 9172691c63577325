/* SPDX-License-Identifier: MIT
 *
 * The WebSocket hub's public face (issue 5). A client opens one socket at GET /api/v1/ws and
 * everything live travels on it as JSON envelopes {"type":"...","id":"...","data":{...}}.
 * Sockets are owned by the hub's own epoll thread(s) and framed by libwslay; only src/ws/
 * includes wslay. Nothing here knows the domain: api/ registers the commands clients may send,
 * and anything addressed to users reaches their sockets through core/bus.h topics
 * ("user:<id>" is subscribed for every authenticated socket; rooms and presence subscribe to
 * more topics through ws_call_subscribe).
 *
 * A client request gets exactly one reply carrying the same id: {"type":"ack","id":I,"data":…}
 * or {"type":"error","id":I,"data":{"code":"…","message":"…"}}.
 */
#ifndef STREAMHUB_WS_WS_H
#define STREAMHUB_WS_WS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct ws_call ws_call;

typedef void (*ws_command_fn)(ws_call *call);

enum {
    WS_CMD_INLINE = 0,         /* runs on the hub thread: must not block */
    WS_CMD_BLOCKING = 1 << 0,  /* runs on the worker pool with a database connection */
    WS_CMD_ANONYMOUS = 1 << 1, /* may be sent before the socket is authenticated ("auth") */
};

/* Registers the handler for client messages of this type (before the hub starts). */
void ws_command_register(const char *type, ws_command_fn fn, unsigned flags);

/* The authenticated user who sent the message, and this socket's id (unique per process,
 * e.g. to skip the sending device when echoing). */
int64_t ws_call_user(ws_call *c);
uint64_t ws_call_connection(ws_call *c);
const char *ws_call_type(ws_call *c);
/* The message's data, borrowed; always a JSON object. */
json_t *ws_call_data(ws_call *c);
/* WS_CMD_BLOCKING: the worker's context (what the hub's thread_init returned); NULL inline. */
void *ws_call_ctx(ws_call *c);
/* Exactly one of these answers the call, before the handler returns (a call left unanswered
 * gets an internal_error reply). ack steals data (NULL = {}). */
void ws_call_ack(ws_call *c, json_t *data);
void ws_call_error(ws_call *c, const char *code, const char *message);
/* For the "auth" command: the socket now belongs to user_id until expires_ms (wall clock, ms
 * since the epoch; 0 = no expiry), as part of the login session session_id (0 = none). The
 * first call subscribes "user:<id>"; later calls (a refreshed token) only move the expiry and
 * the session and are ignored for another user. Takes effect before the reply is sent.
 * A message on the session's bus topic ("session:<id>", bus_publish_session_ended) closes the
 * socket with WS_CLOSE_SESSION_REVOKED, and from the moment it arrives every command of that
 * socket, queued ones included, is refused with "session_revoked" instead of running. */
void ws_call_set_user(ws_call *c, int64_t user_id, int64_t session_id, int64_t expires_ms);
/* Closes the calling socket with an RFC 6455 / application close code once the reply is out. */
void ws_call_close(ws_call *c, int code, const char *reason);

/* Adds or removes a bus topic for the calling socket (rooms, presence). Safe from a worker;
 * a socket's topics go away with it. */
int ws_call_subscribe(ws_call *c, const char *topic);
void ws_call_unsubscribe(ws_call *c, const char *topic);

/* Removes a bus topic from every socket of user_id on this node, wherever they are in their
 * calls (a block ends the pair's presence subscriptions at once). Safe from any thread but a
 * bus callback (it unsubscribes); returns how many sockets had the topic. */
size_t ws_user_unsubscribe(int64_t user_id, const char *topic);

/* Sends one text message (msg, len bytes of JSON) to each of these sockets on this node, by
 * their ws_call_connection ids: the frame is built once and shared, one mail per hub thread, so
 * a room of thousands costs one copy, not one per member. Safe from any thread (a bus callback
 * included), never blocks on a socket. Returns how many were open; the ids of those that are
 * not (closed, closing, or never on this node) go to gone (room for n) when it is not NULL. */
size_t ws_send_connections(const uint64_t *ids, size_t n, const char *msg, size_t len,
                           uint64_t *gone, size_t *n_gone);

/* Per-user budgets (docs/realtime.md#limits): a token bucket per user of per_minute tokens
 * refilled evenly over a minute. A command given a budget draws one token before it runs; when
 * the bucket is empty the hub answers {"type":"error","id":I,"data":{"code":"rate_limited",
 * "message":…,"details":{"retry_after_ms","budget","limit","window_seconds"}}} and the handler
 * does not run. REST handlers may draw from the same budget (ws_budget_take). */
typedef struct ws_budget ws_budget;
/* NULL when per_minute is 0 (no limit; every function here takes NULL). name ("messages") and
 * option ("--ws-message-rate") go into the refusal. Lives as long as the process. */
ws_budget *ws_budget_new(const char *name, const char *option, int64_t per_minute);
/* Commands of this type draw from b (registered before; before the hub starts). */
void ws_command_budget(const char *type, ws_budget *b);
/* Every registered command that has no budget yet and needs authentication draws from b. */
void ws_command_budget_others(ws_budget *b);
/* Takes one token for user; false when spent, with the milliseconds until the next token. */
bool ws_budget_take(ws_budget *b, int64_t user, int64_t *retry_after_ms);
/* The refusal's details object (new reference), and its message in message (n bytes). */
json_t *ws_budget_refusal(const ws_budget *b, int64_t retry_after_ms, char *message, size_t n);
/* As ws_call_error, with a details object (stolen; NULL = none) beside code and message. */
void ws_call_error_details(ws_call *c, const char *code, const char *message, json_t *details);

/* Told when a user's first socket on this node opens and when the last one closes (presence,
 * chat). Up to WS_SESSION_FNS_MAX callbacks, registered before the hub starts, each called in
 * registration order; the same fn twice counts once. Runs on a hub thread: must not block. */
#define WS_SESSION_FNS_MAX 4
typedef void (*ws_session_fn)(int64_t user_id, bool online);
void ws_on_session(ws_session_fn fn);

#endif
