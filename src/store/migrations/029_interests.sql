-- SPDX-License-Identifier: MIT
-- Migration 29 (interests), both databases.
--
-- The interest graph of For You (docs/discovery.md): one row per user and (kind, item), kind
-- being topic, type (content type), style (engagement style), hour (UTC hour of activity) or
-- creator. weight is in thousandths as of updated_at; readers decay it by the half-life, and a
-- signal writes back the decayed weight plus its own, so nothing needs recomputing as time passes.

CREATE TABLE user_interests (
  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  item TEXT NOT NULL,
  weight BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (user_id, kind, item)
);
