/* SPDX-License-Identifier: MIT
 *
 * The Redis bus backend (see bus.h): topics are Redis pub/sub channels, so a message published
 * on any node reaches the subscribers of every node. `--redis redis://[user:password@]host[:port]
 * [/db][?publishers=N]` selects it (app.c).
 *
 * Subscribing. Local subscriptions live in a hash table of topics (the same shape as the
 * in-process backend, under a reader-preferring rwlock for the same reason: a deliver callback
 * may publish). A topic's first local subscriber queues a SUBSCRIBE for the reader thread, its
 * last one an UNSUBSCRIBE; the queue keeps their order, so a topic dropped and taken again ends
 * subscribed. bus_subscribe waits (up to SUBSCRIBE_WAIT_MS) until Redis has confirmed the
 * topic's SUBSCRIBE, so that once a socket's `auth` is acknowledged, a message published
 * anywhere reaches it, exactly as with the in-process bus.
 *
 * Delivering. Only the reader thread delivers, and only what comes back from Redis: a publish
 * never calls local subscribers itself, so a local subscriber gets each message once. The
 * reader owns one subscriber connection (hiredis, blocking context driven by poll: it reads
 * only when the socket is readable and is woken by an eventfd when the queue has work). It
 * pings Redis when the connection has been idle for PING_IDLE_MS and drops a connection that
 * has not answered within DEAD_AFTER_MS (a hung server counts as down).
 *
 * Publishing. Many threads publish (HTTP and socket workers, job runners, the reader itself from
 * a deliver callback), over a small pool of command connections, each behind its own mutex; a
 * thread keeps the slot it was first given. PUBLISH is one round trip. While the reader has no
 * connection, publishes are dropped at once and counted (nothing acknowledged is lost: messages
 * are persisted before they fan out, and clients are told to re-sync after the reconnect).
 *
 * Reconnecting. The reader retries with exponential backoff (BACKOFF_MIN_MS doubling to
 * BACKOFF_MAX_MS, each wait drawn between half and all of it so that nodes do not reconnect in
 * step), then subscribes every local topic again and, once Redis confirmed them all, delivers
 * {"type":"resync","data":{"reason":"bus_reconnected"}} to every local "user:" subscription:
 * each socket and SSE stream of this node, whose client then runs its catch-up (docs/realtime.md).
 *
 * Counts across nodes (bus_cluster_count: how many nodes hold a user, a room's members): each
 * node's share is a lease in a Redis hash per topic, set and summed in one EVALSHA round trip.
 *
 * Rate limits shared by the cluster (bus_rate_take, installed as the ratelimit store by app.c):
 * a token bucket per scope and key in Redis, one EVALSHA round trip on Redis's clock.
 *
 * Catching up (bus_sync). Redis appends a message to every subscriber's output before PUBLISH
 * returns, and answers a connection's commands in order; so a PING sent on the subscriber
 * connection is answered after every message published before it, anywhere, and the reader has
 * delivered those (it delivers in order, on its own thread) when the pong arrives. bus_sync
 * queues such a PING like a SUBSCRIBE and waits for its pong: a node that answers a read after
 * a write taken by another node has first applied that write's invalidation.
 *
 * "Listened" asks Redis (PUBSUB NUMSUB: subscribed connections, i.e. nodes) unless this node
 * has a local subscriber. A positive answer is cached for LISTENED_CACHE_MS; a negative one is
 * never cached, so a socket that just connected elsewhere is never missed; the cost of the bound
 * is at most building one message nobody reads.
 */
#include "core/bus.h"

#include "core/log.h"
#include "core/topics.h"
#include "core/util.h"

#include <hiredis/hiredis.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define BUS_BUCKETS 4096
#define SUBSCRIBE_WAIT_MS 1000  /* longest a subscribe waits for Redis's confirmation */
#define OPEN_WAIT_MS 3000       /* longest bus_open waits for the first connection */
#define CONNECT_TIMEOUT_MS 1000
#define COMMAND_TIMEOUT_MS 2000 /* a publish or NUMSUB on a command connection */
#define PING_IDLE_MS 1000
#define DEAD_AFTER_MS 3000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define LISTENED_CACHE_MS 1000
#define LISTENED_SLOTS 1024
#define PUBLISHERS_DEFAULT 4
#define PUBLISHERS_MAX 64
#define RESUBSCRIBE_BATCH 256 /* channels per SUBSCRIBE after a reconnect */

static const char resync_message[] = "{\"type\":\"resync\",\"data\":{\"reason\":\"bus_reconnected\"}}";

typedef struct topic_entry {
    struct topic_entry *next;
    struct bus_sub *subs;
    uint64_t subscribe_seq; /* the queued SUBSCRIBE that made Redis send this topic */
    char name[];
} topic_entry;

struct bus_sub {
    struct bus_sub *next;
    topic_entry *topic;
    unsigned bucket;
    bus_deliver_fn fn;
    void *ctx;
};

typedef struct channel_op {
    struct channel_op *next;
    bool subscribe;
    bool ping; /* bus_sync's PING (topic unused) */
    uint64_t seq;
    char topic[];
} channel_op;

