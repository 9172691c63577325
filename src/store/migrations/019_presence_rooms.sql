-- SPDX-License-Identifier: MIT
-- Migration 19 (presence_rooms), both databases.
--
-- Realtime (issue 5, live share): presence as last persisted (status and last seen; the
-- coalescing lives in memory), per-room settings and bans. Rooms themselves need no row: any
-- valid name is a room, and membership is socket state, not data.

CREATE TABLE presence (  user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,  status TEXT NOT NULL,  last_seen_at BIGINT NOT NULL,  updated_at BIGINT NOT NULL);
CREATE TABLE rooms (  name TEXT PRIMARY KEY,  slow_mode_seconds BIGINT NOT NULL DEFAULT 0,  updated_by BIGINT,  updated_at BIGINT NOT NULL);
CREATE TABLE room_bans (  room TEXT NOT NULL,  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,  banned_by BIGINT,  created_at BIGINT NOT NULL,  PRIMARY KEY (room, user_id));
