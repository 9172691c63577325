/* SPDX-License-Identifier: MIT
 *
 * Implementation of the account field rules in validate.h.
 */
#include "domain/validate.h"

#include "core/util.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

static const char *const reserved_handles[] = {
    "admin", "administrator", "api", "root", "support", "help", "about", "streamhub", "me",
    "settings", "login", "logout", "register", "signup", "explore", "search", "null",
    "undefined", "www", "mail", "system", "moderator", "security", "official", "staff", NULL,
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

const char *validate_display_name(const char *name)
{
    if (utf8_length(name) > VALIDATE_DISPLAY_NAME_MAX)
        return "too_long";
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return "invalid_characters";
    return NULL;
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
