/* SPDX-License-Identifier: MIT
 *
 * GET /api/v1/events: Server-Sent Events for clients without WebSockets. The stream carries
 * exactly what the user's sockets get on the bus topic "user:<id>" (notifications, unread
 * counts, media progress, DMs...), each envelope {"type":T,"data":D} written as
 * "id: N\nevent: T\ndata: D\n\n". N counts events on this stream only: there is no replay after a
 * reconnect (GET /notifications and the conversation histories are the catch-up), so a client
 * ignores Last-Event-ID semantics beyond ordering.
 *
 * Authentication is the Authorization header or, because EventSource cannot set headers,
 * ?access_token=. A token in a URL can end up in proxy logs and browser history, which is why it
 * is only accepted here (our own access log records the path without the query) and why access
 * tokens are short-lived. Failures are ordinary 401 JSON errors, answered before the stream
 * starts. When the token expires the stream sends "event: token.expired" and ends; the client
 * refreshes and reconnects. When its login session is revoked (logout, revocation, a password
 * change or reset) the stream sends "event: session.revoked" and ends at once: it subscribes the
 * session's control topic "session:<id>" besides "user:<id>".
 *
 * Each stream is two bus subscriptions plus a bounded buffer in http/ (a client that cannot keep
 * up is cut off). One shared thread writes the keepalive comments (--sse-heartbeat) that also
 * detect clients that went away, and ends streams whose token expired: no thread per stream.
 * That state lives in the SSE service (services/sse.c); this file authenticates, answers the
 * errors and hands the service the HTTP stream as its writer.
 *
 * A user may hold --sse-streams-per-user streams on this node (429 too_many_streams beyond):
 * each costs a bus subscription and up to SSE_BUFFER bytes, and without a cap one account could
 * take every connection slot and that much memory per slot. The count is taken and the stream
 * listed under one lock, so parallel opens cannot overshoot.
 */
#include "api/api.h"

#include "services/sse.h"

#include <stdio.h>
#include <string.h>

#define SSE_BUFFER (64 * 1024) /* bytes a stream may have unsent before it is cut off */

static int stream_write(void *io, const char *text, size_t len)
{
    return http_stream_write(io, text, len);
}

static void stream_close(void *io)
{
    http_stream_close(io);
}

static const sse_io http_io = {.write = stream_write, .close = stream_close};

static void on_closed(void *ctx)
{
    sse_stream_closed(ctx);
}

static void events_handler(api_ctx *c)
{
    const api_env *a = api_app(c->req);
    const char *header = c->authorization;
    const auth_principal *p = &c->principal;
    access_claims claims;
    domain_error err = {0};
    int rc = auth_check_token(a->auth, header, &claims, &err);
    if (rc < 0) {
        api_fail(c->res, rc, &err);
        return;
    }
    if (!a->sse) {
        http_res_error(c->res, 503, "unavailable", "event streams are not served by this process",
                       NULL);
        return;
    }
    sse_stream *st = sse_stream_reserve(a->sse, p->user.id, claims.expires_at * 1000);
    if (!st) {
        int64_t limit = sse_streams_per_user(a->sse);
        char msg[128];
        snprintf(msg, sizeof msg,
                 "a user may hold at most %lld event streams open (--sse-streams-per-user)",
                 (long long)limit);
        http_res_error(c->res, 429, "too_many_streams", msg,
                       json_pack("{s:I}", "limit", (json_int_t)limit));
        http_res_header(c->res, "Retry-After", "5");
        return;
    }
    http_stream *hs = http_res_stream(c->res, 200, "text/event-stream", SSE_BUFFER, on_closed, st);
    char hello[256];
    int n = snprintf(hello, sizeof hello,
                     "retry: 3000\n\nevent: ready\ndata: {\"user_id\":\"%lld\","
                     "\"heartbeat_seconds\":%lld}\n\n",
                     (long long)p->user.id, (long long)(sse_heartbeat_ms(a->sse) / 1000));
    http_res_header(c->res, "X-Accel-Buffering", "no"); /* nginx: do not hold events back */
    /* subscribed before the response is queued: nothing published after "ready" is missed */
    sse_stream_start(st, &http_io, hs, hello, (size_t)n, p->session_id);
    /* A revocation that committed between the check above and the subscription was published
     * to nobody: look at the session row once more now that its topic is heard. */
    auth_principal again;
    domain_error again_err = {0};
    if (auth_authenticate(a->auth, c->db, header, &again, &again_err) == ERR_UNAUTHORIZED &&
        again_err.code && !strcmp(again_err.code, "session_revoked"))
        sse_stream_revoke(st);
}

/* Signed in by the header or, for EventSource (which cannot set headers), ?access_token=. */
static const api_route routes[] = {
    {"GET", "/api/v1/events", events_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .token_query = "access_token",
     .operation_id = "eventStream",
     .summary = "Server-Sent Events: the live events of the signed-in user",
     .description =
         "Needs an access token: the `Authorization` header or, for EventSource, `access_token` "
         "(401 without either). A `text/event-stream` carrying the same events as the user's "
         "WebSocket (`notification`, `notifications.unread`, `media.progress`, messages...). "
         "Each event: `id: N` (per stream, no replay), `event: <type>`, `data: <json>`. First "
         "`retry: 3000` and `event: ready` `{user_id, heartbeat_seconds}`; a `: keepalive` "
         "comment every `--sse-heartbeat` seconds; `event: token.expired` then the end of the "
         "stream when the access token expires (refresh and reconnect); `event: session.revoked` "
         "then the end when its login session is revoked. A client that lets 64 KiB of events "
         "pile up is cut off. Errors (401; 429 `too_many_streams` with `details.limit` when the "
         "user already holds `--sse-streams-per-user` streams on this node) are JSON and come "
         "before the stream starts.",
     .response = "EventStream", .response_about = "The event stream",
     .media_type = "text/event-stream"},
};

API_MODULE(events, "Server-Sent Events: the user's live events for clients without WebSockets",
           routes);
