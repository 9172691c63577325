/* SPDX-License-Identifier: MIT
 *
 * The hub's contract (ws/ws.h) without HTTP: sockets are one end of a socketpair adopted
 * directly, the test speaks frames on the other end. Covers what the e2e suites cannot reach
 * before chat and rooms exist: topic subscriptions from the hub thread and from workers,
 * ws_on_session edges over several sockets of one user, worker replies for a socket that has
 * closed, and the RFC 6455 accept key. Built into the ThreadSanitizer run like everything else.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/bus.h"
#include "core/util.h"
#include "ws/hub.h"
#include "ws/ws.h"

#include <jansson.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static atomic_int online_events, offline_events, second_online, second_offline;

static void on_session(int64_t user, bool online)
{
    if (user == 8) /* the sessions test's own user: other tests' closes come late */
        atomic_fetch_add(online ? &online_events : &offline_events, 1);
}

/* A second listener (chat, next to presence): each registered callback sees every edge. */
static void on_session_second(int64_t user, bool online)
{
    if (user == 8)
        atomic_fetch_add(online ? &second_online : &second_offline, 1);
}

static void release_fd(void *arg)
{
    close((int)(intptr_t)arg);
}

static void cmd_join(ws_call *c)
{
    const char *room = json_string_value(json_object_get(ws_call_data(c), "room"));
    char topic[64];
    snprintf(topic, sizeof topic, "room:%s", room ? room : "");
    if (ws_call_subscribe(c, topic) < 0)
        ws_call_error(c, "bad_room", "no");
    else
        ws_call_ack(c, NULL);
}

static void cmd_leave(ws_call *c)
{
    const char *room = json_string_value(json_object_get(ws_call_data(c), "room"));
    char topic[64];
    snprintf(topic, sizeof topic, "room:%s", room ? room : "");
    ws_call_unsubscribe(c, topic);
    ws_call_ack(c, json_pack("{s:b}", "worker", ws_call_ctx(c) == NULL));
}

static void cmd_slow(ws_call *c)
{
    usleep(200000);
    ws_call_ack(c, json_pack("{s:I}", "user", (json_int_t)ws_call_user(c)));
}

static void cmd_silent(ws_call *c) {}

static atomic_int counted;

static void cmd_count(ws_call *c)
{
    atomic_fetch_add(&counted, 1);
    ws_call_ack(c, NULL);
}

/* ---- a tiny client ------------------------------------------------------------------------ */

static int open_session_socket(int64_t user, int64_t session)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    ws_hub_adopt(sv[1], NULL, 0, release_fd, (void *)(intptr_t)sv[1], user, session, 0);
    return sv[0];
}

static int open_socket(int64_t user)
{
    return open_session_socket(user, 0);
}

static void send_text(int fd, const char *text)
{
    size_t n = strlen(text);
    assert_true(n < 126);
    unsigned char f[256] = {0x81, (unsigned char)(0x80 | n), 1, 2, 3, 4};
    for (size_t i = 0; i < n; i++)
        f[6 + i] = (unsigned char)text[i] ^ f[2 + (i & 3)];
    assert_int_equal(write(fd, f, 6 + n), (ssize_t)(6 + n));
}

static bool read_exact(int fd, unsigned char *out, size_t n)
{
    size_t got = 0;
    while (got < n) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) <= 0)
            return false;
        ssize_t r = read(fd, out + got, n - got);
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

/* Reads the next text message as JSON (skipping pings); NULL on close or timeout. */
static json_t *read_json(int fd)
{
    for (;;) {
        unsigned char h[2];
        if (!read_exact(fd, h, 2))
            return NULL;
        size_t len = h[1] & 127;
        if (len == 126) {
            unsigned char e[2];
            if (!read_exact(fd, e, 2))
                return NULL;
            len = (size_t)e[0] << 8 | e[1];
        } else if (len == 127) {
            unsigned char e[8];
            if (!read_exact(fd, e, 8))
                return NULL;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | e[i];
        }
        assert_true(len < (1u << 20));
        char *msg = xmalloc(len + 1);
        if (!read_exact(fd, (unsigned char *)msg, len)) {
            free(msg);
            return NULL;
        }
        msg[len] = 0;
        int op = h[0] & 15;
        if (op == 8) {
            free(msg);
            return NULL;
        }
        if (op != 1) {
            free(msg);
            continue;
        }
        json_t *j = json_loads(msg, 0, NULL);
        free(msg);
        return j;
    }
}

