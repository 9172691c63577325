/* SPDX-License-Identifier: MIT
 *
 * Application wiring shared by every command (serve, worker, migrate, admin).
 */
#include "app.h"

#include "api/api.h"

#include "core/bus.h"

#include "core/id.h"
#include "core/log.h"
#include "core/ratelimit.h"
#include "core/trace.h"
#include "core/util.h"
#include "domain/activity.h"
#include "domain/analytics.h"
#include "domain/creator_stats.h"
#include "domain/chat.h"
#include "domain/events.h"
#include "domain/reco.h"
#include "domain/feed_cache.h"
#include "domain/interests.h"
#include "domain/live.h"
#include "domain/media.h"
#include "domain/notify.h"
#include "domain/uploads.h"
#include "jobs/images.h"
#include "domain/posts.h"
#include "jobs/event_log.h"
#include "jobs/node_lease.h"
#include "store/db.h"
#include "store/migrate.h"
#include "store/nodes.h"

#include <errno.h>
#include <sodium.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads DATA_DIR/jwt.secret, creating it (0600, random) on first start so tokens survive
 * restarts without any operator step. O_EXCL makes two processes starting together agree. */
static char *load_secret(const char *data_dir, char *err, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/jwt.secret", data_dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd >= 0) {
        char secret[64];
        random_token(secret, sizeof secret, 32);
        size_t len = strlen(secret);
        if (write(fd, secret, len) != (ssize_t)len || fsync(fd) < 0) {
            close(fd);
            snprintf(err, n, "cannot write %s", path);
            return NULL;
        }
        close(fd);
    }
    for (int attempt = 0; attempt < 50; attempt++) {
        FILE *f = fopen(path, "r");
        if (!f)
            break;
        char secret[256] = "";
        size_t got = fread(secret, 1, sizeof secret - 1, f);
        fclose(f);
        secret[got] = '\0';
        secret[strcspn(secret, "\r\n")] = '\0';
        if (strlen(secret) >= 32)
            return xstrdup(secret);
        usleep(10000); /* another process is still writing it */
    }
    snprintf(err, n, "cannot read %s", path);
    return NULL;
}

/* The domain's part of every housekeeping round: expired uploads, the analytics rollup and the
 * event log's retention, the creator snapshots of days that ended, then the recommender (load a
 * newer model, schedule the next training). Each runs even when one before it failed. */
static int housekeeping_sweep(db *d, int64_t now)
{
    int days;
    int rc[] = {uploads_expire(d, now), analytics_tick(d, now),
                creator_snapshots_run(d, now, &days), reco_sweep(d, now)};
    for (size_t i = 0; i < sizeof rc / sizeof rc[0]; i++)
        if (rc[i] < 0)
            return rc[i];
    return 0;
}

static void wake_jobs(void *runner)
{
    job_runner_wakeup(runner);
}

/* Who listens to what. Emitters (posts, comments, reactions, the follow graph, media) know
 * none of these; a new module adds its lines here. In-transaction consumers write with the
 * action and can fail it; after-commit ones see only committed changes. Within a type and phase
 * consumers run in the order listed, which keeps the order the side effects had when the
 * emitters called them directly (e.g. a new post is logged before the feed caches hear of it).
 * Runs before any thread starts; the table is read-only afterwards (domain/events.h). */
