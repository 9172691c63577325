-- SPDX-License-Identifier: MIT
-- Migration 16 (post_media), both databases.
--
-- Posts carrying media (video, reel, image): shown to others once the media is ready.

ALTER TABLE posts ADD COLUMN media_id BIGINT;
ALTER TABLE posts ADD COLUMN media_ready BIGINT NOT NULL DEFAULT 0;
CREATE INDEX posts_media ON posts(media_id) WHERE media_id IS NOT NULL;
