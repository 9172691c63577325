/* SPDX-License-Identifier: MIT
 *
 * Creator analytics (docs/analytics.md): GET /api/v1/analytics/posts/:id, /analytics/me and
 * /admin/analytics read the hourly rollups as JSON, CSV (Accept: text/csv or ?format=csv) or an
 * SVG line chart of one metric (?format=svg&metric=views); POST /api/v1/events/client logs a
 * studio event from the closed list; POST /api/v1/admin/analytics/rollup folds the event log now
 * (the same rollup the housekeeping thread runs every round; tests and operators use it). Ranges
 * and time zones are parsed here and checked by domain/analytics.h.
 */
#include "api/api.h"

#include "core/id.h"
#include "core/jsonw.h"
#include "core/util.h"
#include "domain/analytics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_MS 86400000LL
#define DEFAULT_DAYS 28
#define DEFAULT_HOURS 48
#define MAX_TZ_MINUTES (14 * 60)
#define CHART_W 800
#define CHART_H 300
#define CHART_PAD 40

/* "YYYY-MM-DD" (midnight in tz), "YYYY-MM-DDTHH:MM[:SS]Z" or milliseconds since the epoch. */
static bool parse_time(const char *s, int64_t tz_ms, int64_t *out)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, used = 0;
    struct tm tm = {0};
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &used) == 3 && !s[used]) {
        /* a date is midnight of the requested zone */
    } else if (sscanf(s, "%4d-%2d-%2dT%2d:%2d%n", &y, &mo, &d, &h, &mi, &used) == 5) {
        if (s[used] == ':' && sscanf(s + used, ":%2d%n", &sec, &(int){0}) == 1)
            used += 3;
        if (strcmp(s + used, "Z") != 0)
            return false;
        tz_ms = 0;
    } else {
        char *end;
        long long ms = strtoll(s, &end, 10);
        if (!*s || *end || ms < 0)
            return false;
        *out = ms;
        return true;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 || y < 1970)
        return false;
    tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
    tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = sec;
    *out = (int64_t)timegm(&tm) * 1000 - tz_ms;
    return true;
}

/* "+HH:MM", "-HH:MM", "Z" or "UTC": a fixed offset (IANA names are not taken: docs). */
static bool parse_tz(const char *s, int64_t *ms)
{
    int h, m;
    char sign;
    if (!s || !strcmp(s, "Z") || !strcmp(s, "UTC")) {
        *ms = 0;
        return true;
    }
    if (strlen(s) != 6 || sscanf(s, "%c%2d:%2d", &sign, &h, &m) != 3 ||
        (sign != '+' && sign != '-') || m > 59 || h * 60 + m > MAX_TZ_MINUTES)
        return false;
    *ms = (sign == '-' ? -1 : 1) * (int64_t)(h * 60 + m) * 60000;
    return true;
}

static void invalid(http_res *res, const char *param, const char *reason)
{
    domain_error err = {0};
    api_fail(res, domain_invalid(&err, param, reason), &err);
}

/* The range of ?from=&to=&granularity=&tz=, checked; false when answered (422). */
static bool read_range(api_ctx *c, bool hourly_allowed, analytics_range *r)
{
    const char *g = http_req_query(c->req, "granularity");
    bool hourly = g && !strcmp(g, "hour");
    if (hourly && !hourly_allowed) {
        invalid(c->res, "granularity", "not_allowed");
        return false;
    }
    r->bucket_ms = hourly ? ANALYTICS_HOUR_MS : DAY_MS;
    if (!parse_tz(http_req_query(c->req, "tz"), &r->tz_offset_ms)) {
        invalid(c->res, "tz", "invalid_offset");
        return false;
    }
    const char *from = http_req_query(c->req, "from"), *to = http_req_query(c->req, "to");
    r->to = now_ms();
    if (to && !parse_time(to, r->tz_offset_ms, &r->to)) {
        invalid(c->res, "to", "invalid_time");
        return false;
    }
    /* by default the last 28 days (48 hours), the current one included */
    r->from =
        r->to - (hourly ? (DEFAULT_HOURS - 1) * ANALYTICS_HOUR_MS : (DEFAULT_DAYS - 1) * DAY_MS);
    if (from && !parse_time(from, r->tz_offset_ms, &r->from)) {
        invalid(c->res, "from", "invalid_time");
        return false;
    }
    domain_error err = {0};
    int rc = analytics_range_check(r, &err);
    if (rc < 0)
        api_fail(c->res, rc, &err);
    return rc == 0;
}

