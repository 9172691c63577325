/* SPDX-License-Identifier: MIT
 *
 * The rooms service (see rooms.h). Each node holding members of a room subscribes the room's
 * topic once and fans a message out to its members' sockets directly (ws_send_connections: one
 * shared frame, no bus lookup per member); each socket also subscribes its connection topic at
 * its first join, which carries what is addressed to one socket (room.removed) and tells the
 * member tick whether it is open. Keeping the member list here rather than subscribing each
 * socket to the room topic is what lets a ban remove a member at once (a socket's
 * subscriptions can only be changed from its own calls), gives exact member counts, and
 * enforces "members only" for room.send without a database read. A socket that went away is
 * noticed when a publish to its topic reaches nobody, or by the member-count tick, and is
 * dropped from the list. Bans and slow-mode changes come from REST through the rooms control
 * topic so every node applies them to the members it holds.
 *
 * Locks: never call into the bus while holding rs->mu (a room delivery holds the bus read lock
 * and takes rs->mu), so member lists are copied out before fanning out. Publishing from inside
 * a bus callback (control_deliver's room.removed) takes the bus read lock again, which the
 * bus's explicitly reader-preferring rwlock allows.
 *
 * Across nodes (--redis) a room's member count is the cluster's: each node's count of the users
 * it holds in the room is its share of a cluster count on the room's topic (bus_cluster_count),
 * written at each join and by every tick (which renews its lease), and the count pushed is the
 * total; a node whose count changed (to zero too) pushes it, so members on every node hear it.
 */
#include "services/rooms.h"

#include "core/bus.h"
#include "core/id.h"
#include "core/json.h"
#include "core/topics.h"
#include "core/util.h"
#include "ws/ws.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BAN_NOTIFY_MAX 64 /* sockets of a banned user told "room.removed" per node */

typedef struct member {
    uint64_t conn;
    int64_t user;
    int64_t last_sent_ms;
    char handle[LIVE_HANDLE_MAX];
} member;

typedef struct room {
    struct room *next;
    rooms_service *rs;
    char name[LIVE_ROOM_NAME_MAX + 1];
    bus_sub *sub; /* NULL while the joining thread subscribes */
    int64_t slow_mode_s;
    member *m;
    size_t n, cap;
    int64_t users, last_pushed;
} room;

struct rooms_service {
    rooms_options o;
    pthread_mutex_t mu; /* the room list and every room's members */
    room *rooms;
    size_t n_rooms;
    bus_sub *control;
    pthread_mutex_t tick_mu;
    pthread_cond_t tick_cv;
    bool stopping; /* under tick_mu */
    pthread_t tick;
    bool ticking;
};

static room *room_find(rooms_service *rs, const char *name)
{
    for (room *r = rs->rooms; r; r = r->next)
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
 * the removed connections into out (up to max). Caller holds rs->mu. */
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
    pthread_mutex_lock(&r->rs->mu);
    *n = r->n;
    uint64_t *out = xmalloc((r->n ? r->n : 1) * sizeof *out);
    for (size_t i = 0; i < r->n; i++)
        out[i] = r->m[i].conn;
    pthread_mutex_unlock(&r->rs->mu);
    return out;
}

static void drop_conns(room *r, const uint64_t *dead, size_t n_dead)
{
    uint64_t scratch[1];
    pthread_mutex_lock(&r->rs->mu);
    for (size_t i = 0; i < n_dead; i++)
        room_remove(r, dead[i], 0, scratch, 0);
    pthread_mutex_unlock(&r->rs->mu);
}

/* Room topic delivery: fan out to this node's members; forget sockets that are gone. */
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
    char t[TOPIC_MAX];
    topic_conn(t, conn);
    json_t *env = json_pack("{s:s, s:o}", "type", type, "data", data);
    char *text = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    if (text)
        bus_publish(t, text, strlen(text));
    free(text);
}

/* {"type":"room.slow_mode"|"room.ban","data":{"room","user_id","value"}} or
 * {"type":"presence.drop","data":{"user_id","other_id"}}: a ban's value is always 1 (the
 * readers ignore it) and a slow-mode change names user "0". */
