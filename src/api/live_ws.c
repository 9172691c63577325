/* SPDX-License-Identifier: MIT
 *
 * The socket side of presence and rooms (docs/realtime.md): the commands "presence.subscribe",
 * "presence.unsubscribe", "presence.set", "room.join", "room.leave" and "room.send", the
 * presence thread that coalesces session changes, and the room tables of this node.
 *
 * Presence. The hub tells us (ws_on_session) when a user's first socket on this node opens and
 * the last one closes; that callback runs on a hub thread and only queues the change. One
 * presence thread applies the queue: going offline waits --presence-grace seconds, so a phone
 * that reconnects within it never shows offline (nothing is published at all), and only real
 * changes are persisted (table presence) and published, to "presence:<id>" only. Viewers
 * subscribe to that topic explicitly (presence.subscribe, mutual followers only), so a change
 * costs one publish that reaches just the subscribed sockets that are open, never a walk over
 * all followers.
 *
 * Rooms. A room's messages are published to "room:<name>" (so any node can publish), and each
 * node holding members subscribes that topic once and fans the message out to its members'
 * sockets directly (ws_send_connections: one shared frame, no bus lookup per member); each
 * socket also subscribes a per-socket topic "conn:<id>" at its first join, which carries what
 * is addressed to one socket (room.removed) and tells the member tick whether it is open. Keeping
 * the member list here rather than subscribing each socket to the room topic is what lets a ban
 * remove a member at once (a socket's subscriptions can only be changed from its own calls),
 * gives exact member counts, and enforces "members only" for room.send without a database
 * read. A socket that went away is noticed when a publish to its topic reaches nobody, or by the
 * member-count tick, and is dropped from the list. Bans and slow-mode changes come from REST
 * through LIVE_CONTROL_TOPIC so every node applies them to the members it holds.
 *
 * Locks: never call into the bus while holding rooms_mu (a room delivery holds the bus read
 * lock and takes rooms_mu), so member lists are copied out before fanning out. Publishing from
 * inside a bus callback (control_deliver's room.removed) takes the bus read lock again, which
 * the bus's explicitly reader-preferring rwlock allows.
 *
 * Both are node-local today: member counts are this node's members, and presence assumes a
 * user's sockets are all on one node (true with one node). The Redis bus of the scale path
 * carries the same topics between nodes; counts and presence then aggregate per node in Redis.
 */
#include "api/api.h"

#include "core/bus.h"
#include "core/id.h"
#include "core/log.h"
#include "domain/live.h"
#include "store/users.h"
#include "ws/ws.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PRESENCE_BATCH_MAX 100 /* user ids per presence.subscribe */
#define PRESENCE_BUCKETS 4096
#define ROOMS_MAX 10000        /* rooms with members on this node */
#define BAN_NOTIFY_MAX 64     /* sockets of a banned user told "room.removed" per node */

static const api_env *live_app;
static atomic_bool presence_on, started;
static int64_t grace_ms = 10000;
static int64_t members_interval_ms = 5000;
static int64_t rooms_per_socket = 50, rooms_per_user = 200; /* --ws-rooms-per-socket, -user */

static void conn_topic(uint64_t conn, char *out, size_t n)
{
    snprintf(out, n, "conn:%llu", (unsigned long long)conn);
}

static json_t *presence_json(int64_t user, const char *status, int64_t last_seen_at)
{
    return json_pack("{s:o, s:s, s:o}", "user_id", json_id(user), "status", status,
                     "last_seen_at", last_seen_at ? json_time(last_seen_at) : json_null());
}

/* ---- presence ---------------------------------------------------------------------------- */

enum { PRES_OPEN, PRES_CLOSE, PRES_SET, PRES_DROP };

typedef struct pres_event {
    struct pres_event *next;
    int64_t user;
    int64_t other; /* PRES_DROP: the user whose presence user may no longer watch, and back */
    int kind;
    int64_t at;
    char status[8];
} pres_event;

/* Owned by the presence thread alone. */
typedef struct pres_user {
    struct pres_user *next;
    int64_t user;
    int64_t offline_at; /* pending offline deadline, 0 = none */
    int64_t closed_at;
    char status[8];     /* as last published */
} pres_user;

static pthread_mutex_t pres_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pres_cv = PTHREAD_COND_INITIALIZER;
static pres_event *pres_head, *pres_tail;
static pres_user *pres_table[PRESENCE_BUCKETS];
static int pres_pending; /* users waiting out their grace period */

