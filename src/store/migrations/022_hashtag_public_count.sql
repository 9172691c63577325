-- SPDX-License-Identifier: MIT
-- Migration 22 (hashtag_public_count), both databases.
--
-- Hashtag counts anyone may be shown: live public posts of public accounts (the tag's page and
-- search must not reveal tags used only in private, circle or followers-only posts). Kept exact
-- by store/tags.c from here on; this fills it once.

ALTER TABLE hashtags ADD COLUMN public_count BIGINT NOT NULL DEFAULT 0;
UPDATE hashtags SET public_count = (SELECT COUNT(*) FROM post_hashtags ph JOIN posts p ON p.id = ph.post_id JOIN users u ON u.id = p.author_id WHERE ph.hashtag_id = hashtags.id AND p.visibility = 'public' AND u.is_private = 0);
