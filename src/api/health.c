/* SPDX-License-Identifier: MIT
 *
 * Probes and metrics. /health and /health/live answer from the event loop without touching
 * anything (the process is up); /health/ready asks the database; /health/detailed is for admins.
 */
#include "api/api.h"

#include "domain/feed_cache.h"
#include "domain/health.h"

#include "ws/hub.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>

static const char live_body[] = "{\"status\":\"ok\"}";

void api_health(http_req *req, http_res *res)
{
    http_res_bytes(res, 200, "application/json", live_body, sizeof live_body - 1, true);
}

void api_health_ready(http_req *req, http_res *res)
{
    api_worker *w = http_req_ctx(req);
    db *d = w ? api_worker_db(w) : NULL;
    if (!health_ready(d)) {
        http_res_error(res, 503, "not_ready", "the database does not answer",
                       json_pack("{s:s}", "database", "down"));
        http_res_header(res, "Retry-After", "1");
        return;
    }
    http_res_json(res, 200, json_pack("{s:s, s:s}", "status", "ready", "database", "up"));
}

void api_health_detailed(http_req *req, http_res *res)
{
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    health_db h;
    domain_error err = {0};
    int rc = health_detailed(d, &p.user, &h, &err);
    if (rc < 0) {
        api_fail(res, rc, &err);
        return;
    }
    const api_env *a = api_app(req);
    int64_t uptime_ms = now_ms() - a->started_ms;
    json_t *body = json_pack(
        "{s:s, s:s, s:I, s:{s:s, s:s, s:i, s:i}, s:{s:I, s:I}, s:{s:s, s:s, s:s, s:s}}", "status",
        "ok", "version", STREAMHUB_VERSION, "uptime_seconds", (json_int_t)(uptime_ms / 1000),
        "database", "kind", a->database_kind, "server_version", h.server_version, "schema_version",
        h.schema_version, "schema_expected", h.schema_expected, "queues", "http_workers",
        (json_int_t)http_server_queue_length(http_req_server(req)), "outbox_pending",
        (json_int_t)h.outbox_pending, "libraries", "libmicrohttpd", http_library_version(),
        "jansson", JANSSON_VERSION, "libsodium", sodium_version_string(), "sqlite",
        a->database_kind[0] == 's' ? h.server_version : "n/a");
    http_res_json(res, 200, body);
}

void api_metrics(http_req *req, http_res *res)
{
    health_counters hc;
    health_counters_get(&hc);
    buf out = {0};
    http_server_metrics(http_req_server(req), &out);
    ws_hub_metrics(&out);
    buf_printf(&out,
               "# HELP streamhub_sse_streams Server-Sent Events streams open now.\n"
               "# TYPE streamhub_sse_streams gauge\n"
               "streamhub_sse_streams %zu\n",
               http_server_streams(http_req_server(req)));
    buf_printf(&out,
               "# HELP streamhub_db_seconds_total Time spent in database calls.\n"
               "# TYPE streamhub_db_seconds_total counter\n"
               "streamhub_db_seconds_total %.6f\n"
               "# HELP streamhub_db_queries_total Database statements run.\n"
               "# TYPE streamhub_db_queries_total counter\n"
               "streamhub_db_queries_total %lld\n"
               "# HELP streamhub_uptime_seconds Seconds since the process started.\n"
               "# TYPE streamhub_uptime_seconds gauge\n"
               "streamhub_uptime_seconds %lld\n"
               "# HELP streamhub_events_written_total Events written to the event log.\n"
               "# TYPE streamhub_events_written_total counter\n"
               "streamhub_events_written_total %llu\n"
               "# HELP streamhub_events_dropped_total Events dropped because the log was full.\n"
               "# TYPE streamhub_events_dropped_total counter\n"
               "streamhub_events_dropped_total %llu\n"
               "# HELP streamhub_posts_purged_total Deleted posts and expired stories purged.\n"
               "# TYPE streamhub_posts_purged_total counter\n"
               "streamhub_posts_purged_total %llu\n",
               (double)hc.db_time_us / 1e6, (long long)hc.db_queries,
               (long long)((now_ms() - api_app(req)->started_ms) / 1000),
               (unsigned long long)hc.events_written, (unsigned long long)hc.events_dropped,
               (unsigned long long)hc.posts_purged);
    feed_cache_stats fc;
    feed_cache_get_stats(&fc);
    buf_printf(&out,
               "# HELP streamhub_feed_cache_total Home timeline cache lookups by outcome, and "
               "trending list re-reads.\n"
               "# TYPE streamhub_feed_cache_total counter\n"
               "streamhub_feed_cache_total{outcome=\"hit\"} %llu\n"
               "streamhub_feed_cache_total{outcome=\"miss\"} %llu\n"
               "streamhub_feed_cache_total{outcome=\"merge\"} %llu\n"
               "streamhub_feed_cache_total{outcome=\"trending_refresh\"} %llu\n",
               (unsigned long long)fc.home_hits, (unsigned long long)fc.home_misses,
               (unsigned long long)fc.home_merges, (unsigned long long)fc.trending_refreshes);
    http_res_bytes(res, 200, "text/plain; version=0.0.4; charset=utf-8", out.data, out.len, false);
    buf_free(&out);
}
