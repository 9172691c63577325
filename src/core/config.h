/* SPDX-License-Identifier: MIT
 *
 * All runtime options live in one table (config.c): name, type, default, bounds and help. The
 * same table parses `--name value` / `--name=value` flags, reads STREAMHUB_NAME environment
 * variables (flags win), and prints --help, so the three can never disagree.
 */
#ifndef STREAMHUB_CORE_CONFIG_H
#define STREAMHUB_CORE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct config {
    char *host;
    int64_t port;
    char *data_dir;
    char *database;          /* "sqlite:PATH" or "postgres://..."; empty = sqlite in data_dir */
    bool pg_named_statements; /* off behind PgBouncer in transaction mode */
    char *redis;             /* "redis://..." bus between nodes; empty = in-process bus */
    int64_t http_threads;    /* libmicrohttpd epoll threads */
    int64_t workers;         /* threads running blocking handlers (one db connection each) */
    int64_t loop_read_budget; /* ms/s an event-loop thread may spend on point reads itself */
    int64_t hash_workers;    /* threads hashing passwords, kept apart so logins never starve others */
    int64_t max_connections;
    int64_t per_ip_connections;
    int64_t connection_timeout; /* seconds of inactivity before a connection is dropped */
    int64_t header_timeout;     /* seconds to receive a whole header block */
    int64_t min_body_rate;      /* bytes/second a body must average after the grace; 0 = off */
    int64_t connection_memory;  /* bytes of libmicrohttpd pool per connection */
    int64_t body_limit;         /* largest JSON request body, bytes */
    int64_t queue_limit;        /* queued blocking requests before answering 503 */
    int64_t shutdown_timeout;   /* seconds SIGTERM waits for in-flight requests */
    char *jwt_secret;           /* empty = generated once into data_dir/jwt.secret */
    int64_t access_ttl;         /* seconds */
    int64_t refresh_ttl;        /* seconds */
    int64_t code_ttl;           /* seconds one-time codes (OTP, verify, reset) stay valid */
    int64_t purge_after;          /* seconds deleted posts and expired stories are kept */
    int64_t maintenance_interval; /* seconds between housekeeping rounds */
    int64_t reco_retrain_interval; /* seconds between recommender trainings; 0 = on demand */
    int64_t event_retention;      /* seconds raw events are kept once folded; 0 = forever */
    int64_t analytics_settle_ms;  /* events younger than this wait for the next rollup */
    const char *tier_thresholds;  /* "40,60,75,90": silver, gold, platinum, diamond */
    double tier_hysteresis;       /* score points past a threshold before the tier moves */
    bool test_clock;              /* tests only: the snapshot job may be told the time */
    int64_t job_workers;          /* job queue threads in this process */
    int64_t job_lease;            /* seconds a job claim lasts without progress */
    int64_t media_max_duration;   /* longest video accepted, seconds */
    int64_t upload_max_size;      /* bytes */
    int64_t upload_quota;         /* bytes of unfinished uploads per user */
    int64_t upload_expiry;        /* seconds an unfinished upload is kept */
    int64_t media_post_max;
    char *object_store;
    char *media_base_url;       /* bytes, POST /api/v1/media */
    int64_t story_ttl;          /* seconds a story stays visible (24 h; shorter in tests) */
    int64_t feed_cache_entries;   /* home timelines kept in memory; 0 = off */
    int64_t feed_cache_ttl;       /* seconds */
    int64_t trending_refresh_ms;  /* 0 = no shared trending list */
    char *cors_origins;         /* comma list; "*" allows any */
    bool trust_proxy;           /* take the client address from X-Forwarded-For */
    char *trusted_proxies;      /* comma list of addresses/CIDRs whose X-Forwarded-For hops count */
    int64_t rate_limit;         /* general requests/second per client; 0 = off */
    int64_t rate_burst;
    int64_t auth_rate_limit;    /* login/register/otp/reset attempts per minute per IP and per account */
    int64_t pw_memlimit_kib;    /* argon2id memory cost */
    int64_t pw_opslimit;        /* argon2id passes */
    char *delivery;             /* log | webhook | smtp */
    char *webhook_url;
    char *smtp_url;
    char *smtp_from;
    char *smtp_user;
    char *smtp_password;
    char *log_level;
    bool access_log;
    int64_t access_log_flush_ms;
    char *node_id; /* "0".."1023" or "auto" (app.c) */
    /* realtime: live notifications, SSE, presence, rooms */
    int64_t sse_heartbeat;        /* seconds between SSE keepalive comments */
    bool presence;                /* presence on or off for the whole server */
    int64_t presence_grace;       /* seconds a user's last socket may be gone before "offline" */
    int64_t room_members_interval; /* seconds between "room.members" pushes (when changed) */
    int64_t ws_threads;         /* WebSocket hub event-loop threads */
    int64_t ws_workers;         /* hub threads running database-backed socket commands */
    int64_t ws_max_message;     /* largest client message, bytes (1009 beyond) */
    int64_t ws_send_queue;      /* bytes queued to one socket before it is closed 1013 */
    int64_t ws_idle_timeout;    /* seconds without any frame (pongs count) before 4000 */
    int64_t ws_ping_interval;   /* seconds of silence before the hub pings */
    int64_t ws_auth_timeout;    /* seconds an unauthenticated socket may stay */
    int64_t ws_auth_grace;      /* seconds before token expiry that auth.expiring is sent */
    /* per-user budgets and caps of the realtime side (docs/realtime.md#limits) */
    int64_t ws_message_rate;      /* messages (socket and REST) per minute per user; 0 = off */
    int64_t ws_typing_rate;       /* typing commands per minute per user; 0 = off */
    int64_t ws_room_join_rate;    /* room.join per minute per user; 0 = off */
    int64_t ws_command_rate;      /* other socket commands per minute per user; 0 = off */
    int64_t ws_rooms_per_socket;  /* rooms joined at once by one socket */
    int64_t ws_rooms_per_user;    /* rooms joined at once by one user's sockets on this node */
    int64_t sse_streams_per_user; /* open GET /api/v1/events streams per user on this node */
    /* tracing (core/trace.h) */
    char *otlp_endpoint;     /* empty = off */
    char *otlp_service_name;
    double trace_sample;     /* 0..1 for new traces */
    int64_t otlp_queue;      /* ended spans held for export */
    int64_t otlp_timeout;    /* seconds per export POST */
} config;

/* Fills cfg with the defaults. */
void config_defaults(config *cfg);
/* Applies STREAMHUB_* environment variables then argv flags (argv[0] is the first flag).
 * On error prints to stderr and returns -1; returns 1 when --help was printed. */
int config_load(config *cfg, int argc, char **argv);
void config_print_help(FILE *out);
void config_free(config *cfg);

#endif