static json_t *control_envelope(const live_change *change)
{
    if (change->kind == LIVE_PRESENCE_DROP)
        return json_pack("{s:s, s:{s:o, s:o}}", "type", "presence.drop", "data", "user_id",
                         json_id(change->user_id), "other_id", json_id(change->other_id));
    bool ban = change->kind == LIVE_ROOM_BAN;
    return json_pack("{s:s, s:{s:s, s:o, s:I}}", "type", ban ? "room.ban" : "room.slow_mode",
                     "data", "room", change->room, "user_id", json_id(change->user_id), "value",
                     (json_int_t)(ban ? 1 : change->value));
}

void rooms_control_publish(const live_change *change)
{
    json_t *env = control_envelope(change);
    char *text = env ? json_dumps(env, JSON_COMPACT) : NULL;
    json_decref(env);
    if (text)
        bus_publish(TOPIC_ROOMS_CONTROL, text, strlen(text));
    free(text);
}

/* The rooms control topic: bans and slow-mode changes made through REST on any node
 * ("presence.drop" is the presence service's). */
static void control_deliver(void *ctx, const char *topic, const char *msg, size_t len)
{
    rooms_service *rs = ctx;
    json_t *env = json_loadb(msg, len, 0, NULL);
    const char *type = json_string_value(json_object_get(env, "type"));
    json_t *data = json_object_get(env, "data");
    const char *name = json_string_value(json_object_get(data, "room"));
    int64_t user = 0;
    id_parse(json_string_value(json_object_get(data, "user_id")), &user);
    int64_t value = json_integer_value(json_object_get(data, "value"));
    if (!type || !name) {
        json_decref(env);
        return;
    }
    uint64_t removed[BAN_NOTIFY_MAX];
    size_t n_removed = 0;
    pthread_mutex_lock(&rs->mu);
    room *r = room_find(rs, name);
    if (r && !strcmp(type, "room.slow_mode"))
        r->slow_mode_s = value;
    else if (r && !strcmp(type, "room.ban"))
        n_removed = room_remove(r, 0, user, removed, BAN_NOTIFY_MAX);
    pthread_mutex_unlock(&rs->mu);
    for (size_t i = 0; i < n_removed && i < BAN_NOTIFY_MAX; i++)
        send_to_conn(removed[i], "room.removed",
                     json_pack("{s:s, s:s}", "room", name, "reason", "banned"));
    json_decref(env);
    (void)topic;
}

/* Whether conn (and user) may join r (NULL: a room not held yet), by the caps of domain/live.c.
 * The count walks every membership of the node, which the caps and --ws-room-join-rate keep
 * small and rare; a socket that closed still counts until the member tick drops it (at most
 * the members interval). Caller holds rs->mu. */
static bool caps_allow(rooms_service *rs, const room *r, uint64_t conn, int64_t user,
                       live_room_refusal *refusal)
{
    bool in_room = false;
    for (size_t i = 0; r && i < r->n; i++)
        in_room |= r->m[i].conn == conn;
    if (in_room)
        return true; /* joining again changes nothing */
    int64_t by_socket = 0, by_user = 0;
    for (const room *o = rs->rooms; o; o = o->next) {
        bool socket_in = false, user_in = false;
        for (size_t i = 0; i < o->n && !socket_in; i++) {
            socket_in |= o->m[i].conn == conn;
            user_in |= o->m[i].user == user;
        }
        by_socket += socket_in;
        by_user += user_in;
    }
    return live_room_may_join(&rs->o.caps, by_socket, by_user, r && has_user(r, user), refusal);
}

/* The room's member count across the cluster, this node's share set to local (local itself on
 * one node, or when the cluster cannot be asked). */
static int64_t cluster_members(const char *name, int64_t local)
{
    char topic[TOPIC_MAX];
    if (topic_room(topic, name) < 0)
        return local;
    int64_t total = bus_cluster_count(topic, local);
    return total < 0 ? local : total;
}