typedef struct publisher {
    pthread_mutex_t lock;
    redisContext *c;
} publisher;

static struct {
    /* where: parsed once by open */
    char host[256];
    int port;
    int db;
    char user[128];
    char password[256];
    int n_publishers;

    /* local subscriptions (see the file comment for the lock's kind) */
    pthread_rwlock_t table_lock;
    topic_entry *buckets[BUS_BUCKETS];

    /* SUBSCRIBE/UNSUBSCRIBE queued for the reader; table_lock (write) is taken before ops_lock */
    pthread_mutex_t ops_lock;
    pthread_cond_t ops_done; /* acked_seq advanced, or the connection dropped */
    channel_op *ops_head, **ops_tail;
    uint64_t queued_seq, acked_seq;
    uint64_t unsent_ping; /* a bus_sync PING still in the queue (0: none), which later syncs share */
    int wake_fd;

    pthread_t reader;
    bool reader_started;
    atomic_bool stopping;
    atomic_bool connected;
    atomic_bool ever_connected;
    atomic_uint_fast64_t reconnects, publish_failures, resyncs;

    publisher *publishers;
    atomic_uint next_publisher;

    char instance[33]; /* this process among the shares of a cluster count */
    pthread_mutex_t script_lock;
    char count_sha[41];
    char rate_sha[41];

    pthread_mutex_t listened_lock;
    struct { uint32_t hash; int64_t until_ms; } listened[LISTENED_SLOTS];
} R;

static __thread int my_publisher = -1;

static uint32_t fnv1a(const char *topic)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)topic; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

static unsigned topic_bucket(const char *topic)
{
    return fnv1a(topic) % BUS_BUCKETS;
}

static uint32_t topic_hash(const char *topic)
{
    return fnv1a(topic) | 1; /* 0 marks an empty cache slot */
}

static int64_t mono_ms(void)
{
    return monotonic_us() / 1000;
}

static struct timeval ms_tv(int ms)
{
    return (struct timeval){.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
}

/* ---- URL ---------------------------------------------------------------------------------- */

/* Percent-decodes src[0..len) into out; -1 if it does not fit or is malformed. */
static int url_decode(const char *src, size_t len, char *out, size_t out_size)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = src[i];
        if (ch == '%') {
            unsigned v;
            if (i + 2 >= len || sscanf(src + i + 1, "%2x", &v) != 1)
                return -1;
            ch = (char)v;
            i += 2;
        }
        if (o + 1 >= out_size)
            return -1;
        out[o++] = ch;
    }
    out[o] = '\0';
    return 0;
}

/* redis://[[user]:password@]host[:port][/db][?publishers=N] */
static int parse_url(const char *url, char *err, size_t err_size)
{
    R.port = 6379;
    R.db = 0;
    R.user[0] = R.password[0] = '\0';
    R.n_publishers = PUBLISHERS_DEFAULT;
    if (!url || !str_has_prefix(url, "redis://")) {
        snprintf(err, err_size, "--redis must be redis://[user:password@]host[:port][/db]%s",
                 url && str_has_prefix(url, "rediss://") ? " (TLS is not supported: Debian's "
                                                          "hiredis 0.14 has none)" : "");
        return ERR_INVALID;
    }
    const char *p = url + strlen("redis://");
    const char *end = p + strcspn(p, "/?");
    const char *at = memchr(p, '@', (size_t)(end - p));
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (!colon || url_decode(p, (size_t)(colon - p), R.user, sizeof R.user) < 0 ||
            url_decode(colon + 1, (size_t)(at - colon - 1), R.password, sizeof R.password) < 0) {
            snprintf(err, err_size, "--redis: credentials must be user:password@ or :password@");
            return ERR_INVALID;
        }
        p = at + 1;
    }
    const char *host_end = end;
    if (*p == '[') { /* [ipv6] */
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (!close)
            goto bad_host;
        if ((size_t)(close - p - 1) >= sizeof R.host)
            goto bad_host;
        memcpy(R.host, p + 1, (size_t)(close - p - 1));
        R.host[close - p - 1] = '\0';
        host_end = close + 1;
    } else {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        host_end = colon ? colon : end;
        if ((size_t)(host_end - p) >= sizeof R.host)
            goto bad_host;
        memcpy(R.host, p, (size_t)(host_end - p));
        R.host[host_end - p] = '\0';
    }
    if (!R.host[0])
        goto bad_host;
    if (host_end < end) {
        if (*host_end != ':')
            goto bad_host;
        char *stop;
        long port = strtol(host_end + 1, &stop, 10);
        if (stop != end || port < 1 || port > 65535) {
            snprintf(err, err_size, "--redis: the port must be 1..65535");
            return ERR_INVALID;
        }
        R.port = (int)port;
    }
    p = end;
    if (*p == '/') {
        p++;
        if (*p && *p != '?') {
            char *stop;
            long db = strtol(p, &stop, 10);
            if (stop == p || (*stop && *stop != '?') || db < 0 || db > 65535) {
                snprintf(err, err_size, "--redis: the database must be a number");
                return ERR_INVALID;
            }
            R.db = (int)db;
            p = stop;
        }
    }
    if (*p == '?') {
        char *stop;
        long n = str_has_prefix(p, "?publishers=") ? strtol(p + strlen("?publishers="), &stop, 10)
                                                  : -1;
        if (n < 1 || n > PUBLISHERS_MAX || *stop) {
            snprintf(err, err_size, "--redis: the only parameter is publishers=1..%d",
                     PUBLISHERS_MAX);
            return ERR_INVALID;
        }
        R.n_publishers = (int)n;
    }
    return 0;
