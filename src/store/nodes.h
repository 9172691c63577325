/* SPDX-License-Identifier: MIT
 *
 * SQL for node_leases: node ids leased from the database, so processes started by an autoscaler
 * never mint ids with the same node id (core/id.h). Times are milliseconds on the database's
 * clock (store_nodes_now_ms), never the caller's.
 */
#ifndef STREAMHUB_STORE_NODES_H
#define STREAMHUB_STORE_NODES_H

#include "store/db.h"

#include <stdint.h>

#define NODE_ID_COUNT 1024 /* the 10 bits of core/id.h */

/* The database's clock, milliseconds since the epoch (PostgreSQL's clock_timestamp(); SQLite's
 * is this machine's). */
int store_nodes_now_ms(db *d, int64_t *out);
/* Takes the lowest node id that is free (never leased, or its lease expired) for holder until
 * now + ttl_ms; *node_id is set. ERR_CONFLICT when all 1024 are held. */
int store_nodes_claim(db *d, const char *holder, int64_t ttl_ms, int *node_id);
/* Extends holder's lease of node_id to now + ttl_ms; ERR_NOT_FOUND when holder no longer holds
 * it (it expired and another process took it). */
int store_nodes_renew(db *d, int node_id, const char *holder, int64_t ttl_ms);
/* Gives node_id back at once (a clean shutdown). */
int store_nodes_release(db *d, int node_id, const char *holder);

#endif
