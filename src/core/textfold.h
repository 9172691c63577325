/* SPDX-License-Identifier: MIT
 *
 * Search folding: rewrites text the way people type it, so that spellings a reader takes for the
 * same word index and match as one. It is applied to every text before it is indexed (users'
 * handles, names and bios, post captions; the SQLite backend registers it as the SQL function
 * search_fold, and PostgreSQL runs the same table through translate()) and to every query, so
 * both sides meet in the middle. Today it folds Arabic as typed in Egypt and the Gulf:
 *
 *   alef forms  U+0622 U+0623 U+0625 U+0671 (آ أ إ ٱ)  -> U+0627 ا
 *   teh marbuta U+0629 ة -> U+0647 ه;  alef maqsura U+0649 ى -> U+064A ي
 *   Arabic-Indic digits U+0660-U+0669 and Eastern ones U+06F0-U+06F9 -> ASCII 0-9
 *   removed: harakat and other combining marks U+0610-U+061A, U+064B-U+065F, U+0670,
 *            Quranic annotation marks U+06D6-U+06ED, tatweel U+0640
 *
 * Hamza carriers ؤ and ئ are kept (see docs/search.md). Every rule maps one code point to one
 * code point or to nothing, which is what lets one table serve both the C code and PostgreSQL's
 * translate(from, to): the characters of TEXTFOLD_FROM become the character at the same place in
 * TEXTFOLD_TO, and those past its end are deleted. The unit tests check that the table and
 * textfold_search agree on every code point. PostgreSQL's search_fold holds a copy of the table,
 * made by migration 23 (src/store/migrations/023_search_fold.pg.sql): changing the table needs a
 * new migration that redefines the function and re-indexes (tests/unit/test_migrations.c fails
 * until then).
 */
#ifndef STREAMHUB_CORE_TEXTFOLD_H
#define STREAMHUB_CORE_TEXTFOLD_H

#include <stddef.h>

/* Mapped characters, in the order of TEXTFOLD_TO. */
#define TEXTFOLD_MAPPED                                                                            \
    "\u0622\u0623\u0625\u0671\u0629\u0649"                                                         \
    "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"                                 \
    "\u06F0\u06F1\u06F2\u06F3\u06F4\u06F5\u06F6\u06F7\u06F8\u06F9"
#define TEXTFOLD_TO                                                                                \
    "\u0627\u0627\u0627\u0627\u0647\u064A"                                                         \
    "0123456789"                                                                                   \
    "0123456789"
/* Removed characters: tatweel, then the combining marks. */
#define TEXTFOLD_REMOVED                                                                           \
    "\u0640"                                                                                       \
    "\u0610\u0611\u0612\u0613\u0614\u0615\u0616\u0617\u0618\u0619\u061A"                           \
    "\u064B\u064C\u064D\u064E\u064F\u0650\u0651\u0652\u0653\u0654\u0655\u0656\u0657\u0658\u0659"   \
    "\u065A\u065B\u065C\u065D\u065E\u065F\u0670"                                                   \
    "\u06D6\u06D7\u06D8\u06D9\u06DA\u06DB\u06DC\u06DD\u06DE\u06DF\u06E0\u06E1\u06E2\u06E3\u06E4"   \
    "\u06E5\u06E6\u06E7\u06E8\u06E9\u06EA\u06EB\u06EC\u06ED"
/* translate()'s "from" argument: the mapped characters, then the removed ones. */
#define TEXTFOLD_FROM TEXTFOLD_MAPPED TEXTFOLD_REMOVED

/* Folds the len bytes at in into out, which needs room for len + 1 bytes: folding never makes
 * text longer. Bytes that are not part of a folded character, invalid UTF-8 included, are copied
 * unchanged. Returns the length written; out is NUL-terminated. in and out may be the same.
 * Folding valid UTF-8 gives valid UTF-8 that folding leaves as it is. */
size_t textfold_search(const char *in, size_t len, char *out);

/* The folded form of one code point: itself, another code point, or -1 when it is removed. */
long textfold_code_point(unsigned long cp);

#endif