bad_host:
    snprintf(err, err_size, "--redis: no valid host in the URL");
    return ERR_INVALID;
}

/* ---- connections -------------------------------------------------------------------------- */

static bool reply_ok(redisReply *r)
{
    return r && r->type != REDIS_REPLY_ERROR;
}

/* A connected, authenticated context (db selected when select_db), or NULL. The log line names
 * the host only: the URL may hold a password. */
static redisContext *connect_redis(bool select_db)
{
    redisContext *c = redisConnectWithTimeout(R.host, R.port, ms_tv(CONNECT_TIMEOUT_MS));
    if (!c || c->err)
        goto fail;
    redisSetTimeout(c, ms_tv(COMMAND_TIMEOUT_MS));
    redisEnableKeepAlive(c);
    if (R.password[0]) {
        redisReply *r = R.user[0] ? redisCommand(c, "AUTH %s %s", R.user, R.password)
                                  : redisCommand(c, "AUTH %s", R.password);
        bool ok = reply_ok(r);
        if (r && !ok)
            log_warn("redis auth refused", "\"host\":\"%s\",\"port\":%d", R.host, R.port);
        freeReplyObject(r);
        if (!ok)
            goto fail;
    }
    if (select_db && R.db) {
        redisReply *r = redisCommand(c, "SELECT %d", R.db);
        bool ok = reply_ok(r);
        freeReplyObject(r);
        if (!ok)
            goto fail;
    }
    return c;
fail:
    if (c)
        redisFree(c);
    return NULL;
}

/* Runs one command on this thread's pooled connection; NULL on failure. A connection that
 * fails is dropped; when it was an old one (Redis restarted since it was made) the command is
 * tried once more on a new one. The caller frees the reply. */
static redisReply *pooled_command(int argc, const char **argv, const size_t *lens)
{
    if (my_publisher < 0)
        my_publisher = (int)(atomic_fetch_add(&R.next_publisher, 1) % PUBLISHERS_MAX);
    publisher *p = &R.publishers[my_publisher % R.n_publishers];
    redisReply *r = NULL;
    pthread_mutex_lock(&p->lock);
    for (int attempt = 0; attempt < 2 && !r; attempt++) {
        bool fresh = !p->c;
        if (fresh && !(p->c = connect_redis(true)))
            break;
        r = redisCommandArgv(p->c, argc, argv, lens);
        if (!r) {
            redisFree(p->c);
            p->c = NULL;
            if (fresh)
                break;
        }
    }
    pthread_mutex_unlock(&p->lock);
    return r;
}

/* ---- the reader thread -------------------------------------------------------------------- */

static void wake_reader(void)
{
    uint64_t one = 1;
    ssize_t w = write(R.wake_fd, &one, sizeof one);
    (void)w; /* a full counter already wakes it */
}

/* The reader lost its connection (or has none yet): nothing queued will be confirmed on it, so
 * release the waiters; the topics stay in the table and are subscribed again on reconnect. */
static void release_waiters_locked(void)
{
    channel_op *op = R.ops_head;
    while (op) {
        channel_op *next = op->next;
        free(op);
        op = next;
    }
    R.ops_head = NULL;
    R.ops_tail = &R.ops_head;
    R.unsent_ping = 0;
    R.acked_seq = R.queued_seq;
    pthread_cond_broadcast(&R.ops_done);
}

static void deliver_local(const char *topic, const char *msg, size_t len)
{
    pthread_rwlock_rdlock(&R.table_lock);
    for (topic_entry *t = R.buckets[topic_bucket(topic)]; t; t = t->next)
        if (!strcmp(t->name, topic)) {
            for (bus_sub *s = t->subs; s; s = s->next)
                s->fn(s->ctx, topic, msg, len);
            break;
        }
    pthread_rwlock_unlock(&R.table_lock);
}

static void deliver_resync(void)
{
    size_t prefix = strlen(TOPIC_USER_PREFIX);
    pthread_rwlock_rdlock(&R.table_lock);
    for (unsigned b = 0; b < BUS_BUCKETS; b++)
        for (topic_entry *t = R.buckets[b]; t; t = t->next)
            if (!strncmp(t->name, TOPIC_USER_PREFIX, prefix))
                for (bus_sub *s = t->subs; s; s = s->next) {
                    s->fn(s->ctx, t->name, resync_message, sizeof resync_message - 1);
                    atomic_fetch_add(&R.resyncs, 1);
                }
    pthread_rwlock_unlock(&R.table_lock);
}

