-- Issue 15, rollup throughput: the members behind unique counts (viewers of a post, viewers of a
-- creator, active users) move from one row per member (analytics_members: one random B-tree
-- write per view and kind) to one row per (kind, key, hour) holding the hour's set as text
-- (core/uniqset.h: the ids, comma-separated, exact up to 256 members; past that a HyperLogLog
-- sketch). The rollup merges a batch's members into each set once per batch.
CREATE TABLE analytics_uniques (
  kind BIGINT NOT NULL,
  key_id BIGINT NOT NULL,
  hour BIGINT NOT NULL,
  members TEXT NOT NULL,
  PRIMARY KEY (kind, key_id, hour)
) WITHOUT ROWID;

-- Existing members become exact sets, whatever their size (a set past 256 turns into a sketch
-- the next time the rollup adds to that hour).
INSERT INTO analytics_uniques (kind, key_id, hour, members)
SELECT kind, key_id, hour, group_concat(member_id, ',')
FROM (SELECT kind, key_id, hour, member_id FROM analytics_members ORDER BY kind, key_id, hour, member_id) GROUP BY kind, key_id, hour;

DROP TABLE analytics_members;

-- SQLite: the rollup's tables keyed by their primary key alone (WITHOUT ROWID). A rowid table
-- with a composite primary key keeps two B-trees, the rows and the key's index, and every
-- upsert of the rollup's flush looks up and writes both; clustered on the key it is one, and a
-- series (one key, a range of hours) reads contiguous rows. PostgreSQL has no such choice.

CREATE TABLE analytics_post_hours_034 (
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
) WITHOUT ROWID;
INSERT INTO analytics_post_hours_034 SELECT * FROM analytics_post_hours;
DROP TABLE analytics_post_hours;
ALTER TABLE analytics_post_hours_034 RENAME TO analytics_post_hours;

CREATE TABLE analytics_creator_hours_034 (
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
) WITHOUT ROWID;
INSERT INTO analytics_creator_hours_034 SELECT * FROM analytics_creator_hours;
DROP TABLE analytics_creator_hours;
ALTER TABLE analytics_creator_hours_034 RENAME TO analytics_creator_hours;

CREATE TABLE analytics_last_views_034 (
  viewer_id BIGINT NOT NULL,
  creator_id BIGINT NOT NULL,
  post_id BIGINT NOT NULL,
  viewed_at BIGINT NOT NULL,
  PRIMARY KEY (viewer_id, creator_id)
) WITHOUT ROWID;
INSERT INTO analytics_last_views_034 SELECT * FROM analytics_last_views;
DROP TABLE analytics_last_views;
ALTER TABLE analytics_last_views_034 RENAME TO analytics_last_views;
CREATE INDEX analytics_post_hours_creator ON analytics_post_hours(creator_id, hour);