static void pres_enqueue(pres_event *e)
{
    pthread_mutex_lock(&pres_mu);
    if (pres_tail)
        pres_tail->next = e;
    else
        pres_head = e;
    pres_tail = e;
    pthread_cond_signal(&pres_cv);
    pthread_mutex_unlock(&pres_mu);
}

static void pres_push(int64_t user, int kind, const char *status)
{
    pres_event *e = xcalloc(1, sizeof *e);
    e->user = user;
    e->kind = kind;
    e->at = now_ms();
    if (status)
        snprintf(e->status, sizeof e->status, "%s", status);
    pres_enqueue(e);
}

static void pres_push_drop(int64_t user, int64_t other)
{
    pres_event *e = xcalloc(1, sizeof *e);
    e->user = user;
    e->other = other;
    e->kind = PRES_DROP;
    pres_enqueue(e);
}

/* ws_on_session, on a hub thread: queue only. */
static void on_session(int64_t user, bool online)
{
    if (atomic_load(&presence_on))
        pres_push(user, online ? PRES_OPEN : PRES_CLOSE, NULL);
}

static pres_user **pres_slot(int64_t user)
{
    pres_user **p = &pres_table[(uint64_t)user * 0x9E3779B97F4A7C15ull >> 52 & (PRESENCE_BUCKETS - 1)];
    while (*p && (*p)->user != user)
        p = &(*p)->next;
    return p;
}

static void pres_publish(db *d, int64_t user, const char *status, int64_t last_seen)
{
    if (d && store_presence_set(d, user, status, last_seen, now_ms()) < 0)
        log_warn("presence not persisted", "\"user_id\":%lld", (long long)user);
    char topic[40];
    snprintf(topic, sizeof topic, "presence:%lld", (long long)user);
    json_t *env = json_pack("{s:s, s:o}", "type", "presence", "data",
                            presence_json(user, status, last_seen));
    char *text = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    if (text)
        bus_publish(topic, text, strlen(text));
    free(text);
}

/* Ends the pair's presence subscriptions both ways on this node's sockets. Runs here, not in
 * the bus callback that asked for it, because unsubscribing needs the bus's write lock. */
static void pres_drop(int64_t a, int64_t b)
{
    char topic[40];
    snprintf(topic, sizeof topic, "presence:%lld", (long long)b);
    ws_user_unsubscribe(a, topic);
    snprintf(topic, sizeof topic, "presence:%lld", (long long)a);
    ws_user_unsubscribe(b, topic);
}

static void pres_apply(db *d, const pres_event *e)
{
    if (e->kind == PRES_DROP) {
        pres_drop(e->user, e->other);
        return;
    }
    pres_user **slot = pres_slot(e->user), *u = *slot;
    if (e->kind == PRES_OPEN) {
        if (u && u->offline_at) { /* back within the grace period: nothing changed for viewers */
            u->offline_at = 0;
            pres_pending--;
            return;
        }
        if (!u) {
            u = *slot = xcalloc(1, sizeof *u);
            u->user = e->user;
        }
        snprintf(u->status, sizeof u->status, "online");
        pres_publish(d, e->user, "online", e->at);
    } else if (e->kind == PRES_CLOSE) {
        if (!u || u->offline_at)
            return;
        u->offline_at = e->at + grace_ms;
        u->closed_at = e->at;
        pres_pending++;
    } else if (u && !u->offline_at && strcmp(u->status, e->status)) {
        snprintf(u->status, sizeof u->status, "%s", e->status);
        pres_publish(d, e->user, e->status, e->at);
    }
}

/* Publishes "offline" for those whose grace period ran out. */
static void pres_expire(db *d, int64_t now)
{
    for (int b = 0; b < PRESENCE_BUCKETS && pres_pending; b++)
        for (pres_user **p = &pres_table[b]; *p;) {
            pres_user *u = *p;
            if (u->offline_at && now >= u->offline_at) {
                pres_publish(d, u->user, "offline", u->closed_at);
                pres_pending--;
                *p = u->next;
                free(u);
            } else {
                p = &u->next;
            }
        }
}

