-- SPDX-License-Identifier: MIT
-- Migration 9 (hashtags_mentions), PostgreSQL.
--
-- Hashtags (normalized lowercase, with a count of live posts) and mentions parsed from
-- captions; post_hashtags is read by tag, newest post first.

CREATE TABLE hashtags (  id BIGINT PRIMARY KEY,  tag TEXT NOT NULL UNIQUE,  post_count BIGINT NOT NULL DEFAULT 0,  created_at BIGINT NOT NULL);
CREATE TABLE post_hashtags (  hashtag_id BIGINT NOT NULL REFERENCES hashtags(id) ON DELETE CASCADE,  post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,  PRIMARY KEY (hashtag_id, post_id));
CREATE INDEX post_hashtags_post ON post_hashtags(post_id);
CREATE TABLE post_mentions (  post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,  PRIMARY KEY (post_id, user_id));
