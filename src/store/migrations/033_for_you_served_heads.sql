-- SPDX-License-Identifier: MIT
-- Migration 33 (for_you_served_heads), both databases.
--
-- A version per served set, bumped in the transaction that adds to it (or forgets it), so that
-- an API node may keep a set in memory and trust it while the version it read with it is still
-- the database's: one primary-key read per page instead of reading the set. A signed-in
-- viewer's set is theirs across sessions (user_id, session_id 0); an anonymous session's is
-- (0, session_id). updated_at lets the anonymous rows be deleted with the sets they stand for.

CREATE TABLE for_you_served_heads (
  user_id BIGINT NOT NULL,
  session_id BIGINT NOT NULL,
  version BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (user_id, session_id)
);
