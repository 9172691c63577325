/* SPDX-License-Identifier: MIT
 *
 * streamhub: the command line. `serve` runs the API with in-process workers, `worker` runs only
 * background delivery, `migrate` applies the schema and exits, `admin` does operator tasks and
 * `routes` prints the route table. Options come from the table in core/config.c.
 */
#include "api/api.h"
#include "app.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "domain/media.h"
#include "domain/uploads.h"
#include "reco/eval.h"
#include "store/db.h"
#include "store/migrate.h"
#include "store/users.h"
#include "ws/hub.h"

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out,
            "streamhub %s\n\n"
            "Commands:\n"
            "  serve     start the API server (default port 8080, SQLite under ./data)\n"
            "  worker    run background workers only (message delivery) against the same database\n"
            "  migrate   apply database migrations and exit\n"
            "  admin create-user --email E --handle H --password-stdin [--role R]\n"
            "            create an account (e.g. the first admin); password read from stdin\n"
            "  admin import-media --owner HANDLE --file PATH [--name NAME]\n"
            "            take a video or image file as a user's media and queue its processing\n"
            "  routes    print every HTTP route (METHOD PATTERN)\n"
            "  reco eval --events FILE [--split time|random] [--test-fraction F] [--max-users N]\n"
            "            replay an interaction file (CSV, JSON lines or MovieLens u.data) and\n"
            "            print Recall@20, NDCG@20, coverage and novelty of each recommender\n\n",
            STREAMHUB_VERSION);
    config_print_help(out);
}

/* Blocks the stop signals in every thread (threads inherit the mask), so the main thread can
 * wait for them with sigwait and shut down in an orderly way. */
static void block_stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* --workers 0: SQLite work is CPU-bound, so more threads than a few per core only add context
 * switches (measured on the home feed, 2 cores: 16 threads 10.0k req/s and p99 17 ms, 8 threads
 * 12.3k and 15 ms); a PostgreSQL statement is a round trip, so more threads overlap the waits. */
static int http_workers(const app *a)
{
    if (a->cfg.workers > 0)
        return (int)a->cfg.workers;
    if (strcmp(a->database_kind, "sqlite") != 0)
        return 16;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores < 1 ? 4 : cores > 16 ? 64 : (int)cores * 4;
}

static int cmd_serve(app *a)
{
    sigset_t stop;
    block_stop_signals(&stop);
    char err[512];
    a->realtime = true;
    if (app_open(a, true, err, sizeof err) < 0) {
        fprintf(stderr, "streamhub: %s\n", err);
        return 1;
    }
    /* The hub comes up before the HTTP server so that no upgrade finds it missing; its
     * commands are registered before it starts. */
    api_realtime_register();
    api_live_ws_register(&a->api); /* presence and rooms (api/live_ws.c) */
    api_conversations_ws_register();
    api_realtime_limits(&a->cfg);
    ws_hub_options wo = {
        .threads = (int)a->cfg.ws_threads, .workers = (int)a->cfg.ws_workers,
        .queue_limit = (size_t)a->cfg.queue_limit, .max_message = (size_t)a->cfg.ws_max_message,
        .send_queue = (size_t)a->cfg.ws_send_queue, .idle_timeout_s = (int)a->cfg.ws_idle_timeout,
        .ping_interval_s = (int)a->cfg.ws_ping_interval,
        .auth_timeout_s = (int)a->cfg.ws_auth_timeout, .auth_grace_s = (int)a->cfg.ws_auth_grace,
        .thread_init = api_thread_init, .thread_done = api_thread_done, .app = &a->api};
    if (ws_hub_start(&wo, err, sizeof err) < 0) {
        fprintf(stderr, "streamhub: %s\n", err);
        app_close(a);
        return 1;
    }
    size_t n_routes;
    const http_route *routes = api_routes(&n_routes);
    http_options o = {
        .host = a->cfg.host, .port = (unsigned)a->cfg.port, .http_threads = (int)a->cfg.http_threads,
        .workers = http_workers(a), .hash_workers = (int)a->cfg.hash_workers,
        .max_connections = (unsigned)a->cfg.max_connections,
        .per_ip_connections = (unsigned)a->cfg.per_ip_connections,
        .connection_timeout = (unsigned)a->cfg.connection_timeout,
        .header_timeout = (unsigned)a->cfg.header_timeout,
        .min_body_rate = (uint64_t)a->cfg.min_body_rate,
        .connection_memory = (size_t)a->cfg.connection_memory,
        .body_limit = (size_t)a->cfg.body_limit, .queue_limit = (size_t)a->cfg.queue_limit,
        .spool_dir = uploads_dir(), .stream_limit = (uint64_t)a->cfg.upload_max_size,
        .cors_origins = a->cfg.cors_origins, .trust_proxy = a->cfg.trust_proxy,
        .trusted_proxies = a->cfg.trusted_proxies,
        .rate_limit = a->cfg.rate_limit, .rate_burst = a->cfg.rate_burst,
        .access_log = a->cfg.access_log, .thread_init = api_thread_init,
        .thread_done = api_thread_done, .app = &a->api,
        .loop_read_budget_ms = (unsigned)a->cfg.loop_read_budget,
        .loop_thread_init = api_loop_thread_init, .loop_thread_done = api_thread_done};
    a->http = http_server_start(&o, routes, n_routes, err, sizeof err);
    if (!a->http) {
        fprintf(stderr, "streamhub: %s\n", err);
        ws_hub_stop();
        app_close(a);
        return 1;
    }
    log_info("started", "\"port\":%u,\"database\":\"%s\",\"version\":\"%s\"",
             http_server_port(a->http), a->database_kind, STREAMHUB_VERSION);
    printf("listening on http://%s:%u\n", a->cfg.host, http_server_port(a->http));
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    log_info("stopping", "\"signal\":%d,\"drain_seconds\":%lld", sig,
             (long long)a->cfg.shutdown_timeout);
    /* sockets first (1001), so that libmicrohttpd has no upgraded connection left to stop */
    ws_hub_stop();
    http_server_shutdown(a->http, (int)a->cfg.shutdown_timeout);
    a->http = NULL;
    app_close(a);
    log_info("stopped", NULL);
    return 0;
}

