/* SPDX-License-Identifier: MIT
 *
 * Probes and metrics. /health and /health/live answer from the event loop without touching
 * anything (the process is up); /health/ready asks the database; /health/detailed is for admins.
 * Probes and /metrics skip the per-client rate limit, so a scraper is never refused.
 */
#include "api/api.h"
#include "core/trace.h"

#include "core/bus.h"

#include "domain/feed_cache.h"
#include "domain/health.h"
#include "domain/media.h"

#include "ws/hub.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const char live_body[] = "{\"status\":\"ok\"}";

static void live_handler(api_ctx *c)
{
    http_res_bytes(c->res, 200, "application/json", live_body, sizeof live_body - 1, true);
}

static void ready_handler(api_ctx *c)
{
    if (!health_ready(c->db)) {
        http_res_error(c->res, 503, "not_ready", "the database does not answer",
                       json_pack("{s:s}", "database", "down"));
        http_res_header(c->res, "Retry-After", "1");
        return;
    }
    /* A cross-node bus that is down degrades the node but keeps it ready: HTTP still works
     * (messages are persisted first; only live delivery between nodes pauses), and Redis down
     * is down for every node at once, so a 503 would make Kubernetes and nginx take the whole
     * service out instead of part of it (docs/operations.md, "Redis"). */
    json_t *body = json_pack("{s:s, s:s}", "status", "ready", "database", "up");
    if (strcmp(bus_backend_name(), "inproc") != 0) {
        bus_status bs;
        bus_status_get(&bs);
        json_object_set_new(body, "bus", json_string(bs.connected ? "up" : "down"));
        if (!bs.connected)
            json_object_set_new(body, "status", json_string("degraded"));
    }
    http_res_json(c->res, 200, body);
}

