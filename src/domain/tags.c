/* SPDX-License-Identifier: MIT
 *
 * Hashtag and mention parsing: see tags.h.
 */
#include "domain/tags.h"

#include "core/util.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static bool word_byte(unsigned char c)
{
    return isalnum(c) || c == '_' || c >= 0x80;
}

static bool handle_byte(unsigned char c)
{
    return isalnum(c) || c == '_' || c == '.';
}

/* Length of the hashtag body starting at s (bytes), capped at TAGS_HASHTAG_CHARS characters
 * without splitting a UTF-8 sequence; 0 when there is none. */
static size_t hashtag_span(const char *s)
{
    size_t i = 0, chars = 0;
    while (word_byte((unsigned char)s[i]) && chars < TAGS_HASHTAG_CHARS) {
        i++;
        while (((unsigned char)s[i] & 0xC0) == 0x80)
            i++; /* continuation bytes of one character */
        chars++;
    }
    return i;
}

static void lower_copy(char *out, size_t n, const char *s, size_t len)
{
    if (len >= n)
        len = n - 1;
    for (size_t i = 0; i < len; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[len] = '\0';
}

static bool seen(char (*list)[TAGS_HASHTAG_BYTES], int n, const char *v)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(list[i], v))
            return true;
    return false;
}

void tags_parse(const char *text, tags_parsed *out)
{
    out->n_hashtags = out->n_mentions = 0;
    if (!text)
        return;
    for (const char *p = text; *p; p++) {
        if (*p != '#' && *p != '@')
            continue;
        if (p > text && word_byte((unsigned char)p[-1]))
            continue; /* "a#b" and "mail@example.com" are not tags */
        const char *body = p + 1;
        if (*p == '#') {
            size_t len = hashtag_span(body);
            if (!len || out->n_hashtags == TAGS_MAX_HASHTAGS)
                continue;
            char tag[TAGS_HASHTAG_BYTES];
            lower_copy(tag, sizeof tag, body, len);
            if (!seen(out->hashtags, out->n_hashtags, tag))
                snprintf(out->hashtags[out->n_hashtags++], TAGS_HASHTAG_BYTES, "%s", tag);
            p = body + len - 1;
        } else {
            size_t len = 0;
            while (handle_byte((unsigned char)body[len]))
                len++;
            size_t used = len;
            while (len && body[len - 1] == '.')
                len--; /* "thanks @ana." ends a sentence */
            if (len >= 3 && len <= 30 && out->n_mentions < TAGS_MAX_MENTIONS) {
                char handle[TAGS_HANDLE_BYTES];
                lower_copy(handle, sizeof handle, body, len);
                bool dup = false;
                for (int i = 0; i < out->n_mentions; i++)
                    dup |= !strcmp(out->mentions[i], handle);
                if (!dup)
                    snprintf(out->mentions[out->n_mentions++], TAGS_HANDLE_BYTES, "%s", handle);
            }
            if (used)
                p = body + used - 1;
        }
    }
}

bool tags_normalize_hashtag(const char *in, char *out, size_t n)
{
    if (*in == '#')
        in++;
    size_t len = hashtag_span(in);
    if (!len || in[len] != '\0')
        return false;
    lower_copy(out, n, in, len);
    return true;
}
