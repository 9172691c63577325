-- SPDX-License-Identifier: MIT
-- Migration 23 (search_fold), PostgreSQL.
--
-- PostgreSQL: search_fold(text) is an SQL function over the same table of characters
-- (core/textfold.h) run through translate(), which deletes the characters of its "from" that
-- have no counterpart in "to". translate() compares each character with every one of the list,
-- which measured 3-5 times the cost of to_tsvector itself, so the function checks first with one
-- regular expression whether anything needs folding (most text in other scripts does not) and
-- runs the long list of marks only on text that has one. It is immutable, so the generated
-- columns may use it; PostgreSQL 15 cannot change a generation expression in place, so the
-- columns are dropped (with their GIN indexes) and added again, which computes them for every
-- existing row. The database must be UTF8, as everything else here assumes.

CREATE FUNCTION search_fold(t text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$  SELECT CASE WHEN t ~ '[آأإٱةى٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹ـًٌٍؘَؙُؚِّْٰٕٖٜٟؐؑؒؓؔؕؖؗٓٔٗ٘ٙٚٛٝٞۖۗۘۙۚۛۜ۝۞ۣ۟۠ۡۢۤۥۦۧۨ۩۪ۭ۫۬]' THEN translate(    CASE WHEN t ~ '[ـًٌٍؘَؙُؚِّْٰٕٖٜٟؐؑؒؓؔؕؖؗٓٔٗ٘ٙٚٛٝٞۖۗۘۙۚۛۜ۝۞ۣ۟۠ۡۢۤۥۦۧۨ۩۪ۭ۫۬]'    THEN translate(t, 'ـًٌٍؘَؙُؚِّْٰٕٖٜٟؐؑؒؓؔؕؖؗٓٔٗ٘ٙٚٛٝٞۖۗۘۙۚۛۜ۝۞ۣ۟۠ۡۢۤۥۦۧۨ۩۪ۭ۫۬', '') ELSE t END,    'آأإٱةى٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹', 'ااااهي01234567890123456789') ELSE t END $$;
ALTER TABLE users DROP COLUMN search_tsv;
ALTER TABLE users ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (  setweight(to_tsvector('simple', search_fold(handle)), 'A') ||  setweight(to_tsvector('simple', search_fold(display_name)), 'B') ||  setweight(to_tsvector('simple', search_fold(bio)), 'C')) STORED;
CREATE INDEX users_search ON users USING GIN (search_tsv);
ALTER TABLE posts DROP COLUMN search_tsv;
ALTER TABLE posts ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (  to_tsvector('simple', search_fold(caption))) STORED;
CREATE INDEX posts_search ON posts USING GIN (search_tsv) WHERE deleted_at IS NULL;