static json_t *expect_type(int fd, const char *type)
{
    json_t *j = read_json(fd);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "type")), type);
    return j;
}

static void wait_for(atomic_int *v, int want)
{
    for (int i = 0; i < 500 && atomic_load(v) != want; i++)
        usleep(10000);
    assert_int_equal(atomic_load(v), want);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_accept_key(void **state)
{
    char out[WS_ACCEPT_LEN];
    assert_true(ws_handshake_accept("dGhlIHNhbXBsZSBub25jZQ==", out)); /* RFC 6455 §1.3 */
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_false(ws_handshake_accept("dGhlIHNhbXBsZSBub25jZQ=", out));
    assert_false(ws_handshake_accept("dGhlIHNhbXBsZSBub25jZQ!=", out));
    assert_false(ws_handshake_accept(NULL, out));
}

static void test_rooms_from_hub_and_worker(void **state)
{
    int fd = open_socket(7);
    json_decref(expect_type(fd, "ready"));
    send_text(fd, "{\"type\":\"join\",\"id\":\"j\",\"data\":{\"room\":\"r1\"}}");
    json_decref(expect_type(fd, "ack"));
    send_text(fd, "{\"type\":\"join\",\"id\":\"j2\",\"data\":{\"room\":\"r1\"}}"); /* twice: once */
    json_decref(expect_type(fd, "ack"));
    assert_int_equal(bus_publish_room("r1", "room.message", json_pack("{s:s}", "text", "hi")), 1);
    json_t *m = expect_type(fd, "room.message");
    assert_string_equal(json_string_value(json_object_get(json_object_get(m, "data"), "text")), "hi");
    json_decref(m);
    send_text(fd, "{\"type\":\"leave\",\"id\":\"l\",\"data\":{\"room\":\"r1\"}}");
    m = expect_type(fd, "ack");
    assert_true(json_is_true(json_object_get(json_object_get(m, "data"), "worker")));
    json_decref(m);
    assert_int_equal(bus_publish_room("r1", "room.message", NULL), 0);
    /* the user topic is there from the start */
    assert_int_equal(bus_publish_user(7, "note", NULL), 1);
    json_decref(expect_type(fd, "note"));
    /* a handler that never answers still produces exactly one reply */
    send_text(fd, "{\"type\":\"silent\",\"id\":\"s\"}");
    m = expect_type(fd, "error");
    assert_string_equal(json_string_value(json_object_get(m, "id")), "s");
    json_decref(m);
    close(fd);
}

static void test_sessions_and_late_replies(void **state)
{
    atomic_store(&online_events, 0);
    atomic_store(&offline_events, 0);
    atomic_store(&second_online, 0);
    atomic_store(&second_offline, 0);
    int a = open_socket(8), b = open_socket(8);
    json_decref(expect_type(a, "ready"));
    json_decref(expect_type(b, "ready"));
    assert_int_equal(atomic_load(&online_events), 1);
    assert_int_equal(bus_publish_user(8, "both", NULL), 2);
    json_decref(expect_type(a, "both"));
    json_decref(expect_type(b, "both"));
    /* a worker still holds a call when its socket goes away */
    send_text(a, "{\"type\":\"slow\",\"id\":\"x\"}");
    send_text(a, "{\"type\":\"join\",\"id\":\"j\",\"data\":{\"room\":\"gone\"}}");
    json_decref(expect_type(a, "ack")); /* the inline join overtakes the slow one */
    close(a);
    usleep(300000);
    assert_int_equal(atomic_load(&offline_events), 0); /* b is still open */
    assert_int_equal(bus_publish_room("gone", "x", NULL), 0);
    send_text(b, "{\"type\":\"slow\",\"id\":\"y\"}");
    json_t *m = expect_type(b, "ack");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "data"), "user")), 8);
    json_decref(m);
    close(b);
    wait_for(&offline_events, 1);
    wait_for(&second_offline, 1);
    assert_int_equal(atomic_load(&online_events), 1);
    assert_int_equal(atomic_load(&second_online), 1);
    assert_int_equal(bus_publish_user(8, "nobody", NULL), 0);
}

