-- SPDX-License-Identifier: MIT
-- Migration 15 (media), SQLite.
--
-- Media (store/media.c): one row per uploaded file, its sniffed type, what ffprobe found and
-- where processing stands; the files live under DATA_DIR/media/<id>/.

CREATE TABLE media (  id INTEGER PRIMARY KEY,  owner_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,  kind TEXT NOT NULL,  mime TEXT NOT NULL,  filename TEXT NOT NULL,  size BIGINT NOT NULL,  state TEXT NOT NULL,  progress BIGINT NOT NULL DEFAULT 0,  error TEXT,  probe TEXT,  renditions TEXT,  created_at BIGINT NOT NULL,  updated_at BIGINT NOT NULL);
CREATE INDEX media_owner ON media(owner_id, id);
