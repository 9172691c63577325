/* SPDX-License-Identifier: MIT
 *
 * The Redis bus backend (src/core/bus_redis.c) against a real redis-server that this test starts
 * (and kills and starts again) on a free port: delivery through Redis only (each local
 * subscriber gets a message once), SUBSCRIBE/UNSUBSCRIBE following the local subscribers,
 * "listened" across connections (a raw hiredis subscriber stands for another node), a publish
 * from a deliver callback, reconnection after the server restarts with every topic subscribed
 * again and "resync" told to user topics only, publishes dropped and counted while down,
 * counts shared by the cluster (live shares summed, dead ones dropped), token buckets shared
 * by the cluster with the fall-back to the local limiter while Redis is down, a
 * password in the URL, and the URL checks. The bus is one per process, so "another node" is a
 * plain hiredis connection here; two real nodes are tests/e2e/cluster-bus.test.mjs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/bus.h"
#include "core/ratelimit.h"
#include "core/topics.h"
#include "core/util.h"

extern char **environ;

/* Waits for things that must happen, bounded only so that a broken bus fails instead of hanging
 * (never an assertion on how fast). */
#define EVENTUALLY_MS 15000

/* ---- a redis-server of our own ------------------------------------------------------------ */

static int redis_port;
static pid_t redis_pid;

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

static redisContext *raw_connect(const char *password)
{
    redisContext *c = redisConnect("127.0.0.1", redis_port);
    if (!c || c->err) {
        if (c)
            redisFree(c);
        return NULL;
    }
    if (password) {
        redisReply *r = redisCommand(c, "AUTH %s", password);
        freeReplyObject(r);
    }
    return c;
}

static void redis_start(const char *password)
{
    char port[16];
    snprintf(port, sizeof port, "%d", redis_port);
    const char *argv[] = {"redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--loglevel", "warning",
                          password ? "--requirepass" : NULL, password, NULL};
    posix_spawn_file_actions_t quiet; /* its banner and warnings would interleave with TAP */
    posix_spawn_file_actions_init(&quiet);
    posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&quiet, 2, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawnp(&redis_pid, "redis-server", &quiet, NULL, (char **)argv, environ);
    posix_spawn_file_actions_destroy(&quiet);
    assert_int_equal(rc, 0);
    for (int i = 0; i < 400; i++) {
        redisContext *c = raw_connect(password);
        if (c) {
            redisReply *r = redisCommand(c, "PING");
            bool up = r && r->type == REDIS_REPLY_STATUS;
            freeReplyObject(r);
            redisFree(c);
            if (up)
                return;
        }
        usleep(25000);
    }
    fail_msg("redis-server did not start on port %d", redis_port);
}

static void redis_kill(void)
{
    kill(redis_pid, SIGKILL);
    waitpid(redis_pid, NULL, 0);
    redis_pid = 0;
}

static char *bus_url(void)
{
    return xasprintf("redis://127.0.0.1:%d", redis_port);
}

/* ---- what subscribers received ------------------------------------------------------------ */

typedef struct recorder {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int n;
    char topics[64][TOPIC_MAX];
    char msgs[64][256];
    const char *republish_to; /* a deliver callback that publishes again */
    int delay_us;             /* a slow subscriber: each delivery takes this long */
    int delay_first_us;       /* ... or only the first one */
} recorder;

static void recorder_init(recorder *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->changed, NULL);
}

static void record(void *ctx, const char *topic, const char *msg, size_t len)
{
    recorder *r = ctx;
    pthread_mutex_lock(&r->lock);
    if (r->n < 64) {
        snprintf(r->topics[r->n], TOPIC_MAX, "%s", topic);
        snprintf(r->msgs[r->n], sizeof r->msgs[0], "%.*s", (int)len, msg);
        r->n++;
    }
    int first_delay = r->n == 1 ? r->delay_first_us : 0;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
    if (first_delay)
        usleep((useconds_t)first_delay);
    if (r->republish_to)
        bus_publish(r->republish_to, msg, len);
    if (r->delay_us)
        usleep((useconds_t)r->delay_us);
}

