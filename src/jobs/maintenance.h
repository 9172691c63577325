/* SPDX-License-Identifier: MIT
 *
 * Periodic housekeeping with its own thread and database connection: expired unfinished uploads
 * are removed with their files, and soft-deleted posts and
 * expired stories are purged for good once they are older than the retention period (so an
 * operator can still restore a post deleted by mistake, and moderators can review it), in small
 * batches so no single transaction holds the write lock for long. Every node may run it; the
 * deletes are idempotent.
 */
#ifndef STREAMHUB_JOBS_MAINTENANCE_H
#define STREAMHUB_JOBS_MAINTENANCE_H

#include <stdint.h>

typedef struct maintenance maintenance;

/* retention_s: how long deleted posts and expired stories are kept; interval_s: how often to
 * look. */
maintenance *maintenance_start(const char *database_url, int64_t retention_s, int64_t interval_s,
                               char *err, unsigned long err_size);
void maintenance_stop(maintenance *m);
/* Posts purged by this process (for /metrics). */
uint64_t maintenance_purged_total(void);

#endif
