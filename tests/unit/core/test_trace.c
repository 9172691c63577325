/* SPDX-License-Identifier: MIT
 *
 * core/trace.c without a collector: W3C traceparent parsing and formatting (the cases the Trace
 * Context spec lists as invalid), the OTLP/JSON encoding read back with jansson (hex ids, nanos
 * as decimal strings, integer enums, the resource/scope/spans nesting), nesting through the
 * current span, parent-based sampling, and the bounded queue dropping instead of growing. The
 * exporter thread is not started (start_exporter false): spans stay queued for trace_take.
 */
#include "core/trace.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define TRACE_ID "4bf92f3577b34da6a3ce929d0e0e4736"
#define SPAN_ID "00f067aa0ba902b7"

static void test_traceparent_round_trip(void **state)
{
    (void)state;
    trace_context c;
    assert_true(trace_parse_traceparent("00-" TRACE_ID "-" SPAN_ID "-01", &c));
    assert_true(c.sampled);
    assert_int_equal(c.trace_id[0], 0x4b);
    assert_int_equal(c.span_id[7], 0xb7);
    char out[TRACE_PARENT_LEN + 1];
    trace_format_traceparent(&c, out);
    assert_string_equal(out, "00-" TRACE_ID "-" SPAN_ID "-01");
    assert_true(trace_parse_traceparent("00-" TRACE_ID "-" SPAN_ID "-00", &c));
    assert_false(c.sampled);
    /* only bit 0 of the flags means sampled; other bits are kept off when we write */
    assert_true(trace_parse_traceparent("00-" TRACE_ID "-" SPAN_ID "-03", &c));
    assert_true(c.sampled);
    /* a later version is read by its first 55 characters, extra fields after a dash */
    assert_true(trace_parse_traceparent("01-" TRACE_ID "-" SPAN_ID "-01-whatever", &c));
    assert_true(trace_parse_traceparent("01-" TRACE_ID "-" SPAN_ID "-01", &c));
}

static void test_traceparent_malformed(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "garbage",
        "00-" TRACE_ID "-" SPAN_ID,                                   /* no flags */
        "00-" TRACE_ID "-" SPAN_ID "-0",                              /* short */
        "00-" TRACE_ID "-" SPAN_ID "-01-",                            /* 00 has nothing after */
        "00-" TRACE_ID "-" SPAN_ID "-01x",                            /* nor anything glued */
        "01-" TRACE_ID "-" SPAN_ID "-01x",                            /* later: a dash first */
        "ff-" TRACE_ID "-" SPAN_ID "-01",                             /* version ff */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-" SPAN_ID "-01",         /* upper case */
        "00-00000000000000000000000000000000-" SPAN_ID "-01",         /* zero trace id */
        "00-" TRACE_ID "-0000000000000000-01",                        /* zero span id */
        "00_" TRACE_ID "_" SPAN_ID "_01",                             /* separators */
        "00-" TRACE_ID "-" SPAN_ID "-0g",                             /* non-hex flags */
        "0x-" TRACE_ID "-" SPAN_ID "-01",                             /* non-hex version */
        "00-4bf92f3577b34da6a3ce929d0e0e473-" SPAN_ID "0-01",         /* misplaced dash */
        " 00-" TRACE_ID "-" SPAN_ID "-01",                            /* leading space */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        trace_context c = {.sampled = true, .trace_id = {7}};
        assert_false(trace_parse_traceparent(bad[i], &c));
        assert_int_equal(c.trace_id[0], 7); /* untouched */
    }
    trace_context c;
    assert_false(trace_parse_traceparent(NULL, &c));
}

static int start(size_t queue_limit, double ratio)
{
    trace_options o = {.endpoint = "http://127.0.0.1:9/",
                       .service_name = "unit",
                       .service_version = "1.2.3",
                       .sample_ratio = ratio,
                       .queue_limit = queue_limit,
                       .start_exporter = false};
    char err[128];
    return trace_start(&o, err, sizeof err);
}

