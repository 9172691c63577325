/* SPDX-License-Identifier: MIT
 *
 * The option table and its parser. Adding an option is one row here plus a field in config.h.
 */
#include "core/config.h"

#include "core/util.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef enum { OPT_STR, OPT_INT, OPT_BOOL, OPT_NUMBER } opt_type;

typedef struct option_def {
    const char *name;
    opt_type type;
    size_t offset;
    const char *def;
    int64_t min, max;
    const char *help;
} option_def;

#define O(field) offsetof(config, field)

static const option_def options[] = {
    {"host", OPT_STR, O(host), "127.0.0.1", 0, 0, "address to listen on"},
    {"port", OPT_INT, O(port), "8080", 0, 65535, "TCP port; 0 picks a free one"},
    {"data-dir", OPT_STR, O(data_dir), "./data", 0, 0, "directory for the SQLite database, media and secrets"},
    {"database", OPT_STR, O(database), "", 0, 0, "sqlite:PATH or postgres://...; empty = sqlite:DATA_DIR/streamhub.db"},
    {"pg-named-statements", OPT_BOOL, O(pg_named_statements), "true", 0, 0, "PostgreSQL: prepare each statement once per connection; false behind a pooler in transaction mode (PgBouncer), where statements then go unnamed, parsed per execution"},
    {"redis", OPT_STR, O(redis), "", 0, 0, "redis://[user:password@]host[:port][/db]: realtime events cross nodes through Redis pub/sub; empty = in-process (one node)"},
    {"http-threads", OPT_INT, O(http_threads), "0", 0, 256, "HTTP event-loop threads; 0 = one per core"},
    {"workers", OPT_INT, O(workers), "0", 0, 1024, "threads for handlers that touch the database; 0 = 4 per core on SQLite, 16 on PostgreSQL"},
    {"loop-read-budget", OPT_INT, O(loop_read_budget), "500", 0, 1000, "ms per second each HTTP event-loop thread may spend running point reads itself (SQLite only); past it the workers run them; 0 = always the workers"},
    {"hash-workers", OPT_INT, O(hash_workers), "1", 1, 64, "threads for password hashing"},
    {"max-connections", OPT_INT, O(max_connections), "20000", 16, 1000000, "open connection cap"},
    {"per-ip-connections", OPT_INT, O(per_ip_connections), "512", 0, 1000000, "open HTTP connections per client address (upgraded WebSockets, and trusted proxies under --trust-proxy, are not counted); 0 = no cap"},
    {"connection-timeout", OPT_INT, O(connection_timeout), "30", 1, 3600, "seconds a connection may stay idle (nothing received or sent)"},
    {"header-timeout", OPT_INT, O(header_timeout), "10", 1, 3600, "seconds a client has to send a whole request header block (from connecting, or from the previous response plus the idle timeout)"},
    {"min-body-rate", OPT_INT, O(min_body_rate), "1024", 0, 1073741824, "bytes/second a request body must average once --header-timeout seconds have passed since its headers; 0 = no minimum"},
    {"connection-memory", OPT_INT, O(connection_memory), "8192", 4096, 1048576, "per-connection buffer bytes (headers)"},
    {"body-limit", OPT_INT, O(body_limit), "1048576", 1024, 67108864, "largest JSON request body in bytes"},
    {"queue-limit", OPT_INT, O(queue_limit), "4096", 1, 1000000, "queued database requests before 503"},
    {"shutdown-timeout", OPT_INT, O(shutdown_timeout), "10", 0, 600, "seconds SIGTERM waits for in-flight requests"},
    {"jwt-secret", OPT_STR, O(jwt_secret), "", 0, 0, "HS256 secret; empty = generated once into DATA_DIR/jwt.secret"},
    {"access-ttl", OPT_INT, O(access_ttl), "900", 1, 86400, "access token lifetime, seconds"},
    {"refresh-ttl", OPT_INT, O(refresh_ttl), "2592000", 60, 31536000, "refresh token lifetime, seconds"},
    {"code-ttl", OPT_INT, O(code_ttl), "600", 10, 604800, "lifetime of one-time codes and links, seconds"},
    {"purge-after", OPT_INT, O(purge_after), "2592000", 1, 315360000, "keep deleted posts and expired stories this long before purging them, seconds"},
    {"maintenance-interval", OPT_INT, O(maintenance_interval), "60", 1, 86400, "how often housekeeping (purging) runs, seconds"},
    {"reco-retrain-interval", OPT_INT, O(reco_retrain_interval), "3600", 0, 604800, "how often the recommender's models are retrained, seconds (0 = only on demand)"},
    {"event-retention", OPT_INT, O(event_retention), "7776000", 0, 315360000, "keep raw event-log rows this long, seconds, then only the analytics rollups (never an event not folded yet); 0 = forever"},
    {"analytics-settle-ms", OPT_INT, O(analytics_settle_ms), "5000", 0, 600000, "the analytics rollup folds only events older than this, milliseconds, so an event-log batch another node commits late is not skipped"},
    {"tier-thresholds", OPT_STR, O(tier_thresholds), "40,60,75,90", 0, 0, "creator score thresholds of silver, gold, platinum and diamond (ascending, 0-100)"},
    {"tier-hysteresis", OPT_NUMBER, O(tier_hysteresis), "2", 0, 20, "score points a creator must clear a tier threshold by to move up, or fall below it by to move down"},
    {"test-clock", OPT_BOOL, O(test_clock), "false", 0, 0, "TESTS ONLY: POST /api/v1/admin/analytics/snapshots may say what time it is, to simulate days; never in production"},
    {"job-workers", OPT_INT, O(job_workers), "2", 0, 64, "threads running queued jobs (transcoding, cleanups); 0 = none in this process"},
    {"job-lease", OPT_INT, O(job_lease), "60", 5, 3600, "seconds a claimed job stays leased without progress before another worker may take it"},
    {"media-max-duration", OPT_INT, O(media_max_duration), "600", 1, 86400, "longest video accepted, seconds"},
    {"upload-max-size", OPT_INT, O(upload_max_size), "4294967296", 1, 1099511627776, "largest upload, bytes (tus and POST /media)"},
    {"upload-quota", OPT_INT, O(upload_quota), "21474836480", 1, 1099511627776, "bytes of unfinished uploads one user may hold"},
    {"upload-expiry", OPT_INT, O(upload_expiry), "86400", 1, 2592000, "seconds an unfinished upload is kept"},
    {"object-store", OPT_STR, O(object_store), "", 0, 0, "where media files live: empty = files under --data-dir; s3://BUCKET?endpoint=http://HOST:PORT&region=REGION = an S3-compatible store (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the environment; docs/operations.md)"},
    {"media-base-url", OPT_STR, O(media_base_url), "", 0, 0, "public base URL of the object store (a CDN in front of a public-read bucket): media URLs become BASE/media/ID/FILE instead of the API's signed ones; empty = the API serves media"},
    {"media-post-max", OPT_INT, O(media_post_max), "20971520", 1, 1073741824, "largest image POST /api/v1/media takes, bytes"},
    {"story-ttl", OPT_INT, O(story_ttl), "86400", 1, 604800, "how long a story stays visible, seconds"},
    {"feed-cache-entries", OPT_INT, O(feed_cache_entries), "8192", 0, 1000000, "home timelines (candidate ids of active viewers, ~1.3 KiB each) kept in memory; 0 = off"},
    {"feed-cache-ttl", OPT_INT, O(feed_cache_ttl), "60", 1, 3600, "seconds a cached home timeline is kept before it is rebuilt"},
    {"trending-refresh-ms", OPT_INT, O(trending_refresh_ms), "1000", 0, 60000, "how often the shared trending and exploration lists are re-read, milliseconds; 0 = every request"},
    {"cors-origins", OPT_STR, O(cors_origins), "", 0, 0, "comma-separated allowed CORS origins; * = any"},
    {"trust-proxy", OPT_BOOL, O(trust_proxy), "false", 0, 0, "take the client address from X-Forwarded-For, as written by --trusted-proxies"},
    {"trusted-proxies", OPT_STR, O(trusted_proxies), "127.0.0.0/8, ::1", 0, 0, "comma-separated addresses or CIDR networks of the reverse proxies whose X-Forwarded-For hops are believed"},
    {"rate-limit", OPT_INT, O(rate_limit), "100", 0, 10000000, "requests/second per client; 0 = off"},
    {"rate-burst", OPT_INT, O(rate_burst), "200", 1, 10000000, "burst size of the per-client limit"},
    {"auth-rate-limit", OPT_INT, O(auth_rate_limit), "10", 0, 1000000, "login/register/OTP/reset attempts per minute per address and per account; 0 = off"},
    {"pw-memlimit-kib", OPT_INT, O(pw_memlimit_kib), "19456", 19456, 4194304, "argon2id memory cost in KiB (OWASP minimum 19456)"},
    {"pw-opslimit", OPT_INT, O(pw_opslimit), "2", 2, 20, "argon2id passes (OWASP minimum 2)"},
    {"delivery", OPT_STR, O(delivery), "log", 0, 0, "message delivery: log, webhook or smtp"},
    {"webhook-url", OPT_STR, O(webhook_url), "", 0, 0, "URL that receives messages as JSON POSTs (delivery=webhook)"},
    {"smtp-url", OPT_STR, O(smtp_url), "", 0, 0, "smtp://host:port or smtps://... (delivery=smtp)"},
    {"smtp-from", OPT_STR, O(smtp_from), "no-reply@streamhub.local", 0, 0, "sender address for email"},
    {"smtp-user", OPT_STR, O(smtp_user), "", 0, 0, "SMTP user name"},
    {"smtp-password", OPT_STR, O(smtp_password), "", 0, 0, "SMTP password"},
    {"log-level", OPT_STR, O(log_level), "info", 0, 0, "debug, info, warn or error"},
    {"access-log", OPT_BOOL, O(access_log), "true", 0, 0, "write a JSON line per request"},
    {"access-log-flush-ms", OPT_INT, O(access_log_flush_ms), "200", 0, 10000, "milliseconds a thread may hold access-log lines before writing them out in one write (0: each line at once)"},
    {"node-id", OPT_STR, O(node_id), "0", 0, 0, "node number 0..1023 embedded in generated ids (unique per process that writes), or auto: leased from the database while the process runs"},
    {"sse-heartbeat", OPT_INT, O(sse_heartbeat), "15", 1, 300, "seconds between keepalive comments on GET /api/v1/events"},
    {"presence", OPT_BOOL, O(presence), "on", 0, 0, "online/away/offline presence between mutual followers (on or off)"},
    {"presence-grace", OPT_INT, O(presence_grace), "10", 0, 3600, "seconds after a user's last socket closes before they show offline"},
    {"room-members-interval", OPT_INT, O(room_members_interval), "5", 1, 3600, "seconds between room member-count pushes (sent only when the count changed)"},
    {"ws-threads", OPT_INT, O(ws_threads), "1", 1, 64, "WebSocket hub event-loop threads"},
    {"ws-workers", OPT_INT, O(ws_workers), "4", 1, 256, "threads running WebSocket commands that touch the database"},
    {"ws-max-message", OPT_INT, O(ws_max_message), "65536", 256, 16777216, "largest WebSocket message a client may send, bytes (closed 1009 beyond)"},
    {"ws-send-queue", OPT_INT, O(ws_send_queue), "1048576", 4096, 268435456, "bytes queued to one socket before it is closed as too slow (1013)"},
    {"ws-idle-timeout", OPT_INT, O(ws_idle_timeout), "75", 1, 86400, "seconds a socket may send nothing (pongs count) before it is closed (4000)"},
    {"ws-ping-interval", OPT_INT, O(ws_ping_interval), "30", 1, 3600, "seconds of silence after which the hub pings a socket"},
    {"ws-auth-timeout", OPT_INT, O(ws_auth_timeout), "10", 1, 600, "seconds a socket may stay before authenticating (4003 after)"},
    {"ws-auth-grace", OPT_INT, O(ws_auth_grace), "60", 0, 3600, "seconds before its token expires that a socket is sent auth.expiring"},
    {"ws-message-rate", OPT_INT, O(ws_message_rate), "120", 0, 1000000, "chat and room messages (sent, edited, deleted; REST included) per minute per user; 0 = no limit"},
    {"ws-typing-rate", OPT_INT, O(ws_typing_rate), "60", 0, 1000000, "typing commands per minute per user; 0 = no limit"},
    {"ws-room-join-rate", OPT_INT, O(ws_room_join_rate), "30", 0, 1000000, "room.join commands per minute per user; 0 = no limit"},
    {"ws-command-rate", OPT_INT, O(ws_command_rate), "600", 0, 1000000, "any other socket command per minute per user; 0 = no limit"},
    {"ws-rooms-per-socket", OPT_INT, O(ws_rooms_per_socket), "50", 1, 10000, "rooms one socket may have joined at once"},
    {"ws-rooms-per-user", OPT_INT, O(ws_rooms_per_user), "200", 1, 10000, "rooms one user's sockets on this node may have joined at once"},
    {"otlp-endpoint", OPT_STR, O(otlp_endpoint), "", 0, 0, "OpenTelemetry collector base URL (http://host:4318); spans are POSTed to it as OTLP/HTTP JSON at /v1/traces; empty = tracing off"},
    {"otlp-service-name", OPT_STR, O(otlp_service_name), "streamhub", 0, 0, "service.name of exported spans (e.g. streamhub-api, streamhub-worker)"},
    {"trace-sample", OPT_NUMBER, O(trace_sample), "1", 0, 1, "fraction of new traces recorded (0..1); a request whose traceparent says sampled or not is followed as it says"},
    {"otlp-queue", OPT_INT, O(otlp_queue), "2048", 16, 1000000, "ended spans held for export; when full, new spans are dropped (counted in /metrics), never waited for"},
    {"otlp-timeout", OPT_INT, O(otlp_timeout), "5", 1, 60, "seconds one export POST may take, connecting included; a failed POST drops its spans (counted)"},
    {"sse-streams-per-user", OPT_INT, O(sse_streams_per_user), "8", 1, 10000, "GET /api/v1/events streams one user may hold open on this node"},
};

