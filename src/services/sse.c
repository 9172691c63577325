/* SPDX-License-Identifier: MIT
 *
 * The SSE service (see sse.h). Each stream is two bus subscriptions (the user topic and the
 * session topic) plus the writer the api layer gave it, whose bounded buffer cuts off a client
 * that cannot keep up. Bus callbacks must not block, so delivery only formats and appends.
 * Events are written as "id: N\nevent: T\ndata: D\n\n", N counting events on this stream only.
 */
#include "services/sse.h"

#include "core/bus.h"
#include "core/log.h"
#include "core/topics.h"
#include "core/util.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sse_stream {
    sse_service *svc;
    pthread_mutex_t lock; /* numbers and writes events in one order */
    const sse_io *io;     /* NULL until started */
    void *io_ctx;
    bus_sub *sub;
    bus_sub *session_sub;
    int64_t user_id;
    int64_t expires_ms;
    int64_t last_write_ms;
    uint64_t seq;
    bool expired; /* ended: the token expired or the session was revoked */
    struct sse_stream *prev, *next;
};

struct sse_service {
    sse_options o;
    pthread_mutex_t lock; /* the list */
    sse_stream *streams;
    pthread_mutex_t stop_mu;
    pthread_cond_t stop_cv;
    bool stopping; /* under stop_mu */
    pthread_t sweeper;
    bool sweeping;
};

int64_t sse_streams_per_user(const sse_service *s)
{
    return s->o.streams_per_user;
}

int64_t sse_heartbeat_ms(const sse_service *s)
{
    return s->o.heartbeat_ms;
}

/* Caller holds st->lock and st->io is set. */
static void stream_write(sse_stream *st, const char *text, size_t len)
{
    if (st->io->write(st->io_ctx, text, len) == ERR_TOO_LARGE)
        log_warn("sse stream cut off", "\"user_id\":%lld,\"reason\":\"slow consumer\"",
                 (long long)st->user_id);
    st->last_write_ms = now_ms();
}

/* Bus callback: must not block, so it only formats and appends to the stream's buffer. */
static void deliver(void *ctx, const char *topic, const char *msg, size_t len)
{
    sse_stream *st = ctx;
    json_t *env = json_loadb(msg, len, 0, NULL);
    const char *type = json_string_value(json_object_get(env, "type"));
    json_t *data = json_object_get(env, "data");
    /* JSON_COMPACT escapes newlines inside strings, so the data is one SSE line */
    char *text = type && data ? json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (text && !strpbrk(type, "\r\n")) {
        pthread_mutex_lock(&st->lock);
        if (st->expired) { /* ended: a message racing the end is not written */
            pthread_mutex_unlock(&st->lock);
            goto out;
        }
        buf b = {0};
        buf_printf(&b, "id: %llu\nevent: %s\ndata: %s\n\n", (unsigned long long)++st->seq, type,
                   text);
        stream_write(st, b.data, b.len);
        buf_free(&b);
        pthread_mutex_unlock(&st->lock);
    }
out:
    free(text);
    json_decref(env);
    (void)topic;
}

/* Bus callback on the session topic: the session was revoked; nothing more reaches this
 * stream. */
static void deliver_revoked(void *ctx, const char *topic, const char *msg, size_t len)
{
    static const char revoked[] = "event: session.revoked\ndata: {}\n\n";
    sse_stream *st = ctx;
    pthread_mutex_lock(&st->lock);
    if (!st->expired && st->io) {
        st->expired = true;
        stream_write(st, revoked, sizeof revoked - 1);
        st->io->close(st->io_ctx);
    }
    pthread_mutex_unlock(&st->lock);
    (void)topic, (void)msg, (void)len;
}

void sse_stream_revoke(sse_stream *st)
{
    deliver_revoked(st, "", "", 0);
}

