-- SPDX-License-Identifier: MIT
-- Migration 5 (reactions), PostgreSQL.
--
-- Reactions: one per user and post (changing the type replaces it); the post's count moves in
-- the same transaction.

ALTER TABLE posts ADD COLUMN reaction_count BIGINT NOT NULL DEFAULT 0;
CREATE TABLE reactions (  id BIGINT PRIMARY KEY,  post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,  type TEXT NOT NULL,  created_at BIGINT NOT NULL,  UNIQUE (post_id, user_id));
CREATE INDEX reactions_post ON reactions(post_id, id);
