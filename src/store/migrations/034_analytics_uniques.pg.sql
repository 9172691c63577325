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
);

-- Existing members become exact sets, whatever their size (a set past 256 turns into a sketch
-- the next time the rollup adds to that hour).
INSERT INTO analytics_uniques (kind, key_id, hour, members)
SELECT kind, key_id, hour, string_agg(CAST(member_id AS TEXT), ',' ORDER BY member_id)
FROM analytics_members GROUP BY kind, key_id, hour;

DROP TABLE analytics_members;
