-- SPDX-License-Identifier: MIT
-- Migration 8 (content), PostgreSQL.
--
-- Circles (close-friend lists), stories (expires_at), shares/duets/stitches (source references
-- and counts), views (once per viewer per window), comment likes, and the trending key: hot_at is
-- created_at pushed later by TREND_HALF_LIFE * log2(1 + engagement), an integer that never needs
-- recomputing as time passes (see docs/social.md).

ALTER TABLE posts ADD COLUMN circle_id BIGINT;
ALTER TABLE posts ADD COLUMN expires_at BIGINT;
ALTER TABLE posts ADD COLUMN share_of BIGINT;
ALTER TABLE posts ADD COLUMN duet_of BIGINT;
ALTER TABLE posts ADD COLUMN stitch_of BIGINT;
ALTER TABLE posts ADD COLUMN share_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE posts ADD COLUMN duet_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE posts ADD COLUMN stitch_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE posts ADD COLUMN view_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE posts ADD COLUMN hot_at BIGINT NOT NULL DEFAULT 0;
UPDATE posts SET hot_at = created_at;
CREATE INDEX posts_trending ON posts(hot_at, id) WHERE visibility = 'public'   AND deleted_at IS NULL AND expires_at IS NULL;
CREATE INDEX posts_stories ON posts(author_id, expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE circles (  id BIGINT PRIMARY KEY,  owner_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,  name TEXT NOT NULL,  member_count BIGINT NOT NULL DEFAULT 0,  created_at BIGINT NOT NULL,  updated_at BIGINT NOT NULL);
CREATE INDEX circles_owner ON circles(owner_id, id);
CREATE TABLE circle_members (  id BIGINT PRIMARY KEY,  circle_id BIGINT NOT NULL REFERENCES circles(id) ON DELETE CASCADE,  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,  created_at BIGINT NOT NULL,  UNIQUE (circle_id, user_id));
CREATE INDEX circle_members_circle ON circle_members(circle_id, id);
CREATE TABLE post_views (  id BIGINT PRIMARY KEY,  post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,  viewer_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,  window_start BIGINT NOT NULL,  watch_ms BIGINT NOT NULL,  created_at BIGINT NOT NULL,  UNIQUE (post_id, viewer_id, window_start));
CREATE INDEX post_views_viewer ON post_views(viewer_id, post_id);
ALTER TABLE comments ADD COLUMN like_count BIGINT NOT NULL DEFAULT 0;
CREATE TABLE comment_likes (  id BIGINT PRIMARY KEY,  comment_id BIGINT NOT NULL REFERENCES comments(id) ON DELETE CASCADE,  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,  created_at BIGINT NOT NULL,  UNIQUE (comment_id, user_id));
