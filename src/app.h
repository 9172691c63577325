/* SPDX-License-Identifier: MIT
 *
 * The running application: configuration plus the services wired together (database location,
 * auth, outbox delivery, HTTP server). main.c builds one for each command. Only main.c and app.c
 * include this header: handlers see the narrower api_env (api/api.h) that app_open fills in.
 */
#ifndef STREAMHUB_APP_H
#define STREAMHUB_APP_H

#include "api/api.h"
#include "core/config.h"
#include "domain/auth.h"
#include "http/http.h"
#include "jobs/maintenance.h"
#include "jobs/node_lease.h"
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
    node_lease *node_lease; /* --node-id auto */
    job_runner *jobs;
    http_server *http;
    int64_t started_ms;
    bool realtime; /* serve sets it before app_open: start the realtime services (services/) */
    bool bus_open; /* app_open opened a cross-node bus backend (--redis), app_close closes it */
    api_env api; /* what the API layer sees of this app; handed to http/ and ws/ as `app` */
} app;

/* Creates the data dir, resolves the database URL, applies migrations, loads or creates the
 * JWT secret and builds the services. start_outbox starts message delivery; a->realtime the
 * presence, rooms and SSE services (into a->api). */
int app_open(app *a, bool start_outbox, char *err, size_t err_size);
void app_close(app *a);

#endif