#define N_OPTIONS (sizeof options / sizeof options[0])

static int set_option(config *cfg, const option_def *o, const char *value, const char *source)
{
    void *field = (char *)cfg + o->offset;
    switch (o->type) {
    case OPT_STR:
        free(*(char **)field);
        *(char **)field = xstrdup(value);
        return 0;
    case OPT_BOOL:
        if (!strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "yes") ||
            !strcmp(value, "on") || !*value)
            *(bool *)field = true;
        else if (!strcmp(value, "false") || !strcmp(value, "0") || !strcmp(value, "no") ||
                 !strcmp(value, "off"))
            *(bool *)field = false;
        else {
            fprintf(stderr, "streamhub: %s %s: expected true or false, got '%s'\n", source, o->name, value);
            return -1;
        }
        return 0;
    case OPT_NUMBER: {
        char *end;
        errno = 0;
        double v = strtod(value, &end);
        if (errno || end == value || *end || !(v >= (double)o->min && v <= (double)o->max)) {
            fprintf(stderr, "streamhub: %s %s: expected a number in %lld..%lld, got '%s'\n", source,
                    o->name, (long long)o->min, (long long)o->max, value);
            return -1;
        }
        *(double *)field = v;
        return 0;
    }
    case OPT_INT: {
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end) {
            fprintf(stderr, "streamhub: %s %s: expected an integer, got '%s'\n", source, o->name, value);
            return -1;
        }
        if (v < o->min || v > o->max) {
            fprintf(stderr, "streamhub: %s %s: %lld is outside %lld..%lld\n", source, o->name, v,
                    (long long)o->min, (long long)o->max);
            return -1;
        }
        *(int64_t *)field = v;
        return 0;
    }
    }
    return -1;
}

