/* SPDX-License-Identifier: MIT
 *
 * Spans, W3C traceparent, the bounded export queue, the OTLP/JSON encoding and the exporter
 * thread (see trace.h). Ids come from libsodium's CSPRNG. The exporter owns one libcurl easy
 * handle, reused so a collector's keep-alive connection is kept between batches; a failed POST
 * drops its batch (counted) rather than retrying, so a collector that is down costs the server a
 * connect attempt per batch and nothing else.
 */
#include "core/trace.h"

#include "core/jsonw.h"
#include "core/log.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NAME_MAX_BYTES 128
#define ENDPOINT_PATH "/v1/traces"

typedef struct trace_attr {
    const char *key;
    bool is_int;
    int64_t int_value;
    char *str_value;
    bool borrowed; /* str_value is a string that lives as long as the program */
} trace_attr;

struct trace_span {
    trace_context ctx;
    uint8_t parent_id[8];
    bool has_parent;
    trace_kind kind;
    char name[NAME_MAX_BYTES];
    uint64_t start_ns, end_ns;
    int n_attrs;
    trace_attr attrs[TRACE_MAX_ATTRS];
    char *error_message; /* non-NULL: status ERROR */
};

static atomic_bool enabled;
static _Thread_local trace_span *current;

static struct {
    trace_options o;
    char *url, *service_name, *service_version;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    trace_span **ring; /* queue_limit slots */
    size_t head, count;
    bool stopping;
    pthread_t thread;
    bool has_thread;
    atomic_ullong exported, dropped, export_failures;
} q = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

/* acquire: a thread that sees tracing on also sees the options trace_start wrote before */
bool trace_enabled(void)
{
    return atomic_load_explicit(&enabled, memory_order_acquire);
}

/* ---- traceparent ---------------------------------------------------------------------------- */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* upper case is invalid in traceparent */
}