static int flush_out(redisContext *c)
{
    int done = 0;
    while (!done)
        if (redisBufferWrite(c, &done) != REDIS_OK)
            return -1;
    return 0;
}

/* Appends SUBSCRIBE for every local topic, RESUBSCRIBE_BATCH channels a command, and drops the
 * queue (the table is the truth); returns how many confirmations to expect. */
static long resubscribe_all(redisContext *c)
{
    long n = 0;
    const char *argv[RESUBSCRIBE_BATCH + 1];
    int argc = 0;
    argv[argc++] = "SUBSCRIBE";
    pthread_rwlock_rdlock(&R.table_lock);
    pthread_mutex_lock(&R.ops_lock);
    release_waiters_locked();
    for (unsigned b = 0; b < BUS_BUCKETS; b++)
        for (topic_entry *t = R.buckets[b]; t; t = t->next) {
            argv[argc++] = t->name;
            n++;
            if (argc == RESUBSCRIBE_BATCH + 1) {
                redisAppendCommandArgv(c, argc, argv, NULL);
                argc = 1;
            }
        }
    if (argc > 1)
        redisAppendCommandArgv(c, argc, argv, NULL);
    pthread_mutex_unlock(&R.ops_lock);
    pthread_rwlock_unlock(&R.table_lock);
    return n;
}

/* Confirmations of queued commands come back in the order they were sent: a FIFO of their
 * sequence numbers. */
typedef struct inflight {
    uint64_t *seq;
    size_t head, len, cap;
} inflight;

static void inflight_push(inflight *f, uint64_t seq)
{
    if (f->len == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        uint64_t *grown = xmalloc(cap * sizeof *grown);
        for (size_t i = 0; i < f->len; i++)
            grown[i] = f->seq[(f->head + i) % f->cap];
        free(f->seq);
        f->seq = grown;
        f->cap = cap;
        f->head = 0;
    }
    f->seq[(f->head + f->len++) % f->cap] = seq;
}

static bool inflight_pop(inflight *f, uint64_t *seq)
{
    if (!f->len)
        return false;
    *seq = f->seq[f->head];
    f->head = (f->head + 1) % f->cap;
    f->len--;
    return true;
}

/* Sends what the queue holds: channel commands, whose confirmations f tracks, and bus_sync's
 * PINGs, whose pongs (a separate reply kind) pongs tracks. */
static int send_queued(redisContext *c, inflight *f, inflight *pongs)
{
    pthread_mutex_lock(&R.ops_lock);
    channel_op *op = R.ops_head;
    R.ops_head = NULL;
    R.ops_tail = &R.ops_head;
    R.unsent_ping = 0; /* a sync from now on needs a PING sent after it */
    pthread_mutex_unlock(&R.ops_lock);
    while (op) {
        channel_op *next = op->next;
        if (op->ping) {
            redisAppendCommand(c, "PING");
            inflight_push(pongs, op->seq);
            free(op);
            op = next;
            continue;
        }
        const char *argv[2] = {op->subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE", op->topic};
        redisAppendCommandArgv(c, 2, argv, NULL);
        inflight_push(f, op->seq);
        free(op);
        op = next;
    }
    return flush_out(c);
}

static void set_acked(uint64_t seq)
{
    pthread_mutex_lock(&R.ops_lock);
    if (seq > R.acked_seq)
        R.acked_seq = seq;
    pthread_cond_broadcast(&R.ops_done);
    pthread_mutex_unlock(&R.ops_lock);
}

static void mark_connected(void)
{
    atomic_store(&R.connected, true);
    bool again = atomic_exchange(&R.ever_connected, true);
    log_info("redis bus connected", "\"host\":\"%s\",\"port\":%d,\"reconnect\":%s", R.host,
             R.port, again ? "true" : "false");
    if (again) {
        atomic_fetch_add(&R.reconnects, 1);
        deliver_resync();
    }
}

/* A pong: bus_sync's (a sequence number to confirm) or the idle check's (0). */
static void pong(inflight *pongs)
{
    uint64_t seq;
    if (inflight_pop(pongs, &seq) && seq)
        set_acked(seq);
}

/* One reply on the subscriber connection. Returns -1 on a protocol surprise. */
static int handle_reply(redisReply *r, long *pending_resubscribe, inflight *f, inflight *pongs)
{
    if (r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "PONG")) { /* not in subscribe mode */
        pong(pongs);
        return 0;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
        r->element[0]->type != REDIS_REPLY_STRING)
        return r->type == REDIS_REPLY_ERROR ? -1 : 0;
    const char *kind = r->element[0]->str;
    if (!strcmp(kind, "message") && r->elements == 3 &&
        r->element[1]->type == REDIS_REPLY_STRING && r->element[2]->type == REDIS_REPLY_STRING) {
        deliver_local(r->element[1]->str, r->element[2]->str, r->element[2]->len);
    } else if (!strcmp(kind, "subscribe") || !strcmp(kind, "unsubscribe")) {
        uint64_t seq;
        if (*pending_resubscribe > 0) {
            if (--*pending_resubscribe == 0)
                mark_connected();
        } else if (inflight_pop(f, &seq)) {
            set_acked(seq);
        }
    } else if (!strcmp(kind, "pong")) {
        pong(pongs);
    }
    return 0; /* anything else: the connection is alive, which the caller noted */
}

