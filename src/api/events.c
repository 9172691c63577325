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
 * Each stream is one bus subscription plus a bounded buffer in http/ (a client that cannot keep
 * up is cut off). One shared thread writes the keepalive comments (--sse-heartbeat) that also
 * detect clients that went away, and ends streams whose token expired: no thread per stream.
 *
 * A user may hold --sse-streams-per-user streams on this node (429 too_many_streams beyond):
 * each costs a bus subscription and up to SSE_BUFFER bytes, and without a cap one account could
 * take every connection slot and that much memory per slot. The count is taken and the stream
 * listed under one lock, so parallel opens cannot overshoot.
 */
#include "api/api.h"

#include "core/bus.h"
#include "core/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SSE_BUFFER (64 * 1024) /* bytes a stream may have unsent before it is cut off */

typedef struct sse_client {
    pthread_mutex_t lock; /* numbers and writes events in one order */
    http_stream *st;
    bus_sub *sub;
    bus_sub *session_sub;
    int64_t user_id;
    int64_t expires_ms;
    int64_t last_write_ms;
    uint64_t seq;
    bool expired; /* ended: the token expired or the session was revoked */
    struct sse_client *prev, *next;
} sse_client;

static pthread_mutex_t clients_lock = PTHREAD_MUTEX_INITIALIZER;
static sse_client *clients;
static pthread_once_t sweeper_once = PTHREAD_ONCE_INIT;
static atomic_int_fast64_t heartbeat_ms = 15000;

static void client_write(sse_client *c, const char *text, size_t len)
{
    if (http_stream_write(c->st, text, len) == ERR_TOO_LARGE)
        log_warn("sse stream cut off", "\"user_id\":%lld,\"reason\":\"slow consumer\"",
                 (long long)c->user_id);
    c->last_write_ms = now_ms();
}

/* Bus callback: must not block, so it only formats and appends to the stream's buffer. */
static void deliver(void *ctx, const char *topic, const char *msg, size_t len)
{
    sse_client *c = ctx;
    json_t *env = json_loadb(msg, len, 0, NULL);
    const char *type = json_string_value(json_object_get(env, "type"));
    json_t *data = json_object_get(env, "data");
    /* JSON_COMPACT escapes newlines inside strings, so the data is one SSE line */
    char *text = type && data ? json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (text && !strpbrk(type, "\r\n")) {
        pthread_mutex_lock(&c->lock);
        if (c->expired) { /* ended: a message racing the end is not written */
            pthread_mutex_unlock(&c->lock);
            goto out;
        }
        buf b = {0};
        buf_printf(&b, "id: %llu\nevent: %s\ndata: %s\n\n", (unsigned long long)++c->seq, type,
                   text);
        client_write(c, b.data, b.len);
        buf_free(&b);
        pthread_mutex_unlock(&c->lock);
    }
out:
    free(text);
    json_decref(env);
    (void)topic;
}

/* Bus callback on "session:<id>": the session was revoked; nothing more reaches this stream. */
static void deliver_revoked(void *ctx, const char *topic, const char *msg, size_t len)
{
    static const char revoked[] = "event: session.revoked\ndata: {}\n\n";
    sse_client *c = ctx;
    pthread_mutex_lock(&c->lock);
    if (!c->expired) {
        c->expired = true;
        client_write(c, revoked, sizeof revoked - 1);
        http_stream_close(c->st);
    }
    pthread_mutex_unlock(&c->lock);
    (void)topic, (void)msg, (void)len;
}

static void on_closed(void *ctx)
{
    sse_client *c = ctx;
    bus_unsubscribe(c->session_sub);
    bus_unsubscribe(c->sub); /* after this no deliver runs for c */
    pthread_mutex_lock(&clients_lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&clients_lock);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static void *sweeper(void *arg)
{
    static const char keepalive[] = ": keepalive\n\n";
    static const char expired[] = "event: token.expired\ndata: {}\n\n";
    for (;;) {
        int64_t hb = atomic_load(&heartbeat_ms);
        usleep((useconds_t)(hb < 1000 ? hb : 1000) * 1000);
        int64_t now = now_ms();
        pthread_mutex_lock(&clients_lock);
        for (sse_client *c = clients; c; c = c->next) {
            pthread_mutex_lock(&c->lock);
            if (!c->expired && now >= c->expires_ms) {
                c->expired = true;
                client_write(c, expired, sizeof expired - 1);
                http_stream_close(c->st);
            } else if (!c->expired && now - c->last_write_ms >= hb) {
                client_write(c, keepalive, sizeof keepalive - 1);
            }
            pthread_mutex_unlock(&c->lock);
        }
        pthread_mutex_unlock(&clients_lock);
    }
    (void)arg;
    return NULL;
}

static void start_sweeper(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, sweeper, NULL) == 0)
        pthread_detach(t);
    else
        log_error("cannot start the SSE keepalive thread", "\"errno\":%d", 0);
}

