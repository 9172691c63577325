/* SPDX-License-Identifier: MIT
 *
 * Hashtags and @mentions in captions and comments. Parsing is pure (no database) so it can be
 * unit-tested and fuzzed: a tag starts with '#' or '@' that does not follow a word character,
 * and runs over word characters (ASCII letters, digits, '_', and any non-ASCII UTF-8 so tags in
 * every script work; handles also allow '.', minus a trailing one). Results are normalized to
 * lowercase ASCII and de-duplicated, in order of first appearance.
 */
#ifndef STREAMHUB_DOMAIN_TAGS_H
#define STREAMHUB_DOMAIN_TAGS_H

#include <stdbool.h>
#include <stddef.h>

#define TAGS_MAX_HASHTAGS 30
#define TAGS_MAX_MENTIONS 20
#define TAGS_HASHTAG_CHARS 100
#define TAGS_HASHTAG_BYTES (TAGS_HASHTAG_CHARS * 4 + 1)
#define TAGS_HANDLE_BYTES 32

typedef struct tags_parsed {
    int n_hashtags;
    char hashtags[TAGS_MAX_HASHTAGS][TAGS_HASHTAG_BYTES];
    int n_mentions;
    char mentions[TAGS_MAX_MENTIONS][TAGS_HANDLE_BYTES];
} tags_parsed;

/* Fills out from text; more tags than the maxima are ignored. */
void tags_parse(const char *text, tags_parsed *out);
/* Normalizes a tag given by a client (with or without '#'); false when it is not one tag. */
bool tags_normalize_hashtag(const char *in, char *out, size_t n);

#endif
