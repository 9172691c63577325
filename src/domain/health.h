/* SPDX-License-Identifier: MIT
 *
 * What the health and metrics endpoints report about the layers below api/: whether the
 * database answers and is migrated, its server and schema versions, the outbox backlog, and the
 * event log's and housekeeping's counters. api/health.c renders them; it reaches neither store/
 * nor jobs/ itself. The detailed report is for admins, so its gate lives here with it.
 */
#ifndef STREAMHUB_DOMAIN_HEALTH_H
#define STREAMHUB_DOMAIN_HEALTH_H

#include "domain/errors.h"
#include "store/users.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct health_db {
    const char *server_version; /* owned by the connection */
    int schema_version;         /* applied; negative when it could not be read */
    int schema_expected;
    int64_t outbox_pending;
} health_db;

typedef struct health_counters {
    uint64_t events_written, events_dropped, posts_purged;
    uint64_t interest_signals_queued, interest_signals_written, interest_signals_dropped; /* For You's interest graph */
    int64_t db_time_us, db_queries; /* every connection's statements so far */
} health_counters;

/* True when d answers and carries every migration. Reading the schema version proves the
 * database is reachable and migrated; a bare SELECT 1 would succeed on SQLite without touching
 * the file. d may be NULL (no connection: not ready). */
bool health_ready(db *d);
/* /health/detailed: admins only (ERR_FORBIDDEN otherwise); fills out. */
int health_detailed(db *d, const store_user *actor, health_db *out, domain_error *err);
/* The process-wide counters /metrics reports. */
void health_counters_get(health_counters *out);

#endif
