-- SPDX-License-Identifier: MIT
-- Migration 3 (blocks_and_mutes), SQLite.
--
-- Blocks and mutes: one row per directed pair.

CREATE TABLE blocks (  id INTEGER PRIMARY KEY,  blocker_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,  blocked_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,  created_at BIGINT NOT NULL,  UNIQUE (blocker_id, blocked_id));
CREATE INDEX blocks_blocked ON blocks(blocked_id, blocker_id);
CREATE TABLE mutes (  id INTEGER PRIMARY KEY,  muter_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,  muted_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,  created_at BIGINT NOT NULL,  UNIQUE (muter_id, muted_id));
