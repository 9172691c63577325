/* SPDX-License-Identifier: MIT
 *
 * Periodic housekeeping with its own thread and database connection: expired unfinished uploads
 * are removed with their files, and soft-deleted posts and
 * expired stories are purged for good once they are older than the retention period (so an
 * operator can still restore a post deleted by mistake, and moderators can review it), in small
 * batches so no single transaction holds the write lock for long. Every node may run it; the
 * deletes are idempotent. The uploads sweep belongs to domain/, above this layer: app.c hands it
 * in as a maintenance_sweep_fn, so jobs/ never calls up into domain/.
 */
#ifndef STREAMHUB_JOBS_MAINTENANCE_H
#define STREAMHUB_JOBS_MAINTENANCE_H

#include "store/db.h"

#include <stdint.h>

typedef struct maintenance maintenance;

/* Run at the start of every round on the maintenance connection, e.g. uploads_expire. */
typedef int (*maintenance_sweep_fn)(db *d, int64_t now_ms);

/* retention_s: how long deleted posts and expired stories are kept; interval_s: how often to
 * look; sweep (may be NULL): the domain's own housekeeping, run first in every round. */
maintenance *maintenance_start(const char *database_url, int64_t retention_s, int64_t interval_s,
                               maintenance_sweep_fn sweep, char *err, unsigned long err_size);
void maintenance_stop(maintenance *m);
/* Posts purged by this process (for /metrics). */
uint64_t maintenance_purged_total(void);

#endif
