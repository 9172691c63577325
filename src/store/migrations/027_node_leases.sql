-- SPDX-License-Identifier: MIT
-- Migration 27 (node_leases), both databases.
--
-- Node ids handed out by the database (`--node-id auto`): every process that mints ids holds one
-- row here and renews it; a row whose expires_at has passed is free for the next process. The
-- times are the database's clock, so the nodes' own clocks do not decide who holds an id
-- (docs/operations.md, "Node ids").

CREATE TABLE node_leases (
  node_id INTEGER PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