static int cmd_worker(app *a)
{
    sigset_t stop;
    block_stop_signals(&stop);
    char err[512];
    if (app_open(a, true, err, sizeof err) < 0) {
        fprintf(stderr, "streamhub: %s\n", err);
        return 1;
    }
    log_info("worker started", "\"database\":\"%s\"", a->database_kind);
    int sig = 0;
    sigwait(&stop, &sig);
    app_close(a);
    return 0;
}

static int cmd_migrate(app *a)
{
    char err[512];
    if (app_open(a, false, err, sizeof err) < 0) {
        fprintf(stderr, "streamhub: %s\n", err);
        return 1;
    }
    printf("schema version %d (%s)\n", store_schema_version(), a->database_kind);
    app_close(a);
    return 0;
}

/* admin import-media --owner H --file F [--name N]: takes an existing video or image file as a
 * user's media (copied into the data dir) and queues its processing, which the job workers of a
 * running server or `streamhub worker` then do. */
static int cmd_import_media(int argc, char **argv, app *a)
{
    const char *owner = NULL, *file = NULL, *name = NULL;
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int n_rest = 0, status = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--owner") && i + 1 < argc)
            owner = argv[++i];
        else if (!strcmp(argv[i], "--file") && i + 1 < argc)
            file = argv[++i];
        else if (!strcmp(argv[i], "--name") && i + 1 < argc)
            name = argv[++i];
        else
            rest[n_rest++] = argv[i];
    }
    char err[512], norm[64];
    db *d = NULL;
    if (!owner || !file) {
        fprintf(stderr, "streamhub admin import-media: needs --owner and --file\n");
        goto done;
    }
    int rc = config_load(&a->cfg, n_rest, rest);
    if (rc != 0) {
        status = rc > 0 ? 0 : 2;
        goto done;
    }
    status = 1;
    if (app_open(a, false, err, sizeof err) < 0 ||
        db_open(a->database_url, &d, err, sizeof err) < 0) {
        fprintf(stderr, "streamhub: %s\n", err);
        goto close;
    }
    snprintf(norm, sizeof norm, "%s", owner);
    str_lower(norm);
    store_user u;
    if (store_user_by_handle(d, norm, &u) < 0) {
        fprintf(stderr, "streamhub admin import-media: no user @%s\n", owner);
        goto close;
    }
    const char *base = strrchr(file, '/');
    store_media m;
    domain_error aerr = {0};
    rc = media_ingest(d, &u, file, name ? name : base ? base + 1 : file, false, &m, &aerr);
    if (rc < 0) {
        fprintf(stderr, "streamhub admin import-media: %s%s%s%s\n", aerr.code,
                aerr.field ? " (" : "", aerr.field ? aerr.reason : "", aerr.field ? ")" : "");
        goto close;
    }
    printf("imported media %lld (%s) for @%s\n", (long long)m.id, m.mime, u.handle);
    status = 0;
close:
    db_close(d);
    app_close(a);
done:
    free(rest);
    return status;
}

