/* SPDX-License-Identifier: MIT
 *
 * The running application: configuration plus the services wired together (database location,
 * auth, outbox delivery, HTTP server). main.c builds one for each command; handlers reach it via
 * http_req_app().
 */
#ifndef STREAMHUB_APP_H
#define STREAMHUB_APP_H

#include "core/config.h"
#include "domain/auth.h"
#include "http/http.h"
#include "jobs/maintenance.h"
#include "jobs/outbox_worker.h"
#include "jobs/queue.h"
#include "store/db.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct app {
    config cfg;
    char *database_url;
    const char *database_kind; /* "sqlite" or "postgres" */
    auth_service *auth;
    outbox_worker *outbox;
    maintenance *maintenance;
    job_runner *jobs;
    http_server *http;
    int64_t started_ms;
} app;

/* Creates the data dir, resolves the database URL, applies migrations, loads or creates the
 * JWT secret and builds the services. start_outbox starts message delivery. */
int app_open(app *a, bool start_outbox, char *err, size_t err_size);
void app_close(app *a);

/* Per worker-thread context: the thread's own database connection. */
typedef struct app_worker {
    app *app;
    db *db; /* NULL while the database cannot be reached */
} app_worker;

void *app_thread_init(void *a);
void app_thread_done(void *ctx);
/* The worker's connection, reconnecting if the last attempt failed; NULL if still unreachable. */
db *app_worker_db(app_worker *w);

#endif
