-- SPDX-License-Identifier: MIT
-- Migration 23 (search_fold), SQLite.
--
-- Search folding (core/textfold.h), migration 23: the indexes hold folded text, so "مدرسه"
-- finds "مدرسة" and "محمد" finds "مُحَمَّد"; domain/search.c folds queries the same way.
--
-- SQLite: the FTS5 tables are made again over views that fold with search_fold(), a function
-- every connection of the SQLite backend registers (the same C code that folds queries). The
-- views are the tables' external content, so FTS5's own 'rebuild' (which fills them here) and
-- 'integrity-check' read exactly what the triggers index, and the posts view leaves deleted posts
-- out as the triggers do. The triggers keep their shape, folding each value they pass.

DROP TRIGGER users_fts_insert;
DROP TRIGGER users_fts_delete;
DROP TRIGGER users_fts_update;
DROP TRIGGER posts_fts_insert;
DROP TRIGGER posts_fts_delete;
DROP TRIGGER posts_fts_update;
DROP TABLE users_fts;
DROP TABLE posts_fts;
CREATE VIEW users_fts_text AS SELECT id, search_fold(handle) AS handle,  search_fold(display_name) AS display_name, search_fold(bio) AS bio FROM users;
CREATE VIEW posts_fts_text AS SELECT id, search_fold(caption) AS caption FROM posts  WHERE deleted_at IS NULL;
CREATE VIRTUAL TABLE users_fts USING fts5(handle, display_name, bio,  content='users_fts_text', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
INSERT INTO users_fts (users_fts) VALUES ('rebuild');
CREATE TRIGGER users_fts_insert AFTER INSERT ON users BEGIN  INSERT INTO users_fts (rowid, handle, display_name, bio) VALUES (new.id,    search_fold(new.handle), search_fold(new.display_name), search_fold(new.bio));END;
CREATE TRIGGER users_fts_delete AFTER DELETE ON users BEGIN  INSERT INTO users_fts (users_fts, rowid, handle, display_name, bio) VALUES ('delete',    old.id, search_fold(old.handle), search_fold(old.display_name), search_fold(old.bio));END;
CREATE TRIGGER users_fts_update AFTER UPDATE OF handle, display_name, bio ON users BEGIN  INSERT INTO users_fts (users_fts, rowid, handle, display_name, bio) VALUES ('delete',    old.id, search_fold(old.handle), search_fold(old.display_name), search_fold(old.bio));  INSERT INTO users_fts (rowid, handle, display_name, bio) VALUES (new.id,    search_fold(new.handle), search_fold(new.display_name), search_fold(new.bio));END;
CREATE VIRTUAL TABLE posts_fts USING fts5(caption, content='posts_fts_text',  content_rowid='id', tokenize='unicode61 remove_diacritics 2');
INSERT INTO posts_fts (posts_fts) VALUES ('rebuild');
CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts WHEN new.deleted_at IS NULL BEGIN  INSERT INTO posts_fts (rowid, caption) VALUES (new.id, search_fold(new.caption));END;
CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts WHEN old.deleted_at IS NULL BEGIN  INSERT INTO posts_fts (posts_fts, rowid, caption)    VALUES ('delete', old.id, search_fold(old.caption));END;
CREATE TRIGGER posts_fts_update AFTER UPDATE OF caption, deleted_at ON posts BEGIN  INSERT INTO posts_fts (posts_fts, rowid, caption)    SELECT 'delete', old.id, search_fold(old.caption) WHERE old.deleted_at IS NULL;  INSERT INTO posts_fts (rowid, caption)    SELECT new.id, search_fold(new.caption) WHERE new.deleted_at IS NULL;END;