/* Decodes n bytes from 2n lower-case hex digits; false on a bad digit. */
static bool unhex(const char *text, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static void hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

static bool all_zero(const uint8_t *bytes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (bytes[i])
            return false;
    return true;
}

bool trace_parse_traceparent(const char *h, trace_context *out)
{
    if (!h)
        return false;
    size_t len = strnlen(h, TRACE_PARENT_LEN + 1);
    uint8_t version, flags;
    trace_context c = {0};
    if (len < TRACE_PARENT_LEN || h[2] != '-' || h[35] != '-' || h[52] != '-' ||
        !unhex(h, &version, 1) || version == 0xff || !unhex(h + 3, c.trace_id, 16) ||
        !unhex(h + 36, c.span_id, 8) || !unhex(h + 53, &flags, 1))
        return false;
    /* version 00 is exactly 55 characters; a later version may append fields after a dash */
    if (len > TRACE_PARENT_LEN && (version == 0 || h[TRACE_PARENT_LEN] != '-'))
        return false;
    if (all_zero(c.trace_id, 16) || all_zero(c.span_id, 8))
        return false;
    c.sampled = flags & 1;
    *out = c;
    return true;
}

void trace_format_traceparent(const trace_context *c, char out[TRACE_PARENT_LEN + 1])
{
    memcpy(out, "00-", 3);
    hex(c->trace_id, 16, out + 3);
    out[35] = '-';
    hex(c->span_id, 8, out + 36);
    out[52] = '-';
    out[53] = '0';
    out[54] = c->sampled ? '1' : '0';
    out[55] = '\0';
}

/* ---- spans ---------------------------------------------------------------------------------- */

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* OpenTelemetry's TraceIdRatioBased rule: the trace id's low 8 bytes, read as a fraction of 2^64,
 * fall under the ratio. Deciding from the id keeps the choice the same wherever it is made. */
static bool ratio_samples(const uint8_t trace_id[16])
{
    double ratio = q.o.sample_ratio;
    if (ratio >= 1.0)
        return true;
    uint64_t low = 0;
    for (int i = 8; i < 16; i++)
        low = low << 8 | trace_id[i];
    return (double)low < ratio * 18446744073709551616.0;
}

/* Ids come from libsodium's CSPRNG through a per-thread pool: one getrandom() call per 32 span
 * ids instead of one per id (measured: a few thousand instructions per SQL span otherwise). */
static void random_id(uint8_t *out, size_t n)
{
    static _Thread_local uint8_t pool[256];
    static _Thread_local size_t used = sizeof pool;
    if (used + n > sizeof pool) {
        randombytes_buf(pool, sizeof pool);
        used = 0;
    }
    memcpy(out, pool + used, n);
    sodium_memzero(pool + used, n); /* an id handed out is not kept */
    used += n;
}

static trace_span *span_new(const char *name, trace_kind kind)
{
    trace_span *s = xcalloc(1, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->kind = kind;
    s->ctx.sampled = true;
    random_id(s->ctx.span_id, sizeof s->ctx.span_id);
    s->start_ns = wall_ns();
    return s;
}

trace_span *trace_begin(const char *name, trace_kind kind, const trace_context *parent)
{
    if (!trace_enabled())
        return NULL;
    if (parent) {
        if (!parent->sampled)
            return NULL;
        trace_span *s = span_new(name, kind);
        memcpy(s->ctx.trace_id, parent->trace_id, 16);
        memcpy(s->parent_id, parent->span_id, 8);
        s->has_parent = true;
        return s;
    }
    uint8_t trace_id[16];
    do
        random_id(trace_id, sizeof trace_id);
    while (all_zero(trace_id, sizeof trace_id));
    if (!ratio_samples(trace_id))
        return NULL;
    trace_span *s = span_new(name, kind);
    memcpy(s->ctx.trace_id, trace_id, 16);
    return s;
}

trace_span *trace_child(const char *name, trace_kind kind)
{
    trace_span *parent = current;
    if (!parent)
        return NULL;
    trace_span *s = span_new(name, kind);
    memcpy(s->ctx.trace_id, parent->ctx.trace_id, 16);
    memcpy(s->parent_id, parent->ctx.span_id, 8);
    s->has_parent = true;
    return s;
}

/* A copy of at most TRACE_MAX_VALUE bytes (xstrndup copies exactly n: measure first). */
static char *copy_bounded(const char *value)
{
    return xstrndup(value, strnlen(value, TRACE_MAX_VALUE));
}

static trace_attr *attr_slot(trace_span *s, const char *key)
{
    for (int i = 0; i < s->n_attrs; i++)
        if (!strcmp(s->attrs[i].key, key)) {
            if (!s->attrs[i].borrowed)
                free(s->attrs[i].str_value);
            s->attrs[i].str_value = NULL;
            s->attrs[i].borrowed = false;
            return &s->attrs[i];
        }
    if (s->n_attrs == TRACE_MAX_ATTRS)
        return NULL;
    trace_attr *a = &s->attrs[s->n_attrs++];
    a->key = key;
    return a;
}

void trace_set_str(trace_span *s, const char *key, const char *value)
{
    trace_attr *a = s && value ? attr_slot(s, key) : NULL;
    if (!a)
        return;
    a->is_int = false;
    a->str_value = copy_bounded(value);
}

void trace_set_static_str(trace_span *s, const char *key, const char *value)
{
    if (!value || strnlen(value, TRACE_MAX_VALUE + 1) > TRACE_MAX_VALUE) {
        trace_set_str(s, key, value); /* cut, hence copied */
        return;
    }
    trace_attr *a = s ? attr_slot(s, key) : NULL;
    if (!a)
        return;
    a->is_int = false;
    a->str_value = (char *)value;
    a->borrowed = true;
}

void trace_set_int(trace_span *s, const char *key, int64_t value)
{
    trace_attr *a = s ? attr_slot(s, key) : NULL;
    if (!a)
        return;
    a->is_int = true;
    a->int_value = value;
}

void trace_set_error(trace_span *s, const char *message)
{
    if (!s)
        return;
    free(s->error_message);
    s->error_message = copy_bounded(message ? message : "");
}

void trace_span_free(trace_span *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n_attrs; i++)
        if (!s->attrs[i].borrowed)
            free(s->attrs[i].str_value);
    free(s->error_message);
    free(s);
}

void trace_end(trace_span *s)
{
    if (!s)
        return;
    s->end_ns = wall_ns();
    bool queued = false;
    pthread_mutex_lock(&q.lock);
    if (q.ring && q.count < q.o.queue_limit) {
        q.ring[(q.head + q.count) % q.o.queue_limit] = s;
        q.count++;
        queued = true;
        if (q.count == q.o.batch_size)
            pthread_cond_signal(&q.wake);
    }
    pthread_mutex_unlock(&q.lock);
    if (!queued) {
        atomic_fetch_add_explicit(&q.dropped, 1, memory_order_relaxed);
        trace_span_free(s);
    }
}

trace_span *trace_current(void)
{
    return current;
}

trace_span *trace_swap_current(trace_span *s)
{
    trace_span *prev = current;
    current = s;
    return prev;
}

bool trace_context_of(const trace_span *s, trace_context *out)
{
    if (!s)
        return false;
    *out = s->ctx;
    return true;
}

bool trace_current_traceparent(char out[TRACE_PARENT_LEN + 1])
{
    if (!current)
        return false;
    trace_format_traceparent(&current->ctx, out);
    return true;
}

bool trace_trace_id_hex(const trace_span *s, char out[33])
{
    if (!s)
        return false;
    hex(s->ctx.trace_id, 16, out);
    return true;
}

size_t trace_take(trace_span **out, size_t max)
{
    pthread_mutex_lock(&q.lock);
    size_t n = 0;
    for (; n < max && q.count > 0; n++) {
        out[n] = q.ring[q.head];
        q.head = (q.head + 1) % q.o.queue_limit;
        q.count--;
    }
    pthread_mutex_unlock(&q.lock);
    return n;
}

/* ---- OTLP/JSON ------------------------------------------------------------------------------
 * The protobuf JSON mapping with OTLP's own exceptions: trace and span ids are lower-case hex
 * (not base64), 64-bit integers (times, intValue) are decimal strings, enums (kind, status code)
 * are integers, field names are lowerCamelCase. */

static void write_u64_string(jsonw *w, const char *key, uint64_t v)
{
    char text[24];
    snprintf(text, sizeof text, "%llu", (unsigned long long)v);
    jsonw_member_string(w, key, text);
}

static void write_attr(jsonw *w, const char *key, const trace_attr *a, const char *str)
{
    jsonw_object(w);
    jsonw_member_string(w, "key", key);
    jsonw_key(w, "value");
    jsonw_object(w);
    if (a && a->is_int) {
        char text[24];
        snprintf(text, sizeof text, "%lld", (long long)a->int_value);
        jsonw_member_string(w, "intValue", text);
    } else {
        jsonw_member_string(w, "stringValue", a ? a->str_value : str);
    }
    jsonw_end_object(w);
    jsonw_end_object(w);
}

static void write_span(jsonw *w, const trace_span *s)
{
    char id[33];
    jsonw_object(w);
    hex(s->ctx.trace_id, 16, id);
    jsonw_member_string(w, "traceId", id);
    hex(s->ctx.span_id, 8, id);
    jsonw_member_string(w, "spanId", id);
    if (s->has_parent) {
        hex(s->parent_id, 8, id);
        jsonw_member_string(w, "parentSpanId", id);
    }
    jsonw_member_string(w, "name", s->name);
    jsonw_member_int(w, "kind", s->kind);
    write_u64_string(w, "startTimeUnixNano", s->start_ns);
    write_u64_string(w, "endTimeUnixNano", s->end_ns);
    jsonw_key(w, "attributes");
    jsonw_array(w);
    for (int i = 0; i < s->n_attrs; i++)
        write_attr(w, s->attrs[i].key, &s->attrs[i], NULL);
    jsonw_end_array(w);
    if (s->error_message) {
        jsonw_key(w, "status");
        jsonw_object(w);
        jsonw_member_int(w, "code", 2); /* STATUS_CODE_ERROR */
        jsonw_member_string(w, "message", s->error_message);
        jsonw_end_object(w);
    }
    jsonw_end_object(w);
}

void trace_encode(trace_span *const *spans, size_t n, buf *out)
{
    jsonw w;
    jsonw_init(&w, out);
    jsonw_object(&w);
    jsonw_key(&w, "resourceSpans");
    jsonw_array(&w);
    jsonw_object(&w);
    jsonw_key(&w, "resource");
    jsonw_object(&w);
    jsonw_key(&w, "attributes");
    jsonw_array(&w);
    write_attr(&w, "service.name", NULL, q.service_name ? q.service_name : "streamhub");
    if (q.service_version)
        write_attr(&w, "service.version", NULL, q.service_version);
    jsonw_end_array(&w);
    jsonw_end_object(&w);
    jsonw_key(&w, "scopeSpans");
    jsonw_array(&w);
    jsonw_object(&w);
    jsonw_key(&w, "scope");
    jsonw_object(&w);
    jsonw_member_string(&w, "name", "streamhub");
    jsonw_end_object(&w);
    jsonw_key(&w, "spans");
    jsonw_array(&w);
    for (size_t i = 0; i < n; i++)
        write_span(&w, spans[i]);
    jsonw_end_array(&w);
    jsonw_end_object(&w);
    jsonw_end_array(&w);
    jsonw_end_object(&w);
    jsonw_end_array(&w);
    jsonw_end_object(&w);
}

/* ---- exporter ------------------------------------------------------------------------------- */

static size_t discard_body(char *ptr, size_t size, size_t n, void *user)
{
    (void)ptr;
    (void)user;
    return size * n;
}

/* One POST of a batch: true when the collector answered 2xx. */
static bool post_batch(CURL *c, trace_span **spans, size_t n)
{
    buf body = {0};
    trace_encode(spans, n, &body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    buf_free(&body);
    bool ok = rc == CURLE_OK && status >= 200 && status < 300;
    if (!ok)
        log_debug("trace export failed", "\"status\":%ld,\"error\":\"%s\"", status,
                  rc == CURLE_OK ? "http status" : curl_easy_strerror(rc));
    return ok;
}

static void export_batch(CURL *c, trace_span **spans, size_t n)
{
    if (c && post_batch(c, spans, n)) {
        atomic_fetch_add_explicit(&q.exported, n, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&q.export_failures, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&q.dropped, n, memory_order_relaxed);
    }
    for (size_t i = 0; i < n; i++)
        trace_span_free(spans[i]);
}

static CURL *exporter_handle(struct curl_slist *headers)
{
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    long timeout = (long)q.o.timeout_ms;
    curl_easy_setopt(c, CURLOPT_URL, q.url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout < 2000 ? timeout : 2000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
    return c;
}

static void *exporter_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "sh-trace");
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    CURL *c = exporter_handle(headers);
    trace_span **batch = xcalloc(q.o.batch_size, sizeof *batch);
    for (;;) {
        pthread_mutex_lock(&q.lock);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        int64_t ns = until.tv_nsec + q.o.flush_ms * 1000000;
        until.tv_sec += ns / 1000000000;
        until.tv_nsec = ns % 1000000000;
        while (!q.stopping && q.count < q.o.batch_size &&
               pthread_cond_timedwait(&q.wake, &q.lock, &until) == 0)
            ;
        bool stopping = q.stopping;
        pthread_mutex_unlock(&q.lock);
        /* at shutdown: one last bounded POST; whatever is left after it is dropped by trace_stop */
        size_t n = trace_take(batch, q.o.batch_size);
        if (n)
            export_batch(c, batch, n);
        if (stopping)
            break;
    }
    free(batch);
    if (c)
        curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    return NULL;
}

int trace_start(const trace_options *opts, char *err, size_t err_size)
{
    if (!opts->endpoint || !*opts->endpoint)
        return 0;
    if (!str_has_prefix(opts->endpoint, "http://") && !str_has_prefix(opts->endpoint, "https://")) {
        snprintf(err, err_size, "--otlp-endpoint must be an http:// or https:// URL");
        return ERR_INVALID;
    }
    q.o = *opts;
    if (q.o.queue_limit == 0)
        q.o.queue_limit = 2048;
    if (q.o.batch_size == 0 || q.o.batch_size > q.o.queue_limit)
        q.o.batch_size = q.o.queue_limit < 512 ? q.o.queue_limit : 512;
    if (q.o.flush_ms <= 0)
        q.o.flush_ms = 1000;
    if (q.o.timeout_ms <= 0)
        q.o.timeout_ms = 5000;
    size_t len = strlen(opts->endpoint);
    while (len && opts->endpoint[len - 1] == '/')
        len--;
    q.url = xasprintf("%.*s%s", (int)len, opts->endpoint, ENDPOINT_PATH);
    q.service_name = xstrdup(opts->service_name && *opts->service_name ? opts->service_name
                                                                        : "streamhub");
    q.service_version = opts->service_version ? xstrdup(opts->service_version) : NULL;
    q.ring = xcalloc(q.o.queue_limit, sizeof *q.ring);
    q.head = q.count = 0;
    q.stopping = false;
    atomic_store(&enabled, true);
    if (!opts->start_exporter)
        return 0;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, err_size, "libcurl failed to initialise");
        trace_stop();
        return ERR_INTERNAL;
    }
    if (pthread_create(&q.thread, NULL, exporter_main, NULL) != 0) {
        snprintf(err, err_size, "cannot start the trace exporter thread");
        curl_global_cleanup();
        trace_stop();
        return ERR_INTERNAL;
    }
    q.has_thread = true;
    return 0;
}

