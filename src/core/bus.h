/* SPDX-License-Identifier: MIT
 *
 * Publish/subscribe by topic: how anything live (a DM, a notification, a presence change, a
 * room message) reaches the sockets that want it. Topics are plain strings, all built by
 * core/topics.h: "user:<id>" for everything addressed to one account (all of its devices),
 * "room:<name>" for a room, "session:<id>" for the sockets and streams of one login session (a
 * control topic: a message there means the session was revoked and they must end, see
 * docs/accounts.md). A publisher never knows where the subscribers are: the in-process backend
 * delivers on the publisher's thread; the Redis backend of the scale path will PUBLISH the same
 * bytes and deliver them on its reader thread, so nothing above may assume a subscriber is on
 * this node or that delivery is synchronous.
 *
 * Backends. The functions below are one front over a table of function pointers (bus_backend),
 * the way store/db.h fronts SQLite and PostgreSQL. bus_open selects the backend once at start;
 * a process that never calls it (unit tests, tools) gets the in-process one (bus_inproc.c). A
 * Redis backend is one new file, core/bus_redis.c, filling the same table (subscribe =
 * SUBSCRIBE on a shared reader connection plus a local subscription list, publish = PUBLISH,
 * subscribers = the local list, listened = PUBSUB NUMSUB) and one line in app.c choosing it from
 * the configuration; nothing above the bus changes. The front keeps the envelope helpers and
 * the /metrics counters, so every backend counts the same way.
 *
 * Messages are opaque bytes (in practice one serialized JSON envelope
 * {"type":"...","data":{...}}), copied by the bus before publish returns. A deliver callback
 * must not block and must not subscribe or unsubscribe (it runs under the bus's read lock): enqueue
 * and wake your own thread. It may publish (the lock is reader-preferring, see bus_inproc.c).
 */
#ifndef STREAMHUB_CORE_BUS_H
#define STREAMHUB_CORE_BUS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bus_sub bus_sub; /* defined by each backend */

/* A backend's link to the other nodes, for /health/ready and /metrics. The in-process backend
 * is always connected (there is nothing to lose). */
typedef struct bus_status {
    bool connected;            /* publishes reach the cluster */
    uint64_t reconnects;       /* connections made again after a loss */
    uint64_t publish_failures; /* publishes dropped: no connection, or the command failed */
    uint64_t resyncs;          /* "resync" events delivered to local subscribers after reconnects */
} bus_status;
typedef void (*bus_deliver_fn)(void *ctx, const char *topic, const char *msg, size_t len);

/* A backend: what the front below calls. Each member has the contract of the bus_ function of
 * the same name; publish returns the deliveries on this node (the front counts them). */
typedef struct bus_backend {
    const char *name; /* "inproc", "redis" */
    /* Connects (url as the backend reads it; NULL for inproc); 0 or a negative ERR_ code with
     * err filled. Called once, by bus_open. */
    int (*open)(const char *url, char *err, size_t err_size);
    void (*close)(void);
    bus_sub *(*subscribe)(const char *topic, bus_deliver_fn fn, void *ctx);
    void (*unsubscribe)(bus_sub *s);
    int (*publish)(const char *topic, const char *msg, size_t len);
    /* subscriptions on this node */
    int (*subscribers)(const char *topic);
    /* whether anything listens anywhere (the cluster, for a cross-node backend) */
    bool (*listened)(const char *topic);
    /* optional (NULL: always connected, no counters) */
    void (*status)(bus_status *out);
    /* optional (NULL: this node is the cluster): see bus_cluster_count */
    int64_t (*cluster_count)(const char *topic, int64_t here);
    /* optional (NULL: no shared limits): see bus_rate_take */
    int (*rate_take)(const char *scope, const char *key, double rate, double burst,
                     int64_t *retry_after_ms);
    /* optional (NULL: delivery is synchronous, nothing to wait for): see bus_sync */
    void (*sync)(void);
} bus_backend;