static uint64_t connection_id(json_t *ready)
{
    const char *id = json_string_value(
        json_object_get(json_object_get(ready, "data"), "connection_id"));
    assert_non_null(id);
    uint64_t v = strtoull(id, NULL, 10);
    json_decref(ready);
    return v;
}

/* Direct fan-out: one shared frame reaches every listed open socket, in publish order, through
 * partial writes (the backlog is larger than the socketpair's buffer), with the three header
 * lengths of RFC 6455 §5.2; ids that are not open come back as gone. */
static void test_send_connections(void **state)
{
    int a = open_socket(9), b = open_socket(10);
    uint64_t ids[3] = {connection_id(expect_type(a, "ready")), 999999999,
                       connection_id(expect_type(b, "ready"))};
    uint64_t gone[3];
    size_t n_gone = 9;
    enum { N = 300 };
    char *msg = xmalloc(70000 + 64);
    for (int i = 0; i < N; i++) {
        /* mostly 16-bit lengths, one short (7-bit) and one past 65535 (64-bit) */
        size_t pad = i == 7 ? 1 : i == 150 ? 69000 : 900;
        int h = snprintf(msg, 64, "{\"type\":\"seq\",\"data\":{\"i\":%d,\"p\":\"", i);
        memset(msg + h, 'x', pad);
        memcpy(msg + h + pad, "\"}}", 4);
        assert_int_equal(ws_send_connections(ids, 3, msg, strlen(msg), gone, &n_gone), 2);
        assert_int_equal(n_gone, 1);
        assert_true(gone[0] == 999999999);
    }
    free(msg);
    for (int k = 0; k < 2; k++) {
        int fd = k ? b : a;
        for (int i = 0; i < N; i++) {
            json_t *m = expect_type(fd, "seq");
            json_t *d = json_object_get(m, "data");
            assert_int_equal(json_integer_value(json_object_get(d, "i")), i);
            size_t want = i == 7 ? 1 : i == 150 ? 69000 : 900;
            assert_int_equal(strlen(json_string_value(json_object_get(d, "p"))), want);
            json_decref(m);
        }
    }
    close(a);
    /* a closed socket is gone for direct fan-out as soon as the hub has seen it close */
    for (int i = 0; i < 100; i++) {
        if (ws_send_connections(ids, 1, "{}", 2, gone, &n_gone) == 0)
            break;
        usleep(10000);
    }
    assert_int_equal(ws_send_connections(ids, 1, "{}", 2, gone, &n_gone), 0);
    assert_int_equal(n_gone, 1);
    assert_true(gone[0] == ids[0]);
    close(b);
}

/* Reads frames until a close frame; returns its status code (-1 on EOF or timeout). */
static int read_close_code(int fd)
{
    for (;;) {
        unsigned char h[2];
        if (!read_exact(fd, h, 2))
            return -1;
        size_t len = h[1] & 127;
        unsigned char e[8];
        if (len == 126 || len == 127) {
            size_t k = len == 126 ? 2 : 8;
            if (!read_exact(fd, e, k))
                return -1;
            len = 0;
            for (size_t i = 0; i < k; i++)
                len = len << 8 | e[i];
        }
        unsigned char *p = xmalloc(len + 1);
        bool ok = read_exact(fd, p, len);
        int code = len >= 2 ? p[0] << 8 | p[1] : 1005;
        free(p);
        if (!ok)
            return -1;
        if ((h[0] & 15) == 8)
            return code;
    }
}

/* A member that stops reading during a fan-out is closed 1013 once its queue passes the cap
 * (1 MiB here) and is gone for later fan-outs; one that keeps reading gets every message. */