static void wire_events(void)
{
    static const struct {
        domain_event_type type;
        events_phase phase;
        events_fn fn;
    } wiring[] = {
        /* notifications: inside the transaction, so they commit or roll back with the action */
        {EV_POST_CREATED, EVENTS_IN_TRANSACTION, notify_on_event},
        {EV_POST_EDITED, EVENTS_IN_TRANSACTION, notify_on_event},
        {EV_REACTION_ADDED, EVENTS_IN_TRANSACTION, notify_on_event},
        {EV_COMMENT_CREATED, EVENTS_IN_TRANSACTION, notify_on_event},
        {EV_COMMENT_LIKED, EVENTS_IN_TRANSACTION, notify_on_event},
        {EV_FOLLOWED, EVENTS_IN_TRANSACTION, notify_on_event},
        {EV_FOLLOW_REQUESTED, EVENTS_IN_TRANSACTION, notify_on_event},
        {EV_FOLLOW_ACCEPTED, EVENTS_IN_TRANSACTION, notify_on_event},
        /* after commit: the event log, the feed caches, presence */
        {EV_POST_CREATED, EVENTS_AFTER_COMMIT, activity_on_event},
        {EV_POST_CREATED, EVENTS_AFTER_COMMIT, feed_cache_on_event},
        {EV_POST_EDITED, EVENTS_AFTER_COMMIT, feed_cache_on_event},
        {EV_POST_DELETED, EVENTS_AFTER_COMMIT, feed_cache_on_event},
        {EV_POST_VIEWED, EVENTS_AFTER_COMMIT, activity_on_event},
        {EV_POST_SAVED, EVENTS_AFTER_COMMIT, activity_on_event},
        {EV_POST_UNSAVED, EVENTS_AFTER_COMMIT, activity_on_event},
        {EV_REACTION_ADDED, EVENTS_AFTER_COMMIT, activity_on_event},
        {EV_REACTION_REMOVED, EVENTS_AFTER_COMMIT, activity_on_event},
        {EV_COMMENT_CREATED, EVENTS_AFTER_COMMIT, activity_on_event},
        {EV_FOLLOWED, EVENTS_AFTER_COMMIT, feed_cache_on_event},
        {EV_FOLLOWED, EVENTS_AFTER_COMMIT, activity_on_event},
        {EV_FOLLOW_REQUESTED, EVENTS_AFTER_COMMIT, feed_cache_on_event},
        {EV_FOLLOW_REQUESTED, EVENTS_AFTER_COMMIT, activity_on_event},
        {EV_FOLLOW_ACCEPTED, EVENTS_AFTER_COMMIT, feed_cache_on_event},
        {EV_UNFOLLOWED, EVENTS_AFTER_COMMIT, feed_cache_on_event},
        {EV_UNFOLLOWED, EVENTS_AFTER_COMMIT, activity_on_event},
        {EV_BLOCKED, EVENTS_AFTER_COMMIT, feed_cache_on_event},
        {EV_BLOCKED, EVENTS_AFTER_COMMIT, live_on_event},
        {EV_BLOCKED, EVENTS_AFTER_COMMIT, activity_on_event},
        {EV_UNBLOCKED, EVENTS_AFTER_COMMIT, feed_cache_on_event},
        {EV_UNBLOCKED, EVENTS_AFTER_COMMIT, activity_on_event},
        {EV_MUTED, EVENTS_AFTER_COMMIT, feed_cache_on_event},
        {EV_UNMUTED, EVENTS_AFTER_COMMIT, feed_cache_on_event},
        {EV_PRIVACY_CHANGED, EVENTS_AFTER_COMMIT, feed_cache_on_event},
        {EV_MEDIA_SETTLED, EVENTS_AFTER_COMMIT, chat_on_event}, /* DM attachments */
        {EV_MESSAGE_SENT, EVENTS_AFTER_COMMIT, activity_on_event},
        /* the interest graph of For You (docs/discovery.md) */
        {EV_POST_VIEWED, EVENTS_AFTER_COMMIT, interests_on_event},
        {EV_REACTION_ADDED, EVENTS_AFTER_COMMIT, interests_on_event},
        {EV_COMMENT_CREATED, EVENTS_AFTER_COMMIT, interests_on_event},
        {EV_POST_SAVED, EVENTS_AFTER_COMMIT, interests_on_event},
        {EV_POST_CREATED, EVENTS_AFTER_COMMIT, interests_on_event},
        {EV_FOLLOWED, EVENTS_AFTER_COMMIT, interests_on_event},
        {EV_FOLLOW_ACCEPTED, EVENTS_AFTER_COMMIT, interests_on_event},
    };
    events_reset();
    for (size_t i = 0; i < sizeof wiring / sizeof wiring[0]; i++)
        if (events_on(wiring[i].type, wiring[i].phase, wiring[i].fn, NULL) < 0)
            abort(); /* the table above outgrew EVENTS_MAX_CONSUMERS */
}

