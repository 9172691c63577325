-- SPDX-License-Identifier: MIT
-- Migration 32 (creator_snapshots), both databases.
--
-- One row per creator per UTC day (the day the 28-day window ends): the creator score in tenths
-- (0..1000), the tier after hysteresis, the rank that day, and the inputs the score was computed
-- from, so a score can be explained and the history shown (docs/analytics.md). Written by the
-- daily snapshot job, idempotently per day.

CREATE TABLE creator_snapshots (
  creator_id BIGINT NOT NULL,
  day BIGINT NOT NULL,
  score_tenths BIGINT NOT NULL,
  tier TEXT NOT NULL,
  rank BIGINT NOT NULL,
  views BIGINT NOT NULL,
  plays BIGINT NOT NULL,
  engagements BIGINT NOT NULL,
  completions BIGINT NOT NULL,
  followers_net BIGINT NOT NULL,
  posting_days BIGINT NOT NULL,
  tips BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (creator_id, day)
);
CREATE INDEX creator_snapshots_day ON creator_snapshots(day, score_tenths, creator_id);
