/* SPDX-License-Identifier: MIT
 *
 * The message outbox: emails and texts are written in the same database as the change that
 * caused them and delivered afterwards by a worker, so a crash never loses a message and a
 * failing gateway never fails the request. Delivery is at-least-once: a row is leased while it is
 * being sent, and a lease that runs out (the sender died) makes the row due again.
 */
#ifndef STREAMHUB_STORE_OUTBOX_H
#define STREAMHUB_STORE_OUTBOX_H

#include "store/db.h"

#include <stdint.h>

typedef struct store_outbox_msg {
    int64_t id;
    char channel[16];   /* "email" or "sms" */
    char recipient[256];
    char template_name[48];
    char *payload;      /* JSON text; owned by the struct when read back (free it) */
    int64_t attempts;
    char traceparent[64]; /* of the span that queued it; "" when none */
} store_outbox_msg;

/* traceparent: the W3C trace context of whoever queues it, or NULL. */
int store_outbox_insert(db *d, int64_t id, const char *channel, const char *recipient,
                        const char *template_name, const char *payload, int64_t now,
                        const char *traceparent);
/* Leases up to max due messages for lease_ms; returns the count or a negative ERR_*. */
int store_outbox_claim(db *d, int64_t now, int64_t lease_ms, store_outbox_msg *out, int max);
int store_outbox_sent(db *d, int64_t id, int64_t now);
/* Schedules another attempt at next_at, or marks the message failed when next_at is 0. */
int store_outbox_retry(db *d, int64_t id, int64_t next_at, const char *error);
int64_t store_outbox_pending(db *d);

#endif