void trace_stop(void)
{
    if (!q.ring)
        return;
    atomic_store(&enabled, false);
    pthread_mutex_lock(&q.lock);
    q.stopping = true;
    pthread_cond_signal(&q.wake);
    pthread_mutex_unlock(&q.lock);
    if (q.has_thread) {
        pthread_join(q.thread, NULL);
        q.has_thread = false;
        curl_global_cleanup();
    }
    trace_span *left[64];
    size_t n;
    while ((n = trace_take(left, 64)) > 0)
        for (size_t i = 0; i < n; i++) {
            atomic_fetch_add_explicit(&q.dropped, 1, memory_order_relaxed);
            trace_span_free(left[i]);
        }
    pthread_mutex_lock(&q.lock);
    free(q.ring);
    q.ring = NULL;
    pthread_mutex_unlock(&q.lock);
    free(q.url);
    free(q.service_name);
    free(q.service_version);
    q.url = q.service_name = q.service_version = NULL;
}

void trace_stats_get(trace_stats *out)
{
    out->exported = atomic_load_explicit(&q.exported, memory_order_relaxed);
    out->dropped = atomic_load_explicit(&q.dropped, memory_order_relaxed);
    out->export_failures = atomic_load_explicit(&q.export_failures, memory_order_relaxed);
    pthread_mutex_lock(&q.lock);
    out->queued = q.count;
    pthread_mutex_unlock(&q.lock);
}

void trace_metrics(buf *out)
{
    trace_stats t;
    trace_stats_get(&t);
    buf_printf(out,
               "# HELP streamhub_trace_spans_exported_total Spans an OTLP collector accepted.\n"
               "# TYPE streamhub_trace_spans_exported_total counter\n"
               "streamhub_trace_spans_exported_total %llu\n"
               "# HELP streamhub_trace_spans_dropped_total Spans dropped: the export queue was "
               "full, or the POST carrying them failed.\n"
               "# TYPE streamhub_trace_spans_dropped_total counter\n"
               "streamhub_trace_spans_dropped_total %llu\n"
               "# HELP streamhub_trace_export_failures_total OTLP POSTs that failed (network, "
               "timeout or non-2xx answer).\n"
               "# TYPE streamhub_trace_export_failures_total counter\n"
               "streamhub_trace_export_failures_total %llu\n"
               "# HELP streamhub_trace_spans_queued Ended spans waiting for export.\n"
               "# TYPE streamhub_trace_spans_queued gauge\n"
               "streamhub_trace_spans_queued %llu\n",
               (unsigned long long)t.exported, (unsigned long long)t.dropped,
               (unsigned long long)t.export_failures, (unsigned long long)t.queued);
}