/* Waits until r holds a message equal to msg; returns how many it holds then. */
static int wait_for(recorder *r, const char *msg)
{
    int64_t until = monotonic_us() / 1000 + EVENTUALLY_MS;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        for (int i = 0; i < r->n; i++)
            if (!strcmp(r->msgs[i], msg)) {
                int n = r->n;
                pthread_mutex_unlock(&r->lock);
                return n;
            }
        if (monotonic_us() / 1000 > until)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&r->changed, &r->lock, &ts);
    }
    pthread_mutex_unlock(&r->lock);
    fail_msg("no message '%s' arrived", msg);
    return -1;
}

static int count_of(recorder *r, const char *msg)
{
    int n = 0;
    pthread_mutex_lock(&r->lock);
    for (int i = 0; i < r->n; i++)
        n += !strcmp(r->msgs[i], msg);
    pthread_mutex_unlock(&r->lock);
    return n;
}

static void publish(const char *topic, const char *msg)
{
    bus_publish(topic, msg, strlen(msg));
}

static long numsub(const char *topic)
{
    redisContext *c = raw_connect(NULL);
    assert_non_null(c);
    redisReply *r = redisCommand(c, "PUBSUB NUMSUB %s", topic);
    long n = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 ? (long)r->element[1]->integer
                                                                   : -1;
    freeReplyObject(r);
    redisFree(c);
    return n;
}

static void wait_numsub(const char *topic, long want)
{
    for (int i = 0; i < EVENTUALLY_MS / 20; i++) {
        if (numsub(topic) == want)
            return;
        usleep(20000);
    }
    fail_msg("PUBSUB NUMSUB %s never became %ld", topic, want);
}

static bool wait_connected(bool want)
{
    for (int i = 0; i < EVENTUALLY_MS / 20; i++) {
        bus_status st;
        bus_status_get(&st);
        if (st.connected == want)
            return true;
        usleep(20000);
    }
    return false;
}

static int setup(void **state)
{
    redis_port = free_port();
    redis_start(NULL);
    char err[256] = "";
    char *url = bus_url();
    int rc = bus_open(&bus_redis, url, err, sizeof err);
    free(url);
    if (rc < 0)
        fail_msg("bus_open: %s", err);
    assert_string_equal(bus_backend_name(), "redis");
    assert_true(wait_connected(true));
    return 0;
}

static int teardown(void **state)
{
    bus_close();
    if (redis_pid)
        redis_kill();
    return 0;
}

/* ---- the tests ---------------------------------------------------------------------------- */

static void test_publish_reaches_each_subscriber_once(void **state)
{
    recorder a, b;
    recorder_init(&a);
    recorder_init(&b);
    bus_sub *sa = bus_subscribe("user:1", record, &a);
    bus_sub *sb = bus_subscribe("user:1", record, &b);
    assert_non_null(sa);
    assert_non_null(sb);
    assert_int_equal(numsub("user:1"), 1); /* one SUBSCRIBE per node, confirmed on return */
    assert_int_equal(bus_subscribers("user:1"), 2);
    assert_int_equal(bus_publish("user:1", "first", 5), 2); /* the deliveries to come here */
    publish("user:1", "second");
    wait_for(&a, "second");
    wait_for(&b, "second");
    /* Redis keeps one connection's messages in order: "first" came before "second", once */
    assert_int_equal(count_of(&a, "first"), 1);
    assert_int_equal(count_of(&b, "first"), 1);
    assert_int_equal(a.n, 2);
    assert_int_equal(b.n, 2);
    assert_string_equal(a.msgs[0], "first");
    bus_unsubscribe(sa);
    bus_unsubscribe(sb);
}

static void test_unsubscribe_follows_last_local_subscriber(void **state)
{
    recorder a, b;
    recorder_init(&a);
    recorder_init(&b);
    bus_sub *sa = bus_subscribe("room:lobby", record, &a);
    bus_sub *sb = bus_subscribe("room:lobby", record, &b);
    bus_unsubscribe(sa);
    publish("room:lobby", "after-one-left");
    wait_for(&b, "after-one-left");
    assert_int_equal(a.n, 0);
    assert_int_equal(numsub("room:lobby"), 1);
    bus_unsubscribe(sb);
    wait_numsub("room:lobby", 0);
    assert_int_equal(bus_subscribers("room:lobby"), 0);
    /* taken again at once: the queue keeps SUBSCRIBE after UNSUBSCRIBE */
    sa = bus_subscribe("room:lobby", record, &a);
    bus_unsubscribe(bus_subscribe("room:lobby", record, &b));
    publish("room:lobby", "back");
    wait_for(&a, "back");
    assert_int_equal(numsub("room:lobby"), 1);
    bus_unsubscribe(sa);
}