static void *presence_main(void *arg)
{
    db *d = NULL;
    char err[256];
    int64_t started_ms = now_ms();
    for (;;) {
        if (!d) {
            if (db_open(live_app->database_url, &d, err, sizeof err) < 0) {
                log_warn("presence: no database", "\"detail\":\"%s\"", "open failed");
                d = NULL;
            } else {
                /* a previous run of this node may have died with users online */
                store_presence_reset(d, started_ms, now_ms());
            }
        }
        pthread_mutex_lock(&pres_mu);
        if (!pres_head) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 100 * 1000000L; /* the grace period's resolution */
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&pres_cv, &pres_mu, &ts);
        }
        pres_event *e = pres_head;
        pres_head = pres_tail = NULL;
        pthread_mutex_unlock(&pres_mu);
        while (e) {
            pres_event *next = e->next;
            pres_apply(d, e);
            free(e);
            e = next;
        }
        pres_expire(d, now_ms());
    }
    (void)arg;
    return NULL;
}

/* Parses {"user_ids":[...]} into ids; false after answering the error. */
static int parse_user_ids(ws_call *c, int64_t *ids)
{
    json_t *list = json_object_get(ws_call_data(c), "user_ids");
    if (!json_is_array(list) || json_array_size(list) == 0 ||
        json_array_size(list) > PRESENCE_BATCH_MAX) {
        ws_call_error(c, "validation_failed", "data.user_ids must be an array of 1 to 100 ids");
        return -1;
    }
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        if (!json_is_string(v) || !id_parse(json_string_value(v), &ids[i])) {
            ws_call_error(c, "validation_failed", "data.user_ids must hold user ids (strings)");
            return -1;
        }
    }
    return (int)json_array_size(list);
}

static bool presence_enabled(ws_call *c)
{
    if (atomic_load(&presence_on))
        return true;
    ws_call_error(c, "presence_disabled", "presence is switched off on this server");
    return false;
}

/* {"user_ids":[...]}: subscribes to those whose presence the caller may see and acks their
 * current state; the others are listed under "denied" (same answer for "no such user" and "not
 * mutual", so the command cannot probe the graph). */
static void cmd_presence_subscribe(ws_call *c)
{
    int64_t ids[PRESENCE_BATCH_MAX];
    if (!presence_enabled(c))
        return;
    int n = parse_user_ids(c, ids);
    if (n < 0)
        return;
    api_worker *w = ws_call_ctx(c);
    db *d = w ? api_worker_db(w) : NULL;
    if (!d) {
        ws_call_error(c, "database_unavailable", "the database cannot be reached");
        return;
    }
    int64_t me = ws_call_user(c);
    json_t *states = json_array(), *denied = json_array();
    for (int i = 0; i < n; i++) {
        store_user u;
        if (store_user_by_id(d, ids[i], &u) < 0 || !live_presence_visible(d, me, ids[i])) {
            json_array_append_new(denied, json_id(ids[i]));
            continue;
        }
        char topic[40];
        snprintf(topic, sizeof topic, "presence:%lld", (long long)ids[i]);
        /* subscribe first, then read: a change in between is delivered, never lost */
        ws_call_subscribe(c, topic);
        /* a block committed since the check above may have dropped subscriptions already:
         * this one must not outlive it */
        if (!live_presence_visible(d, me, ids[i])) {
            ws_call_unsubscribe(c, topic);
            json_array_append_new(denied, json_id(ids[i]));
            continue;
        }
        store_presence p;
        live_presence_get(d, ids[i], &p);
        json_array_append_new(states, presence_json(ids[i], p.status, p.last_seen_at));
    }
    ws_call_ack(c, json_pack("{s:o, s:o}", "presence", states, "denied", denied));
}

static void cmd_presence_unsubscribe(ws_call *c)
{
    int64_t ids[PRESENCE_BATCH_MAX];
    int n = parse_user_ids(c, ids);
    if (n < 0)
        return;
    for (int i = 0; i < n; i++) {
        char topic[40];
        snprintf(topic, sizeof topic, "presence:%lld", (long long)ids[i]);
        ws_call_unsubscribe(c, topic);
    }
    ws_call_ack(c, NULL);
}

/* {"status":"away"|"online"} */
static void cmd_presence_set(ws_call *c)
{
    if (!presence_enabled(c))
        return;
    const char *status = json_string_value(json_object_get(ws_call_data(c), "status"));
    if (!status || (strcmp(status, "away") && strcmp(status, "online"))) {
        ws_call_error(c, "validation_failed", "data.status must be \"away\" or \"online\"");
        return;
    }
    pres_push(ws_call_user(c), PRES_SET, status);
    ws_call_ack(c, json_pack("{s:s}", "status", status));
}