int rooms_join(rooms_service *rs, const char *name, uint64_t conn, int64_t user,
               const live_room_entry *entry, int64_t *members, live_room_refusal *refusal)
{
    room *fresh = NULL;
    pthread_mutex_lock(&rs->mu);
    room *r = room_find(rs, name);
    if (!caps_allow(rs, r, conn, user, refusal)) {
        pthread_mutex_unlock(&rs->mu);
        return ERR_TOO_LARGE;
    }
    if (!r && rs->n_rooms >= ROOMS_MAX) {
        pthread_mutex_unlock(&rs->mu);
        *refusal = (live_room_refusal){"node", NULL, ROOMS_MAX};
        return ERR_TOO_LARGE;
    }
    if (!r) {
        r = fresh = xcalloc(1, sizeof *r);
        r->rs = rs;
        snprintf(r->name, sizeof r->name, "%s", name);
        r->last_pushed = -1;
        r->next = rs->rooms;
        rs->rooms = r;
        rs->n_rooms++;
    }
    r->slow_mode_s = entry->slow_mode_s;
    bool already = false;
    for (size_t i = 0; i < r->n; i++)
        already |= r->m[i].conn == conn;
    if (!already) {
        if (r->n == r->cap) {
            r->cap = r->cap ? r->cap * 2 : 8;
            r->m = xrealloc(r->m, r->cap * sizeof *r->m);
        }
        if (!has_user(r, user))
            r->users++;
        member *e = &r->m[r->n++];
        memset(e, 0, sizeof *e);
        e->conn = conn;
        e->user = user;
        snprintf(e->handle, sizeof e->handle, "%s", entry->handle);
    }
    int64_t local = r->users;
    pthread_mutex_unlock(&rs->mu);
    *members = cluster_members(name, local);
    if (fresh) {
        /* outside rs->mu (see the top of the file); the tick never frees a room whose
         * subscription is still being made */
        char topic[TOPIC_MAX];
        topic_room(topic, name);
        bus_sub *s = bus_subscribe(topic, room_deliver, fresh);
        pthread_mutex_lock(&rs->mu);
        fresh->sub = s;
        pthread_mutex_unlock(&rs->mu);
    }
    return 0;
}

int rooms_leave(rooms_service *rs, const char *name, uint64_t conn)
{
    uint64_t scratch[1];
    pthread_mutex_lock(&rs->mu);
    room *r = room_find(rs, name);
    size_t n = r ? room_remove(r, conn, 0, scratch, 0) : 0;
    pthread_mutex_unlock(&rs->mu);
    return n ? 0 : ERR_NOT_FOUND;
}

int rooms_send(rooms_service *rs, const char *name, uint64_t conn, int64_t user, const char *text,
               int64_t *id, int64_t *wait_s)
{
    int64_t now = now_ms();
    char handle[LIVE_HANDLE_MAX] = "";
    *wait_s = 0;
    pthread_mutex_lock(&rs->mu);
    room *r = room_find(rs, name);
    member *mine = NULL;
    int64_t last = 0;
    for (size_t i = 0; r && i < r->n; i++) {
        if (r->m[i].conn == conn)
            mine = &r->m[i];
        if (r->m[i].user == user && r->m[i].last_sent_ms > last)
            last = r->m[i].last_sent_ms;
    }
    if (mine)
        *wait_s = live_room_slow_wait(r->slow_mode_s, last, now);
    if (mine && !*wait_s) {
        for (size_t i = 0; i < r->n; i++)
            if (r->m[i].user == user)
                r->m[i].last_sent_ms = now;
        snprintf(handle, sizeof handle, "%s", mine->handle);
    }
    pthread_mutex_unlock(&rs->mu);
    if (!mine)
        return ERR_NOT_FOUND;
    if (*wait_s)
        return ERR_RATE_LIMITED;
    *id = id_next();
    bus_publish_room(name, "room.message",
                     json_pack("{s:s, s:o, s:s, s:{s:o, s:s}, s:o}", "room", name, "id",
                               json_id(*id), "text", text, "sender", "id", json_id(user), "handle",
                               handle, "sent_at", json_time(now)));
    return 0;
}

int rooms_members(rooms_service *rs, const char *name)
{
    if (!rs)
        return 0;
    pthread_mutex_lock(&rs->mu);
    room *r = room_find(rs, name);
    int64_t n = r ? r->users : 0;
    pthread_mutex_unlock(&rs->mu);
    return (int)(bus_cross_node() ? cluster_members(name, n) : n);
}

/* Every members interval: drop sockets that are gone, push changed member counts, free rooms
 * left empty. */