void api_events(http_req *req, http_res *res)
{
    db *d = api_db(req, res);
    if (!d)
        return;
    const api_env *a = api_app(req);
    const char *header = http_req_header(req, "Authorization");
    const char *query = http_req_query(req, "access_token");
    char bearer[4096];
    if (!header && query && *query) {
        if (snprintf(bearer, sizeof bearer, "Bearer %s", query) >= (int)sizeof bearer) {
            http_res_error(res, 401, "unauthorized", "invalid access token", NULL);
            return;
        }
        header = bearer;
    }
    auth_principal p;
    access_claims claims;
    domain_error err = {0};
    int rc = auth_authenticate(a->auth, d, header, &p, &err);
    if (rc == 0)
        rc = auth_check_token(a->auth, header, &claims, &err);
    if (rc < 0) {
        api_fail(res, rc, &err);
        return;
    }
    http_req_set_user(req, p.user.id);
    atomic_store(&heartbeat_ms, a->cfg->sse_heartbeat * 1000);
    pthread_once(&sweeper_once, start_sweeper);

    pthread_mutex_lock(&clients_lock);
    int64_t open = 0;
    for (sse_client *o = clients; o; o = o->next)
        open += o->user_id == p.user.id;
    if (open >= a->cfg->sse_streams_per_user) {
        pthread_mutex_unlock(&clients_lock);
        char msg[128];
        snprintf(msg, sizeof msg,
                 "a user may hold at most %lld event streams open (--sse-streams-per-user)",
                 (long long)a->cfg->sse_streams_per_user);
        http_res_error(res, 429, "too_many_streams", msg,
                       json_pack("{s:I}", "limit", (json_int_t)a->cfg->sse_streams_per_user));
        http_res_header(res, "Retry-After", "5");
        return;
    }
    sse_client *c = xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
    c->user_id = p.user.id;
    c->expires_ms = claims.expires_at * 1000;
    c->last_write_ms = now_ms();
    c->st = http_res_stream(res, 200, "text/event-stream", SSE_BUFFER, on_closed, c);
    char hello[256];
    int n = snprintf(hello, sizeof hello,
                     "retry: 3000\n\nevent: ready\ndata: {\"user_id\":\"%lld\","
                     "\"heartbeat_seconds\":%lld}\n\n",
                     (long long)p.user.id, (long long)a->cfg->sse_heartbeat);
    http_stream_write(c->st, hello, (size_t)n); /* first, before the sweeper can see c */
    c->next = clients;
    if (clients)
        clients->prev = c;
    clients = c;
    pthread_mutex_unlock(&clients_lock);
    http_res_header(res, "X-Accel-Buffering", "no"); /* nginx: do not hold events back */
    char topic[32];
    snprintf(topic, sizeof topic, "user:%lld", (long long)p.user.id);
    /* subscribed before the response is queued: nothing published after "ready" is missed */
    char session_topic[BUS_SESSION_TOPIC_LEN];
    bus_session_topic(p.session_id, session_topic);
    c->session_sub = bus_subscribe(session_topic, deliver_revoked, c);
    c->sub = bus_subscribe(topic, deliver, c);
    /* A revocation that committed between the check above and the subscription was published
     * to nobody: look at the session row once more now that its topic is heard. */
    auth_principal again;
    domain_error again_err = {0};
    if (auth_authenticate(a->auth, d, header, &again, &again_err) == ERR_UNAUTHORIZED &&
        again_err.code && !strcmp(again_err.code, "session_revoked"))
        deliver_revoked(c, session_topic, "", 0);
}