static void test_other_nodes_publish_and_listen(void **state)
{
    recorder a;
    recorder_init(&a);
    bus_sub *sa = bus_subscribe("user:42", record, &a);
    redisContext *other = raw_connect(NULL); /* another node's publisher */
    assert_non_null(other);
    freeReplyObject(redisCommand(other, "PUBLISH user:42 from-elsewhere"));
    wait_for(&a, "from-elsewhere");
    bus_unsubscribe(sa);

    wait_numsub("user:43", 0);
    assert_false(bus_user_listened(43));
    redisContext *sub = raw_connect(NULL); /* another node with a socket of user 43 */
    redisReply *r = redisCommand(sub, "SUBSCRIBE user:43");
    freeReplyObject(r);
    assert_true(bus_user_listened(43));
    redisFree(sub);
    redisFree(other);
}

/* What another node published before bus_sync has been delivered here when it returns: the
 * feed caches' read-your-writes across nodes (a follow on one node, the feed read on another). */
static void test_sync_waits_for_what_was_published_before(void **state)
{
    recorder a;
    recorder_init(&a);
    a.delay_us = 5000; /* 20 deliveries take the reader 100 ms */
    bus_sub *sa = bus_subscribe("feed:forget", record, &a);
    redisContext *other = raw_connect(NULL);
    assert_non_null(other);
    for (int i = 0; i < 20; i++)
        freeReplyObject(redisCommand(other, "PUBLISH feed:forget %d", i));
    bus_sync();
    pthread_mutex_lock(&a.lock);
    int n = a.n;
    pthread_mutex_unlock(&a.lock);
    assert_int_equal(n, 20);
    /* the idle check's pings and bus_sync's share the connection: both keep working */
    usleep(1500 * 1000);
    freeReplyObject(redisCommand(other, "PUBLISH feed:forget last"));
    bus_sync();
    assert_int_equal(count_of(&a, "last"), 1);
    bus_unsubscribe(sa);
    redisFree(other);
}

/* One of test_concurrent_syncs_share_a_ping's threads: publishes as another node, syncs, and
 * counts its own message delivered by then. */
typedef struct syncer {
    pthread_t thread;
    int i;
    recorder *r;
    int seen;
} syncer;

static void *syncer_main(void *arg)
{
    syncer *s = arg;
    redisContext *other = raw_connect(NULL);
    assert_non_null(other);
    freeReplyObject(redisCommand(other, "PUBLISH feed:shared s%d", s->i));
    bus_sync();
    char msg[16];
    snprintf(msg, sizeof msg, "s%d", s->i);
    s->seen = count_of(s->r, msg);
    redisFree(other);
    return NULL;
}

static int64_t ping_calls(redisContext *c)
{
    redisReply *r = redisCommand(c, "INFO commandstats");
    assert_non_null(r);
    const char *p = r->str ? strstr(r->str, "cmdstat_ping:calls=") : NULL;
    int64_t n = p ? strtoll(p + strlen("cmdstat_ping:calls="), NULL, 10) : 0;
    freeReplyObject(r);
    return n;
}

/* Syncs that arrive while a PING waits to be sent share it, and each still returns only after
 * what was published before it: the reader is held 300 ms in a slow first delivery while eight
 * threads each publish from another node and sync; one PING (two if the idle check's fell in)
 * answers them all, and each finds its own message delivered. */
