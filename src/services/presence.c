/* SPDX-License-Identifier: MIT
 *
 * The presence service (see presence.h). The hub tells us (ws_on_session) when a user's first
 * socket on this node opens and the last one closes; that callback runs on a hub thread and
 * only queues the change. The service's thread applies the queue: going offline waits the
 * grace period, so a phone that reconnects within it never shows offline (nothing is published
 * at all), and only real changes are persisted (table presence) and published, to the user's
 * presence topic only. Viewers subscribe to that topic explicitly (presence.subscribe, mutual
 * followers only), so a change costs one publish that reaches just the subscribed sockets that
 * are open, never a walk over all followers.
 *
 * Across nodes (--redis): a user may hold sockets on several nodes. Each node tells the cluster
 * when it starts and stops holding a user (a cluster count on the user's presence topic, this
 * node's share 1 or 0, renewed every BUS_COUNT_RENEW_MS for every user held here), so a node
 * publishes "online" only when no
 * other node held the user already, and "offline" (after the grace period) only when no other
 * node holds them any more. When Redis cannot be asked the node acts as if alone.
 */
#include "services/presence.h"

#include "core/bus.h"
#include "core/id.h"
#include "core/json.h"
#include "core/log.h"
#include "core/topics.h"
#include "core/util.h"
#include "store/db.h"
#include "store/live.h"
#include "ws/ws.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PRESENCE_BUCKETS 4096

enum { PRES_OPEN, PRES_CLOSE, PRES_SET, PRES_DROP };

typedef struct pres_event {
    struct pres_event *next;
    int64_t user;
    int64_t other; /* PRES_DROP: the user whose presence user may no longer watch, and back */
    int kind;
    int64_t at;
    char status[8];
} pres_event;

/* Owned by the service's thread alone. */
typedef struct pres_user {
    struct pres_user *next;
    int64_t user;
    int64_t offline_at; /* pending offline deadline, 0 = none */
    int64_t closed_at;
    char status[8]; /* as last published */
} pres_user;

struct presence_service {
    presence_options o;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pres_event *head, *tail; /* under mu */
    bool stopping;           /* under mu */
    pthread_t thread;
    bool running;
    bus_sub *control;
    pres_user *table[PRESENCE_BUCKETS];
    int pending; /* users waiting out their grace period */
};

/* The service the hub's session hook feeds (the hook has no context argument). */
static _Atomic(presence_service *) hooked;
static atomic_bool hook_registered;

json_t *presence_json(int64_t user, const char *status, int64_t last_seen_at)
{
    return json_pack("{s:o, s:s, s:o}", "user_id", json_id(user), "status", status, "last_seen_at",
                     last_seen_at ? json_time(last_seen_at) : json_null());
}

