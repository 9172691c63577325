/* SPDX-License-Identifier: MIT
 *
 * Implementation of the account field rules in validate.h.
 */
#include "domain/validate.h"

#include "core/util.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const reserved_handles[] = {
    "admin",  "administrator", "api",       "root",     "support",
    "help",   "about",         "streamhub", "me",       "settings",
    "login",  "logout",        "register",  "signup",   "explore",
    "search", "null",          "undefined", "www",      "mail",
    "system", "moderator",     "security",  "official", "staff",
    "suggested", /* GET /users/suggested */
    NULL,
};

const char *validate_handle(const char *h)
{
    size_t n = strlen(h);
    if (n < VALIDATE_HANDLE_MIN)
        return "too_short";
    if (n > VALIDATE_HANDLE_MAX)
        return "too_long";
    bool all_digits = true;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (!isalnum(c) && c != '_' && c != '.')
            return "invalid_characters";
        if (!isdigit(c))
            all_digits = false;
        if (c == '.' && i + 1 < n && h[i + 1] == '.')
            return "invalid_format";
    }
    if (!isalnum((unsigned char)h[0]) || h[n - 1] == '.' || all_digits)
        return "invalid_format";
    for (const char *const *r = reserved_handles; *r; r++)
        if (strcasecmp(*r, h) == 0)
            return "reserved";
    return NULL;
}