/* ---- rooms -------------------------------------------------------------------------------- */

typedef struct member {
    uint64_t conn;
    int64_t user;
    int64_t last_sent_ms;
    char handle[32];
} member;

typedef struct room {
    struct room *next;
    char name[LIVE_ROOM_NAME_MAX + 1];
    bus_sub *sub; /* NULL while the joining thread subscribes */
    int64_t slow_mode_s;
    member *m;
    size_t n, cap;
    int64_t users, last_pushed;
} room;

static pthread_mutex_t rooms_mu = PTHREAD_MUTEX_INITIALIZER;
static room *rooms;
static size_t n_rooms;

static room *room_find(const char *name)
{
    for (room *r = rooms; r; r = r->next)
        if (!strcmp(r->name, name))
            return r;
    return NULL;
}

static bool has_user(const room *r, int64_t user)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->m[i].user == user)
            return true;
    return false;
}

/* Removes the entries matching conn (or, when conn is 0, user); returns how many, and copies
 * the removed connections into out (up to max). Caller holds rooms_mu. */
static size_t room_remove(room *r, uint64_t conn, int64_t user, uint64_t *out, size_t max)
{
    size_t removed = 0;
    for (size_t i = 0; i < r->n;) {
        member *e = &r->m[i];
        if (conn ? e->conn == conn : e->user == user) {
            int64_t who = e->user;
            if (removed < max)
                out[removed] = e->conn;
            removed++;
            r->m[i] = r->m[--r->n];
            if (!has_user(r, who))
                r->users--;
        } else {
            i++;
        }
    }
    return removed;
}

/* Copies the member connections out of the lock. */
static uint64_t *room_conns(room *r, size_t *n)
{
    pthread_mutex_lock(&rooms_mu);
    *n = r->n;
    uint64_t *out = xmalloc((r->n ? r->n : 1) * sizeof *out);
    for (size_t i = 0; i < r->n; i++)
        out[i] = r->m[i].conn;
    pthread_mutex_unlock(&rooms_mu);
    return out;
}

static void drop_conns(room *r, const uint64_t *dead, size_t n_dead)
{
    uint64_t scratch[1];
    pthread_mutex_lock(&rooms_mu);
    for (size_t i = 0; i < n_dead; i++)
        room_remove(r, dead[i], 0, scratch, 0);
    pthread_mutex_unlock(&rooms_mu);
}

/* "room:<name>" delivery: fan out to this node's members; forget sockets that are gone. */
static void room_deliver(void *ctx, const char *topic, const char *msg, size_t len)
{
    room *r = ctx;
    size_t n, n_dead = 0;
    uint64_t *conns = room_conns(r, &n);
    uint64_t *dead = xmalloc((n ? n : 1) * sizeof *dead);
    ws_send_connections(conns, n, msg, len, dead, &n_dead);
    if (n_dead)
        drop_conns(r, dead, n_dead);
    free(dead);
    free(conns);
    (void)topic;
}

static void send_to_conn(uint64_t conn, const char *type, json_t *data)
{
    char t[40];
    conn_topic(conn, t, sizeof t);
    json_t *env = json_pack("{s:s, s:o}", "type", type, "data", data);
    char *text = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    if (text)
        bus_publish(t, text, strlen(text));
    free(text);
}

/* LIVE_CONTROL_TOPIC: bans and slow-mode changes made through REST on any node. */
static void control_deliver(void *ctx, const char *topic, const char *msg, size_t len)
{
    json_t *env = json_loadb(msg, len, 0, NULL);
    const char *type = json_string_value(json_object_get(env, "type"));
    json_t *data = json_object_get(env, "data");
    const char *name = json_string_value(json_object_get(data, "room"));
    int64_t user = 0;
    id_parse(json_string_value(json_object_get(data, "user_id")), &user);
    int64_t value = json_integer_value(json_object_get(data, "value"));
    int64_t other = 0;
    if (type && !strcmp(type, "presence.drop") &&
        id_parse(json_string_value(json_object_get(data, "other_id")), &other) && user &&
        atomic_load(&presence_on)) {
        pres_push_drop(user, other);
        json_decref(env);
        return;
    }
    if (!type || !name) {
        json_decref(env);
        return;
    }
    uint64_t removed[BAN_NOTIFY_MAX];
    size_t n_removed = 0;
    pthread_mutex_lock(&rooms_mu);
    room *r = room_find(name);
    if (r && !strcmp(type, "room.slow_mode"))
        r->slow_mode_s = value;
    else if (r && !strcmp(type, "room.ban"))
        n_removed = room_remove(r, 0, user, removed, BAN_NOTIFY_MAX);
    pthread_mutex_unlock(&rooms_mu);
    for (size_t i = 0; i < n_removed && i < BAN_NOTIFY_MAX; i++)
        send_to_conn(removed[i], "room.removed",
                     json_pack("{s:s, s:s}", "room", name, "reason", "banned"));
    json_decref(env);
    (void)ctx;
    (void)topic;
}

