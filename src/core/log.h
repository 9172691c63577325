/* SPDX-License-Identifier: MIT
 *
 * Structured logging: one JSON object per line on stderr (stdout is kept for the single
 * "listening on ..." line operators and tests wait for). Each line is written with one write(2)
 * so lines from different threads never interleave.
 */
#ifndef STREAMHUB_CORE_LOG_H
#define STREAMHUB_CORE_LOG_H

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

void log_set_level(log_level level);
log_level log_get_level(void);
int log_parse_level(const char *name, log_level *out);

/* fields_fmt is a printf format for extra JSON members without braces, e.g. "\"port\":%d";
 * pass NULL for none. String values must be escaped by the caller with log_escape. */
void log_msg(log_level level, const char *msg, const char *fields_fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes an already-formatted JSON line at once, in one write(2). */
void log_write_line(const char *line, unsigned long len);

/* Buffered lines (the access log: one per request, where one write(2) each was a sixth of the
 * system calls of a point read). A line goes into the calling thread's buffer, which is written
 * out in one write(2) when the next line would not fit or when its oldest line is older than
 * the flush interval. Threads that went quiet are flushed by whoever calls log_flush_all
 * periodically (the HTTP server's reaper, every 200 ms) and at shutdown. With an interval of 0
 * every line is written at once. A process killed with SIGKILL loses the lines still buffered. */
void log_set_flush_interval_ms(unsigned ms);
void log_write_buffered(const char *line, unsigned long len);
void log_flush_all(void);

/* Escapes s as JSON string content (no quotes) into out; truncates to fit. Returns out. */
const char *log_escape(const char *s, char *out, unsigned long out_size);

#define log_info(msg, ...) log_msg(LOG_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...) log_msg(LOG_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) log_msg(LOG_ERROR, msg, __VA_ARGS__)
#define log_debug(msg, ...) log_msg(LOG_DEBUG, msg, __VA_ARGS__)

#endif