void config_defaults(config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < N_OPTIONS; i++)
        set_option(cfg, &options[i], options[i].def, "default");
}

static void env_name(const option_def *o, char *out, size_t n)
{
    snprintf(out, n, "STREAMHUB_%s", o->name);
    for (char *p = out; *p; p++)
        *p = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
}

int config_load(config *cfg, int argc, char **argv)
{
    char env[64];
    for (size_t i = 0; i < N_OPTIONS; i++) {
        env_name(&options[i], env, sizeof env);
        const char *v = getenv(env);
        if (v && set_option(cfg, &options[i], v, env) < 0)
            return -1;
    }
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            config_print_help(stdout);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "streamhub: unexpected argument '%s' (see --help)\n", arg);
            return -1;
        }
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
        const option_def *o = NULL;
        for (size_t k = 0; k < N_OPTIONS; k++)
            if (strlen(options[k].name) == name_len && !strncmp(options[k].name, name, name_len))
                o = &options[k];
        if (!o) {
            fprintf(stderr, "streamhub: unknown option '--%.*s' (see --help)\n", (int)name_len, name);
            return -1;
        }
        const char *value;
        if (eq)
            value = eq + 1;
        else if (o->type == OPT_BOOL && (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0))
            value = "true";
        else if (i + 1 < argc)
            value = argv[++i];
        else {
            fprintf(stderr, "streamhub: option '--%s' needs a value\n", o->name);
            return -1;
        }
        if (set_option(cfg, o, value, "option") < 0)
            return -1;
    }
    return 0;
}

void config_print_help(FILE *out)
{
    static const char *types[] = {"string", "int", "bool", "number"};
    fprintf(out, "Usage: streamhub serve|worker|migrate|admin|routes [options]\n\n"
                 "Options (each also read from the environment variable shown):\n");
    char env[64];
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const option_def *o = &options[i];
        env_name(o, env, sizeof env);
        fprintf(out, "  --%-20s %-6s %s\n  %22s default: %s", o->name, types[o->type], o->help, "",
                *o->def ? o->def : "\"\"");
        if (o->type == OPT_INT || o->type == OPT_NUMBER)
            fprintf(out, "  range: %lld..%lld", (long long)o->min, (long long)o->max);
        fprintf(out, "  env: %s\n", env);
    }
}

void config_free(config *cfg)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (options[i].type == OPT_STR) {
            char **field = (char **)((char *)cfg + options[i].offset);
            free(*field);
            *field = NULL;
        }
}
