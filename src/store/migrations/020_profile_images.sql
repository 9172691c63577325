-- SPDX-License-Identifier: MIT
-- Migration 20 (profile_images), both databases.
--
-- Avatars and covers: the user's own ready image media (store_media_delete clears them with the
-- media, so no foreign key is needed).

ALTER TABLE users ADD COLUMN avatar_media_id BIGINT;
ALTER TABLE users ADD COLUMN cover_media_id BIGINT;
