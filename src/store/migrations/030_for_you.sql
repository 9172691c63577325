-- SPDX-License-Identifier: MIT
-- Migration 30 (for_you), both databases.
--
-- "Not interested" marks (kind post, creator or hashtag, target the id) that For You, explore,
-- suggested and similar leave out until undone; and what For You served, per session and per
-- user, so a session never repeats a post and a signed-in user is not served one again for a few
-- days. user_id is 0 for an anonymous session (no foreign key for that reason); rows older than
-- the window are deleted when a session starts.

CREATE TABLE not_interested (
  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  target_id BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (user_id, kind, target_id)
);
CREATE TABLE for_you_served (
  session_id BIGINT NOT NULL,
  post_id BIGINT NOT NULL,
  user_id BIGINT NOT NULL,
  served_at BIGINT NOT NULL,
  PRIMARY KEY (session_id, post_id)
);
CREATE INDEX for_you_served_user ON for_you_served(user_id, served_at);