/* admin create-user has its own flags; what remains goes to the option table. */
static int cmd_admin(int argc, char **argv, app *a)
{
    if (argc >= 1 && !strcmp(argv[0], "import-media"))
        return cmd_import_media(argc, argv, a);
    if (argc < 1 || strcmp(argv[0], "create-user") != 0) {
        fprintf(stderr, "streamhub admin: expected 'create-user' or 'import-media' (see --help)\n");
        return 2;
    }
    const char *email = NULL, *handle = NULL, *role = "user";
    bool password_stdin = false;
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int n_rest = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--email") && i + 1 < argc)
            email = argv[++i];
        else if (!strcmp(argv[i], "--handle") && i + 1 < argc)
            handle = argv[++i];
        else if (!strcmp(argv[i], "--role") && i + 1 < argc)
            role = argv[++i];
        else if (!strcmp(argv[i], "--password-stdin"))
            password_stdin = true;
        else
            rest[n_rest++] = argv[i];
    }
    int status = 2;
    if (!email || !handle || !password_stdin) {
        fprintf(stderr, "streamhub admin create-user: needs --email, --handle and --password-stdin\n");
        goto done;
    }
    int rc = config_load(&a->cfg, n_rest, rest);
    if (rc != 0) {
        status = rc > 0 ? 0 : 2;
        goto done;
    }
    char password[600];
    if (!fgets(password, sizeof password, stdin)) {
        fprintf(stderr, "streamhub admin create-user: no password on stdin\n");
        goto done;
    }
    password[strcspn(password, "\r\n")] = '\0';
    char err[512];
    status = 1;
    if (app_open(a, false, err, sizeof err) < 0) {
        fprintf(stderr, "streamhub: %s\n", err);
        goto done;
    }
    db *d = NULL;
    if (db_open(a->database_url, &d, err, sizeof err) < 0) {
        fprintf(stderr, "streamhub: %s\n", err);
        app_close(a);
        goto done;
    }
    store_user u;
    domain_error aerr = {0};
    rc = auth_create_user(a->auth, d, email, handle, password, role, &u, &aerr);
    sodium_memzero(password, sizeof password);
    db_close(d);
    app_close(a);
    if (rc < 0) {
        fprintf(stderr, "streamhub admin create-user: %s%s%s%s\n", aerr.code,
                aerr.field ? " (" : "", aerr.field ? aerr.field : "", aerr.field ? ")" : "");
        goto done;
    }
    printf("created user %lld @%s with role %s\n", (long long)u.id, u.handle, u.role);
    status = 0;
done:
    free(rest);
    return status;
}

/* `reco eval`: the offline evaluation of docs/discovery.md ("Models"); needs no database. */
static int cmd_reco(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "eval") != 0) {
        fprintf(stderr, "usage: streamhub reco eval --events FILE [--split time|random] "
                        "[--test-fraction F] [--max-users N] [--seed S]\n");
        return 2;
    }
    reco_eval_options o;
    reco_eval_defaults(&o);
    const char *events = NULL;
    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (!strcmp(argv[i], "--events") && value)
            events = argv[++i];
        else if (!strcmp(argv[i], "--split") && value &&
                 (!strcmp(value, "time") || !strcmp(value, "random")))
            o.random_split = !strcmp(argv[++i], "random");
        else if (!strcmp(argv[i], "--test-fraction") && value &&
                 (o.test_fraction = strtod(value, &end)) > 0 && o.test_fraction < 1 && !*end)
            i++;
        else if (!strcmp(argv[i], "--max-users") && value &&
                 (o.max_users = (int)strtol(value, &end, 10)) > 0 && !*end)
            i++;
        else if (!strcmp(argv[i], "--seed") && value &&
                 ((o.seed = strtoull(value, &end, 10)), !*end))
            i++;
        else {
            fprintf(stderr, "streamhub reco eval: bad argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!events) {
        fprintf(stderr, "streamhub reco eval: --events FILE is required\n");
        return 2;
    }
    reco_dataset d;
    reco_dataset_init(&d);
    char err[512];
    if (reco_dataset_load(&d, events, err, sizeof err) != 0) {
        fprintf(stderr, "streamhub reco eval: %s\n", err);
        reco_dataset_free(&d);
        return 1;
    }
    printf("%zu interactions, %d users, %d items, %d topics; %s split, test fraction %.2f\n",
           d.n_events, d.n_users, d.n_items, d.n_topics, o.random_split ? "random" : "time",
           o.test_fraction);
    reco_eval_result r;
    reco_evaluate(&d, &o, &r);
    reco_eval_print(stdout, &r);
    reco_dataset_free(&d);
    return 0;
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0) {
        fprintf(stderr, "streamhub: libsodium failed to initialize\n");
        return 1;
    }
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("streamhub %s\n", STREAMHUB_VERSION);
        return 0;
    }
    const char *cmd = argv[1];
    app a = {0};
    config_defaults(&a.cfg);
    int status;
    if (!strcmp(cmd, "admin")) {
        status = cmd_admin(argc - 2, argv + 2, &a);
        config_free(&a.cfg);
        return status;
    }
    if (!strcmp(cmd, "reco")) {
        config_free(&a.cfg);
        return cmd_reco(argc - 2, argv + 2);
    }
    if (!strcmp(cmd, "routes")) {
        size_t n;
        const http_route *r = api_routes(&n);
        for (size_t i = 0; i < n; i++)
            printf("%s %s\n", r[i].method, r[i].pattern);
        config_free(&a.cfg);
        return 0;
    }
    int rc = config_load(&a.cfg, argc - 2, argv + 2);
    if (rc != 0) {
        config_free(&a.cfg);
        return rc > 0 ? 0 : 2;
    }
    if (!strcmp(cmd, "serve"))
        status = cmd_serve(&a);
    else if (!strcmp(cmd, "worker"))
        status = cmd_worker(&a);
    else if (!strcmp(cmd, "migrate"))
        status = cmd_migrate(&a);
    else {
        fprintf(stderr, "streamhub: unknown command '%s' (see --help)\n", cmd);
        status = 2;
    }
    config_free(&a.cfg);
    return status;
}
