/* SPDX-License-Identifier: MIT
 *
 * The presence service (docs/realtime.md, "Presence"): who is online, away or offline, as this
 * node sees its sockets. The hub reports a user's first socket opening and last one closing;
 * one thread of the service applies those changes with a grace period (a phone that reconnects
 * within --presence-grace never shows offline), persists real changes (table presence, through
 * its own database connection) and publishes them to the user's presence topic
 * (core/topics.h), which viewers subscribe explicitly. It also applies "presence.drop" from
 * the rooms control topic (a block ends both users' subscriptions to each other at once).
 *
 * Who may watch whom is domain/live.c's rule (live_presence_watchable); the socket commands
 * that subscribe are api/live_ws.c. One service per process: the hub's session hook has no
 * context argument, so the open service is the one it feeds.
 */
#ifndef STREAMHUB_SERVICES_PRESENCE_H
#define STREAMHUB_SERVICES_PRESENCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct presence_service presence_service;

typedef struct presence_options {
    const char *database_url; /* the service's own connection (copied) */
    bool enabled;             /* --presence: off means no thread, no hook, commands refused */
    int64_t grace_ms;         /* --presence-grace */
} presence_options;

/* Starts the service (its thread when enabled); NULL with err filled on failure. */
presence_service *presence_open(const presence_options *o, char *err, size_t err_size);
/* Stops the thread and frees the state; pending offline changes are not published. */
void presence_close(presence_service *p);
/* Whether presence is on (false for NULL). */
bool presence_enabled(const presence_service *p);
/* Queues a status the user chose ("online" or "away"); published if it changes anything. */
void presence_set(presence_service *p, int64_t user_id, const char *status);
/* {"user_id","status","last_seen_at"} as clients see one user's presence. */
json_t *presence_json(int64_t user_id, const char *status, int64_t last_seen_at);

#endif