static void enqueue(presence_service *p, pres_event *e)
{
    pthread_mutex_lock(&p->mu);
    if (p->tail)
        p->tail->next = e;
    else
        p->head = e;
    p->tail = e;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void push(presence_service *p, int64_t user, int kind, const char *status)
{
    pres_event *e = xcalloc(1, sizeof *e);
    e->user = user;
    e->kind = kind;
    e->at = now_ms();
    if (status)
        snprintf(e->status, sizeof e->status, "%s", status);
    enqueue(p, e);
}

/* ws_on_session, on a hub thread: queue only. */
static void on_session(int64_t user, bool online)
{
    presence_service *p = atomic_load(&hooked);
    if (p)
        push(p, user, online ? PRES_OPEN : PRES_CLOSE, NULL);
}

void presence_set(presence_service *p, int64_t user, const char *status)
{
    if (presence_enabled(p))
        push(p, user, PRES_SET, status);
}

bool presence_enabled(const presence_service *p)
{
    return p && p->o.enabled;
}

static pres_user **slot_of(presence_service *p, int64_t user)
{
    pres_user **s =
        &p->table[(uint64_t)user * 0x9E3779B97F4A7C15ull >> 52 & (PRESENCE_BUCKETS - 1)];
    while (*s && (*s)->user != user)
        s = &(*s)->next;
    return s;
}

static void publish(db *d, int64_t user, const char *status, int64_t last_seen)
{
    if (d && store_presence_set(d, user, status, last_seen, now_ms()) < 0)
        log_warn("presence not persisted", "\"user_id\":%lld", (long long)user);
    char topic[TOPIC_MAX];
    topic_presence(topic, user);
    json_t *env =
        json_pack("{s:s, s:o}", "type", "presence", "data", presence_json(user, status, last_seen));
    char *text = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    if (text)
        bus_publish(topic, text, strlen(text));
    free(text);
}

/* Ends the pair's presence subscriptions both ways on this node's sockets. Runs on the
 * service's thread, not in the bus callback that asked for it, because unsubscribing needs the
 * bus's write lock. */
static void drop_pair(int64_t a, int64_t b)
{
    char topic[TOPIC_MAX];
    topic_presence(topic, b);
    ws_user_unsubscribe(a, topic);
    topic_presence(topic, a);
    ws_user_unsubscribe(b, topic);
}

/* Records whether this node holds sockets of user; returns how many other nodes do (0 alone or
 * when the cluster cannot be asked). */
static int64_t hold(int64_t user, bool here)
{
    char topic[TOPIC_MAX];
    topic_presence(topic, user);
    int64_t total = bus_cluster_count(topic, here ? 1 : 0);
    return total < 0 ? 0 : total - (here ? 1 : 0);
}

static void apply(presence_service *p, db *d, const pres_event *e)
{
    if (e->kind == PRES_DROP) {
        drop_pair(e->user, e->other);
        return;
    }
    pres_user **slot = slot_of(p, e->user), *u = *slot;
    if (e->kind == PRES_OPEN) {
        if (u && u->offline_at) { /* back within the grace period: nothing changed for viewers */
            u->offline_at = 0;
            p->pending--;
            return;
        }
        if (!u) {
            u = *slot = xcalloc(1, sizeof *u);
            u->user = e->user;
        }
        snprintf(u->status, sizeof u->status, "online");
        if (hold(e->user, true) <= 0) /* else already online on another node */
            publish(d, e->user, "online", e->at);
    } else if (e->kind == PRES_CLOSE) {
        if (!u || u->offline_at)
            return;
        u->offline_at = e->at + p->o.grace_ms;
        u->closed_at = e->at;
        p->pending++;
    } else if (u && !u->offline_at && strcmp(u->status, e->status)) {
        snprintf(u->status, sizeof u->status, "%s", e->status);
        publish(d, e->user, e->status, e->at);
    }
}

/* Publishes "offline" for those whose grace period ran out. */
static void expire(presence_service *p, db *d, int64_t now)
{
    for (int b = 0; b < PRESENCE_BUCKETS && p->pending; b++)
        for (pres_user **s = &p->table[b]; *s;) {
            pres_user *u = *s;
            if (u->offline_at && now >= u->offline_at) {
                if (hold(u->user, false) <= 0) /* else still online elsewhere */
                    publish(d, u->user, "offline", u->closed_at);
                p->pending--;
                *s = u->next;
                free(u);
            } else {
                s = &u->next;
            }
        }
}

/* Renews this node's presence leases (one round trip per user held here, every
 * BUS_COUNT_RENEW_MS; nothing on one node). */
static void renew_leases(presence_service *p)
{
    for (int b = 0; b < PRESENCE_BUCKETS; b++)
        for (pres_user *u = p->table[b]; u; u = u->next)
            hold(u->user, true);
}

static void *presence_main(void *arg)
{
    presence_service *p = arg;
    db *d = NULL;
    char err[256];
    int64_t started_ms = now_ms(), renewed_ms = started_ms;
    for (;;) {
        if (!d) {
            if (db_open(p->o.database_url, &d, err, sizeof err) < 0) {
                log_warn("presence: no database", "\"detail\":\"%s\"", "open failed");
                d = NULL;
            } else {
                /* A previous run of this node may have died with users online. Not across
                 * nodes: the rows of users online on other nodes would be reset too. */
                if (!bus_cross_node())
                    store_presence_reset(d, started_ms, now_ms());
            }
        }
        pthread_mutex_lock(&p->mu);
        if (!p->head && !p->stopping) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 100 * 1000000L; /* the grace period's resolution */
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&p->cv, &p->mu, &ts);
        }
        bool stopping = p->stopping;
        pres_event *e = p->head;
        p->head = p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        while (e) {
            pres_event *next = e->next;
            if (!stopping)
                apply(p, d, e);
            free(e);
            e = next;
        }
        if (stopping)
            break;
        expire(p, d, now_ms());
        if (bus_cross_node() && now_ms() - renewed_ms >= BUS_COUNT_RENEW_MS) {
            renew_leases(p);
            renewed_ms = now_ms();
        }
    }
    db_close(d);
    return NULL;
}

/* The rooms control topic: "presence.drop" is ours (live_presence_end); the rest is the rooms
 * service's. */
static void control_deliver(void *ctx, const char *topic, const char *msg, size_t len)
{
    presence_service *p = ctx;
    json_t *env = json_loadb(msg, len, 0, NULL);
    const char *type = json_string_value(json_object_get(env, "type"));
    json_t *data = json_object_get(env, "data");
    int64_t user = 0, other = 0;
    if (type && !strcmp(type, "presence.drop") &&
        id_parse(json_string_value(json_object_get(data, "user_id")), &user) && user &&
        id_parse(json_string_value(json_object_get(data, "other_id")), &other)) {
        pres_event *e = xcalloc(1, sizeof *e);
        e->user = user;
        e->other = other;
        e->kind = PRES_DROP;
        enqueue(p, e);
    }
    json_decref(env);
    (void)topic;
}

presence_service *presence_open(const presence_options *o, char *err, size_t err_size)
{
    presence_service *p = xcalloc(1, sizeof *p);
    p->o = *o;
    p->o.database_url = xstrdup(o->database_url ? o->database_url : "");
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (!p->o.enabled)
        return p;
    if (pthread_create(&p->thread, NULL, presence_main, p) != 0) {
        snprintf(err, err_size, "cannot start the presence thread");
        presence_close(p);
        return NULL;
    }
    p->running = true;
    p->control = bus_subscribe(TOPIC_ROOMS_CONTROL, control_deliver, p);
    atomic_store(&hooked, p);
    if (!atomic_exchange(&hook_registered, true))
        ws_on_session(on_session);
    return p;
}

void presence_close(presence_service *p)
{
    if (!p)
        return;
    presence_service *expected = p;
    atomic_compare_exchange_strong(&hooked, &expected, NULL);
    bus_unsubscribe(p->control);
    if (p->running) {
        pthread_mutex_lock(&p->mu);
        p->stopping = true;
        pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->thread, NULL);
    }
    for (pres_event *e = p->head, *next; e; e = next) {
        next = e->next;
        free(e);
    }
    for (int b = 0; b < PRESENCE_BUCKETS; b++)
        for (pres_user *u = p->table[b], *next; u; u = next) {
            next = u->next;
            free(u);
        }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free((char *)p->o.database_url);
    free(p);
}
