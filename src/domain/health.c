/* SPDX-License-Identifier: MIT
 *
 * Health probes and counters over store/ and jobs/ for api/health.c (see health.h).
 */
#include "domain/health.h"

#include "domain/interests.h"

#include "domain/auth.h"
#include "jobs/event_log.h"
#include "jobs/maintenance.h"
#include "store/migrate.h"
#include "store/outbox.h"

bool health_ready(db *d)
{
    return d && store_applied_version(d) >= store_schema_version();
}

int health_detailed(db *d, const store_user *actor, health_db *out, domain_error *err)
{
    int rc = auth_require_role(actor, "admin", err);
    if (rc < 0)
        return rc;
    out->server_version = db_server_version(d);
    out->schema_version = store_applied_version(d);
    out->schema_expected = store_schema_version();
    out->outbox_pending = store_outbox_pending(d);
    return 0;
}

void health_counters_get(health_counters *out)
{
    out->events_written = event_log_written();
    out->events_dropped = event_log_dropped();
    out->interest_signals_queued = interests_signals_queued();
    out->interest_signals_written = interests_signals_written();
    out->interest_signals_dropped = interests_signals_dropped();
    out->posts_purged = maintenance_purged_total();
    out->db_time_us = (int64_t)db_time_us_total();
    out->db_queries = (int64_t)db_queries_total();
}