static void test_concurrent_syncs_share_a_ping(void **state)
{
    recorder a;
    recorder_init(&a);
    a.delay_first_us = 300000;
    bus_sub *sa = bus_subscribe("feed:shared", record, &a);
    redisContext *other = raw_connect(NULL);
    assert_non_null(other);
    int64_t pings0 = ping_calls(other);
    freeReplyObject(redisCommand(other, "PUBLISH feed:shared gate"));
    wait_for(&a, "gate"); /* the reader now sleeps in that delivery */
    syncer s[8];
    for (int i = 0; i < 8; i++) {
        s[i] = (syncer){.i = i, .r = &a};
        assert_int_equal(pthread_create(&s[i].thread, NULL, syncer_main, &s[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        assert_int_equal(pthread_join(s[i].thread, NULL), 0);
        assert_int_equal(s[i].seen, 1);
    }
    assert_true(ping_calls(other) - pings0 <= 2);
    bus_unsubscribe(sa);
    redisFree(other);
}

static void test_deliver_callback_may_publish(void **state)
{
    recorder relay, end;
    recorder_init(&relay);
    recorder_init(&end);
    relay.republish_to = "conn:9";
    bus_sub *s1 = bus_subscribe("room:relay", record, &relay);
    bus_sub *s2 = bus_subscribe("conn:9", record, &end);
    publish("room:relay", "relayed");
    wait_for(&end, "relayed");
    bus_unsubscribe(s1);
    bus_unsubscribe(s2);
}

static void test_reconnect_resubscribes_and_resyncs(void **state)
{
    recorder user, room;
    recorder_init(&user);
    recorder_init(&room);
    bus_sub *su = bus_subscribe("user:7", record, &user);
    bus_sub *sr = bus_subscribe("room:after", record, &room);
    bus_status before;
    bus_status_get(&before);

    redis_kill();
    assert_true(wait_connected(false));
    assert_int_equal(bus_publish("user:7", "while-down", 10), 0);
    assert_false(bus_user_listened(8)); /* nothing would reach anyone */
    bus_status down;
    bus_status_get(&down);
    assert_true(down.publish_failures > before.publish_failures);

    redis_start(NULL); /* same port: the reader's backoff finds it again */
    assert_true(wait_connected(true));
    wait_for(&user, "{\"type\":\"resync\",\"data\":{\"reason\":\"bus_reconnected\"}}");
    assert_int_equal(numsub("user:7"), 1);
    assert_int_equal(numsub("room:after"), 1);
    publish("room:after", "resumed");
    wait_for(&room, "resumed");
    assert_int_equal(room.n, 1); /* resync goes to user topics only */
    assert_int_equal(count_of(&user, "while-down"), 0);
    bus_status after;
    bus_status_get(&after);
    assert_int_equal(after.reconnects, before.reconnects + 1);
    assert_true(after.resyncs > before.resyncs);
    bus_unsubscribe(su);
    bus_unsubscribe(sr);
}

static void test_cluster_count_sums_live_shares(void **state)
{
    assert_int_equal(bus_cluster_count("presence:77", 1), 1); /* alone */
    redisContext *c = raw_connect(NULL);
    redisReply *t = redisCommand(c, "TIME");
    long long now = atoll(t->element[0]->str) * 1000;
    freeReplyObject(t);
    /* another node with 3, and one whose lease ran out (it died) */
    freeReplyObject(redisCommand(c, "HSET streamhub:count:presence:77 other-node %lld:3", now + 60000));
    freeReplyObject(redisCommand(c, "HSET streamhub:count:presence:77 dead-node %lld:5", now - 1000));
    assert_int_equal(bus_cluster_count("presence:77", 2), 5);
    redisReply *r = redisCommand(c, "HEXISTS streamhub:count:presence:77 dead-node");
    assert_int_equal(r->integer, 0); /* the expired share was dropped */
    freeReplyObject(r);
    assert_int_equal(bus_cluster_count("presence:77", 0), 3); /* ours withdrawn */
    r = redisCommand(c, "HLEN streamhub:count:presence:77");
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
    freeReplyObject(redisCommand(c, "HDEL streamhub:count:presence:77 other-node"));
    assert_int_equal(bus_cluster_count("presence:77", 0), 0);
    /* a Redis that forgot the script (restarted empty): loaded again */
    freeReplyObject(redisCommand(c, "SCRIPT FLUSH"));
    assert_int_equal(bus_cluster_count("room:x", 4), 4);
    redisFree(c);
}

static void test_shared_rate_limit(void **state)
{
    ratelimit_set_store(bus_rate_take);
    /* two nodes' limiters of one scope, 3 attempts a minute, and a limiter of another scope */
    ratelimit *node1 = ratelimit_new(3.0 / 60, 3, 1024), *node2 = ratelimit_new(3.0 / 60, 3, 1024);
    ratelimit *other = ratelimit_new(3.0 / 60, 3, 1024);
    ratelimit_share(node1, "test_login");
    ratelimit_share(node2, "test_login");
    ratelimit_share(other, "test_other");
    int retry = 0;
    int64_t now = monotonic_us();
    assert_true(ratelimit_take(node1, "10.0.0.1", now, &retry));
    assert_true(ratelimit_take(node2, "10.0.0.1", now, &retry));
    assert_true(ratelimit_take(node1, "10.0.0.1", now, &retry));
    assert_false(ratelimit_take(node2, "10.0.0.1", now, &retry)); /* the bucket is the cluster's */
    assert_true(retry >= 1 && retry <= 20);
    int64_t retry_ms = 0;
    assert_false(ratelimit_take_ms(node1, "10.0.0.1", now, &retry_ms));
    assert_true(retry_ms >= 1 && retry_ms <= 20000);
    assert_true(ratelimit_take(node2, "10.0.0.2", now, &retry)); /* another key */
    assert_true(ratelimit_take(other, "10.0.0.1", now, &retry)); /* another scope */

    /* Redis down: each node limits alone again (its own table was never used: full) */
    redis_kill();
    assert_true(wait_connected(false));
    assert_true(ratelimit_take(node2, "10.0.0.1", monotonic_us(), &retry));
    redis_start(NULL);
    assert_true(wait_connected(true));
    ratelimit_set_store(NULL);
    ratelimit_free(node1);
    ratelimit_free(node2);
    ratelimit_free(other);
}

static void test_password_in_url(void **state)
{
    bus_close();
    redis_kill();
    redis_start("s3cret:pw");
    char err[256];
    char *url = xasprintf("redis://:s3cret%%3Apw@127.0.0.1:%d/2", redis_port);
    assert_int_equal(bus_open(&bus_redis, url, err, sizeof err), 0);
    free(url);
    assert_true(wait_connected(true));
    recorder a;
    recorder_init(&a);
    bus_sub *s = bus_subscribe("user:5", record, &a);
    publish("user:5", "authenticated");
    wait_for(&a, "authenticated");
    bus_unsubscribe(s);
    bus_close();

    /* a wrong password: bus_open still succeeds (the node serves, degraded) but never connects */
    url = xasprintf("redis://:wrong@127.0.0.1:%d", redis_port);
    assert_int_equal(bus_open(&bus_redis, url, err, sizeof err), 0);
    free(url);
    bus_status st;
    bus_status_get(&st);
    assert_false(st.connected);
    assert_int_equal(bus_publish("user:5", "x", 1), 0);
    bus_close();
    redis_kill();
    redis_start(NULL);
    url = bus_url();
    assert_int_equal(bus_open(&bus_redis, url, err, sizeof err), 0);
    free(url);
}

static void test_bad_urls(void **state)
{
    static const char *const bad[] = {
        "http://127.0.0.1:6379", "redis://", "redis://:6379", "redis://h:0", "redis://h:70000",
        "redis://h:12x", "redis://h/abc", "rediss://h:6379", "redis://h?x=1",
        "redis://h?publishers=0", "redis://user@h", "redis://[::1", "redis://:%zz@h"};
    bus_close();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        assert_int_equal(bus_open(&bus_redis, bad[i], err, sizeof err), ERR_INVALID);
        assert_true(strlen(err) > 0);
        assert_string_equal(bus_backend_name(), "inproc"); /* nothing was switched */
    }
    char err[256];
    char *url = xasprintf("redis://127.0.0.1:%d/0?publishers=2", redis_port);
    assert_int_equal(bus_open(&bus_redis, url, err, sizeof err), 0);
    free(url);
}

int main(void)
{
    if (system("command -v redis-server >/dev/null 2>&1") != 0) {
        printf("1..0 # SKIP redis-server is not installed (scripts/deps.sh installs it)\n");
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publish_reaches_each_subscriber_once),
        cmocka_unit_test(test_unsubscribe_follows_last_local_subscriber),
        cmocka_unit_test(test_other_nodes_publish_and_listen),
        cmocka_unit_test(test_deliver_callback_may_publish),
        cmocka_unit_test(test_sync_waits_for_what_was_published_before),
        cmocka_unit_test(test_concurrent_syncs_share_a_ping),
        cmocka_unit_test(test_reconnect_resubscribes_and_resyncs),
        cmocka_unit_test(test_cluster_count_sums_live_shares),
        cmocka_unit_test(test_shared_rate_limit),
        cmocka_unit_test(test_password_in_url),
        cmocka_unit_test(test_bad_urls),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
