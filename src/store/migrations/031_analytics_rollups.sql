-- SPDX-License-Identifier: MIT
-- Migration 31 (analytics_rollups), both databases.
--
-- Hourly rollups of the event log (docs/analytics.md): per post, per creator and for the
-- platform (scope 0). Days, in any time zone offset, are sums of hours at read time, so one set
-- of rows answers every day boundary. Counters only ever grow by what one batch of events adds,
-- in the same transaction that moves the watermark past those events: a batch is folded once or
-- not at all. Unique viewers and active users need the members themselves
-- (analytics_members: kind 1 = viewer of a post, 2 = viewer of a creator, 3 = active user),
-- which also give exact distinct counts over a day of another time zone.

CREATE TABLE analytics_watermarks (
  name TEXT PRIMARY KEY,
  last_event_id BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE analytics_post_hours (
  post_id BIGINT NOT NULL,
  hour BIGINT NOT NULL,
  creator_id BIGINT NOT NULL,
  views BIGINT NOT NULL DEFAULT 0,
  plays BIGINT NOT NULL DEFAULT 0,
  viewers BIGINT NOT NULL DEFAULT 0,
  watch_ms BIGINT NOT NULL DEFAULT 0,
  completions BIGINT NOT NULL DEFAULT 0,
  src_for_you BIGINT NOT NULL DEFAULT 0,
  src_following BIGINT NOT NULL DEFAULT 0,
  src_profile BIGINT NOT NULL DEFAULT 0,
  src_search BIGINT NOT NULL DEFAULT 0,
  src_hashtag BIGINT NOT NULL DEFAULT 0,
  src_share BIGINT NOT NULL DEFAULT 0,
  src_explore BIGINT NOT NULL DEFAULT 0,
  src_other BIGINT NOT NULL DEFAULT 0,
  reach_10 BIGINT NOT NULL DEFAULT 0,
  reach_20 BIGINT NOT NULL DEFAULT 0,
  reach_30 BIGINT NOT NULL DEFAULT 0,
  reach_40 BIGINT NOT NULL DEFAULT 0,
  reach_50 BIGINT NOT NULL DEFAULT 0,
  reach_60 BIGINT NOT NULL DEFAULT 0,
  reach_70 BIGINT NOT NULL DEFAULT 0,
  reach_80 BIGINT NOT NULL DEFAULT 0,
  reach_90 BIGINT NOT NULL DEFAULT 0,
  likes BIGINT NOT NULL DEFAULT 0,
  unlikes BIGINT NOT NULL DEFAULT 0,
  comments BIGINT NOT NULL DEFAULT 0,
  shares BIGINT NOT NULL DEFAULT 0,
  saves BIGINT NOT NULL DEFAULT 0,
  unsaves BIGINT NOT NULL DEFAULT 0,
  follows BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (post_id, hour)
);
CREATE INDEX analytics_post_hours_creator ON analytics_post_hours(creator_id, hour);

CREATE TABLE analytics_creator_hours (
  creator_id BIGINT NOT NULL,
  hour BIGINT NOT NULL,
  views BIGINT NOT NULL DEFAULT 0,
  plays BIGINT NOT NULL DEFAULT 0,
  viewers BIGINT NOT NULL DEFAULT 0,
  watch_ms BIGINT NOT NULL DEFAULT 0,
  completions BIGINT NOT NULL DEFAULT 0,
  profile_views BIGINT NOT NULL DEFAULT 0,
  followers_gained BIGINT NOT NULL DEFAULT 0,
  followers_lost BIGINT NOT NULL DEFAULT 0,
  likes BIGINT NOT NULL DEFAULT 0,
  comments BIGINT NOT NULL DEFAULT 0,
  shares BIGINT NOT NULL DEFAULT 0,
  saves BIGINT NOT NULL DEFAULT 0,
  posts BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (creator_id, hour)
);

CREATE TABLE analytics_platform_hours (
  scope BIGINT NOT NULL,
  hour BIGINT NOT NULL,
  events BIGINT NOT NULL DEFAULT 0,
  active_users BIGINT NOT NULL DEFAULT 0,
  views BIGINT NOT NULL DEFAULT 0,
  plays BIGINT NOT NULL DEFAULT 0,
  watch_ms BIGINT NOT NULL DEFAULT 0,
  uploads BIGINT NOT NULL DEFAULT 0,
  messages BIGINT NOT NULL DEFAULT 0,
  follows BIGINT NOT NULL DEFAULT 0,
  likes BIGINT NOT NULL DEFAULT 0,
  comments BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (scope, hour)
);

CREATE TABLE analytics_members (
  kind BIGINT NOT NULL,
  key_id BIGINT NOT NULL,
  hour BIGINT NOT NULL,
  member_id BIGINT NOT NULL,
  PRIMARY KEY (kind, key_id, hour, member_id)
);

-- The post a viewer last watched of a creator: a follow of that creator within a day of it is
-- credited to the post ("follows gained").
CREATE TABLE analytics_last_views (
  viewer_id BIGINT NOT NULL,
  creator_id BIGINT NOT NULL,
  post_id BIGINT NOT NULL,
  viewed_at BIGINT NOT NULL,
  PRIMARY KEY (viewer_id, creator_id)
);
