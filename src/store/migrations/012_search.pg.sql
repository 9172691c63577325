-- SPDX-License-Identifier: MIT
-- Migration 12 (search), PostgreSQL.
--
-- Search. PostgreSQL: stored generated tsvector columns with GIN indexes. Generated rather than
-- expression indexes so ts_rank reads the stored vector instead of re-parsing every candidate's
-- text, and the queries need not repeat the indexing expression word for word; adding them fills
-- existing rows. The 'simple' configuration lowercases and splits words but neither stems nor
-- drops stop words: handles, names and captions in many languages are not English prose, and
-- both engines then match the same words (PostgreSQL keeps accents, see docs/search.md). Handle
-- words weigh most (A), then the display name (B), then the bio (C). The partial GIN index on
-- posts leaves deleted posts out. text_pattern_ops lets the handle prefix range use an index
-- whatever the database collation.

ALTER TABLE users ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (  setweight(to_tsvector('simple', handle), 'A') ||  setweight(to_tsvector('simple', display_name), 'B') ||  setweight(to_tsvector('simple', bio), 'C')) STORED;
CREATE INDEX users_search ON users USING GIN (search_tsv);
CREATE INDEX users_handle_prefix ON users (handle_norm text_pattern_ops);
ALTER TABLE posts ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (  to_tsvector('simple', caption)) STORED;
CREATE INDEX posts_search ON posts USING GIN (search_tsv) WHERE deleted_at IS NULL;