/* The in-process backend (bus_inproc.c), the default. */
extern const bus_backend bus_inproc;
/* Redis pub/sub (bus_redis.c): url redis://[user:password@]host[:port][/db][?publishers=N]. */
extern const bus_backend bus_redis;

/* Selects the backend (NULL = in-process) and opens it; before any subscription. 0 or a
 * negative ERR_ code with err filled. */
int bus_open(const bus_backend *backend, const char *url, char *err, size_t err_size);
/* Closes the backend; the in-process one again after this. */
void bus_close(void);
/* The backend in use, for /health and logs. */
const char *bus_backend_name(void);
/* The backend's link state and counters. */
void bus_status_get(bus_status *out);

/* Subscribes ctx to topic; NULL only for an empty or oversized topic. */
bus_sub *bus_subscribe(const char *topic, bus_deliver_fn fn, void *ctx);
/* After it returns, fn is never called again for this subscription. */
void bus_unsubscribe(bus_sub *s);
/* Delivers msg to every subscriber of topic; returns how many (on this node). */
int bus_publish(const char *topic, const char *msg, size_t len);
/* {"type":type,"data":data} to "user:<user_id>"; steals data (NULL = {}). */
int bus_publish_user(int64_t user_id, const char *type, json_t *data);
/* The same to "room:<room>". */
int bus_publish_room(const char *room, const char *type, json_t *data);
/* Tells every socket and event stream of the session, on every node, that it was revoked
 * ({"type":"session.revoked","data":{"reason":reason}} on the session's control topic,
 * core/topics.h): they close. Call after commit. */
int bus_publish_session_ended(int64_t session_id, const char *reason);
/* How many subscriptions topic has on this node (read lock only): e.g. whether a socket that
 * subscribed a per-connection topic is still open. */
int bus_subscribers(const char *topic);
/* Whether anything listens to "user:<id>", so publishers can skip building a message nobody
 * reads (a notification push costs three reads inside the action's transaction). In-process
 * this asks this node; the Redis backend will answer for the cluster (PUBSUB NUMSUB). */
bool bus_user_listened(int64_t user_id);
/* A count kept per topic across the cluster (how many nodes hold a user's sockets, how many
 * users a room has): sets this node's share to here (0 withdraws it) and returns the cluster's
 * total, this node's share included; here itself on one node, -1 when the cluster cannot be
 * asked (then act as if alone). A share is a lease: renew it by calling again at least every
 * BUS_COUNT_RENEW_MS; the share of a node that died stops counting after BUS_COUNT_LEASE_MS.
 * One round trip with Redis (a Lua script, on Redis's clock). */
#define BUS_COUNT_LEASE_MS 60000
#define BUS_COUNT_RENEW_MS 20000
int64_t bus_cluster_count(const char *topic, int64_t here);
/* A token bucket shared by the cluster (a ratelimit_store_fn, core/ratelimit.h): 1 allowed,
 * 0 refused with *retry_after_ms, -1 when there is no shared store or it cannot be asked. One
 * round trip with Redis (a Lua script on Redis's clock). */
int bus_rate_take(const char *scope, const char *key, double rate, double burst,
                  int64_t *retry_after_ms);
/* Returns once every message published anywhere before the call has been delivered to this
 * node's subscribers: read-your-writes for state a node keeps from bus signals (the feed caches).
 * A write's invalidation is published, by whichever node took the write, before the write is
 * answered; a read that follows it, on any node, calls this first and cannot see the state from
 * before. In-process delivery is synchronous: nothing to wait for. Redis: one round trip on the
 * subscriber connection (see bus_redis.c), at most a second; nothing while disconnected (then
 * the client is told to re-sync anyway). */
void bus_sync(void);
/* Whether the bus reaches other nodes (a cross-node backend is selected). */
bool bus_cross_node(void);
/* Counters for /metrics. */
uint64_t bus_published(void);
uint64_t bus_delivered(void);

#endif