/* Serves one connection until it fails or the bus stops. */
static void serve_connection(redisContext *c)
{
    inflight f = {0}, pongs = {0};
    long pending = resubscribe_all(c);
    if (flush_out(c) < 0)
        goto out;
    if (pending == 0)
        mark_connected();
    int64_t last_heard = mono_ms(), ping_sent = 0;
    while (!atomic_load(&R.stopping)) {
        struct pollfd fds[2] = {{.fd = c->fd, .events = POLLIN}, {.fd = R.wake_fd, .events = POLLIN}};
        int n = poll(fds, 2, PING_IDLE_MS / 2);
        if (n < 0 && errno != EINTR)
            break;
        if (fds[1].revents & POLLIN) {
            uint64_t v;
            ssize_t rd = read(R.wake_fd, &v, sizeof v);
            (void)rd;
            if (send_queued(c, &f, &pongs) < 0)
                break;
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (redisBufferRead(c) != REDIS_OK)
                break;
            last_heard = mono_ms();
            ping_sent = 0;
            void *reply;
            bool failed = false;
            while (!failed && redisGetReplyFromReader(c, &reply) == REDIS_OK && reply) {
                failed = handle_reply(reply, &pending, &f, &pongs) < 0;
                freeReplyObject(reply);
            }
            if (failed || c->err)
                break;
        }
        int64_t now = mono_ms();
        if (now - last_heard >= DEAD_AFTER_MS) {
            log_warn("redis bus: no answer, reconnecting", "\"silent_ms\":%lld",
                     (long long)(now - last_heard));
            break;
        }
        if (!ping_sent && now - last_heard >= PING_IDLE_MS) {
            redisAppendCommand(c, "PING");
            inflight_push(&pongs, 0);
            if (flush_out(c) < 0)
                break;
            ping_sent = now;
        }
    }
out:
    free(f.seq);
    free(pongs.seq);
}

/* Sleeps ms unless the bus stops first. */
static void backoff_sleep(int64_t ms)
{
    struct pollfd p = {.fd = R.wake_fd, .events = POLLIN};
    int64_t until = mono_ms() + ms;
    while (!atomic_load(&R.stopping)) {
        int64_t left = until - mono_ms();
        if (left <= 0)
            return;
        if (poll(&p, 1, (int)left) > 0) {
            uint64_t v;
            ssize_t rd = read(R.wake_fd, &v, sizeof v);
            (void)rd; /* queued work waits for the connection; only stopping ends the nap */
        }
    }
}

static void *reader_main(void *arg)
{
    (void)arg;
    int64_t delay = BACKOFF_MIN_MS;
    unsigned seed = (unsigned)monotonic_us() ^ (unsigned)getpid();
    while (!atomic_load(&R.stopping)) {
        redisContext *c = connect_redis(false);
        if (c) {
            delay = BACKOFF_MIN_MS;
            serve_connection(c);
            redisFree(c);
        }
        bool was = atomic_exchange(&R.connected, false);
        pthread_mutex_lock(&R.ops_lock);
        release_waiters_locked();
        pthread_mutex_unlock(&R.ops_lock);
        if (atomic_load(&R.stopping))
            break;
        if (was)
            log_warn("redis bus disconnected", "\"host\":\"%s\",\"port\":%d", R.host, R.port);
        int64_t nap = delay / 2 + (int64_t)(rand_r(&seed) % (unsigned)(delay / 2 + 1));
        backoff_sleep(nap);
        delay = delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay * 2;
    }
    return NULL;
}

/* ---- the backend table -------------------------------------------------------------------- */

static void redis_close(void);