static const char *room_arg(ws_call *c)
{
    const char *name = json_string_value(json_object_get(ws_call_data(c), "room"));
    if (!live_room_name_valid(name)) {
        ws_call_error(c, "validation_failed", "data.room must match [a-z0-9_-]{1,64}");
        return NULL;
    }
    return name;
}

/* Whether conn (and user) may join r (NULL: a room not held yet): NULL, or the refusal's
 * details with its message in msg (answered after rooms_mu is released). The
 * count walks every membership of the node, which the caps and --ws-room-join-rate keep small
 * and rare; a socket that closed still counts until the member tick drops it (at most
 * --room-members-interval). Caller holds rooms_mu. */
static json_t *room_caps_refusal(const room *r, uint64_t conn, int64_t user, char *msg, size_t n)
{
    bool in_room = false;
    for (size_t i = 0; r && i < r->n; i++)
        in_room |= r->m[i].conn == conn;
    if (in_room)
        return NULL; /* joining again changes nothing */
    int64_t by_socket = 0, by_user = 0;
    for (const room *o = rooms; o; o = o->next) {
        bool socket_in = false, user_in = false;
        for (size_t i = 0; i < o->n && !socket_in; i++) {
            socket_in |= o->m[i].conn == conn;
            user_in |= o->m[i].user == user;
        }
        by_socket += socket_in;
        by_user += user_in;
    }
    const char *scope = NULL, *option = NULL;
    int64_t limit = 0;
    if (by_socket >= rooms_per_socket)
        scope = "socket", option = "--ws-rooms-per-socket", limit = rooms_per_socket;
    else if (by_user >= rooms_per_user && !(r && has_user(r, user)))
        scope = "user", option = "--ws-rooms-per-user", limit = rooms_per_user;
    if (!scope)
        return NULL;
    snprintf(msg, n, "a %s may be in at most %lld rooms at once (%s); leave one first", scope,
             (long long)limit, option);
    return json_pack("{s:s, s:I}", "scope", scope, "limit", (json_int_t)limit);
}

/* {"room":name}: ack {room, members, slow_mode_seconds}. Blocking: the ban list and the slow
 * mode are in the database. */
