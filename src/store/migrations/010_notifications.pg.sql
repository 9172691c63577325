-- SPDX-License-Identifier: MIT
-- Migration 10 (notifications), PostgreSQL.
--
-- Notifications: one row per event, except groupable events (likes of one post, follows) which
-- bump the recipient's unread row with the same group_key (a unique partial index makes that an
-- upsert); seq orders the list and moves to the top on each bump; actor_id is the newest actor.

CREATE TABLE notifications (  id BIGINT PRIMARY KEY,  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,  type TEXT NOT NULL,  actor_id BIGINT NOT NULL,  actor_count BIGINT NOT NULL DEFAULT 1,  post_id BIGINT,  comment_id BIGINT,  group_key TEXT,  seq BIGINT NOT NULL,  created_at BIGINT NOT NULL,  updated_at BIGINT NOT NULL,  read_at BIGINT);
CREATE UNIQUE INDEX notifications_seq ON notifications(user_id, seq);
CREATE INDEX notifications_unread ON notifications(user_id) WHERE read_at IS NULL;
CREATE UNIQUE INDEX notifications_group ON notifications(user_id, group_key)   WHERE read_at IS NULL;
CREATE TABLE notification_prefs (  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,  type TEXT NOT NULL,  enabled BIGINT NOT NULL,  PRIMARY KEY (user_id, type));
