-- SPDX-License-Identifier: MIT
-- Migration 25 (reactions_by_user), both databases.
--
-- A viewer's own reactions by post id: feed pages read what the viewer did to the posts on the
-- page as one range scan of these rows (store_viewer_states) instead of a seek per post, and the
-- For You and analytics work will read a user's reactions through it too.

CREATE INDEX reactions_user ON reactions(user_id, post_id);