static void cmd_room_join(ws_call *c)
{
    const char *name = room_arg(c);
    if (!name)
        return;
    api_worker *w = ws_call_ctx(c);
    db *d = w ? api_worker_db(w) : NULL;
    if (!d) {
        ws_call_error(c, "database_unavailable", "the database cannot be reached");
        return;
    }
    int64_t me = ws_call_user(c);
    uint64_t cid = ws_call_connection(c);
    if (store_room_banned(d, name, me)) {
        ws_call_error(c, "banned", "you are banned from this room");
        return;
    }
    int64_t slow = store_room_slow_mode(d, name);
    store_user u;
    if (slow < 0 || store_user_by_id(d, me, &u) < 0) {
        ws_call_error(c, "database_unavailable", "the database cannot be reached");
        return;
    }
    char t[40];
    conn_topic(cid, t, sizeof t);
    if (ws_call_subscribe(c, t) < 0) {
        ws_call_error(c, "gone", "the socket is closing");
        return;
    }
    room *fresh = NULL;
    pthread_mutex_lock(&rooms_mu);
    room *r = room_find(name);
    char refusal[128];
    json_t *capped = room_caps_refusal(r, cid, me, refusal, sizeof refusal);
    if (capped) {
        pthread_mutex_unlock(&rooms_mu);
        ws_call_error_details(c, "too_many_rooms", refusal, capped);
        return;
    }
    if (!r && n_rooms >= ROOMS_MAX) {
        pthread_mutex_unlock(&rooms_mu);
        ws_call_error_details(c, "too_many_rooms", "this node holds too many rooms",
                              json_pack("{s:s, s:i}", "scope", "node", "limit", ROOMS_MAX));
        return;
    }
    if (!r) {
        r = fresh = xcalloc(1, sizeof *r);
        snprintf(r->name, sizeof r->name, "%s", name);
        r->last_pushed = -1;
        r->next = rooms;
        rooms = r;
        n_rooms++;
    }
    r->slow_mode_s = slow;
    bool already = false;
    for (size_t i = 0; i < r->n; i++)
        already |= r->m[i].conn == cid;
    if (!already) {
        if (r->n == r->cap) {
            r->cap = r->cap ? r->cap * 2 : 8;
            r->m = xrealloc(r->m, r->cap * sizeof *r->m);
        }
        if (!has_user(r, me))
            r->users++;
        member *e = &r->m[r->n++];
        memset(e, 0, sizeof *e);
        e->conn = cid;
        e->user = me;
        snprintf(e->handle, sizeof e->handle, "%s", u.handle);
    }
    int64_t users = r->users;
    pthread_mutex_unlock(&rooms_mu);
    if (fresh) {
        /* outside rooms_mu (see the top of the file); the tick never frees a room whose
         * subscription is still being made */
        char topic[LIVE_ROOM_NAME_MAX + 8];
        snprintf(topic, sizeof topic, "room:%s", name);
        bus_sub *s = bus_subscribe(topic, room_deliver, fresh);
        pthread_mutex_lock(&rooms_mu);
        fresh->sub = s;
        pthread_mutex_unlock(&rooms_mu);
    }
    ws_call_ack(c, json_pack("{s:s, s:I, s:I}", "room", name, "members", (json_int_t)users,
                             "slow_mode_seconds", (json_int_t)slow));
}

static void cmd_room_leave(ws_call *c)
{
    const char *name = room_arg(c);
    if (!name)
        return;
    uint64_t scratch[1];
    pthread_mutex_lock(&rooms_mu);
    room *r = room_find(name);
    size_t n = r ? room_remove(r, ws_call_connection(c), 0, scratch, 0) : 0;
    pthread_mutex_unlock(&rooms_mu);
    if (!n) {
        ws_call_error(c, "not_member", "this socket has not joined that room");
        return;
    }
    ws_call_ack(c, json_pack("{s:s}", "room", name));
}

/* {"room":name,"text":"..."}: members only, slow mode per user; ack {id}. Inline: no database,
 * the member list and slow mode are in memory. */
static void cmd_room_send(ws_call *c)
{
    const char *name = room_arg(c);
    if (!name)
        return;
    domain_error err = {0};
    const char *text = json_string_value(json_object_get(ws_call_data(c), "text"));
    if (live_room_text_check(text, &err) < 0) {
        char msg[96];
        snprintf(msg, sizeof msg, "data.text: %s (1 to %d characters)", err.reason,
                 LIVE_ROOM_TEXT_MAX);
        ws_call_error(c, "validation_failed", msg);
        return;
    }
    int64_t me = ws_call_user(c), now = now_ms(), wait_s = 0;
    uint64_t cid = ws_call_connection(c);
    char handle[32] = "";
    pthread_mutex_lock(&rooms_mu);
    room *r = room_find(name);
    member *mine = NULL;
    int64_t last = 0;
    for (size_t i = 0; r && i < r->n; i++) {
        if (r->m[i].conn == cid)
            mine = &r->m[i];
        if (r->m[i].user == me && r->m[i].last_sent_ms > last)
            last = r->m[i].last_sent_ms;
    }
    if (mine && r->slow_mode_s > 0 && last && now - last < r->slow_mode_s * 1000)
        wait_s = (r->slow_mode_s * 1000 - (now - last) + 999) / 1000;
    if (mine && !wait_s) {
        for (size_t i = 0; i < r->n; i++)
            if (r->m[i].user == me)
                r->m[i].last_sent_ms = now;
        snprintf(handle, sizeof handle, "%s", mine->handle);
    }
    pthread_mutex_unlock(&rooms_mu);
    if (!mine) {
        ws_call_error(c, "not_member", "join the room before sending to it");
        return;
    }
    if (wait_s) {
        char msg[96];
        snprintf(msg, sizeof msg, "slow mode: wait %lld s before your next message",
                 (long long)wait_s);
        ws_call_error(c, "slow_mode", msg);
        return;
    }
    int64_t id = id_next();
    bus_publish_room(name, "room.message",
                     json_pack("{s:s, s:o, s:s, s:{s:o, s:s}, s:o}", "room", name, "id",
                               json_id(id), "text", text, "sender", "id", json_id(me), "handle",
                               handle, "sent_at", json_time(now)));
    ws_call_ack(c, json_pack("{s:o}", "id", json_id(id)));
}

