/* SPDX-License-Identifier: MIT
 *
 * Every bus topic name, built in one place. A topic is a plain string (core/bus.h); the names
 * below are the whole vocabulary, and no other file spells one out (docs/architecture.md,
 * "Topics": `grep -rn '"user:\|"room:\|"presence:\|"conn:\|"feed:\|"session:\|rooms:control' src`
 * finds this header only). Keeping them here is what lets a cross-node backend (Redis) map or
 * shard topics by prefix without reading the code that publishes them.
 *
 *   user:<id>        everything addressed to one account (all its sockets and event streams)
 *   session:<id>     control topic of one login session: a message there means "revoked"
 *   presence:<id>    one user's presence changes; viewers subscribe it explicitly
 *   room:<name>      a room's messages and member counts
 *   conn:<id>        what is addressed to one socket (room.removed); also its liveness probe
 *   rooms:control    bans, slow-mode changes and presence drops every node applies
 *   feed:posted, feed:forget, feed:changed   feed cache invalidations (domain/feed_cache.c)
 *
 * Builders write into a caller's buffer of TOPIC_MAX bytes (the bus refuses longer topics) and
 * return the length, or -1 when the name does not fit (only a room name can be that long).
 */
#ifndef STREAMHUB_CORE_TOPICS_H
#define STREAMHUB_CORE_TOPICS_H

#include <stdint.h>
#include <stdio.h>

#define TOPIC_MAX 128 /* bytes of a topic name with its NUL; the bus's own limit */

#define TOPIC_USER_PREFIX "user:" /* a cross-node backend tells these after a reconnect */
#define TOPIC_ROOMS_CONTROL "rooms:control"
#define TOPIC_FEED_POSTED "feed:posted"
#define TOPIC_FEED_FORGET "feed:forget"
#define TOPIC_FEED_CHANGED "feed:changed"
#define TOPIC_RECO_TRAINED "reco:trained" /* a newer model is in the object store */

static inline int topic_user(char out[TOPIC_MAX], int64_t user_id)
{
    return snprintf(out, TOPIC_MAX, TOPIC_USER_PREFIX "%lld", (long long)user_id);
}

static inline int topic_session(char out[TOPIC_MAX], int64_t session_id)
{
    return snprintf(out, TOPIC_MAX, "session:%lld", (long long)session_id);
}

static inline int topic_presence(char out[TOPIC_MAX], int64_t user_id)
{
    return snprintf(out, TOPIC_MAX, "presence:%lld", (long long)user_id);
}

static inline int topic_conn(char out[TOPIC_MAX], uint64_t connection_id)
{
    return snprintf(out, TOPIC_MAX, "conn:%llu", (unsigned long long)connection_id);
}

static inline int topic_room(char out[TOPIC_MAX], const char *room)
{
    int n = snprintf(out, TOPIC_MAX, "room:%s", room ? room : "");
    return n >= TOPIC_MAX ? -1 : n;
}

#endif