static json_t *member(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    assert_non_null(v);
    return v;
}

/* The attribute's value object ({"stringValue":...} or {"intValue":...}) by key. */
static json_t *attr(json_t *list, const char *key)
{
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a) if (!strcmp(json_string_value(member(a, "key")), key)) return
        member(a, "value");
    fail_msg("no attribute %s", key);
    return NULL;
}

static void test_nesting_and_encoding(void **state)
{
    (void)state;
    assert_int_equal(start(64, 1.0), 0);
    trace_context remote;
    assert_true(trace_parse_traceparent("00-" TRACE_ID "-" SPAN_ID "-01", &remote));
    trace_span *req = trace_begin("GET /things/{id}", TRACE_SERVER, &remote);
    assert_non_null(req);
    trace_set_str(req, "http.route", "/things/{id}");
    trace_set_int(req, "http.response.status_code", 200);
    trace_set_int(req, "http.response.status_code", 503); /* set again: replaced, not added */
    trace_set_error(req, "boom \"quoted\"");
    assert_null(trace_current());
    assert_null(trace_child("SELECT", TRACE_CLIENT)); /* no current span: not traced */
    trace_span *outer = trace_swap_current(req);
    trace_span *sql = trace_child("SELECT", TRACE_CLIENT);
    char tp[TRACE_PARENT_LEN + 1];
    assert_true(trace_current_traceparent(tp));
    assert_memory_equal(tp, "00-" TRACE_ID "-", 36);
    trace_swap_current(outer);
    assert_false(trace_current_traceparent(tp));
    trace_set_static_str(sql, "db.query.text", "SELECT 1");
    trace_set_static_str(sql, "db.query.text", "SELECT 2"); /* replaced, still borrowed */
    trace_end(sql);
    trace_end(req);

    trace_span *spans[8];
    assert_int_equal(trace_take(spans, 8), 2);
    buf out = {0};
    trace_encode(spans, 2, &out);
    json_error_t jerr;
    json_t *root = json_loads(out.data, 0, &jerr);
    assert_non_null(root);
    json_t *rs = json_array_get(member(root, "resourceSpans"), 0);
    json_t *res_attrs = member(member(rs, "resource"), "attributes");
    assert_string_equal(json_string_value(member(attr(res_attrs, "service.name"), "stringValue")),
                        "unit");
    assert_string_equal(
        json_string_value(member(attr(res_attrs, "service.version"), "stringValue")), "1.2.3");
    json_t *ss = json_array_get(member(rs, "scopeSpans"), 0);
    assert_string_equal(json_string_value(member(member(ss, "scope"), "name")), "streamhub");
    json_t *list = member(ss, "spans");
    assert_int_equal(json_array_size(list), 2);
    json_t *child = json_array_get(list, 0), *server = json_array_get(list, 1);

    assert_string_equal(json_string_value(member(server, "traceId")), TRACE_ID);
    assert_string_equal(json_string_value(member(server, "parentSpanId")), SPAN_ID);
    assert_int_equal(strlen(json_string_value(member(server, "spanId"))), 16);
    assert_string_equal(json_string_value(member(server, "name")), "GET /things/{id}");
    assert_int_equal(json_integer_value(member(server, "kind")), 2);
    const char *start_ns = json_string_value(member(server, "startTimeUnixNano"));
    const char *end_ns = json_string_value(member(server, "endTimeUnixNano"));
    assert_non_null(start_ns);
    assert_non_null(end_ns);
    assert_true(strlen(start_ns) >= 19 && strspn(start_ns, "0123456789") == strlen(start_ns));
    assert_true(strtoull(end_ns, NULL, 10) >= strtoull(start_ns, NULL, 10));
    json_t *sattrs = member(server, "attributes");
    assert_int_equal(json_array_size(sattrs), 2);
    assert_string_equal(
        json_string_value(member(attr(sattrs, "http.response.status_code"), "intValue")), "503");
    json_t *status = member(server, "status");
    assert_int_equal(json_integer_value(member(status, "code")), 2);
    assert_string_equal(json_string_value(member(status, "message")), "boom \"quoted\"");

    assert_string_equal(json_string_value(member(child, "traceId")), TRACE_ID);
    assert_string_equal(json_string_value(member(child, "parentSpanId")),
                        json_string_value(member(server, "spanId")));
    assert_int_equal(json_integer_value(member(child, "kind")), 3);
    assert_null(json_object_get(child, "status")); /* unset */
    assert_string_equal(json_string_value(member(attr(member(child, "attributes"), "db.query.text"),
                                                 "stringValue")),
                        "SELECT 2");
    /* the traceparent of the current span was the server span's own */
    char want[TRACE_PARENT_LEN + 1];
    snprintf(want, sizeof want, "00-%s-%s-01", TRACE_ID,
             json_string_value(member(server, "spanId")));
    assert_string_equal(tp, want);

    json_decref(root);
    buf_free(&out);
    trace_span_free(spans[0]);
    trace_span_free(spans[1]);
    trace_stop();
}

