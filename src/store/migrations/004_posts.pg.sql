-- SPDX-License-Identifier: MIT
-- Migration 4 (posts), PostgreSQL.
--
-- Posts (soft-deleted: deleted_at set, purged later) and their edit history.

CREATE TABLE posts (  id BIGINT PRIMARY KEY,  author_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,  type TEXT NOT NULL,  caption TEXT NOT NULL DEFAULT '',  visibility TEXT NOT NULL,  created_at BIGINT NOT NULL,  updated_at BIGINT NOT NULL,  deleted_at BIGINT);
CREATE INDEX posts_author ON posts(author_id, id);
CREATE TABLE post_edits (  id BIGINT PRIMARY KEY,  post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,  caption TEXT NOT NULL,  visibility TEXT NOT NULL,  edited_at BIGINT NOT NULL);
CREATE INDEX post_edits_post ON post_edits(post_id, id);
