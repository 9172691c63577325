-- SPDX-License-Identifier: MIT
-- Migration 35 (for_you_served_heads_age), both databases.
--
-- The anonymous sessions' heads are deleted by age (store_served_purge: user_id 0, updated_at
-- older than a day). Without this index that delete read every anonymous head under the writer
-- lock: 1.5-1.9 s at 783,000 heads, stalling every write behind it (docs/BENCHMARKS.md).

CREATE INDEX for_you_served_heads_age ON for_you_served_heads (user_id, updated_at);