static void detailed_handler(api_ctx *c)
{
    http_req *req = c->req;
    health_db h;
    domain_error err = {0};
    int rc = health_detailed(c->db, &c->principal.user, &h, &err);
    if (rc < 0) {
        api_fail(c->res, rc, &err);
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
    http_res_json(c->res, 200, body);
}

/* SQLite's in-process writer queue (store/db_sqlite.c); zeros on PostgreSQL. */
static void write_metrics(buf *out)
{
    db_write_stats w;
    db_write_stats_get(&w);
    buf_printf(out,
               "# HELP streamhub_db_busy_waits_total Naps in SQLite's busy handler (another "
               "process, or a checkpoint waiting for readers, held a lock).\n"
               "# TYPE streamhub_db_busy_waits_total counter\n"
               "streamhub_db_busy_waits_total %lld\n"
               "# HELP streamhub_db_writers_waiting Writers queued for the SQLite writer lock.\n"
               "# TYPE streamhub_db_writers_waiting gauge\n"
               "streamhub_db_writers_waiting %lld\n"
               "# HELP streamhub_db_writer_lock_timeouts_total Writers that gave up waiting.\n"
               "# TYPE streamhub_db_writer_lock_timeouts_total counter\n"
               "streamhub_db_writer_lock_timeouts_total %lld\n"
               "# HELP streamhub_db_checkpoints_total Background WAL checkpoints.\n"
               "# TYPE streamhub_db_checkpoints_total counter\n"
               "streamhub_db_checkpoints_total %lld\n"
               "# HELP streamhub_db_checkpoint_seconds_total Time spent in them.\n"
               "# TYPE streamhub_db_checkpoint_seconds_total counter\n"
               "streamhub_db_checkpoint_seconds_total %.6f\n"
               "# HELP streamhub_db_checkpoint_restarts_total Checkpoint passes under the writer "
               "lock, after which the WAL starts over.\n"
               "# TYPE streamhub_db_checkpoint_restarts_total counter\n"
               "streamhub_db_checkpoint_restarts_total %lld\n"
               "# HELP streamhub_db_checkpoint_locked_seconds_total Time those passes held the "
               "writer lock (writers queued meanwhile).\n"
               "# TYPE streamhub_db_checkpoint_locked_seconds_total counter\n"
               "streamhub_db_checkpoint_locked_seconds_total %.6f\n"
               "# HELP streamhub_db_checkpoint_locked_frames_total WAL frames those passes still "
               "had to copy when they took the lock.\n"
               "# TYPE streamhub_db_checkpoint_locked_frames_total counter\n"
               "streamhub_db_checkpoint_locked_frames_total %lld\n"
               "# HELP streamhub_db_wal_frames_total WAL frames (database pages) commits appended.\n"
               "# TYPE streamhub_db_wal_frames_total counter\n"
               "streamhub_db_wal_frames_total %lld\n"
               "# HELP streamhub_db_writer_lock_wait_seconds Time a writer queued for the SQLite "
               "writer lock.\n"
               "# TYPE streamhub_db_writer_lock_wait_seconds histogram\n",
               (long long)w.busy_waits, (long long)w.waiting, (long long)w.lock_timeouts,
               (long long)w.checkpoints, (double)w.checkpoint_us / 1e6,
               (long long)w.checkpoint_restarts, (double)w.checkpoint_locked_us / 1e6,
               (long long)w.checkpoint_locked_frames, (long long)w.wal_frames);
    int64_t cumulative = 0;
    for (int i = 0; i < DB_WAIT_BUCKETS; i++) {
        cumulative += w.lock_wait_count[i];
        if (db_wait_bucket_us[i] == INT64_MAX)
            buf_printf(out, "streamhub_db_writer_lock_wait_seconds_bucket{le=\"+Inf\"} %lld\n",
                       (long long)cumulative);
        else
            buf_printf(out, "streamhub_db_writer_lock_wait_seconds_bucket{le=\"%g\"} %lld\n",
                       (double)db_wait_bucket_us[i] / 1e6, (long long)cumulative);
    }
    buf_printf(out,
               "streamhub_db_writer_lock_wait_seconds_sum %.6f\n"
               "streamhub_db_writer_lock_wait_seconds_count %lld\n"
               "# HELP streamhub_db_group_writes_total Short writes (likes, follows and their "
               "undoing) run in a transaction shared with others (SQLite group commit).\n"
               "# TYPE streamhub_db_group_writes_total counter\n"
               "streamhub_db_group_writes_total %lld\n"
               "# HELP streamhub_db_group_commits_total The shared transactions they ran in.\n"
               "# TYPE streamhub_db_group_commits_total counter\n"
               "streamhub_db_group_commits_total %lld\n",
               (double)w.lock_wait_us / 1e6, (long long)w.lock_acquired,
               (long long)w.group_writes, (long long)w.group_commits);
}

/* The media object store's requests by operation and outcome, retries, bytes and its circuit
 * breaker (all zero on the local backend, which makes no requests). */
static void write_object_store_metrics(buf *out)
{
    objects_stats st;
    media_store_stats(&st);
    buf_printf(out,
               "# HELP streamhub_object_store_requests_total Requests to the media object store "
               "by operation and outcome (not_found counts as ok).\n"
               "# TYPE streamhub_object_store_requests_total counter\n");
    for (int op = 0; op < 6; op++)
        for (int ok = 0; ok < 2; ok++)
            buf_printf(out,
                       "streamhub_object_store_requests_total{backend=\"%s\",op=\"%s\","
                       "outcome=\"%s\"} %llu\n",
                       media_store_backend(), objects_op_names[op], ok ? "ok" : "failed",
                       (unsigned long long)st.requests[op][ok]);
    buf_printf(out,
               "# HELP streamhub_object_store_retries_total Requests to the object store tried "
               "again after a timeout, a transport error or a 5xx.\n"
               "# TYPE streamhub_object_store_retries_total counter\n"
               "streamhub_object_store_retries_total %llu\n"
               "# HELP streamhub_object_store_bytes_total Bytes sent to and received from the "
               "object store.\n"
               "# TYPE streamhub_object_store_bytes_total counter\n"
               "streamhub_object_store_bytes_total{direction=\"up\"} %llu\n"
               "streamhub_object_store_bytes_total{direction=\"down\"} %llu\n"
               "# HELP streamhub_object_store_multipart_total Multipart uploads started and "
               "aborted.\n"
               "# TYPE streamhub_object_store_multipart_total counter\n"
               "streamhub_object_store_multipart_total{event=\"started\"} %llu\n"
               "streamhub_object_store_multipart_total{event=\"aborted\"} %llu\n"
               "# HELP streamhub_object_store_breaker_state The store's circuit breaker: 0 "
               "closed, 1 open (failing fast), 2 half-open (probing).\n"
               "# TYPE streamhub_object_store_breaker_state gauge\n"
               "streamhub_object_store_breaker_state %d\n"
               "# HELP streamhub_object_store_breaker_opened_total Times the breaker opened.\n"
               "# TYPE streamhub_object_store_breaker_opened_total counter\n"
               "streamhub_object_store_breaker_opened_total %llu\n"
               "# HELP streamhub_object_store_breaker_rejected_total Calls failed fast while it "
               "was open.\n"
               "# TYPE streamhub_object_store_breaker_rejected_total counter\n"
               "streamhub_object_store_breaker_rejected_total %llu\n",
               (unsigned long long)st.retries, (unsigned long long)st.bytes_up,
               (unsigned long long)st.bytes_down, (unsigned long long)st.multipart_uploads,
               (unsigned long long)st.multipart_aborts, st.breaker_state,
               (unsigned long long)st.breaker_opened, (unsigned long long)st.breaker_rejected);
}

static void metrics_handler(api_ctx *c)
{
    http_req *req = c->req;
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
               "# HELP streamhub_interest_signals_queued_total For You interest signals queued for "
               "the batching writer.\n"
               "# TYPE streamhub_interest_signals_queued_total counter\n"
               "streamhub_interest_signals_queued_total %llu\n"
               "# HELP streamhub_interest_signals_written_total For You interest signals applied "
               "by the batching writer.\n"
               "# TYPE streamhub_interest_signals_written_total counter\n"
               "streamhub_interest_signals_written_total %llu\n"
               "# HELP streamhub_interest_signals_dropped_total Interest signals lost to a full "
               "queue or a failed batch.\n"
               "# TYPE streamhub_interest_signals_dropped_total counter\n"
               "streamhub_interest_signals_dropped_total %llu\n"
               "# HELP streamhub_posts_purged_total Deleted posts and expired stories purged.\n"
               "# TYPE streamhub_posts_purged_total counter\n"
               "streamhub_posts_purged_total %llu\n",
               (double)hc.db_time_us / 1e6, (long long)hc.db_queries,
               (long long)((now_ms() - api_app(req)->started_ms) / 1000),
               (unsigned long long)hc.events_written, (unsigned long long)hc.events_dropped,
               (unsigned long long)hc.interest_signals_queued,
               (unsigned long long)hc.interest_signals_written,
               (unsigned long long)hc.interest_signals_dropped, (unsigned long long)hc.posts_purged);
    write_metrics(&out);
    write_object_store_metrics(&out);
    trace_metrics(&out);
    feed_cache_stats fc;
    feed_cache_get_stats(&fc);
    buf_printf(&out,
               "# HELP streamhub_feed_cache_total Home timeline cache lookups by outcome, and "
               "re-reads of the shared trending and exploration lists.\n"
               "# TYPE streamhub_feed_cache_total counter\n"
               "streamhub_feed_cache_total{outcome=\"hit\"} %llu\n"
               "streamhub_feed_cache_total{outcome=\"miss\"} %llu\n"
               "streamhub_feed_cache_total{outcome=\"merge\"} %llu\n"
               "streamhub_feed_cache_total{outcome=\"trending_refresh\"} %llu\n"
               "streamhub_feed_cache_total{outcome=\"explore_refresh\"} %llu\n",
               (unsigned long long)fc.home_hits, (unsigned long long)fc.home_misses,
               (unsigned long long)fc.home_merges, (unsigned long long)fc.trending_refreshes,
               (unsigned long long)fc.explore_refreshes);
    http_res_bytes(c->res, 200, "text/plain; version=0.0.4; charset=utf-8", out.data, out.len,
                   false);
    buf_free(&out);
}

