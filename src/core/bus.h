/* SPDX-License-Identifier: MIT
 *
 * Publish/subscribe by topic: how anything live (a DM, a notification, a presence change, a
 * room message) reaches the sockets that want it. Topics are plain strings: "user:<id>" for
 * everything addressed to one account (all of its devices), "room:<name>" for a room,
 * "session:<id>" for the sockets and streams of one login session (a control topic: a message
 * there means the session was revoked and they must end, see docs/accounts.md). A
 * publisher never knows where the subscribers are: today the bus is in-process and delivers on
 * the publisher's thread; the Redis backend of the scale path will PUBLISH the same bytes and
 * deliver them on its reader thread, so nothing above may assume a subscriber is on this node
 * or that delivery is synchronous.
 *
 * Messages are opaque bytes (in practice one serialized JSON envelope
 * {"type":"...","data":{...}}), copied by the bus before publish returns. A deliver callback
 * must not block and must not subscribe or unsubscribe (it runs under the bus's read lock): enqueue
 * and wake your own thread. It may publish (the lock is reader-preferring, see bus.c).
 */
#ifndef STREAMHUB_CORE_BUS_H
#define STREAMHUB_CORE_BUS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bus_sub bus_sub;
typedef void (*bus_deliver_fn)(void *ctx, const char *topic, const char *msg, size_t len);

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
/* "session:<session_id>": the control topic of one login session. */
#define BUS_SESSION_TOPIC_LEN 32
void bus_session_topic(int64_t session_id, char out[BUS_SESSION_TOPIC_LEN]);
/* Tells every socket and event stream of the session, on every node, that it was revoked
 * ({"type":"session.revoked","data":{"reason":reason}}): they close. Call after commit. */
int bus_publish_session_ended(int64_t session_id, const char *reason);
/* How many subscriptions topic has on this node (read lock only): e.g. whether a socket that
 * subscribed a per-connection topic is still open. */
int bus_subscribers(const char *topic);
/* Whether anything listens to "user:<id>", so publishers can skip building a message nobody
 * reads (a notification push costs three reads inside the action's transaction). In-process
 * this asks this node; the Redis backend will answer for the cluster (PUBSUB NUMSUB). */
bool bus_user_listened(int64_t user_id);
/* Counters for /metrics. */
uint64_t bus_published(void);
uint64_t bus_delivered(void);

#endif