static void members_tick(rooms_service *rs)
{
    size_t n_live = 0;
    bool cross = bus_cross_node();
    pthread_mutex_lock(&rs->mu);
    room **live = xmalloc((rs->n_rooms ? rs->n_rooms : 1) * sizeof *live);
    for (room *r = rs->rooms; r; r = r->next)
        if (r->sub)
            live[n_live++] = r;
    pthread_mutex_unlock(&rs->mu);
    /* rooms are only freed below, by this thread, so the pointers stay valid */
    for (size_t k = 0; k < n_live; k++) {
        room *r = live[k];
        size_t n, n_dead = 0;
        uint64_t *conns = room_conns(r, &n);
        for (size_t i = 0; i < n; i++) {
            char t[TOPIC_MAX];
            topic_conn(t, conns[i]);
            if (bus_subscribers(t) == 0)
                conns[n_dead++] = conns[i];
        }
        if (n_dead)
            drop_conns(r, conns, n_dead);
        free(conns);
        pthread_mutex_lock(&rs->mu);
        int64_t users = r->users;
        bool changed = users != r->last_pushed;
        r->last_pushed = users;
        bool empty = r->n == 0;
        bus_sub *sub = NULL;
        if (empty) {
            for (room **p = &rs->rooms; *p; p = &(*p)->next)
                if (*p == r) {
                    *p = r->next;
                    break;
                }
            rs->n_rooms--;
            sub = r->sub;
        }
        pthread_mutex_unlock(&rs->mu);
        /* across nodes every tick writes this node's share: it renews the lease, and a join
         * that raced the tick with an older count is corrected within one tick */
        int64_t count = changed || cross ? cluster_members(r->name, empty ? 0 : users) : users;
        if (changed && (!empty || cross)) /* across nodes, members elsewhere hear the drop */
            bus_publish_room(r->name, "room.members",
                             json_pack("{s:s, s:I}", "room", r->name, "count", (json_int_t)count));
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
    rooms_service *rs = arg;
    pthread_mutex_lock(&rs->tick_mu);
    /* across nodes the tick also renews this node's shares of the member counts, whose leases
     * must not lapse between two ticks */
    int64_t period = rs->o.members_interval_ms;
    if (bus_cross_node() && period > BUS_COUNT_RENEW_MS)
        period = BUS_COUNT_RENEW_MS;
    while (!rs->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + period % 1000 * 1000000L;
        ts.tv_sec += period / 1000 + ns / 1000000000L;
        ts.tv_nsec = ns % 1000000000L;
        while (!rs->stopping && pthread_cond_timedwait(&rs->tick_cv, &rs->tick_mu, &ts) == 0) {
        }
        if (rs->stopping)
            break;
        pthread_mutex_unlock(&rs->tick_mu);
        members_tick(rs);
        pthread_mutex_lock(&rs->tick_mu);
    }
    pthread_mutex_unlock(&rs->tick_mu);
    return NULL;
}

rooms_service *rooms_open(const rooms_options *o, char *err, size_t err_size)
{
    rooms_service *rs = xcalloc(1, sizeof *rs);
    rs->o = *o;
    pthread_mutex_init(&rs->mu, NULL);
    pthread_mutex_init(&rs->tick_mu, NULL);
    pthread_cond_init(&rs->tick_cv, NULL);
    if (pthread_create(&rs->tick, NULL, rooms_main, rs) != 0) {
        snprintf(err, err_size, "cannot start the room members thread");
        rooms_close(rs);
        return NULL;
    }
    rs->ticking = true;
    rs->control = bus_subscribe(TOPIC_ROOMS_CONTROL, control_deliver, rs);
    return rs;
}

void rooms_close(rooms_service *rs)
{
    if (!rs)
        return;
    bus_unsubscribe(rs->control);
    if (rs->ticking) {
        pthread_mutex_lock(&rs->tick_mu);
        rs->stopping = true;
        pthread_cond_signal(&rs->tick_cv);
        pthread_mutex_unlock(&rs->tick_mu);
        pthread_join(rs->tick, NULL);
    }
    for (room *r = rs->rooms, *next; r; r = next) {
        next = r->next;
        bus_unsubscribe(r->sub);
        free(r->m);
        free(r);
    }
    pthread_cond_destroy(&rs->tick_cv);
    pthread_mutex_destroy(&rs->tick_mu);
    pthread_mutex_destroy(&rs->mu);
    free(rs);
}
