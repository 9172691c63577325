/* SPDX-License-Identifier: MIT
 *
 * Search: see search.h for the query rules. The safety of the text expressions rests on one
 * property of the tokeniser: a word holds only ASCII letters and digits and bytes >= 0x80, so
 * quoting it ("word" for FTS5, 'word' for to_tsquery) cannot be escaped from and no operator can
 * appear; the engines then split non-ASCII words further with their own tokenisers, the same way
 * they split the indexed text.
 *
 * Cursors are base64url text "t.fingerprint.bucket.score.followers.id": opaque to clients, read
 * back strictly (the decoded text must be exactly what search_cursor_format would write) and
 * refused when they were made for a different query, whose ranked order they do not belong to.
 */
#include "domain/search.h"

#include "domain/tags.h"

#include "core/textfold.h"
#include "core/util.h"
#include "domain/errors.h"
#include "domain/posts.h"
#include "store/users.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HANDLE_MAX_CHARS 30
/* Each round reads twice the page of candidates, and rounds follow until the page is full, so a
 * page is short only at the end; the work stays bounded by this many candidates a page even when
 * the visibility gate drops most of them (a short page then carries a cursor to move on). */
#define POST_SCAN_MAX 1000

static bool ascii_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool word_byte(unsigned char c)
{
    return c >= 0x80 || ascii_alnum(c);
}

static bool handle_byte(unsigned char c)
{
    return ascii_alnum(c) || c == '_' || c == '.';
}

