/* SPDX-License-Identifier: MIT
 *
 * A node id leased from the database (`--node-id auto`), for processes an autoscaler starts and
 * stops: each one holds a distinct id of core/id.h's 1024 for as long as it runs, and the id of a
 * process that died is free again one lease period later. A thread renews the lease on its own
 * connection. If it cannot renew for three quarters of the period (the database away, the
 * process paused), the process must stop minting ids before the lease can pass to another one:
 * on_lost is called then, with a quarter of the period still to go. The deadline is kept on this
 * machine's monotonic clock and the expiry on the database's clock, so neither depends on the
 * nodes' clocks agreeing (docs/operations.md, "Node ids").
 */
#ifndef STREAMHUB_JOBS_NODE_LEASE_H
#define STREAMHUB_JOBS_NODE_LEASE_H

#include <stddef.h>
#include <stdint.h>

typedef struct node_lease node_lease;

/* Claims the lowest free id for ttl_ms and starts renewing it every ttl_ms / 6; *node_id is
 * set. NULL with err filled when the database cannot be reached or every id is held. */
node_lease *node_lease_start(const char *database_url, int64_t ttl_ms, void (*on_lost)(void),
                             int *node_id, char *err, size_t err_size);
/* Stops renewing and gives the id back. */
void node_lease_stop(node_lease *l);

#endif