static void test_send_connections_slow_consumer(void **state)
{
    int slow = open_socket(11), fast = open_socket(12);
    uint64_t ids[2] = {connection_id(expect_type(slow, "ready")),
                       connection_id(expect_type(fast, "ready"))};
    char msg[1100];
    int sent = 0;
    size_t open_now = 2;
    for (int round = 0; round < 40 && open_now == 2; round++) {
        for (int i = 0; i < 100; i++, sent++) {
            int h = snprintf(msg, 64, "{\"type\":\"seq\",\"data\":{\"i\":%d,\"p\":\"", sent);
            memset(msg + h, 'y', 1000);
            memcpy(msg + h + 1000, "\"}}", 4);
            open_now = ws_send_connections(ids, 2, msg, strlen(msg), NULL, NULL);
            if (open_now < 2) {
                sent++;
                break;
            }
        }
        int upto = sent;
        for (int i = upto - (upto % 100 ? upto % 100 : 100); i < upto; i++) {
            json_t *m = expect_type(fast, "seq");
            assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "data"), "i")),
                             i);
            json_decref(m);
        }
    }
    assert_int_equal(open_now, 1); /* the slow one was closed, the fast one never */
    assert_true(sent > 1000);      /* not before the cap: 1 MiB of ~1 KiB messages */
    assert_int_equal(read_close_code(slow), 1013);
    uint64_t gone[2];
    size_t n_gone = 0;
    assert_int_equal(ws_send_connections(ids, 2, "{\"type\":\"after\"}", 16, gone, &n_gone), 1);
    assert_int_equal(n_gone, 1);
    assert_true(gone[0] == ids[0]);
    json_decref(expect_type(fast, "after"));
    close(slow);
    close(fast);
}

/* A message on "session:<id>" closes that session's sockets 4002, and a command queued before
 * it but run after is refused instead of running; another session of the user stays. */
static void test_session_revoked(void **state)
{
    atomic_store(&counted, 0);
    int a = open_session_socket(9, 901), b = open_session_socket(9, 902);
    json_decref(expect_type(a, "ready"));
    json_decref(expect_type(b, "ready"));
    /* both workers busy, so a's count waits in the queue */
    send_text(b, "{\"type\":\"slow\",\"id\":\"s1\"}");
    send_text(b, "{\"type\":\"slow\",\"id\":\"s2\"}");
    usleep(50000);
    send_text(a, "{\"type\":\"count\",\"id\":\"c\"}");
    usleep(50000);
    assert_int_equal(bus_publish_session_ended(901, "logout"), 1);
    assert_int_equal(read_close_code(a), WS_CLOSE_SESSION_REVOKED);
    json_decref(expect_type(b, "ack"));
    json_decref(expect_type(b, "ack"));
    usleep(100000);
    assert_int_equal(atomic_load(&counted), 0);
    /* the other session's socket still counts, hears its user and runs commands */
    assert_int_equal(bus_publish_user(9, "still", NULL), 1);
    json_decref(expect_type(b, "still"));
    send_text(b, "{\"type\":\"count\",\"id\":\"c2\"}");
    json_decref(expect_type(b, "ack"));
    assert_int_equal(atomic_load(&counted), 1);
    assert_int_equal(bus_publish_session_ended(901, "logout"), 0);
    close(a);
    close(b);
}

static void test_unauthenticated_socket(void **state)
{
    int fd = open_socket(0);
    send_text(fd, "{\"type\":\"join\",\"id\":\"j\",\"data\":{\"room\":\"r\"}}");
    json_t *m = expect_type(fd, "error");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(m, "data"), "code")), "unauthenticated");
    json_decref(m);
    close(fd);
}

static int setup(void **state)
{
    ws_command_register("join", cmd_join, WS_CMD_INLINE);
    ws_command_register("leave", cmd_leave, WS_CMD_BLOCKING);
    ws_command_register("slow", cmd_slow, WS_CMD_BLOCKING);
    ws_command_register("silent", cmd_silent, WS_CMD_INLINE);
    ws_command_register("count", cmd_count, WS_CMD_BLOCKING);
    ws_on_session(on_session);
    ws_on_session(on_session_second);
    ws_on_session(on_session); /* the same callback twice is told once */
    ws_hub_options o = {.threads = 2, .workers = 2, .queue_limit = 64, .max_message = 4096,
                        .send_queue = 1 << 20, .idle_timeout_s = 60, .ping_interval_s = 30,
                        .auth_timeout_s = 10, .auth_grace_s = 0};
    char err[256];
    return ws_hub_start(&o, err, sizeof err) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    ws_hub_stop();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_key),
        cmocka_unit_test(test_rooms_from_hub_and_worker),
        cmocka_unit_test(test_sessions_and_late_replies),
        cmocka_unit_test(test_send_connections),
        cmocka_unit_test(test_send_connections_slow_consumer),
        cmocka_unit_test(test_unauthenticated_socket),
        cmocka_unit_test(test_session_revoked),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
