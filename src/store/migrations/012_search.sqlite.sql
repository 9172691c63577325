-- SPDX-License-Identifier: MIT
-- Migration 12 (search), SQLite.
--
-- Search. SQLite: FTS5 tables over users (handle, display name, bio) and captions, with
-- external content (the rows themselves stay in users/posts) kept in step by triggers. unicode61
-- with remove_diacritics folds case and accents, so "cafe" finds "Café". Only live posts are
-- indexed: the triggers drop a post's words when it is soft-deleted, so deleted posts cannot be
-- found even before the query-time deleted_at filter; counter updates (likes, follows) touch no
-- indexed column and do not re-index. The 'delete' command needs the values that were indexed,
-- which is why each trigger passes old.* and why the update trigger deletes before it inserts.

CREATE VIRTUAL TABLE users_fts USING fts5(handle, display_name, bio, content='users',   content_rowid='id', tokenize='unicode61 remove_diacritics 2');
INSERT INTO users_fts (rowid, handle, display_name, bio)   SELECT id, handle, display_name, bio FROM users;
CREATE TRIGGER users_fts_insert AFTER INSERT ON users BEGIN  INSERT INTO users_fts (rowid, handle, display_name, bio)    VALUES (new.id, new.handle, new.display_name, new.bio);END;
CREATE TRIGGER users_fts_delete AFTER DELETE ON users BEGIN  INSERT INTO users_fts (users_fts, rowid, handle, display_name, bio)    VALUES ('delete', old.id, old.handle, old.display_name, old.bio);END;
CREATE TRIGGER users_fts_update AFTER UPDATE OF handle, display_name, bio ON users BEGIN  INSERT INTO users_fts (users_fts, rowid, handle, display_name, bio)    VALUES ('delete', old.id, old.handle, old.display_name, old.bio);  INSERT INTO users_fts (rowid, handle, display_name, bio)    VALUES (new.id, new.handle, new.display_name, new.bio);END;
CREATE VIRTUAL TABLE posts_fts USING fts5(caption, content='posts', content_rowid='id',   tokenize='unicode61 remove_diacritics 2');
INSERT INTO posts_fts (rowid, caption) SELECT id, caption FROM posts   WHERE deleted_at IS NULL;
CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts WHEN new.deleted_at IS NULL BEGIN  INSERT INTO posts_fts (rowid, caption) VALUES (new.id, new.caption);END;
CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts WHEN old.deleted_at IS NULL BEGIN  INSERT INTO posts_fts (posts_fts, rowid, caption) VALUES ('delete', old.id, old.caption);END;
CREATE TRIGGER posts_fts_update AFTER UPDATE OF caption, deleted_at ON posts BEGIN  INSERT INTO posts_fts (posts_fts, rowid, caption)    SELECT 'delete', old.id, old.caption WHERE old.deleted_at IS NULL;  INSERT INTO posts_fts (rowid, caption)    SELECT new.id, new.caption WHERE new.deleted_at IS NULL;END;