static int redis_open(const char *url, char *err, size_t err_size)
{
    int rc = parse_url(url, err, err_size);
    if (rc < 0)
        return rc;
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_READER_NP);
    pthread_rwlock_init(&R.table_lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    pthread_mutex_init(&R.ops_lock, NULL);
    pthread_condattr_t cattr;
    pthread_condattr_init(&cattr);
    pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    pthread_cond_init(&R.ops_done, &cattr);
    pthread_condattr_destroy(&cattr);
    pthread_mutex_init(&R.listened_lock, NULL);
    pthread_mutex_init(&R.script_lock, NULL);
    R.count_sha[0] = R.rate_sha[0] = '\0';
    random_token(R.instance, sizeof R.instance, 16);
    memset(R.buckets, 0, sizeof R.buckets);
    memset(R.listened, 0, sizeof R.listened);
    R.ops_head = NULL;
    R.ops_tail = &R.ops_head;
    R.queued_seq = R.acked_seq = R.unsent_ping = 0;
    atomic_store(&R.stopping, false);
    atomic_store(&R.connected, false);
    atomic_store(&R.ever_connected, false);
    atomic_store(&R.reconnects, 0);
    atomic_store(&R.publish_failures, 0);
    atomic_store(&R.resyncs, 0);
    R.publishers = xcalloc((size_t)R.n_publishers, sizeof *R.publishers);
    for (int i = 0; i < R.n_publishers; i++)
        pthread_mutex_init(&R.publishers[i].lock, NULL);
    R.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (R.wake_fd < 0 || pthread_create(&R.reader, NULL, reader_main, NULL) != 0) {
        snprintf(err, err_size, "redis bus: cannot start its reader thread");
        redis_close();
        return ERR_INTERNAL;
    }
    R.reader_started = true;
    /* A node that starts while Redis is down still serves (degraded, see /health/ready) and
     * joins the bus when Redis comes back. */
    int64_t until = mono_ms() + OPEN_WAIT_MS;
    while (!atomic_load(&R.connected) && mono_ms() < until)
        usleep(10000);
    if (!atomic_load(&R.connected))
        log_warn("redis bus not reachable yet, retrying in the background",
                 "\"host\":\"%s\",\"port\":%d", R.host, R.port);
    return 0;
}

static void redis_close(void)
{
    atomic_store(&R.stopping, true);
    if (R.reader_started) {
        wake_reader();
        pthread_join(R.reader, NULL);
        R.reader_started = false;
    }
    if (R.wake_fd >= 0)
        close(R.wake_fd);
    R.wake_fd = -1;
    for (int i = 0; R.publishers && i < R.n_publishers; i++) {
        if (R.publishers[i].c)
            redisFree(R.publishers[i].c);
        pthread_mutex_destroy(&R.publishers[i].lock);
    }
    free(R.publishers);
    R.publishers = NULL;
    /* Subscriptions still open here belong to process-lifetime owners (the feed caches). */
    for (unsigned b = 0; b < BUS_BUCKETS; b++) {
        topic_entry *t = R.buckets[b];
        while (t) {
            topic_entry *next = t->next;
            for (bus_sub *s = t->subs, *sn; s; s = sn) {
                sn = s->next;
                free(s);
            }
            free(t);
            t = next;
        }
        R.buckets[b] = NULL;
    }
    pthread_mutex_lock(&R.ops_lock);
    release_waiters_locked();
    pthread_mutex_unlock(&R.ops_lock);
    atomic_store(&R.connected, false);
}

/* Queues a channel command, or bus_sync's PING; ops_lock held. */
static uint64_t queue_op_locked(const char *topic, bool subscribe, bool ping)
{
    size_t len = strlen(topic);
    channel_op *op = xmalloc(sizeof *op + len + 1);
    memcpy(op->topic, topic, len + 1);
    op->subscribe = subscribe;
    op->ping = ping;
    op->seq = ++R.queued_seq;
    op->next = NULL;
    *R.ops_tail = op;
    R.ops_tail = &op->next;
    return op->seq;
}

static void wait_acked(uint64_t seq)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += SUBSCRIBE_WAIT_MS / 1000;
    deadline.tv_nsec += (long)(SUBSCRIBE_WAIT_MS % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&R.ops_lock);
    while (R.acked_seq < seq && atomic_load(&R.connected))
        if (pthread_cond_timedwait(&R.ops_done, &R.ops_lock, &deadline) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&R.ops_lock);
}

/* Syncs that arrive while a PING is still queued, not yet sent, share it: its pong still
 * follows everything published before any of them. Under load that is most of them (measured:
 * one PING per feed page cost a node ~58 us of CPU a page, docs/BENCHMARKS.md). */
static void redis_sync(void)
{
    if (!atomic_load(&R.connected))
        return; /* nothing is being delivered; the reconnect's resync covers what was missed */
    pthread_mutex_lock(&R.ops_lock);
    bool queued = !R.unsent_ping;
    if (queued)
        R.unsent_ping = queue_op_locked("", false, true);
    uint64_t seq = R.unsent_ping;
    pthread_mutex_unlock(&R.ops_lock);
    if (queued)
        wake_reader();
    wait_acked(seq);
}

static bus_sub *redis_subscribe(const char *topic, bus_deliver_fn fn, void *ctx)
{
    size_t len = topic ? strlen(topic) : 0;
    if (!len || len >= TOPIC_MAX || !fn)
        return NULL;
    bus_sub *s = xcalloc(1, sizeof *s);
    s->fn = fn;
    s->ctx = ctx;
    s->bucket = topic_bucket(topic);
    bool queued = false;
    pthread_rwlock_wrlock(&R.table_lock);
    topic_entry *t = R.buckets[s->bucket];
    while (t && strcmp(t->name, topic))
        t = t->next;
    if (!t) {
        t = xcalloc(1, sizeof *t + len + 1);
        memcpy(t->name, topic, len + 1);
        t->next = R.buckets[s->bucket];
        R.buckets[s->bucket] = t;
        pthread_mutex_lock(&R.ops_lock);
        t->subscribe_seq = queue_op_locked(topic, true, false);
        pthread_mutex_unlock(&R.ops_lock);
        queued = true;
    }
    s->topic = t;
    s->next = t->subs;
    t->subs = s;
    uint64_t seq = t->subscribe_seq;
    pthread_rwlock_unlock(&R.table_lock);
    if (queued)
        wake_reader();
    wait_acked(seq);
    return s;
}

