/* SPDX-License-Identifier: MIT
 *
 * Small shared helpers every layer uses: allocation that aborts on out-of-memory (a server that
 * cannot allocate a few bytes cannot answer anyway), error codes, clocks, a growable byte buffer
 * and random bytes. Nothing here knows about HTTP, SQL or JSON.
 */
#ifndef STREAMHUB_CORE_UTIL_H
#define STREAMHUB_CORE_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 0 is success; failures are negative ERR_* codes. api/ maps them to HTTP statuses. */
enum {
    ERR_OK = 0,
    ERR_NOMEM = -1,
    ERR_INVALID = -2,      /* input failed validation */
    ERR_NOT_FOUND = -3,
    ERR_CONFLICT = -4,     /* unique constraint or state conflict */
    ERR_UNAUTHORIZED = -5, /* missing, bad or expired credentials */
    ERR_FORBIDDEN = -6,
    ERR_RATE_LIMITED = -7,
    ERR_DB = -8,           /* database failure that is not the caller's fault */
    ERR_BUSY = -9,         /* transient: lock held, queue full */
    ERR_IO = -10,
    ERR_INTERNAL = -11,
    ERR_CANCELLED = -12,   /* stopped on request (a cancelled job, a stopping process) */
    ERR_GONE = -13,        /* existed, but no longer (expired, finished) */
    ERR_TOO_LARGE = -14,   /* over a size limit or quota */
    ERR_CHECKSUM = -15,    /* the data does not match its declared checksum */
};

const char *err_name(int err);

/* mkdir -p with mode 0750; 0, or -1 with errno set. */
int make_dirs(const char *path);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int64_t now_ms(void);        /* wall clock, milliseconds since the Unix epoch */
int64_t now_us(void);        /* wall clock, microseconds */
int64_t monotonic_us(void);  /* for durations */

/* Growable byte buffer; always NUL-terminated so it can be used as a C string. */
typedef struct buf {
    char *data;
    size_t len;
    size_t cap;
} buf;

void buf_reserve(buf *b, size_t extra);
void buf_append(buf *b, const void *data, size_t len);
void buf_puts(buf *b, const char *s);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void buf_free(buf *b);
char *buf_steal(buf *b); /* returns data (never NULL) and resets the buffer */

/* Cryptographically random bytes (libsodium). */
void random_bytes(void *out, size_t n);
/* base64url without padding of n random bytes, written to out (needs 4*n/3+2 bytes). */
void random_token(char *out, size_t out_size, size_t n_bytes);

/* Case-insensitive ASCII comparison helpers. */
bool str_ieq(const char *a, const char *b);
bool str_has_prefix(const char *s, const char *prefix);
/* Lowercases ASCII letters in place. */
void str_lower(char *s);
/* Copies src (NULL: "") into dst of n bytes, cut to fit and always terminated, as
 * snprintf(dst, n, "%s", src) does without the formatting machinery: row decoders copy a dozen
 * columns per row (callgrind, issue 12). */
void str_copy(char *dst, size_t n, const char *src);
/* Number of Unicode code points in a valid UTF-8 string. */
size_t utf8_length(const char *s);

#endif
