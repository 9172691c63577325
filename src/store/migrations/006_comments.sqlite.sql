-- SPDX-License-Identifier: MIT
-- Migration 6 (comments), SQLite.
--
-- Threaded comments (parent_id for replies), soft-deleted; the post's count moves with them.
-- comments_enabled lets an author turn comments off per post.

ALTER TABLE posts ADD COLUMN comment_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE posts ADD COLUMN comments_enabled BIGINT NOT NULL DEFAULT 1;
CREATE TABLE comments (  id INTEGER PRIMARY KEY,  post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,  author_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,  parent_id BIGINT,  body TEXT NOT NULL,  created_at BIGINT NOT NULL,  updated_at BIGINT NOT NULL,  deleted_at BIGINT);
CREATE INDEX comments_post ON comments(post_id, parent_id, id);