static const char *format_of(api_ctx *c)
{
    const char *f = http_req_query(c->req, "format");
    if (f)
        return f;
    const char *accept = http_req_header(c->req, "Accept");
    return accept && strstr(accept, "text/csv") ? "csv" : "json";
}

static void iso_time(int64_t ms, int64_t tz_ms, char *out, size_t n)
{
    time_t t = (time_t)((ms + tz_ms) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    int off = (int)(tz_ms / 60000);
    if (!off)
        strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
    else {
        char base[20]; /* "YYYY-MM-DDTHH:MM:SS" */
        strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(out, n, "%s%c%02d:%02d", base, off < 0 ? '-' : '+', abs(off) / 60, abs(off) % 60);
    }
}

static void send_csv(http_res *res, const analytics_series *s, const analytics_range *r,
                     const int64_t *extra, const char *extra_name)
{
    buf b = {0};
    buf_append(&b, "start", 5);
    for (int k = 0; k < s->n_cols; k++)
        buf_printf(&b, ",%s", s->cols[k]);
    if (extra)
        buf_printf(&b, ",%s", extra_name);
    buf_append(&b, "\r\n", 2);
    for (int i = 0; i < s->n; i++) {
        char t[40];
        iso_time(s->starts[i], r->tz_offset_ms, t, sizeof t);
        buf_printf(&b, "%s", t);
        for (int k = 0; k < s->n_cols; k++)
            buf_printf(&b, ",%lld", (long long)s->vals[i * s->n_cols + k]);
        if (extra)
            buf_printf(&b, ",%lld", (long long)extra[i]);
        buf_append(&b, "\r\n", 2);
    }
    http_res_bytes(res, 200, "text/csv; charset=utf-8", b.data, b.len, false);
    buf_free(&b);
}

/* A line chart of one column, drawn by hand: the figure is a polyline, two axes and three
 * labels, which no plotting library would make shorter (docs/analytics.md, "Charts"). */
static void send_svg(http_res *res, const analytics_series *s, const analytics_range *r, int col)
{
    int64_t max = 1;
    for (int i = 0; i < s->n; i++)
        if (s->vals[i * s->n_cols + col] > max)
            max = s->vals[i * s->n_cols + col];
    int plot_w = CHART_W - 2 * CHART_PAD, plot_h = CHART_H - 2 * CHART_PAD;
    buf b = {0};
    buf_printf(&b,
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>"
               "<text x=\"%d\" y=\"20\">%s</text>"
               "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>"
               "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>"
               "<text x=\"4\" y=\"%d\">%lld</text><text x=\"4\" y=\"%d\">0</text>",
               CHART_W, CHART_H, CHART_W, CHART_H, CHART_PAD, s->cols[col], CHART_PAD,
               CHART_H - CHART_PAD, CHART_W - CHART_PAD, CHART_H - CHART_PAD, CHART_PAD, CHART_PAD,
               CHART_PAD, CHART_H - CHART_PAD, CHART_PAD + 4, (long long)max, CHART_H - CHART_PAD);
    buf_printf(&b, "<polyline fill=\"none\" stroke=\"#e4405f\" stroke-width=\"2\" points=\"");
    for (int i = 0; i < s->n; i++) {
        double x = CHART_PAD + (s->n > 1 ? (double)plot_w * i / (s->n - 1) : plot_w / 2.0);
        double y = CHART_H - CHART_PAD - (double)plot_h * s->vals[i * s->n_cols + col] / max;
        buf_printf(&b, "%s%.1f,%.1f", i ? " " : "", x, y);
    }
    char first[40], last[40];
    iso_time(s->starts[0], r->tz_offset_ms, first, sizeof first);
    iso_time(s->starts[s->n - 1], r->tz_offset_ms, last, sizeof last);
    buf_printf(&b,
               "\"/><text x=\"%d\" y=\"%d\">%.10s</text>"
               "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.10s</text></svg>",
               CHART_PAD, CHART_H - 12, first, CHART_W - CHART_PAD, CHART_H - 12, last);
    http_res_bytes(res, 200, "image/svg+xml", b.data, b.len, false);
    buf_free(&b);
}

static int column_of(const analytics_series *s, const char *name)
{
    for (int k = 0; k < s->n_cols; k++)
        if (!strcmp(s->cols[k], name))
            return k;
    return -1;
}

/* A ratio as jansson prints it, so the streamed answer has the bytes the tree had. */
static void write_real(jsonw *w, double v)
{
    json_t *j = json_real(v);
    jsonw_value(w, j);
    json_decref(j);
}

static void write_series(jsonw *w, const analytics_series *s, const analytics_range *r,
                         const int64_t *extra, const char *extra_name)
{
    jsonw_array(w);
    for (int i = 0; i < s->n; i++) {
        char t[40];
        iso_time(s->starts[i], r->tz_offset_ms, t, sizeof t);
        jsonw_object(w);
        jsonw_member_string(w, "start", t);
        for (int k = 0; k < s->n_cols; k++)
            jsonw_member_int(w, s->cols[k], s->vals[i * s->n_cols + k]);
        if (extra)
            jsonw_member_int(w, extra_name, extra[i]);
        jsonw_end_object(w);
    }
    jsonw_end_array(w);
}

static void write_totals(jsonw *w, const analytics_series *s, const int64_t *extra,
                         const char *extra_name)
{
    jsonw_object(w);
    for (int k = 0; k < s->n_cols; k++)
        jsonw_member_int(w, s->cols[k], s->totals[k]);
    int plays = column_of(s, "plays"), watch = column_of(s, "watch_ms");
    int done = column_of(s, "completions");
    int64_t n = plays >= 0 ? s->totals[plays] : 0;
    if (watch >= 0)
        jsonw_member_int(w, "avg_watch_ms", n ? s->totals[watch] / n : 0);
    if (done >= 0) {
        jsonw_key(w, "completion_rate");
        write_real(w, n ? (double)s->totals[done] / (double)n : 0.0);
    }
    if (extra) {
        int64_t sum = 0;
        for (int i = 0; i < s->n; i++)
            sum += extra[i];
        jsonw_member_int(w, extra_name, sum);
    }
    jsonw_end_object(w);
}

/* Answers a series in the format asked for; post: adds the retention curve and sources. */
static void answer(api_ctx *c, const analytics_series *s, const analytics_range *r, bool post,
                   const int64_t *extra, const char *extra_name)
{
    const char *f = format_of(c);
    if (!strcmp(f, "csv")) {
        send_csv(c->res, s, r, extra, extra_name);
        return;
    }
    if (!strcmp(f, "svg")) {
        const char *metric = http_req_query(c->req, "metric");
        int col = column_of(s, metric ? metric : "views");
        if (col < 0)
            col = column_of(s, "events");
        if (col < 0 || (metric && strcmp(s->cols[col], metric) != 0)) {
            invalid(c->res, "metric", "unknown_metric");
            return;
        }
        send_svg(c->res, s, r, col);
        return;
    }
    /* streamed, not a jansson tree: a 90-day post series is 2,700 numbers, and building and
     * dumping the tree was most of the request's time (perf, docs/BENCHMARKS.md) */
    char from[40], to[40];
    iso_time(r->from, r->tz_offset_ms, from, sizeof from);
    iso_time(r->to, r->tz_offset_ms, to, sizeof to);
    buf b = {0};
    jsonw w;
    jsonw_init(&w, &b);
    jsonw_object(&w);
    jsonw_member_string(&w, "granularity", r->bucket_ms == ANALYTICS_HOUR_MS ? "hour" : "day");
    jsonw_member_string(&w, "from", from);
    jsonw_member_string(&w, "to", to);
    jsonw_key(&w, "totals");
    write_totals(&w, s, extra, extra_name);
    jsonw_key(&w, "series");
    write_series(&w, s, r, extra, extra_name);
    if (post) {
        int64_t plays = s->totals[POST_PLAYS];
        jsonw_key(&w, "retention");
        jsonw_array(&w);
        for (int k = 0; k <= 9; k++) {
            int64_t reached = k ? s->totals[POST_REACH_10 + k - 1] : plays;
            jsonw_object(&w);
            jsonw_member_int(&w, "at_percent", k * 10);
            jsonw_key(&w, "share");
            write_real(&w, plays ? (double)reached / (double)plays : 0.0);
            jsonw_end_object(&w);
        }
        jsonw_end_array(&w);
        jsonw_key(&w, "sources");
        jsonw_object(&w);
        for (int k = POST_SRC_FOR_YOU; k <= POST_SRC_OTHER; k++)
            jsonw_member_int(&w, s->cols[k] + 4, s->totals[k]);
        jsonw_end_object(&w);
    }
    jsonw_end_object(&w);
    size_t len = b.len;
    http_res_json_text(c->res, 200, buf_steal(&b), len);
}

static void post_handler(api_ctx *c)
{
    int64_t id;
    analytics_range r;
    if (!id_parse(http_req_param(c->req, "id"), &id)) {
        http_res_error(c->res, 404, "post_not_found", "no such post", NULL);
        return;
    }
    if (!read_range(c, true, &r))
        return;
    analytics_series s;
    domain_error err = {0};
    int rc = analytics_post(c->db, &c->principal.user, id, &r, &s, &err);
    if (rc < 0) {
        api_fail(c->res, rc, &err);
        return;
    }
    answer(c, &s, &r, true, NULL, NULL);
    analytics_series_free(&s);
}

static void me_handler(api_ctx *c)
{
    analytics_range r;
    if (!read_range(c, true, &r))
        return;
    analytics_series s;
    domain_error err = {0};
    int rc = analytics_creator(c->db, &c->principal.user, &r, &s, &err);
    if (rc < 0) {
        api_fail(c->res, rc, &err);
        return;
    }
    answer(c, &s, &r, false, NULL, NULL);
    analytics_series_free(&s);
}

static void platform_handler(api_ctx *c)
{
    analytics_range r;
    if (!read_range(c, false, &r))
        return;
    analytics_series s;
    int64_t *new_users = NULL;
    domain_error err = {0};
    int rc = analytics_platform(c->db, &c->principal.user, &r, &s, &new_users, &err);
    if (rc < 0) {
        api_fail(c->res, rc, &err);
        return;
    }
    answer(c, &s, &r, false, new_users, "new_users");
    free(new_users);
    analytics_series_free(&s);
}

static void client_event_handler(api_ctx *c)
{
    json_t *props = json_object_get(c->body, "props");
    char *text = props ? json_dumps(props, JSON_COMPACT) : NULL;
    const char *key;
    json_t *v;
    json_object_foreach(props, key, v) if (json_is_object(v) || json_is_array(v))
    {
        free(text);
        invalid(c->res, "props", "not_flat");
        return;
    }
    domain_error err = {0};
    int rc = analytics_client_event(c->viewer, api_body_string(c, "type"),
                                    api_body_id(c, "object_id"), text, &err);
    free(text);
    api_answer_empty(c->res, rc < 0 ? rc : 0, &err);
}

static void rollup_handler(api_ctx *c)
{
    int64_t folded = 0;
    int rc = analytics_rollup(c->db, now_ms(), api_body_int(c, "max_events", 0), &folded);
    if (rc < 0) {
        http_res_error(c->res, 503, "rollup_failed", "the rollup failed; it resumes next round",
                       NULL);
        return;
    }
    http_res_json(c->res, 200, json_pack("{sI}", "folded", (json_int_t)folded));
}

static const char *const granularities[] = {"hour", "day", NULL};
static const char *const formats[] = {"json", "csv", "svg", NULL};

#define RANGE_QUERY                                                                                \
    {.name = "from",                                                                               \
     .type = API_STRING,                                                                           \
     .max_len = 32,                                                                                \
     .about = "start: YYYY-MM-DD (a day of tz), YYYY-MM-DDTHH:MM[:SS]Z or epoch ms; default "      \
              "28 days (48 hours) before to"},                                                     \
        {.name = "to",                                                                             \
         .type = API_STRING,                                                                       \
         .max_len = 32,                                                                            \
         .about = "end (exclusive); default now"},                                                 \
        {.name = "tz",                                                                             \
         .type = API_STRING,                                                                       \
         .max_len = 6,                                                                             \
         .about = "day boundaries: a UTC offset +HH:MM / -HH:MM (default UTC)"},                   \
        {.name = "format",                                                                         \
         .type = API_STRING,                                                                       \
         .values = formats,                                                                        \
         .about = "json (default), csv (also Accept: text/csv) or svg (a line chart of metric)"},  \
    {                                                                                              \
        .name = "metric", .type = API_STRING, .max_len = 32,                                       \
        .about = "the series column an SVG chart draws (default views)"                            \
    }

static const api_field series_query[] = {
    RANGE_QUERY,
    {.name = "granularity",
     .type = API_STRING,
     .values = granularities,
     .about = "hour (at most 31 days) or day (default; at most 366 days)"},
    {0}};
static const api_field platform_query[] = {RANGE_QUERY, {0}};

static const api_field client_body[] = {
    {.name = "type",
     .type = API_STRING,
     .required = true,
     .values = analytics_client_types,
     .about = "the client-side event"},
    {.name = "object_id", .type = API_ID, .about = "what it was about (a track, a mix), if any"},
    {.name = "props",
     .type = API_OBJECT,
     .schema = "ClientEventProps",
     .about = "flat properties, at most 200 bytes as compact JSON"},
    {0}};
static const api_field rollup_body[] = {
    {.name = "max_events",
     .type = API_INT,
     .bounded = true,
     .minimum = 1,
     .maximum = 100000000,
     .about = "stop after this many (default: all settled events)"},
    {0}};

static const api_route routes[] = {
    {"GET", "/api/v1/analytics/posts/:id", post_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .query = series_query, .operation_id = "postAnalytics",
     .summary = "A post's analytics: totals, a series, its retention curve and traffic sources",
     .description = "The author or an admin only (403 `not_author`). 422 `validation_failed` "
                    "names the parameter (`from`, `to`, `tz`, `granularity`, `metric`).",
     .response = "AnalyticsSeries", .response_about = "The post's figures", .errors = "403 404"},
    {"GET", "/api/v1/analytics/me", me_handler, HTTP_BLOCKING, API_SIGNED_IN, .query = series_query,
     .operation_id = "myAnalytics",
     .summary = "The caller's creator analytics: totals and a series",
     .response = "AnalyticsSeries", .response_about = "The creator's figures"},
    {"GET", "/api/v1/admin/analytics", platform_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .role = "admin", .query = platform_query, .operation_id = "platformAnalytics",
     .summary = "Platform analytics by day (admins): events, active users, uploads, watch time",
     .response = "AnalyticsSeries", .response_about = "The platform's figures"},
    {"POST", "/api/v1/admin/analytics/rollup", rollup_handler, HTTP_BLOCKING | HTTP_OPTIONAL_BODY,
     API_SIGNED_IN, .role = "admin", .body = rollup_body, .operation_id = "analyticsRollup",
     .summary = "Fold the event log into the rollups now (admins; idempotent)",
     .response = "RollupResult", .response_about = "How many events were folded"},
    {"POST", "/api/v1/events/client", client_event_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .body = client_body, .operation_id = "clientEvent",
     .summary = "Log a client-side event (studio: track_upload, beat_generate, mix_export...)",
     .description = "A closed list of types; 60 per minute per user (429 with Retry-After).",
     .status = 204, .errors = "429"},
};

API_MODULE(analytics, "Creator analytics: rollups of the event log, client events", routes);