static void redis_unsubscribe(bus_sub *s)
{
    bool queued = false;
    pthread_rwlock_wrlock(&R.table_lock);
    topic_entry *t = s->topic;
    for (bus_sub **p = &t->subs; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    if (!t->subs) {
        for (topic_entry **p = &R.buckets[s->bucket]; *p; p = &(*p)->next)
            if (*p == t) {
                *p = t->next;
                break;
            }
        pthread_mutex_lock(&R.ops_lock);
        queue_op_locked(t->name, false, false);
        pthread_mutex_unlock(&R.ops_lock);
        queued = true;
        free(t);
    }
    pthread_rwlock_unlock(&R.table_lock);
    free(s);
    if (queued)
        wake_reader();
}

static int redis_subscribers(const char *topic)
{
    int n = 0;
    pthread_rwlock_rdlock(&R.table_lock);
    for (topic_entry *t = R.buckets[topic_bucket(topic)]; t; t = t->next)
        if (!strcmp(t->name, topic)) {
            for (bus_sub *s = t->subs; s; s = s->next)
                n++;
            break;
        }
    pthread_rwlock_unlock(&R.table_lock);
    return n;
}

/* Returns this node's subscribers of topic, the deliveries the reader will make here. */
static int redis_publish(const char *topic, const char *msg, size_t len)
{
    if (!atomic_load(&R.connected)) {
        atomic_fetch_add(&R.publish_failures, 1);
        return 0;
    }
    const char *argv[3] = {"PUBLISH", topic, msg};
    size_t lens[3] = {7, strlen(topic), len};
    redisReply *r = pooled_command(3, argv, lens);
    bool ok = r && r->type == REDIS_REPLY_INTEGER;
    freeReplyObject(r);
    if (!ok) {
        atomic_fetch_add(&R.publish_failures, 1);
        return 0;
    }
    return redis_subscribers(topic);
}

static bool redis_listened(const char *topic)
{
    if (redis_subscribers(topic) > 0)
        return true;
    if (!atomic_load(&R.connected))
        return false; /* nothing would reach anyone: the publish would be dropped */
    uint32_t h = topic_hash(topic);
    unsigned slot = h % LISTENED_SLOTS;
    int64_t now = mono_ms();
    pthread_mutex_lock(&R.listened_lock);
    bool cached = R.listened[slot].hash == h && R.listened[slot].until_ms > now;
    pthread_mutex_unlock(&R.listened_lock);
    if (cached)
        return true;
    const char *argv[3] = {"PUBSUB", "NUMSUB", topic};
    redisReply *r = pooled_command(3, argv, NULL);
    bool answered = r != NULL;
    bool listened = !answered || /* unknown: rather build a message than miss one */
                    (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
                     r->element[1]->type == REDIS_REPLY_INTEGER && r->element[1]->integer > 0);
    freeReplyObject(r);
    if (listened && answered) {
        pthread_mutex_lock(&R.listened_lock);
        R.listened[slot].hash = h;
        R.listened[slot].until_ms = now + LISTENED_CACHE_MS;
        pthread_mutex_unlock(&R.listened_lock);
    }
    return listened;
}

/* ---- counts shared by the cluster ---------------------------------------------------------- */

/* KEYS[1]: the topic's hash of shares (field: a node's instance token, value: "<lease end in
 * Redis's own milliseconds>:<share>", so node clocks do not matter). ARGV: token, share (0 =
 * withdraw), lease ms. Drops expired shares, returns the live total. */
static const char count_script[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local share = tonumber(ARGV[2])\n"
    "local total = share\n"
    "local h = redis.call('HGETALL', KEYS[1])\n"
    "for i = 1, #h, 2 do\n"
    "  if h[i] ~= ARGV[1] then\n"
    "    local sep = string.find(h[i + 1], ':', 1, true)\n"
    "    if sep and tonumber(string.sub(h[i + 1], 1, sep - 1)) > now then\n"
    "      total = total + tonumber(string.sub(h[i + 1], sep + 1))\n"
    "    else redis.call('HDEL', KEYS[1], h[i]) end\n"
    "  end\n"
    "end\n"
    "if share > 0 then\n"
    "  redis.call('HSET', KEYS[1], ARGV[1], (now + tonumber(ARGV[3])) .. ':' .. share)\n"
    "  redis.call('PEXPIRE', KEYS[1], ARGV[3])\n"
    "else\n"
    "  redis.call('HDEL', KEYS[1], ARGV[1])\n"
    "end\n"
    "return total\n";

/* A token bucket per KEYS[1] (fields t: tokens, at: last refill in Redis's microseconds).
 * ARGV: rate per second, burst. Returns {1, 0} or {0, ms to wait}; the key expires once a full
 * bucket would have refilled. */
static const char rate_script[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local rate = tonumber(ARGV[1])\n"
    "local burst = tonumber(ARGV[2])\n"
    "local b = redis.call('HMGET', KEYS[1], 't', 'at')\n"
    "local tokens = tonumber(b[1]) or burst\n"
    "local at = tonumber(b[2]) or now\n"
    "if now > at then tokens = math.min(burst, tokens + (now - at) / 1000000 * rate) else now = at end\n"
    "local allowed, wait = 0, 0\n"
    "if tokens >= 1 then tokens = tokens - 1; allowed = 1\n"
    "else wait = math.ceil((1 - tokens) / rate * 1000) end\n"
    "redis.call('HSET', KEYS[1], 't', string.format('%.6f', tokens), 'at', string.format('%d', now))\n"
    "redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)\n"
    "return {allowed, wait}\n";

/* EVALSHA, loading the script first when Redis does not know it (first use, or Redis restarted
 * empty); the reply, or NULL. */
static redisReply *run_script(const char *script, char sha[41], int nkeys, int nargs,
                              const char **args)
{
    const char *argv[16];
    char numkeys[8];
    snprintf(numkeys, sizeof numkeys, "%d", nkeys);
    for (int attempt = 0; attempt < 2; attempt++) {
        pthread_mutex_lock(&R.script_lock);
        bool known = sha[0] != '\0';
        char current[41];
        memcpy(current, sha, 41);
        pthread_mutex_unlock(&R.script_lock);
        if (!known) {
            const char *load[3] = {"SCRIPT", "LOAD", script};
            redisReply *r = pooled_command(3, load, NULL);
            bool ok = r && r->type == REDIS_REPLY_STRING && r->len == 40;
            if (ok) {
                pthread_mutex_lock(&R.script_lock);
                memcpy(sha, r->str, 40);
                sha[40] = '\0';
                memcpy(current, sha, 41);
                pthread_mutex_unlock(&R.script_lock);
            }
            freeReplyObject(r);
            if (!ok)
                return NULL;
        }
        int argc = 0;
        argv[argc++] = "EVALSHA";
        argv[argc++] = current;
        argv[argc++] = numkeys;
        for (int i = 0; i < nargs && argc < 16; i++)
            argv[argc++] = args[i];
        redisReply *r = pooled_command(argc, argv, NULL);
        if (r && r->type == REDIS_REPLY_ERROR && str_has_prefix(r->str, "NOSCRIPT")) {
            freeReplyObject(r);
            pthread_mutex_lock(&R.script_lock);
            sha[0] = '\0';
            pthread_mutex_unlock(&R.script_lock);
            continue;
        }
        return r;
    }
    return NULL;
}

static int64_t redis_cluster_count(const char *topic, int64_t here)
{
    if (!atomic_load(&R.connected))
        return -1;
    char key[TOPIC_MAX + 32], share[24], lease[24];
    snprintf(key, sizeof key, "streamhub:count:%s", topic);
    snprintf(share, sizeof share, "%lld", (long long)(here > 0 ? here : 0));
    snprintf(lease, sizeof lease, "%d", BUS_COUNT_LEASE_MS);
    const char *args[4] = {key, R.instance, share, lease};
    redisReply *r = run_script(count_script, R.count_sha, 1, 4, args);
    int64_t total = r && r->type == REDIS_REPLY_INTEGER ? (int64_t)r->integer : -1;
    freeReplyObject(r);
    return total;
}

static int redis_rate_take(const char *scope, const char *key, double rate, double burst,
                           int64_t *retry_after_ms)
{
    if (!atomic_load(&R.connected) || rate <= 0)
        return -1;
    char rkey[512], rate_s[32], burst_s[32];
    snprintf(rkey, sizeof rkey, "streamhub:rate:%s:%s", scope, key);
    snprintf(rate_s, sizeof rate_s, "%.9g", rate);
    snprintf(burst_s, sizeof burst_s, "%.9g", burst);
    const char *args[3] = {rkey, rate_s, burst_s};
    redisReply *r = run_script(rate_script, R.rate_sha, 1, 3, args);
    int rc = -1;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_INTEGER && r->element[1]->type == REDIS_REPLY_INTEGER) {
        rc = r->element[0]->integer == 1;
        *retry_after_ms = r->element[1]->integer;
    }
    freeReplyObject(r);
    return rc;
}

static void redis_status(bus_status *out)
{
    out->connected = atomic_load(&R.connected);
    out->reconnects = atomic_load(&R.reconnects);
    out->publish_failures = atomic_load(&R.publish_failures);
    out->resyncs = atomic_load(&R.resyncs);
}

const bus_backend bus_redis = {
    .name = "redis",
    .open = redis_open,
    .close = redis_close,
    .subscribe = redis_subscribe,
    .unsubscribe = redis_unsubscribe,
    .publish = redis_publish,
    .subscribers = redis_subscribers,
    .listened = redis_listened,
    .status = redis_status,
    .cluster_count = redis_cluster_count,
    .rate_take = redis_rate_take,
    .sync = redis_sync,
};
