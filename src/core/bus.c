/* SPDX-License-Identifier: MIT
 *
 * The bus front (see bus.h): argument checks, the envelope helpers and the /metrics counters,
 * then one call through the selected backend's table. The backend pointer is set once by
 * bus_open before the server starts threads that use the bus, and read without a lock after.
 */
#include "core/bus.h"

#include "core/topics.h"
#include "core/util.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const bus_backend *backend = &bus_inproc;
static atomic_uint_fast64_t n_published, n_delivered;

int bus_open(const bus_backend *b, const char *url, char *err, size_t err_size)
{
    if (!b)
        b = &bus_inproc;
    int rc = b->open(url, err, err_size);
    if (rc < 0)
        return rc;
    backend = b;
    return 0;
}

void bus_close(void)
{
    backend->close();
    backend = &bus_inproc;
}

const char *bus_backend_name(void)
{
    return backend->name;
}

void bus_status_get(bus_status *out)
{
    *out = (bus_status){.connected = true};
    if (backend->status)
        backend->status(out);
}

int64_t bus_cluster_count(const char *topic, int64_t here)
{
    return backend->cluster_count ? backend->cluster_count(topic, here) : here;
}

int bus_rate_take(const char *scope, const char *key, double rate, double burst,
                  int64_t *retry_after_ms)
{
    return backend->rate_take ? backend->rate_take(scope, key, rate, burst, retry_after_ms) : -1;
}

void bus_sync(void)
{
    if (backend->sync)
        backend->sync();
}

bool bus_cross_node(void)
{
    return backend != &bus_inproc;
}

bus_sub *bus_subscribe(const char *topic, bus_deliver_fn fn, void *ctx)
{
    return backend->subscribe(topic, fn, ctx);
}

void bus_unsubscribe(bus_sub *s)
{
    if (s)
        backend->unsubscribe(s);
}

int bus_publish(const char *topic, const char *msg, size_t len)
{
    if (!topic || !*topic)
        return 0;
    atomic_fetch_add(&n_published, 1);
    int n = backend->publish(topic, msg, len);
    atomic_fetch_add(&n_delivered, (uint_fast64_t)n);
    return n;
}

bool bus_user_listened(int64_t user_id)
{
    char topic[TOPIC_MAX];
    topic_user(topic, user_id);
    return backend->listened(topic);
}

int bus_subscribers(const char *topic)
{
    if (!topic || !*topic)
        return 0;
    return backend->subscribers(topic);
}

static int publish_envelope(const char *topic, const char *type, json_t *data)
{
    json_t *env = json_pack("{s:s, s:o}", "type", type, "data", data ? data : json_object());
    if (!env)
        return 0;
    char *text = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    if (!text)
        return 0;
    int n = bus_publish(topic, text, strlen(text));
    free(text);
    return n;
}

int bus_publish_user(int64_t user_id, const char *type, json_t *data)
{
    char topic[TOPIC_MAX];
    topic_user(topic, user_id);
    return publish_envelope(topic, type, data);
}

int bus_publish_room(const char *room, const char *type, json_t *data)
{
    char topic[TOPIC_MAX];
    if (topic_room(topic, room) < 0) {
        json_decref(data);
        return 0;
    }
    return publish_envelope(topic, type, data);
}

int bus_publish_session_ended(int64_t session_id, const char *reason)
{
    char topic[TOPIC_MAX];
    topic_session(topic, session_id);
    return publish_envelope(topic, "session.revoked", json_pack("{s:s}", "reason", reason));
}

uint64_t bus_published(void)
{
    return atomic_load(&n_published);
}

uint64_t bus_delivered(void)
{
    return atomic_load(&n_delivered);
}
