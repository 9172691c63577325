/* SPDX-License-Identifier: MIT
 *
 * Search rules: turning what a user typed into something the text engines can run without
 * surprises, the opaque cursor of a ranked list, and the visibility rules on the results.
 *
 * A query is trimmed and may hold up to 100 characters. It is split into words (runs of ASCII
 * letters and digits, or of any non-ASCII characters; everything else separates words), and a
 * result must contain every word, the last one as a prefix ("sun" finds "sunset"), so results
 * narrow while someone types. Words are quoted when they are written into the engine's syntax and
 * can hold nothing but letters, digits and non-ASCII bytes, so no input can be read as an
 * operator, column filter or string end (FTS5's NEAR, AND, "*", ":" or PostgreSQL's "&", "!",
 * "'") and nothing the user typed is ever pasted into SQL: the expressions are bound parameters.
 * Before it is split, the query is folded as the indexed text is (core/textfold.h: Arabic alef
 * forms, teh marbuta, alef maqsura, harakat, tatweel, Arabic-Indic digits), so any spelling of a
 * word finds the others.
 *
 * Users are found by handle prefix (a query that looks like a handle) and by the words of their
 * handle, display name and bio; "@prefix" searches handles only. Posts are found by the words of
 * their caption, and each one passes posts_can_view for the viewer. Hashtags are found by tag
 * prefix, the exact tag first, then the most used.
 */
#ifndef STREAMHUB_DOMAIN_SEARCH_H
#define STREAMHUB_DOMAIN_SEARCH_H

#include "domain/errors.h"
#include "store/users.h"
#include "store/search.h"

#include <stdbool.h>
#include <stdint.h>

#define SEARCH_Q_MAX_CHARS 100
/* Room for 100 characters of up to 4 bytes plus quotes, separators and operators. */
#define SEARCH_EXPR_BYTES 1024
#define SEARCH_CURSOR_MAX 160

typedef enum { SEARCH_USERS, SEARCH_POSTS, SEARCH_HASHTAGS } search_type;
/* The values of ?type=, indexed by search_type; NULL-terminated. */
extern const char *const search_types[];

typedef struct search_query {
    search_type type;
    bool handle_only;                /* the query started with "@" */
    char handle_prefix[32];          /* lowercased; "" = no handle matching */
    char fts5[SEARCH_EXPR_BYTES];    /* SQLite FTS5 MATCH expression; "" = no words */
    char tsquery[SEARCH_EXPR_BYTES]; /* PostgreSQL to_tsquery('simple', ...) input */
    char hashtag_prefix[404];        /* normalized tag prefix; "" = matches nothing */
    int n_words;
    uint32_t fingerprint; /* ties a cursor to the query and type it was made for */
} search_query;

/* Validates and normalises ?q= and ?type= (users by default). For hashtags the whole query is
 * one tag prefix ("#" optional); a query that cannot be a tag matches nothing. Returns 0, or
 * ERR_INVALID with err naming the field: q required / too_long / invalid_format (not UTF-8),
 * type not_allowed. */
int search_parse(const char *q, const char *type, search_query *out, domain_error *err);

/* The opaque cursor for the page after key k. */
void search_cursor_format(const search_query *q, const store_search_key *k,
                          char out[SEARCH_CURSOR_MAX]);
/* Reads a cursor made by search_cursor_format for the same query; ERR_INVALID (field cursor,
 * reason invalid_format, or query_changed when it belongs to another query or type). */
int search_cursor_parse(const search_query *q, const char *cursor, store_search_key *out,
                        domain_error *err);

/* Up to limit users in ranked order after *after (NULL = first page). out needs room for
 * limit + 1 users. *has_next tells whether another page follows, and *next is then its key. */
int search_users(db *d, const search_query *q, int64_t viewer, const store_search_key *after,
                 int limit, store_user *out, store_search_key *next, bool *has_next,
                 domain_error *err);

typedef struct search_post_hit {
    store_post post;
    store_user author;
} search_post_hit;

/* Up to limit posts the viewer may see, in ranked order after *after. Candidates come in batches
 * and the visibility gate can drop some; more batches follow until the page is full (or 1,000
 * candidates were examined), and *next is the last candidate examined, so pages neither repeat
 * nor skip a post. out needs room for limit hits. */
int search_posts(db *d, const search_query *q, int64_t viewer, const store_search_key *after,
                 int limit, search_post_hit *out, store_search_key *next, bool *has_next,
                 domain_error *err);

/* Hashtags with live posts whose tag starts with the query: the exact tag first, then by post
 * count. Same paging contract as search_users. */
int search_hashtags(db *d, const search_query *q, const store_search_key *after, int limit,
                    store_hashtag *out, store_search_key *next, bool *has_next, domain_error *err);

#endif