static bool space_byte(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Strict UTF-8: no overlong forms, surrogates or code points past U+10FFFF. PostgreSQL refuses
 * such text, so it must be caught here as the client's error rather than fail in the database. */
static bool utf8_valid(const char *text)
{
    static const uint32_t min_cp[] = {0, 0x80, 0x800, 0x10000};
    const unsigned char *s = (const unsigned char *)text;
    while (*s) {
        if (*s < 0x80) {
            s++;
            continue;
        }
        int more;
        uint32_t cp;
        if ((*s & 0xE0) == 0xC0)
            more = 1, cp = *s & 0x1F;
        else if ((*s & 0xF0) == 0xE0)
            more = 2, cp = *s & 0x0F;
        else if ((*s & 0xF8) == 0xF0)
            more = 3, cp = *s & 0x07;
        else
            return false;
        s++;
        for (int i = 0; i < more; i++, s++) {
            if ((*s & 0xC0) != 0x80) /* also stops at the terminating NUL */
                return false;
            cp = (cp << 6) | (*s & 0x3F);
        }
        if (cp < min_cp[more] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
    }
    return true;
}

/* Copies the lowercased handle characters at the start of s (all of s when whole is set, which
 * then must be nothing but handle characters). False when there are none or too many. */
static bool take_handle(const char *s, bool whole, char out[32])
{
    size_t n = 0;
    while (handle_byte((unsigned char)s[n]))
        n++;
    if (n == 0 || n > HANDLE_MAX_CHARS || (whole && s[n]))
        return false;
    for (size_t i = 0; i < n; i++)
        out[i] = ascii_lower(s[i]);
    out[n] = '\0';
    return true;
}

/* Splits text into words and writes both engines' expressions: every word required, the last one
 * as a prefix. */
static void build_expressions(const char *text, search_query *out)
{
    buf fts = {0}, tsq = {0};
    const char *p = text;
    out->n_words = 0;
    for (;;) {
        while (*p && !word_byte((unsigned char)*p))
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (word_byte((unsigned char)*p))
            p++;
        char word[SEARCH_EXPR_BYTES];
        size_t n = (size_t)(p - start);
        for (size_t i = 0; i < n; i++)
            word[i] = ascii_lower(start[i]);
        word[n] = '\0';
        buf_printf(&fts, "%s\"%s\"", out->n_words ? " " : "", word);
        buf_printf(&tsq, "%s'%s'", out->n_words ? " & " : "", word);
        out->n_words++;
    }
    if (out->n_words) {
        buf_puts(&fts, "*");
        buf_puts(&tsq, ":*");
    }
    /* 100 characters make at most 50 words of 400 bytes in all: far below the room. */
    snprintf(out->fts5, sizeof out->fts5, "%s", fts.data ? fts.data : "");
    snprintf(out->tsquery, sizeof out->tsquery, "%s", tsq.data ? tsq.data : "");
    buf_free(&fts);
    buf_free(&tsq);
}

static uint32_t fnv1a(uint32_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

const char *const search_types[] = {"users", "posts", "hashtags", NULL};

int search_parse(const char *q, const char *type, search_query *out, domain_error *err)
{
    memset(out, 0, sizeof *out);
    if (!q)
        return domain_invalid(err, "q", "required");
    while (space_byte((unsigned char)*q))
        q++;
    size_t len = strlen(q);
    while (len > 0 && space_byte((unsigned char)q[len - 1]))
        len--;
    if (len == 0)
        return domain_invalid(err, "q", "required");
    if (len > SEARCH_Q_MAX_CHARS * 4)
        return domain_invalid_bounds(err, "q", "too_long", -1, SEARCH_Q_MAX_CHARS);
    char text[SEARCH_Q_MAX_CHARS * 4 + 1];
    memcpy(text, q, len);
    text[len] = '\0';
    if (!utf8_valid(text))
        return domain_invalid(err, "q", "invalid_format");
    if (utf8_length(text) > SEARCH_Q_MAX_CHARS)
        return domain_invalid_bounds(err, "q", "too_long", -1, SEARCH_Q_MAX_CHARS);
    /* Folded as the indexed text was (after the length check: the limit counts what was
     * typed), so "مدرسه" finds "مدرسة" and "محمد" finds "مُحَمَّد". Hashtags are folded on
     * both sides too, by the store; folding a valid text keeps it valid UTF-8. */
    textfold_search(text, len, text);

    out->type = SEARCH_USERS;
    if (type && *type) {
        int t = 0;
        while (search_types[t] && strcmp(type, search_types[t]))
            t++;
        if (!search_types[t])
            return domain_invalid(err, "type", "not_allowed");
        out->type = (search_type)t;
    }

    if (out->type == SEARCH_HASHTAGS) {
        if (!tags_normalize_hashtag(text, out->hashtag_prefix, sizeof out->hashtag_prefix))
            out->hashtag_prefix[0] = '\0';
    } else if (out->type == SEARCH_USERS && text[0] == '@') {
        out->handle_only = true;
        if (!take_handle(text + 1, false, out->handle_prefix))
            out->handle_prefix[0] = '\0'; /* nothing can match */
    } else {
        if (out->type == SEARCH_USERS && !take_handle(text, true, out->handle_prefix))
            out->handle_prefix[0] = '\0';
        build_expressions(text, out);
    }

    uint32_t h = 2166136261u;
    unsigned char flags[2] = {(unsigned char)out->type, out->handle_only};
    h = fnv1a(h, flags, sizeof flags);
    h = fnv1a(h, out->handle_prefix, strlen(out->handle_prefix) + 1);
    h = fnv1a(h, out->hashtag_prefix, strlen(out->hashtag_prefix));
    out->fingerprint = fnv1a(h, out->fts5, strlen(out->fts5));
    return 0;
}

static void cursor_text(const search_query *q, const store_search_key *k, char *out, size_t n)
{
    static const char kinds[] = {
        [SEARCH_USERS] = 'u', [SEARCH_POSTS] = 'p', [SEARCH_HASHTAGS] = 'h'};
    snprintf(out, n, "%c.%08x.%lld.%lld.%lld.%lld", kinds[q->type], (unsigned)q->fingerprint,
             (long long)k->bucket, (long long)k->score, (long long)k->followers, (long long)k->id);
}

void search_cursor_format(const search_query *q, const store_search_key *k,
                          char out[SEARCH_CURSOR_MAX])
{
    char text[112];
    cursor_text(q, k, text, sizeof text);
    sodium_bin2base64(out, SEARCH_CURSOR_MAX, (const unsigned char *)text, strlen(text),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int search_cursor_parse(const search_query *q, const char *cursor, store_search_key *out,
                        domain_error *err)
{
    unsigned char text[112];
    size_t len, in_len = strlen(cursor);
    const char *end;
    if (in_len >= SEARCH_CURSOR_MAX ||
        sodium_base642bin(text, sizeof text - 1, cursor, in_len, NULL, &len, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        end != cursor + in_len)
        return domain_invalid(err, "cursor", "invalid_format");
    text[len] = '\0';
    char kind;
    unsigned fingerprint;
    long long bucket, score, followers, id;
    if (strlen((char *)text) != len || sscanf((char *)text, "%c.%x.%lld.%lld.%lld.%lld", &kind,
                                              &fingerprint, &bucket, &score, &followers, &id) != 6)
        return domain_invalid(err, "cursor", "invalid_format");
    *out = (store_search_key){.bucket = bucket, .score = score, .followers = followers, .id = id};
    search_query as_made = *q;
    as_made.type = kind == 'u' ? SEARCH_USERS : kind == 'h' ? SEARCH_HASHTAGS : SEARCH_POSTS;
    as_made.fingerprint = fingerprint;
    char canonical[112];
    cursor_text(&as_made, out, canonical, sizeof canonical);
    /* Only what search_cursor_format writes: no signs, spaces or leading zeros sneak through. */
    if ((kind != 'u' && kind != 'p' && kind != 'h') || strcmp(canonical, (char *)text) != 0 ||
        id <= 0 || bucket < 0 || bucket > 2 || followers < 0 ||
        (kind == 'p' && (bucket || followers)) || (kind == 'h' && (bucket > 1 || followers)))
        return domain_invalid(err, "cursor", "invalid_format");
    if (as_made.type != q->type || fingerprint != q->fingerprint)
        return domain_invalid(err, "cursor", "query_changed");
    return 0;
}

static store_search_query store_query(const search_query *q)
{
    return (store_search_query){
        .handle_prefix = q->handle_prefix, .fts5 = q->fts5, .tsquery = q->tsquery};
}

int search_users(db *d, const search_query *q, int64_t viewer, const store_search_key *after,
                 int limit, store_user *out, store_search_key *next, bool *has_next,
                 domain_error *err)
{
    *has_next = false;
    if (!q->handle_prefix[0] && !q->n_words)
        return 0;
    store_search_query sq = store_query(q);
    store_search_key *keys = xcalloc((size_t)limit + 1, sizeof *keys);
    int n = store_search_users(d, &sq, viewer, after, out, keys, limit + 1);
    if (n > limit) {
        *has_next = true;
        *next = keys[limit - 1];
        n = limit;
    }
    free(keys);
    return n < 0 ? domain_db_failed(err, d, "search users") : n;
}

int search_posts(db *d, const search_query *q, int64_t viewer, const store_search_key *after,
                 int limit, search_post_hit *out, store_search_key *next, bool *has_next,
                 domain_error *err)
{
    *has_next = false;
    if (!q->n_words)
        return 0;
    store_search_query sq = store_query(q);
    int batch = limit * 2, n = 0, rc = 0;
    store_post *cand = xcalloc((size_t)batch, sizeof *cand);
    store_search_key *keys = xcalloc((size_t)batch, sizeof *keys);
    store_search_key pos = after ? *after : (store_search_key){0};
    bool have_pos = after != NULL;
    for (int examined = 0; examined < POST_SCAN_MAX && n < limit;) {
        int got = store_search_posts(d, &sq, viewer, have_pos ? &pos : NULL, cand, keys, batch);
        if (got < 0) {
            rc = domain_db_failed(err, d, "search posts");
            break;
        }
        int i = 0;
        for (; i < got && n < limit; i++) {
            pos = keys[i];
            have_pos = true;
            store_user author;
            if (store_user_by_id(d, cand[i].author_id, &author) < 0 ||
                !posts_can_view(d, viewer, &author, &cand[i]))
                continue;
            out[n].post = cand[i];
            out[n].author = author;
            n++;
        }
        examined += i;
        /* More may follow when this batch was full or the page filled up inside it. */
        *has_next = got == batch || i < got;
        if (got < batch)
            break;
    }
    if (*has_next)
        *next = pos;
    free(cand);
    free(keys);
    return rc < 0 ? rc : n;
}

int search_hashtags(db *d, const search_query *q, const store_search_key *after, int limit,
                    store_hashtag *out, store_search_key *next, bool *has_next, domain_error *err)
{
    *has_next = false;
    if (!q->hashtag_prefix[0])
        return 0;
    store_search_key *keys = xcalloc((size_t)limit + 1, sizeof *keys);
    int n = store_search_hashtags(d, q->hashtag_prefix, after, out, keys, limit + 1);
    if (n > limit) {
        *has_next = true;
        *next = keys[limit - 1];
        n = limit;
    }
    free(keys);
    return n < 0 ? domain_db_failed(err, d, "search hashtags") : n;
}
