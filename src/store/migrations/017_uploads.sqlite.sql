-- SPDX-License-Identifier: MIT
-- Migration 17 (uploads), SQLite.
--
-- Resumable uploads (tus): the bytes so far live in DATA_DIR/uploads/<id>.part; offset is what
-- has been written and fsynced, so a restart resumes exactly there.

CREATE TABLE uploads (  id INTEGER PRIMARY KEY,  owner_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,  length BIGINT,  offset_bytes BIGINT NOT NULL DEFAULT 0,  metadata TEXT NOT NULL,  filename TEXT NOT NULL,  state TEXT NOT NULL,  media_id BIGINT,  created_at BIGINT NOT NULL,  expires_at BIGINT NOT NULL);
CREATE INDEX uploads_owner ON uploads(owner_id, state);
CREATE INDEX uploads_expiry ON uploads(expires_at) WHERE state = 'uploading';
