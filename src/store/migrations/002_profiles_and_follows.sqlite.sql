-- SPDX-License-Identifier: MIT
-- Migration 2 (profiles_and_follows), SQLite.
--
-- Profiles and the follow graph. Counters live on the user row and change in the same
-- transaction as the edge, so they stay exact under concurrency.

ALTER TABLE users ADD COLUMN bio TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN links TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN is_private BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN allow_duets BIGINT NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN allow_stitches BIGINT NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN allow_comments BIGINT NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN default_visibility TEXT NOT NULL DEFAULT 'public';
ALTER TABLE users ADD COLUMN followers_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN following_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN posts_count BIGINT NOT NULL DEFAULT 0;
CREATE TABLE follows (  id INTEGER PRIMARY KEY,  follower_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,  followee_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,  created_at BIGINT NOT NULL,  UNIQUE (follower_id, followee_id));
CREATE INDEX follows_followee ON follows(followee_id, id);
CREATE INDEX follows_follower ON follows(follower_id, id);
CREATE TABLE follow_requests (  id INTEGER PRIMARY KEY,  requester_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,  target_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,  created_at BIGINT NOT NULL,  UNIQUE (requester_id, target_id));
CREATE INDEX follow_requests_target ON follow_requests(target_id, id);