static void test_sampling_and_roots(void **state)
{
    (void)state;
    assert_int_equal(start(64, 0.0), 0);
    assert_null(trace_begin("root", TRACE_SERVER, NULL)); /* ratio 0: no new trace */
    trace_context unsampled;
    assert_true(trace_parse_traceparent("00-" TRACE_ID "-" SPAN_ID "-00", &unsampled));
    assert_null(trace_begin("child", TRACE_SERVER, &unsampled));
    trace_context sampled = unsampled;
    sampled.sampled = true;
    trace_span *s = trace_begin("child", TRACE_SERVER, &sampled); /* the caller decides */
    assert_non_null(s);
    trace_span_free(s);
    trace_stop();

    assert_int_equal(start(64, 1.0), 0);
    trace_span *a = trace_begin("a", TRACE_INTERNAL, NULL), *b = trace_begin("b", TRACE_INTERNAL, NULL);
    trace_context ca, cb;
    assert_true(trace_context_of(a, &ca));
    assert_true(trace_context_of(b, &cb));
    assert_memory_not_equal(ca.trace_id, cb.trace_id, 16); /* fresh random roots */
    trace_span_free(a);
    trace_span_free(b);
    trace_stop();
    assert_false(trace_enabled());
    assert_null(trace_begin("off", TRACE_SERVER, &sampled)); /* off: nothing at all */
}

static void test_queue_drops_when_full(void **state)
{
    (void)state;
    trace_stats before;
    trace_stats_get(&before);
    assert_int_equal(start(16, 1.0), 0);
    for (int i = 0; i < 20; i++)
        trace_end(trace_begin("s", TRACE_INTERNAL, NULL));
    trace_stats st;
    trace_stats_get(&st);
    assert_int_equal(st.queued, 16);
    assert_int_equal(st.dropped - before.dropped, 4);
    buf m = {0};
    trace_metrics(&m);
    assert_non_null(strstr(m.data, "streamhub_trace_spans_queued 16\n"));
    buf_free(&m);
    trace_stop(); /* what is still queued is dropped, counted */
    trace_stats_get(&st);
    assert_int_equal(st.dropped - before.dropped, 20);
    assert_int_equal(st.queued, 0);
}

static void test_off_without_endpoint(void **state)
{
    (void)state;
    trace_options o = {.endpoint = ""};
    char err[128];
    assert_int_equal(trace_start(&o, err, sizeof err), 0);
    assert_false(trace_enabled());
    o.endpoint = "ftp://collector";
    assert_true(trace_start(&o, err, sizeof err) < 0);
    assert_false(trace_enabled());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_traceparent_round_trip),
        cmocka_unit_test(test_traceparent_malformed),
        cmocka_unit_test(test_nesting_and_encoding),
        cmocka_unit_test(test_sampling_and_roots),
        cmocka_unit_test(test_queue_drops_when_full),
        cmocka_unit_test(test_off_without_endpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
