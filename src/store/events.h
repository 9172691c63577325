/* SPDX-License-Identifier: MIT
 *
 * The append-only event log (who did what to which object, when, with a few properties), read
 * later by analytics and recommendations. Rows arrive in batches from jobs/event_log.c.
 */
#ifndef STREAMHUB_STORE_EVENTS_H
#define STREAMHUB_STORE_EVENTS_H

#include "store/db.h"

#include <stdint.h>

typedef struct store_event {
    int64_t id;
    int64_t actor_id;
    char type[24];
    char object_type[16];
    int64_t object_id;
    char props[256]; /* a small JSON object */
    int64_t created_at;
} store_event;

/* Inserts n events in one transaction. */
int store_events_append(db *d, const store_event *events, int n);
/* Newest first, ids below before_id; actor_id 0 and type "" mean any. */
int store_events_list(db *d, int64_t actor_id, const char *type, int64_t before_id,
                      store_event *out, int max);

/* Newest first, ids below before_id: the events about posts (object_type "post") but those of
 * type except_type, filtered in the query. The recommender's training reads the log this way:
 * For You's impressions, most of the log under load, are no signal to it. */
int store_events_on_posts(db *d, const char *except_type, int64_t before_id, store_event *out,
                          int max);

/* Reads up to max rows of a statement that selects (id, actor_id, type, object_type, object_id,
 * props, created_at), then resets it; returns the count. */
int store_events_read(db_stmt *s, store_event *out, int max);

#endif