#define NODE_LEASE_TTL_MS 60000 /* --node-id auto: an id of a process that died is free after this */

/* A process whose node-id lease could not be renewed must stop before another process may take
 * the id (jobs/node_lease.h): the same drain as SIGTERM, which main() waits for. */
static void stop_self(void)
{
    kill(getpid(), SIGTERM);
}

/* What clients receive over the bus (socket and SSE envelopes) is JSON built in api/: the domain
 * hands plain structs to these functions after its commit. The rooms' control messages are
 * wired with the realtime services, which build them (app_open, serve only). */
static void wire_publishers(void)
{
    chat_set_notifier(api_chat_notify);
    notify_set_publisher(api_notifications_publish);
    media_set_progress_listener(api_media_progress);
}

int app_open(app *a, bool start_outbox, char *err, size_t err_size)
{
    a->started_ms = now_ms();
    log_level level;
    if (log_parse_level(a->cfg.log_level, &level) < 0) {
        snprintf(err, err_size, "--log-level must be debug, info, warn or error");
        return ERR_INVALID;
    }
    log_set_level(level);
    log_set_flush_interval_ms((unsigned)a->cfg.access_log_flush_ms);
    /* tracing before anything that records spans (the job runner, the outbox, the server), and
     * before anything is allocated, so a bad --otlp-endpoint leaves nothing behind */
    trace_options to = {.endpoint = a->cfg.otlp_endpoint,
                        .service_name = a->cfg.otlp_service_name,
                        .service_version = STREAMHUB_VERSION,
                        .sample_ratio = a->cfg.trace_sample,
                        .queue_limit = (size_t)a->cfg.otlp_queue,
                        .timeout_ms = a->cfg.otlp_timeout * 1000,
                        .start_exporter = true};
    if (start_outbox) {
        int rc = trace_start(&to, err, err_size);
        if (rc < 0)
            return rc;
    }
    bool lease_node_id = !strcmp(a->cfg.node_id, "auto");
    if (!lease_node_id) {
        char *end;
        long node = strtol(a->cfg.node_id, &end, 10);
        if (!*a->cfg.node_id || *end || node < 0 || node >= NODE_ID_COUNT) {
            snprintf(err, err_size, "--node-id must be 0..%d or auto", NODE_ID_COUNT - 1);
            return ERR_INVALID;
        }
        id_set_node((unsigned)node);
    }
    posts_set_story_ttl(a->cfg.story_ttl * 1000);
    /* The bus backend is chosen before anything subscribes (the feed caches do, below). serve
     * and worker publish (a worker's media.progress must reach the owner's node); with --redis
     * both go through Redis, without it the bus stays in-process. */
    if (start_outbox && *a->cfg.redis) {
        int brc = bus_open(&bus_redis, a->cfg.redis, err, err_size);
        if (brc < 0)
            return brc;
        a->bus_open = true;
        ratelimit_set_store(bus_rate_take); /* the limiters given a scope share their buckets */
    }
    wire_events();
    wire_publishers();
    feed_cache_configure((int)a->cfg.feed_cache_entries, a->cfg.feed_cache_ttl * 1000,
                         a->cfg.trending_refresh_ms);
    int rc = media_configure(a->cfg.data_dir, a->cfg.object_store, a->cfg.media_max_duration,
                             err, err_size);
    if (rc < 0)
        return rc;
    if (media_set_base_url(a->cfg.media_base_url) < 0) {
        snprintf(err, err_size, "--media-base-url must be an http(s) URL without query");
        return ERR_INVALID;
    }
    images_init("streamhub", IMAGES_LIBRARY); /* libvips itself is loaded by the first image */
    api_media_set_post_max(a->cfg.media_post_max);

    job_register(MEDIA_PROCESS_JOB, media_process_job);
    job_register(MEDIA_COMPOSE_JOB, media_compose_job);
    job_register(AUTH_RESET_JOB, auth_reset_job);
    job_register(RECO_TRAIN_JOB, reco_train_job);
    if (make_dirs(a->cfg.data_dir) < 0) {
        snprintf(err, err_size, "cannot create data dir %s: %s", a->cfg.data_dir, strerror(errno));
        return ERR_IO;
    }
    /* the newest saved model, if any, is served from here on (before it: "no model") */
    if ((rc = reco_configure(a->cfg.data_dir, a->cfg.object_store, a->cfg.reco_retrain_interval,
                             err, err_size)) < 0)
        return rc;
    if (uploads_configure(a->cfg.data_dir, a->cfg.upload_max_size, a->cfg.upload_quota,
                          a->cfg.upload_expiry) < 0) {
        snprintf(err, err_size, "cannot create %s: %s", uploads_dir(), strerror(errno));
        return ERR_IO;
    }
    a->database_url = *a->cfg.database ? xstrdup(a->cfg.database)
                                       : xasprintf("sqlite:%s/streamhub.db", a->cfg.data_dir);
    a->database_kind = str_has_prefix(a->database_url, "sqlite:") ? "sqlite" : "postgres";
    db_pg_use_named_statements(a->cfg.pg_named_statements);

    db *d = NULL;
    rc = db_open(a->database_url, &d, err, err_size);
    if (rc < 0)
        return rc;
    char merr[512];
    rc = store_migrate(d, merr, sizeof merr);
    db_close(d);
    if (rc < 0) {
        snprintf(err, err_size, "migrations failed: %s", merr);
        return rc;
    }
    if (rc > 0)
        log_info("migrations applied", "\"count\":%d,\"version\":%d", rc, store_schema_version());
    if (lease_node_id) {
        int node;
        if (!(a->node_lease = node_lease_start(a->database_url, NODE_LEASE_TTL_MS, stop_self,
                                               &node, err, err_size)))
            return ERR_DB;
        id_set_node((unsigned)node);
    }

    char *secret = *a->cfg.jwt_secret ? xstrdup(a->cfg.jwt_secret)
                                      : load_secret(a->cfg.data_dir, err, err_size);
    if (!secret)
        return ERR_IO;
    if (strlen(secret) < 32) {
        snprintf(err, err_size, "--jwt-secret must be at least 32 characters");
        free(secret);
        return ERR_INVALID;
    }
    if (start_outbox) {
        outbox_options o = {
            .database_url = a->database_url, .delivery = a->cfg.delivery,
            .webhook_url = a->cfg.webhook_url, .smtp_url = a->cfg.smtp_url,
            .smtp_from = a->cfg.smtp_from, .smtp_user = a->cfg.smtp_user,
            .smtp_password = a->cfg.smtp_password};
        a->outbox = outbox_worker_start(&o, err, err_size);
        if (!a->outbox) {
            free(secret);
            return ERR_INVALID;
        }
        if ((rc = event_log_start(a->database_url, err, err_size)) < 0 ||
            (rc = interests_start(a->database_url, err, err_size)) < 0) {
            free(secret);
            return rc;
        }
        creator_stats_settings cs = {.test_clock = a->cfg.test_clock};
        if (!creator_tier_rules_parse(a->cfg.tier_thresholds, a->cfg.tier_hysteresis,
                                      &cs.tiers)) {
            snprintf(err, err_size, "--tier-thresholds: four ascending scores in 0-100, "
                                    "e.g. 40,60,75,90");
            free(secret);
            return ERR_INVALID;
        }
        creator_stats_configure(&cs);
        analytics_configure(&(analytics_settings){
            .settle_ms = a->cfg.analytics_settle_ms, .retention_ms = a->cfg.event_retention * 1000});
        a->maintenance =
            maintenance_start(a->database_url, a->cfg.purge_after, a->cfg.maintenance_interval,
                              housekeeping_sweep, err, err_size);
        if (!a->maintenance) {
            free(secret);
            return ERR_IO;
        }
        if (a->cfg.job_workers > 0) {
            job_runner_options jo = {.database_url = a->database_url,
                                     .threads = (int)a->cfg.job_workers,
                                     .lease_ms = a->cfg.job_lease * 1000};
            if (!(a->jobs = job_runner_start(&jo, err, err_size))) {
                free(secret);
                return ERR_IO;
            }
        }
    }
    auth_settings s = {
        .secret = secret, .access_ttl_s = a->cfg.access_ttl, .refresh_ttl_s = a->cfg.refresh_ttl,
        .code_ttl_s = a->cfg.code_ttl, .pw_opslimit = a->cfg.pw_opslimit,
        .pw_memlimit_kib = a->cfg.pw_memlimit_kib, .rate_per_minute = a->cfg.auth_rate_limit,
        .outbox_wakeup = outbox_worker_wakeup, .outbox_arg = a->outbox,
        .jobs_wakeup = wake_jobs, .jobs_arg = a->jobs};
    a->auth = auth_new(&s);
    /* Signed media URLs use their own key, derived from the same secret so every node agrees
     * without another file to distribute. */
    unsigned char media_key[32];
    static const unsigned char label[] = "streamhub media url key v1";
    crypto_generichash(media_key, sizeof media_key, (const unsigned char *)secret, strlen(secret),
                       label, sizeof label - 1);
    media_set_url_key(media_key);
    sodium_memzero(media_key, sizeof media_key);
    sodium_memzero(secret, strlen(secret));
    free(secret);
    a->api = (api_env){.cfg = &a->cfg,
                       .auth = a->auth,
                       .database_url = a->database_url,
                       .database_kind = a->database_kind,
                       .started_ms = a->started_ms};
    /* Realtime services (services/), serve only: each gets its own options, not the app. */
    if (a->realtime) {
        presence_options po = {.database_url = a->database_url,
                               .enabled = a->cfg.presence,
                               .grace_ms = a->cfg.presence_grace * 1000};
        rooms_options ro = {.members_interval_ms = a->cfg.room_members_interval * 1000,
                            .caps = {.per_socket = a->cfg.ws_rooms_per_socket,
                                     .per_user = a->cfg.ws_rooms_per_user}};
        sse_options so = {.heartbeat_ms = a->cfg.sse_heartbeat * 1000,
                          .streams_per_user = a->cfg.sse_streams_per_user};
        if (!(a->api.presence = presence_open(&po, err, err_size)) ||
            !(a->api.rooms = rooms_open(&ro, err, err_size)) ||
            !(a->api.sse = sse_open(&so, err, err_size)))
            return ERR_INTERNAL;
        /* bans, slow modes and presence drops reach every node over the rooms control topic */
        live_on_change(rooms_control_publish);
    }
    return 0;
}

void app_close(app *a)
{
    sse_close(a->api.sse);
    rooms_close(a->api.rooms);
    presence_close(a->api.presence);
    a->api.sse = NULL;
    a->api.rooms = NULL;
    a->api.presence = NULL;
    job_runner_stop(a->jobs);
    a->jobs = NULL;
    maintenance_stop(a->maintenance);
    a->maintenance = NULL;
    reco_shutdown(); /* after the job runners and housekeeping, its only writers */
    event_log_stop();
    interests_stop();
    outbox_worker_stop(a->outbox);
    a->outbox = NULL;
    /* the id goes back once nothing above can mint one (HTTP has stopped before app_close) */
    node_lease_stop(a->node_lease);
    a->node_lease = NULL;
    trace_stop(); /* after everything that ends spans */
    /* after every thread that publishes (job runners send media.progress) */
    if (a->bus_open) {
        ratelimit_set_store(NULL);
        bus_close();
    }
    a->bus_open = false;
    auth_free(a->auth);
    a->auth = NULL;
    free(a->database_url);
    a->database_url = NULL;
    config_free(&a->cfg);
}
