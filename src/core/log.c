/* SPDX-License-Identifier: MIT
 *
 * JSON line logger. Formatting happens into a stack buffer and the line goes out in one write so
 * that concurrent threads produce whole lines without a lock.
 */
#include "core/log.h"

#include "core/util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile log_level min_level = LOG_INFO;

void log_set_level(log_level level)
{
    min_level = level;
}

log_level log_get_level(void)
{
    return min_level;
}

int log_parse_level(const char *name, log_level *out)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (log_level)i;
            return 0;
        }
    return ERR_INVALID;
}

void log_write_line(const char *line, unsigned long len)
{
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, line, len);
        if (n <= 0)
            return;
        line += n;
        len -= (unsigned long)n;
    }
}

/* ---- buffered lines ------------------------------------------------------------------------ *
 *
 * One buffer per thread that writes buffered lines, each behind its own mutex: its thread takes
 * it for every line (uncontended: no system call) and the periodic flusher a few times a second.
 * Buffers live as long as the process and are kept on one list for the flusher. */

#define LOG_BUFFER_BYTES 16384

typedef struct log_buffer {
    pthread_mutex_t lock;
    size_t len;
    int64_t oldest_us; /* monotonic time of the first line in data, 0 when empty */
    struct log_buffer *next;
    char data[LOG_BUFFER_BYTES];
} log_buffer;

static _Atomic unsigned flush_interval_ms;
static pthread_mutex_t buffers_lock = PTHREAD_MUTEX_INITIALIZER;
static log_buffer *buffers;
static _Thread_local log_buffer *this_buffer;

void log_set_flush_interval_ms(unsigned ms)
{
    atomic_store(&flush_interval_ms, ms);
}

static log_buffer *buffer_of_this_thread(void)
{
    if (this_buffer)
        return this_buffer;
    log_buffer *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    pthread_mutex_init(&b->lock, NULL);
    pthread_mutex_lock(&buffers_lock);
    b->next = buffers;
    buffers = b;
    pthread_mutex_unlock(&buffers_lock);
    return this_buffer = b;
}

/* Called with b->lock held. */
static void buffer_write_out(log_buffer *b)
{
    if (b->len)
        log_write_line(b->data, (unsigned long)b->len);
    b->len = 0;
    b->oldest_us = 0;
}

void log_write_buffered(const char *line, unsigned long len)
{
    unsigned interval = atomic_load_explicit(&flush_interval_ms, memory_order_relaxed);
    log_buffer *b = interval && len <= LOG_BUFFER_BYTES ? buffer_of_this_thread() : NULL;
    if (!b) {
        log_write_line(line, len);
        return;
    }
    int64_t now = monotonic_us();
    pthread_mutex_lock(&b->lock);
    if (b->len + len > LOG_BUFFER_BYTES)
        buffer_write_out(b);
    memcpy(b->data + b->len, line, len);
    b->len += len;
    if (!b->oldest_us)
        b->oldest_us = now;
    if (now - b->oldest_us >= (int64_t)interval * 1000)
        buffer_write_out(b);
    pthread_mutex_unlock(&b->lock);
}

void log_flush_all(void)
{
    pthread_mutex_lock(&buffers_lock);
    for (log_buffer *b = buffers; b; b = b->next) {
        pthread_mutex_lock(&b->lock);
        buffer_write_out(b);
        pthread_mutex_unlock(&b->lock);
    }
    pthread_mutex_unlock(&buffers_lock);
}

const char *log_escape(const char *s, char *out, unsigned long out_size)
{
    unsigned long o = 0;
    for (; s && *s && o + 7 < out_size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (unsigned long)snprintf(out + o, out_size - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return out;
}

void log_msg(log_level level, const char *msg, const char *fields_fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (level < min_level)
        return;
    char line[2048], esc[512];
    int64_t us = now_us();
    time_t secs = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    int n = snprintf(line, sizeof line,
                     "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\",\"level\":\"%s\",\"msg\":\"%s\"",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(us / 1000 % 1000), names[level], log_escape(msg, esc, sizeof esc));
    if (fields_fmt && n > 0 && (size_t)n < sizeof line - 4) {
        line[n++] = ',';
        va_list ap;
        va_start(ap, fields_fmt);
        int m = vsnprintf(line + n, sizeof line - (size_t)n - 3, fields_fmt, ap);
        va_end(ap);
        if (m > 0)
            n += m < (int)(sizeof line - (size_t)n - 3) ? m : (int)(sizeof line - (size_t)n - 4);
    }
    if (n > (int)sizeof line - 3)
        n = (int)sizeof line - 3;
    line[n++] = '}';
    line[n++] = '\n';
    log_write_line(line, (unsigned long)n);
}
