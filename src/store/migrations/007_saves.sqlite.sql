-- SPDX-License-Identifier: MIT
-- Migration 7 (saves), SQLite.
--
-- Saves: private bookmarks, one per user and post; the post's count moves with them.

ALTER TABLE posts ADD COLUMN save_count BIGINT NOT NULL DEFAULT 0;
CREATE TABLE saves (  id INTEGER PRIMARY KEY,  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,  post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,  created_at BIGINT NOT NULL,  UNIQUE (user_id, post_id));
CREATE INDEX saves_user ON saves(user_id, id);