static void *sweeper(void *arg)
{
    static const char keepalive[] = ": keepalive\n\n";
    static const char expired[] = "event: token.expired\ndata: {}\n\n";
    sse_service *s = arg;
    int64_t hb = s->o.heartbeat_ms;
    int64_t step = hb < 1000 ? hb : 1000;
    pthread_mutex_lock(&s->stop_mu);
    while (!s->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + step % 1000 * 1000000L;
        ts.tv_sec += step / 1000 + ns / 1000000000L;
        ts.tv_nsec = ns % 1000000000L;
        while (!s->stopping && pthread_cond_timedwait(&s->stop_cv, &s->stop_mu, &ts) == 0) {
        }
        if (s->stopping)
            break;
        pthread_mutex_unlock(&s->stop_mu);
        int64_t now = now_ms();
        pthread_mutex_lock(&s->lock);
        for (sse_stream *st = s->streams; st; st = st->next) {
            pthread_mutex_lock(&st->lock);
            if (!st->io) {
                /* reserved, not started yet */
            } else if (!st->expired && now >= st->expires_ms) {
                st->expired = true;
                stream_write(st, expired, sizeof expired - 1);
                st->io->close(st->io_ctx);
            } else if (!st->expired && now - st->last_write_ms >= hb) {
                stream_write(st, keepalive, sizeof keepalive - 1);
            }
            pthread_mutex_unlock(&st->lock);
        }
        pthread_mutex_unlock(&s->lock);
        pthread_mutex_lock(&s->stop_mu);
    }
    pthread_mutex_unlock(&s->stop_mu);
    return NULL;
}

sse_service *sse_open(const sse_options *o, char *err, size_t err_size)
{
    sse_service *s = xcalloc(1, sizeof *s);
    s->o = *o;
    if (s->o.heartbeat_ms < 1)
        s->o.heartbeat_ms = 1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->stop_mu, NULL);
    pthread_cond_init(&s->stop_cv, NULL);
    if (pthread_create(&s->sweeper, NULL, sweeper, s) != 0) {
        snprintf(err, err_size, "cannot start the SSE keepalive thread");
        sse_close(s);
        return NULL;
    }
    s->sweeping = true;
    return s;
}

void sse_close(sse_service *s)
{
    if (!s)
        return;
    if (s->sweeping) {
        pthread_mutex_lock(&s->stop_mu);
        s->stopping = true;
        pthread_cond_signal(&s->stop_cv);
        pthread_mutex_unlock(&s->stop_mu);
        pthread_join(s->sweeper, NULL);
    }
    pthread_mutex_lock(&s->lock);
    for (sse_stream *st = s->streams; st; st = st->next)
        st->svc = NULL; /* the owner's close callback then only frees it */
    pthread_mutex_unlock(&s->lock);
    pthread_cond_destroy(&s->stop_cv);
    pthread_mutex_destroy(&s->stop_mu);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

sse_stream *sse_stream_reserve(sse_service *s, int64_t user_id, int64_t expires_ms)
{
    pthread_mutex_lock(&s->lock);
    int64_t open = 0;
    for (sse_stream *o = s->streams; o; o = o->next)
        open += o->user_id == user_id;
    if (open >= s->o.streams_per_user) {
        pthread_mutex_unlock(&s->lock);
        return NULL;
    }
    sse_stream *st = xcalloc(1, sizeof *st);
    pthread_mutex_init(&st->lock, NULL);
    st->svc = s;
    st->user_id = user_id;
    st->expires_ms = expires_ms;
    st->last_write_ms = now_ms();
    st->next = s->streams;
    if (s->streams)
        s->streams->prev = st;
    s->streams = st;
    pthread_mutex_unlock(&s->lock);
    return st;
}

void sse_stream_start(sse_stream *st, const sse_io *io, void *io_ctx, const char *hello,
                      size_t hello_len, int64_t session_id)
{
    pthread_mutex_lock(&st->lock);
    st->io = io;
    st->io_ctx = io_ctx;
    io->write(io_ctx, hello, hello_len); /* first, before the sweeper can write */
    st->last_write_ms = now_ms();
    pthread_mutex_unlock(&st->lock);
    char topic[TOPIC_MAX];
    topic_session(topic, session_id);
    st->session_sub = bus_subscribe(topic, deliver_revoked, st);
    topic_user(topic, st->user_id);
    st->sub = bus_subscribe(topic, deliver, st);
}

void sse_stream_closed(sse_stream *st)
{
    bus_unsubscribe(st->session_sub);
    bus_unsubscribe(st->sub); /* after this no deliver runs for st */
    sse_service *s = st->svc;
    if (s) {
        pthread_mutex_lock(&s->lock);
        if (st->prev)
            st->prev->next = st->next;
        else
            s->streams = st->next;
        if (st->next)
            st->next->prev = st->prev;
        pthread_mutex_unlock(&s->lock);
    }
    pthread_mutex_destroy(&st->lock);
    free(st);
}
