-- SPDX-License-Identifier: MIT
-- Migration 26 (post_pins), both databases.
--
-- The posts a creator pins to the top of their profile (at most PINS_MAX, domain/pins.h). A pin
-- goes with its post when the post is purged, and with its user.

CREATE TABLE post_pins (
  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
  pinned_at BIGINT NOT NULL,
  PRIMARY KEY (user_id, post_id)
);
