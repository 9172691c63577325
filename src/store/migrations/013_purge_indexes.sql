-- SPDX-License-Identifier: MIT
-- Migration 13 (purge_indexes), both databases.
--
-- Indexes for the purge of soft-deleted posts and expired stories (jobs/maintenance.c).

CREATE INDEX posts_deleted ON posts(deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX posts_expiry ON posts(expires_at) WHERE expires_at IS NOT NULL;