static bool domain_ok(const char *d)
{
    size_t label = 0;
    int labels = 1;
    if (!*d || *d == '.' || *d == '-')
        return false;
    for (const char *p = d; *p; p++) {
        if (*p == '.') {
            if (label == 0 || p[-1] == '-')
                return false;
            label = 0;
            labels++;
        } else if (isalnum((unsigned char)*p) || *p == '-') {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label > 0 && labels >= 2 && d[strlen(d) - 1] != '-';
}

const char *validate_email(const char *e)
{
    size_t n = strlen(e);
    if (n < 3 || n > VALIDATE_EMAIL_MAX)
        return n > VALIDATE_EMAIL_MAX ? "too_long" : "invalid_format";
    const char *at = strchr(e, '@');
    if (!at || strchr(at + 1, '@') || at == e || at - e > 64)
        return "invalid_format";
    for (const char *p = e; p < at; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c >= 0x7f || strchr("\"(),:;<>[\\]", c))
            return "invalid_format";
    }
    if (e[0] == '.' || at[-1] == '.' || strstr(e, ".."))
        return "invalid_format";
    return domain_ok(at + 1) ? NULL : "invalid_format";
}

const char *validate_phone(const char *p)
{
    size_t n = strlen(p);
    if (n < 9 || n > 16 || p[0] != '+' || p[1] == '0')
        return "invalid_format";
    for (size_t i = 1; i < n; i++)
        if (!isdigit((unsigned char)p[i]))
            return "invalid_format";
    return NULL;
}

const char *validate_password(const char *pw)
{
    size_t chars = utf8_length(pw);
    if (chars < VALIDATE_PASSWORD_MIN)
        return "too_short";
    if (chars > VALIDATE_PASSWORD_MAX || strlen(pw) > 4 * VALIDATE_PASSWORD_MAX)
        return "too_long";
    for (const char *p = pw; *p; p++)
        if (!isspace((unsigned char)*p))
            return NULL;
    return "invalid_format";
}

/* ---- user-visible names ------------------------------------------------------------------ */

/* Decodes one UTF-8 sequence at s (strict: no overlong forms, surrogates or values past
 * U+10FFFF); returns its length and sets *cp, or 0 when the bytes are not UTF-8. */
static int utf8_decode(const unsigned char *s, uint32_t *cp)
{
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    int len = s[0] < 0x80             ? 1
              : (s[0] & 0xe0) == 0xc0 ? 2
              : (s[0] & 0xf0) == 0xe0 ? 3
              : (s[0] & 0xf8) == 0xf0 ? 4
                                      : 0;
    if (!len)
        return 0;
    uint32_t v = len == 1 ? s[0] : s[0] & (0x7f >> len);
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

/* Space that trimming removes (Unicode Zs). Tabs and line breaks are controls: refused. */
static bool name_space(uint32_t c)
{
    return c == 0x20 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x202f ||
           c == 0x205f || c == 0x3000;
}

static bool joiner(uint32_t c)
{
    return c == 0x200c || c == 0x200d; /* ZWNJ, ZWJ */
}

static bool tag_char(uint32_t c)
{
    return c >= 0xe0020 && c <= 0xe007f;
}

/* Characters no name may hold anywhere: controls, directional formatting, and invisible ones
 * that make a name look empty or like another. */
static bool name_forbidden(uint32_t c)
{
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) ||      /* C0, DEL, C1 */
           c == 0x061c || c == 0x200e || c == 0x200f || /* ALM, LRM, RLM */
           (c >= 0x202a && c <= 0x202e) ||              /* embeddings and overrides */
           (c >= 0x2066 && c <= 0x2069) ||              /* isolates */
           c == 0x2028 || c == 0x2029 ||                /* line and paragraph separators */
           c == 0xad || c == 0x180e || c == 0x200b ||   /* soft hyphen, MVS, zero-width space */
           (c >= 0x2060 && c <= 0x2064) ||
           c == 0xfeff || /* word joiner, invisible operators, BOM */
           c == 0x115f || c == 0x1160 || c == 0x3164 || c == 0xffa0 || /* Hangul fillers */
           c == 0x2800 ||                                              /* braille blank */
           (c >= 0xfff9 && c <= 0xfffb) ||                             /* interlinear annotation */
           (c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) == 0xfffe ||   /* noncharacters */
           c == 0xe0001;                                               /* language tag */
}

const char *validate_name(const char *name, size_t max_chars, bool may_be_empty, char *out,
                          size_t out_size)
{
    const unsigned char *s = (const unsigned char *)name;
    size_t n = strlen(name);
    uint32_t *cps = xmalloc((n + 1) * sizeof *cps);
    size_t *at = xmalloc((n + 2) * sizeof *at);
    size_t count = 0;
    const char *why = NULL;
    for (size_t i = 0; i < n;) {
        int len = utf8_decode(s + i, &cps[count]);
        if (!len) {
            why = "invalid_characters";
            goto done;
        }
        at[count++] = i;
        i += (size_t)len;
    }
    at[count] = n;
    size_t first = 0, end = count; /* [first, end) once trimmed */
    while (first < end && name_space(cps[first]))
        first++;
    while (end > first && name_space(cps[end - 1]))
        end--;
    if (first == end) {
        why = may_be_empty ? NULL : "required";
        if (out && out_size)
            out[0] = '\0';
        goto done;
    }
    if (end - first > max_chars) {
        why = "too_long";
        goto done;
    }
    for (size_t i = first; i < end; i++) {
        uint32_t c = cps[i], prev = i > first ? cps[i - 1] : 0;
        bool ok = !name_forbidden(c);
        /* ZWJ/ZWNJ only between two characters that are neither space nor another joiner:
         * where Persian, Arabic and Indic words and emoji sequences use them */
        if (ok && joiner(c))
            ok = i > first && i + 1 < end && !name_space(prev) && !joiner(prev) &&
                 !name_space(cps[i + 1]) && !joiner(cps[i + 1]);
        /* tag characters only inside an emoji tag sequence (subdivision flags: U+1F3F4, tags,
         * then CANCEL TAG) */
        if (ok && tag_char(c))
            ok = prev == 0x1f3f4 || (tag_char(prev) && prev != 0xe007f);
        /* a variation selector modifies the character before it, so never starts a name */
        if (ok && i == first && ((c >= 0xfe00 && c <= 0xfe0f) || (c >= 0xe0100 && c <= 0xe01ef)))
            ok = false;
        if (!ok) {
            why = "invalid_characters";
            goto done;
        }
    }
    if (out) {
        size_t bytes = at[end] - at[first];
        if (bytes >= out_size) {
            why = "too_long";
            goto done;
        }
        memcpy(out, name + at[first], bytes);
        out[bytes] = '\0';
    }
done:
    free(cps);
    free(at);
    return why;
}

const char *validate_display_name(const char *name, char *out, size_t out_size)
{
    return validate_name(name, VALIDATE_DISPLAY_NAME_MAX, true, out, out_size);
}

bool validate_bounds(const char *field, int64_t *min, int64_t *max)
{
    static const struct {
        const char *field;
        int64_t min, max;
    } bounds[] = {
        {"handle", VALIDATE_HANDLE_MIN, VALIDATE_HANDLE_MAX},
        {"email", -1, VALIDATE_EMAIL_MAX},
        {"password", VALIDATE_PASSWORD_MIN, VALIDATE_PASSWORD_MAX},
        {"new_password", VALIDATE_PASSWORD_MIN, VALIDATE_PASSWORD_MAX},
        {"display_name", -1, VALIDATE_DISPLAY_NAME_MAX},
    };
    for (size_t i = 0; field && i < sizeof bounds / sizeof *bounds; i++)
        if (!strcmp(field, bounds[i].field)) {
            *min = bounds[i].min;
            *max = bounds[i].max;
            return true;
        }
    return false;
}
