/* SPDX-License-Identifier: MIT
 *
 * Account field rules, shared by every endpoint that accepts them (docs/accounts.md lists them
 * for clients):
 *  - handle: 3-30 characters from A-Z a-z 0-9 _ . ; starts with a letter or digit; no trailing
 *    period and no ".."; not only digits; not a reserved word. Unique ignoring case.
 *  - email: 3-254 ASCII characters, one @, a local part of 1-64 characters, a domain of dot-
 *    separated labels of letters, digits and hyphens. Unique ignoring case.
 *  - phone: E.164, "+" then 8 to 15 digits, the first not 0.
 *  - password: 8-128 characters (any Unicode), not only whitespace.
 *  - display name: a name (below) of up to 64 characters that may be empty (then the handle
 *    stands in for it).
 *  - names (display names, circle names, group conversation titles: everything other users see
 *    as a name): trimmed of leading and trailing space (Unicode Zs); then not empty; at most
 *    max_chars code points; valid UTF-8 without C0/C1 controls or DEL, directional formatting
 *    (ALM, LRM, RLM, embeddings, overrides, isolates), line/paragraph separators, invisible
 *    characters (zero-width space, word joiner, BOM, soft hyphen, Mongolian vowel separator,
 *    invisible operators, Hangul fillers, braille blank, interlinear annotation), noncharacters
 *    or the language tag. ZWJ and ZWNJ only between two characters that are neither space nor
 *    another joiner (inside Arabic, Persian and Indic words and emoji sequences; never at an end,
 *    beside a space or doubled); tag characters only in an emoji tag sequence after U+1F3F4;
 *    variation selectors never first.
 * Each check returns NULL when the value is fine, otherwise a snake_case reason.
 */
#ifndef STREAMHUB_DOMAIN_VALIDATE_H
#define STREAMHUB_DOMAIN_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VALIDATE_HANDLE_MIN 3
#define VALIDATE_HANDLE_MAX 30
#define VALIDATE_EMAIL_MAX 254
#define VALIDATE_PASSWORD_MIN 8
#define VALIDATE_PASSWORD_MAX 128
#define VALIDATE_DISPLAY_NAME_MAX 64

const char *validate_handle(const char *handle);
const char *validate_email(const char *email);
const char *validate_phone(const char *phone);
const char *validate_password(const char *password);

/* Checks a name (rules above) and, when out is not NULL, writes it trimmed (out_size bytes;
 * "too_long" if it does not fit). Reasons: "required" (nothing left after trimming, unless
 * may_be_empty), "too_long", "invalid_characters". */
const char *validate_name(const char *name, size_t max_chars, bool may_be_empty, char *out,
                          size_t out_size);
/* validate_name with the display-name limit, empty allowed. */
const char *validate_display_name(const char *name, char *out, size_t out_size);
/* The length bounds (characters) of the account field named field (handle, email, password,
 * new_password, display_name), so an error can state them; *min or *max is -1 where there is
 * none. False for other fields. */
bool validate_bounds(const char *field, int64_t *min, int64_t *max);

#endif