/* Every --room-members-interval: drop sockets that are gone, push changed member counts, free
 * rooms left empty. */
static void members_tick(void)
{
    size_t n_live = 0;
    pthread_mutex_lock(&rooms_mu);
    room **live = xmalloc((n_rooms ? n_rooms : 1) * sizeof *live);
    for (room *r = rooms; r; r = r->next)
        if (r->sub)
            live[n_live++] = r;
    pthread_mutex_unlock(&rooms_mu);
    /* rooms are only freed below, by this thread, so the pointers stay valid */
    for (size_t k = 0; k < n_live; k++) {
        room *r = live[k];
        size_t n, n_dead = 0;
        uint64_t *conns = room_conns(r, &n);
        for (size_t i = 0; i < n; i++) {
            char t[40];
            conn_topic(conns[i], t, sizeof t);
            if (bus_subscribers(t) == 0)
                conns[n_dead++] = conns[i];
        }
        if (n_dead)
            drop_conns(r, conns, n_dead);
        free(conns);
        pthread_mutex_lock(&rooms_mu);
        int64_t users = r->users;
        bool changed = users != r->last_pushed;
        r->last_pushed = users;
        bool empty = r->n == 0;
        bus_sub *sub = NULL;
        if (empty) {
            for (room **p = &rooms; *p; p = &(*p)->next)
                if (*p == r) {
                    *p = r->next;
                    break;
                }
            n_rooms--;
            sub = r->sub;
        }
        pthread_mutex_unlock(&rooms_mu);
        if (changed && !empty)
            bus_publish_room(r->name, "room.members",
                             json_pack("{s:s, s:I}", "room", r->name, "count", (json_int_t)users));
        if (empty) {
            bus_unsubscribe(sub); /* after this no room_deliver runs for r */
            free(r->m);
            free(r);
        }
    }
    free(live);
}

static void *rooms_main(void *arg)
{
    for (;;) {
        usleep((useconds_t)(members_interval_ms * 1000));
        members_tick();
    }
    (void)arg;
    return NULL;
}

int api_live_room_members(const char *name)
{
    pthread_mutex_lock(&rooms_mu);
    room *r = room_find(name);
    int n = r ? (int)r->users : 0;
    pthread_mutex_unlock(&rooms_mu);
    return n;
}

bool api_live_presence_enabled(void)
{
    return atomic_load(&presence_on);
}

/* ---- wiring ------------------------------------------------------------------------------- */

void api_live_ws_register(void)
{
    ws_command_register("presence.subscribe", cmd_presence_subscribe, WS_CMD_BLOCKING);
    ws_command_register("presence.unsubscribe", cmd_presence_unsubscribe, WS_CMD_INLINE);
    ws_command_register("presence.set", cmd_presence_set, WS_CMD_INLINE);
    ws_command_register("room.join", cmd_room_join, WS_CMD_BLOCKING);
    ws_command_register("room.leave", cmd_room_leave, WS_CMD_INLINE);
    ws_command_register("room.send", cmd_room_send, WS_CMD_INLINE);
    ws_on_session(on_session);
}

void api_live_start(const api_env *a)
{
    if (atomic_exchange(&started, true))
        return;
    live_app = a;
    grace_ms = a->cfg->presence_grace * 1000;
    members_interval_ms = a->cfg->room_members_interval * 1000;
    rooms_per_socket = a->cfg->ws_rooms_per_socket;
    rooms_per_user = a->cfg->ws_rooms_per_user;
    atomic_store(&presence_on, a->cfg->presence);
    bus_subscribe(LIVE_CONTROL_TOPIC, control_deliver, NULL);
    pthread_t t;
    if (a->cfg->presence && pthread_create(&t, NULL, presence_main, NULL) == 0)
        pthread_detach(t);
    if (pthread_create(&t, NULL, rooms_main, NULL) == 0)
        pthread_detach(t);
}
