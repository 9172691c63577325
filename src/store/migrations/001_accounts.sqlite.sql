-- SPDX-License-Identifier: MIT
-- Migration 1 (accounts), SQLite.

CREATE TABLE users (id INTEGER PRIMARY KEY,  email TEXT,  email_norm TEXT UNIQUE,  handle TEXT NOT NULL,  handle_norm TEXT NOT NULL UNIQUE,  phone TEXT UNIQUE,  display_name TEXT NOT NULL DEFAULT '',  password_hash TEXT,  role TEXT NOT NULL DEFAULT 'user',  email_verified_at BIGINT,  created_at BIGINT NOT NULL,  updated_at BIGINT NOT NULL);
CREATE TABLE sessions (  id INTEGER PRIMARY KEY,  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,  created_at BIGINT NOT NULL,  last_used_at BIGINT NOT NULL,  expires_at BIGINT NOT NULL,  revoked_at BIGINT,  revoke_reason TEXT,  user_agent TEXT NOT NULL DEFAULT '',  ip TEXT NOT NULL DEFAULT '');
CREATE INDEX sessions_user ON sessions(user_id, id);
CREATE TABLE refresh_tokens (  token_hash TEXT PRIMARY KEY,  session_id BIGINT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,  created_at BIGINT NOT NULL,  expires_at BIGINT NOT NULL,  rotated_at BIGINT);
CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);
CREATE TABLE codes (  id INTEGER PRIMARY KEY,  purpose TEXT NOT NULL,  target TEXT NOT NULL,  user_id BIGINT REFERENCES users(id) ON DELETE CASCADE,  code_hash TEXT NOT NULL,  attempts BIGINT NOT NULL DEFAULT 0,  expires_at BIGINT NOT NULL,  used_at BIGINT,  created_at BIGINT NOT NULL);
CREATE INDEX codes_target ON codes(purpose, target, id);
CREATE INDEX codes_hash ON codes(code_hash);
CREATE TABLE outbox (  id INTEGER PRIMARY KEY,  channel TEXT NOT NULL,  recipient TEXT NOT NULL,  template TEXT NOT NULL,  payload TEXT NOT NULL,  state TEXT NOT NULL DEFAULT 'pending',  attempts BIGINT NOT NULL DEFAULT 0,  next_attempt_at BIGINT NOT NULL,  lease_until BIGINT NOT NULL DEFAULT 0,  last_error TEXT,  created_at BIGINT NOT NULL,  sent_at BIGINT);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
