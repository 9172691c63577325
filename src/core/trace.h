/* SPDX-License-Identifier: MIT
 *
 * OpenTelemetry tracing: spans for requests, SQL statements, jobs and outbound calls, exported in
 * batches over OTLP/HTTP with JSON encoding (POST <endpoint>/v1/traces) by one exporter thread.
 *
 * Off by default (no --otlp-endpoint): trace_begin then returns NULL after one branch, every
 * other function takes NULL and does nothing, and trace_current() is always NULL, so the request
 * path pays a load and a branch per hook. On, a span is a small malloc'd record owned by whoever
 * began it until trace_end, which hands it to a bounded in-memory queue. The queue never blocks
 * and never grows: when it is full the span is freed and counted as dropped. The lock around it is
 * held for a pointer copy by producers and for a batch of pointer copies by the exporter, never
 * across encoding or the network.
 *
 * A span is recorded on one thread at a time (the one that holds it). Nesting across layers goes
 * through a per-thread "current span": the HTTP server makes a request's span current while its
 * handler runs, the job runner does the same for a job's span, and lower layers (SQL, enqueueing
 * a job, outbound calls) start children of trace_current() without any handle passed down.
 *
 * Propagation is W3C Trace Context `traceparent` (version 00): read from requests, stored with
 * queued jobs and outbox messages, sent on outbound webhook calls. Sampling is parent-based: a
 * remote parent's sampled flag decides; a root is sampled with the configured ratio.
 */
#ifndef STREAMHUB_CORE_TRACE_H
#define STREAMHUB_CORE_TRACE_H

#include "core/util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "00-" 32 hex "-" 16 hex "-" 2 hex */
#define TRACE_PARENT_LEN 55

/* OTLP's SpanKind values (the JSON encoding writes enums as integers). */
typedef enum {
    TRACE_INTERNAL = 1,
    TRACE_SERVER = 2,
    TRACE_CLIENT = 3,
    TRACE_PRODUCER = 4,
    TRACE_CONSUMER = 5,
} trace_kind;

typedef struct trace_context {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    bool sampled;
} trace_context;

typedef struct trace_span trace_span;

typedef struct trace_options {
    const char *endpoint;     /* collector base URL; empty or NULL = tracing off */
    const char *service_name; /* resource attribute service.name */
    const char *service_version;
    double sample_ratio;      /* 0..1, for roots */
    size_t queue_limit;       /* ended spans waiting for export; more are dropped */
    size_t batch_size;        /* spans per POST; also wakes the exporter */
    int64_t flush_ms;         /* the longest an ended span waits before a POST */
    int64_t timeout_ms;       /* whole POST, connecting included */
    /* false: no exporter thread, spans stay queued for trace_take (unit tests) */
    bool start_exporter;
} trace_options;

/* Starts tracing (the exporter thread unless opts->start_exporter is false). With no endpoint it
 * does nothing and returns 0. On failure returns a negative ERR_* and writes a reason. */
int trace_start(const trace_options *opts, char *err, size_t err_size);
/* Stops the exporter after one last bounded attempt at what is queued; frees what remains. */
void trace_stop(void);
bool trace_enabled(void);

/* Parses a traceparent header value; false (and *out untouched) for anything malformed: wrong
 * length or separators, upper-case or non-hex digits, version ff, all-zero ids, or a version 00
 * header with anything after the flags. Later versions are read by their first 55 characters. */
bool trace_parse_traceparent(const char *header, trace_context *out);
/* Writes TRACE_PARENT_LEN characters and a NUL. */
void trace_format_traceparent(const trace_context *ctx, char out[TRACE_PARENT_LEN + 1]);

/* Begins a span whose parent is remote (an incoming or stored traceparent), or a root when parent
 * is NULL. NULL when tracing is off or the span is not sampled. name is copied. */
trace_span *trace_begin(const char *name, trace_kind kind, const trace_context *parent);
/* Begins a child of this thread's current span; NULL when there is none. */
trace_span *trace_child(const char *name, trace_kind kind);
/* Attributes (at most TRACE_MAX_ATTRS per span; more are ignored). Keys must be string literals;
 * string values are copied, cut at TRACE_MAX_VALUE bytes. All take a NULL span. */
#define TRACE_MAX_ATTRS 12
#define TRACE_MAX_VALUE 1024
void trace_set_str(trace_span *s, const char *key, const char *value);
/* For a value that outlives every span (a string literal): kept by address, not copied. */
void trace_set_static_str(trace_span *s, const char *key, const char *value);
void trace_set_int(trace_span *s, const char *key, int64_t value);
/* Marks the span failed (OTLP status ERROR) with a message. */
void trace_set_error(trace_span *s, const char *message);
/* Ends the span and queues it for export (or drops it when the queue is full). */
void trace_end(trace_span *s);

/* This thread's current span; trace_swap_current makes s current and returns the previous one,
 * to be put back when s's work on this thread is done. */
trace_span *trace_current(void);
trace_span *trace_swap_current(trace_span *s);
/* The span's own context (for propagation); false for NULL. */
bool trace_context_of(const trace_span *s, trace_context *out);
/* The current span as a traceparent; false when there is none. */
bool trace_current_traceparent(char out[TRACE_PARENT_LEN + 1]);
/* The span's trace id in hex (33 bytes with the NUL); false for NULL. */
bool trace_trace_id_hex(const trace_span *s, char out[33]);

/* For the exporter and tests: moves up to max queued spans into out, oldest first. */
size_t trace_take(trace_span **out, size_t max);
/* Writes one OTLP ExportTraceServiceRequest as JSON for n ended spans. */
void trace_encode(trace_span *const *spans, size_t n, buf *out);
void trace_span_free(trace_span *s);

typedef struct trace_stats {
    uint64_t exported;        /* spans a collector accepted */
    uint64_t dropped;         /* spans dropped: queue full, or their POST failed */
    uint64_t export_failures; /* POSTs that failed (network, timeout, non-2xx) */
    uint64_t queued;          /* waiting now */
} trace_stats;
void trace_stats_get(trace_stats *out);
/* Prometheus text for the figures above. */
void trace_metrics(buf *out);

#endif
