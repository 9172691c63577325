/* SPDX-License-Identifier: MIT
 *
 * The node-id lease: claim at start, a renewing thread, release at stop (node_lease.h).
 */
#include "jobs/node_lease.h"

#include "core/log.h"
#include "core/util.h"
#include "store/nodes.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct node_lease {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    bool stopping;
    char *database_url;
    char holder[128];
    int node_id;
    int64_t ttl_ms;
    int64_t deadline_us; /* monotonic: stop minting ids past this without a renewal */
    void (*on_lost)(void);
    db *d;
};

/* One renewal. The deadline counts from before the statement is sent, so it is never later
 * than the expiry the database computes once the statement arrives. */
static void renew(node_lease *l)
{
    int64_t sent_us = monotonic_us();
    char err[256];
    if (!l->d && db_open(l->database_url, &l->d, err, sizeof err) < 0)
        l->d = NULL;
    int rc = l->d ? store_nodes_renew(l->d, l->node_id, l->holder, l->ttl_ms) : ERR_DB;
    if (rc == 0) {
        l->deadline_us = sent_us + l->ttl_ms * 1000 * 3 / 4;
        return;
    }
    if (rc == ERR_NOT_FOUND) {
        log_error("node id lease lost", "\"node_id\":%d", l->node_id);
        l->deadline_us = 0;
    } else if (l->d) {
        db_close(l->d); /* reconnect on the next round */
        l->d = NULL;
    }
}

static void *lease_main(void *arg)
{
    node_lease *l = arg;
    pthread_setname_np(pthread_self(), "sh-node-lease");
    bool lost = false;
    pthread_mutex_lock(&l->lock);
    while (!l->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t wake_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec + l->ttl_ms * 1000000 / 6;
        ts.tv_sec = (time_t)(wake_ns / 1000000000LL);
        ts.tv_nsec = (long)(wake_ns % 1000000000LL);
        pthread_cond_timedwait(&l->cond, &l->lock, &ts);
        if (l->stopping)
            break;
        pthread_mutex_unlock(&l->lock);
        renew(l);
        if (!lost && monotonic_us() >= l->deadline_us) {
            lost = true; /* once: the process is stopping */
            log_error("node id lease not renewed in time: stopping", "\"node_id\":%d",
                      l->node_id);
            l->on_lost();
        }
        pthread_mutex_lock(&l->lock);
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

node_lease *node_lease_start(const char *database_url, int64_t ttl_ms, void (*on_lost)(void),
                             int *node_id, char *err, size_t err_size)
{
    node_lease *l = xcalloc(1, sizeof *l);
    l->database_url = xstrdup(database_url);
    l->ttl_ms = ttl_ms;
    l->on_lost = on_lost;
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    unsigned char nonce[6];
    random_bytes(nonce, sizeof nonce);
    snprintf(l->holder, sizeof l->holder, "%s:%ld:%02x%02x%02x%02x%02x%02x", host, (long)getpid(),
             nonce[0], nonce[1], nonce[2], nonce[3], nonce[4], nonce[5]);
    int64_t sent_us = monotonic_us();
    int rc = db_open(database_url, &l->d, err, err_size);
    if (rc == 0 && (rc = store_nodes_claim(l->d, l->holder, ttl_ms, &l->node_id)) < 0)
        snprintf(err, err_size, rc == ERR_CONFLICT ? "every node id (0..1023) is leased"
                                                   : "cannot lease a node id: %s",
                 db_errmsg(l->d));
    if (rc < 0) {
        if (l->d)
            db_close(l->d);
        free(l->database_url);
        free(l);
        return NULL;
    }
    l->deadline_us = sent_us + ttl_ms * 1000 * 3 / 4;
    pthread_mutex_init(&l->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_create(&l->thread, NULL, lease_main, l);
    log_info("node id leased", "\"node_id\":%d,\"holder\":\"%s\"", l->node_id, l->holder);
    *node_id = l->node_id;
    return l;
}

void node_lease_stop(node_lease *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->lock);
    l->stopping = true;
    pthread_cond_signal(&l->cond);
    pthread_mutex_unlock(&l->lock);
    pthread_join(l->thread, NULL);
    char err[256];
    if (!l->d && db_open(l->database_url, &l->d, err, sizeof err) < 0)
        l->d = NULL;
    if (l->d) {
        store_nodes_release(l->d, l->node_id, l->holder);
        db_close(l->d);
    }
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->cond);
    free(l->database_url);
    free(l);
}
