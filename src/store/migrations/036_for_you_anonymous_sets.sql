-- SPDX-License-Identifier: MIT
-- Migration 36 (for_you_anonymous_sets), both databases.
--
-- An anonymous session's served set moves into its head row: posts holds the ids served in it
-- ("1,2,3", NULL for a signed-in viewer's head, whose set stays in for_you_served with the
-- time of each item for the two-day window). One row written per anonymous page instead of one
-- per item plus the head, and one row deleted per session when it ages out (anonymous pages are
-- most of For You's traffic and were most of its writes). Anonymous rows already in
-- for_you_served are left to age out through the purge.

ALTER TABLE for_you_served_heads ADD COLUMN posts TEXT;
