-- SPDX-License-Identifier: MIT
-- Migration 18 (conversations), PostgreSQL.
--
-- Conversations (1:1 and groups), their members and messages. pair_key ("<low id>:<high id>")
-- makes a 1:1 unique per pair on both dialects. activity_id is the id of the latest message (or
-- of the conversation itself): ids are time-ordered and unique, so it is the inbox's cursor.
-- A member's joined_id bounds the history they see; last_read_id and last_delivered_id are the
-- receipts. Messages are soft-deleted for everyone; updated_at moves on edit and delete so a
-- reconnecting client can be sent what changed.

CREATE TABLE conversations (  id BIGINT PRIMARY KEY,  kind TEXT NOT NULL,  title TEXT NOT NULL DEFAULT '',  pair_key TEXT UNIQUE,  created_by BIGINT NOT NULL,  member_count BIGINT NOT NULL DEFAULT 0,  last_message_id BIGINT NOT NULL DEFAULT 0,  activity_id BIGINT NOT NULL,  created_at BIGINT NOT NULL,  updated_at BIGINT NOT NULL);
CREATE TABLE conversation_members (  conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,  role TEXT NOT NULL,  state TEXT NOT NULL,  joined_id BIGINT NOT NULL,  last_read_id BIGINT NOT NULL DEFAULT 0,  last_delivered_id BIGINT NOT NULL DEFAULT 0,  PRIMARY KEY (conversation_id, user_id));
CREATE INDEX conversation_members_user ON conversation_members(user_id, state);
CREATE TABLE conversation_messages (  id BIGINT PRIMARY KEY,  conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,  sender_id BIGINT NOT NULL,  kind TEXT NOT NULL,  body TEXT NOT NULL DEFAULT '',  attachments TEXT NOT NULL DEFAULT '[]',  reply_to BIGINT,  client_id TEXT,  created_at BIGINT NOT NULL,  edited_at BIGINT,  deleted_at BIGINT,  updated_at BIGINT NOT NULL,  UNIQUE (conversation_id, sender_id, client_id));
CREATE INDEX conversation_messages_order ON conversation_messages(conversation_id, id);
CREATE INDEX conversation_messages_updated ON conversation_messages(conversation_id, updated_at);
