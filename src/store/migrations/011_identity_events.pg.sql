-- SPDX-License-Identifier: MIT
-- Migration 11 (identity_events), PostgreSQL.
--
-- Verification badges, reserved old handles, and the append-only event log for analytics.

CREATE TABLE user_badges (  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,  badge TEXT NOT NULL,  granted_by BIGINT NOT NULL,  created_at BIGINT NOT NULL,  PRIMARY KEY (user_id, badge));
CREATE TABLE handle_reservations (  handle_norm TEXT PRIMARY KEY,  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,  reserved_until BIGINT NOT NULL);
CREATE TABLE events (  id BIGINT PRIMARY KEY,  actor_id BIGINT NOT NULL,  type TEXT NOT NULL,  object_type TEXT NOT NULL,  object_id BIGINT NOT NULL,  props TEXT NOT NULL,  created_at BIGINT NOT NULL);
CREATE INDEX events_actor ON events(actor_id, id);
CREATE INDEX events_type ON events(type, id);
