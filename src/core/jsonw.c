/* SPDX-License-Identifier: MIT
 *
 * The streaming JSON writer: see jsonw.h.
 */
#include "core/jsonw.h"

#include <assert.h>
#include <string.h>
#include <time.h>

void jsonw_init(jsonw *w, buf *out)
{
    memset(w, 0, sizeof *w);
    w->out = out;
}

/* Before any value: a comma when it follows a sibling inside an array (object members get
 * theirs from jsonw_key). */
static void before_value(jsonw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth > 0) {
        if (w->has_items[w->depth - 1])
            buf_append(w->out, ",", 1);
        w->has_items[w->depth - 1] = true;
    }
}

static void open(jsonw *w, char c)
{
    before_value(w);
    assert(w->depth < JSONW_DEPTH);
    buf_append(w->out, &c, 1);
    w->has_items[w->depth++] = false;
}

static void close_(jsonw *w, char c)
{
    assert(w->depth > 0 && !w->after_key);
    w->depth--;
    buf_append(w->out, &c, 1);
}

void jsonw_object(jsonw *w)
{
    open(w, '{');
}

void jsonw_array(jsonw *w)
{
    open(w, '[');
}

void jsonw_end_object(jsonw *w)
{
    close_(w, '}');
}

void jsonw_end_array(jsonw *w)
{
    close_(w, ']');
}

/* Appends without the NUL upkeep of buf_append: callers reserve first and terminate once. */
static inline void put_raw(buf *out, const void *data, size_t len)
{
    memcpy(out->data + out->len, data, len);
    out->len += len;
}

static void put_escaped(buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF"; /* as jansson writes them */
    size_t len = strlen(s);
    buf_reserve(out, len * 6 + 2); /* every byte escaped at worst */
    put_raw(out, "\"", 1);
    const char *run = s;
    for (const char *p = s;; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (p > run)
            put_raw(out, run, (size_t)(p - run));
        if (!c)
            break;
        char esc[6] = {'\\', 0};
        size_t n = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        put_raw(out, esc, n);
        run = p + 1;
    }
    put_raw(out, "\"", 1);
    out->data[out->len] = '\0';
}

void jsonw_key(jsonw *w, const char *key)
{
    assert(w->depth > 0 && !w->after_key);
    /* keys are the program's own names: written as they are, without the escaping scan */
    size_t len = strlen(key);
    buf_reserve(w->out, len + 4);
    if (w->has_items[w->depth - 1])
        put_raw(w->out, ",", 1);
    w->has_items[w->depth - 1] = true;
    put_raw(w->out, "\"", 1);
    put_raw(w->out, key, len);
    put_raw(w->out, "\":", 2);
    w->out->data[w->out->len] = '\0';
    w->after_key = true;
}

void jsonw_string(jsonw *w, const char *s)
{
    before_value(w);
    put_escaped(w->out, s ? s : "");
}

/* Decimal digits of v into the end of out[24]; returns where they start. */
static char *format_int(int64_t v, char out[24])
{
    char *p = out + 24;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return p;
}

void jsonw_int(jsonw *w, int64_t v)
{
    char digits[24], *p = format_int(v, digits);
    before_value(w);
    buf_append(w->out, p, (size_t)(digits + 24 - p));
}

void jsonw_bool(jsonw *w, bool v)
{
    before_value(w);
    buf_append(w->out, v ? "true" : "false", v ? 4 : 5);
}

void jsonw_null(jsonw *w)
{
    before_value(w);
    buf_append(w->out, "null", 4);
}

void jsonw_id(jsonw *w, int64_t id)
{
    if (!id) {
        jsonw_null(w);
        return;
    }
    char digits[24], *p = format_int(id, digits);
    before_value(w);
    buf_append(w->out, "\"", 1);
    buf_append(w->out, p, (size_t)(digits + 24 - p));
    buf_append(w->out, "\"", 1);
}

static void put_digits(char *at, int v, int n)
{
    for (int i = n - 1; i >= 0; i--, v /= 10)
        at[i] = (char)('0' + v % 10);
}

void jsonw_time(jsonw *w, int64_t ms)
{
    if (ms <= 0) {
        jsonw_null(w);
        return;
    }
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    /* "YYYY-MM-DDTHH:MM:SS.mmmZ", as json_time writes it */
    char s[] = "\"0000-00-00T00:00:00.000Z\"";
    put_digits(s + 1, tm.tm_year + 1900, 4);
    put_digits(s + 6, tm.tm_mon + 1, 2);
    put_digits(s + 9, tm.tm_mday, 2);
    put_digits(s + 12, tm.tm_hour, 2);
    put_digits(s + 15, tm.tm_min, 2);
    put_digits(s + 18, tm.tm_sec, 2);
    put_digits(s + 21, (int)(ms % 1000), 3);
    before_value(w);
    buf_append(w->out, s, sizeof s - 1);
}

void jsonw_value(jsonw *w, const json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    before_value(w);
    buf_puts(w->out, text ? text : "null");
    free(text);
}

void jsonw_member_string(jsonw *w, const char *key, const char *s)
{
    jsonw_key(w, key);
    jsonw_string(w, s);
}

void jsonw_member_int(jsonw *w, const char *key, int64_t v)
{
    jsonw_key(w, key);
    jsonw_int(w, v);
}

void jsonw_member_bool(jsonw *w, const char *key, bool v)
{
    jsonw_key(w, key);
    jsonw_bool(w, v);
}

void jsonw_member_id(jsonw *w, const char *key, int64_t id)
{
    jsonw_key(w, key);
    jsonw_id(w, id);
}

void jsonw_member_time(jsonw *w, const char *key, int64_t ms)
{
    jsonw_key(w, key);
    jsonw_time(w, ms);
}
