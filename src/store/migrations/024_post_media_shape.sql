-- SPDX-License-Identifier: MIT
-- Migration 24 (post_media_shape), both databases.
--
-- The shape of a post's media (duration in ms, upright width and height), copied onto the post
-- when the media becomes ready, so players can size themselves before loading and lists read
-- it with the post at no extra query. And which messages carry which media, so a DM attachment
-- that becomes ready is announced to its conversation without scanning messages.

ALTER TABLE posts ADD COLUMN media_duration_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE posts ADD COLUMN media_width BIGINT NOT NULL DEFAULT 0;
ALTER TABLE posts ADD COLUMN media_height BIGINT NOT NULL DEFAULT 0;
CREATE TABLE message_attachments (  media_id BIGINT NOT NULL,  message_id BIGINT NOT NULL,  PRIMARY KEY (media_id, message_id));