#define PROBE (HTTP_INLINE | HTTP_NO_RATE_LIMIT)

static const api_route routes[] = {
    {"GET", "/health", live_handler, PROBE, API_ANONYMOUS, .operation_id = "health",
     .summary = "Process is up", .response = "Liveness",
     .response_about = "Always, while the process runs"},
    {"GET", "/health/live", live_handler, PROBE, API_ANONYMOUS, .operation_id = "healthLive",
     .summary = "Liveness probe",
     .description = "Answered on the event loop without touching the database; never rate "
                    "limited.",
     .response = "Liveness", .response_about = "Always, while the process runs"},
    {"GET", "/health/ready", ready_handler, HTTP_BLOCKING | HTTP_NO_RATE_LIMIT, API_ANONYMOUS,
     .db_optional = true, .operation_id = "healthReady", .summary = "Readiness probe",
     .description = "503 `not_ready` with `{\"database\":\"down\"}` while the database does "
                    "not answer. With --redis, `bus` says whether Redis is reachable; while it "
                    "is not, the answer stays 200 with status `degraded`.",
     .errors = "503",
     .response = "Readiness", .response_about = "The database answers"},
    {"GET", "/health/detailed", detailed_handler, HTTP_BLOCKING, API_SIGNED_IN, .role = "admin",
     .operation_id = "healthDetailed", .summary = "Versions, uptime, database and queues",
     .description = "Admins only.", .response = "HealthDetailed", .response_about = "Details"},
    {"GET", "/metrics", metrics_handler, HTTP_BLOCKING | HTTP_NO_RATE_LIMIT, API_ANONYMOUS,
     .db_optional = true, .operation_id = "metrics", .summary = "Prometheus metrics",
     .description =
         "streamhub_http_requests_total{route,method,status}, "
         "streamhub_http_request_duration_seconds (histogram), streamhub_http_requests_in_flight, "
         "streamhub_worker_queue_length{pool}, streamhub_worker_busy_threads{pool}, "
         "streamhub_db_seconds_total, streamhub_db_queries_total, streamhub_uptime_seconds, "
         "streamhub_db_busy_waits_total, streamhub_db_writers_waiting, "
         "streamhub_db_writer_lock_wait_seconds (histogram), "
         "streamhub_db_writer_lock_timeouts_total, streamhub_db_checkpoints_total, "
         "streamhub_db_checkpoint_seconds_total, streamhub_db_checkpoint_restarts_total, "
         "streamhub_db_checkpoint_locked_seconds_total.",
     .response = "PrometheusText", .response_about = "Prometheus text format 0.0.4",
     .media_type = "text/plain"},
};

API_MODULE(operations, "Probes, metrics and the server's health", routes);
