/* SPDX-License-Identifier: MIT
 *
 * Unit tests for the realtime layer's seams: every topic name comes from core/topics.h (the
 * spelling clients and other nodes rely on), the bus front dispatches through the selected
 * backend's table and counts for every backend alike, the room rules of domain/live.c (slow
 * mode wait, membership caps) and the rooms service applying them and the control topic.
 */
/* cmocka.h needs these first */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bus.h"
#include "core/topics.h"
#include "core/util.h"
#include "domain/live.h"
#include "services/rooms.h"

static void test_topic_names(void **state)
{
    char t[TOPIC_MAX];
    assert_int_equal(topic_user(t, 42), 7);
    assert_string_equal(t, "user:42");
    topic_session(t, 9);
    assert_string_equal(t, "session:9");
    topic_presence(t, -1);
    assert_string_equal(t, "presence:-1");
    topic_conn(t, 18446744073709551615ull);
    assert_string_equal(t, "conn:18446744073709551615");
    assert_int_equal(topic_room(t, "lobby"), 10);
    assert_string_equal(t, "room:lobby");
    assert_string_equal(TOPIC_ROOMS_CONTROL, "rooms:control");
    assert_string_equal(TOPIC_FEED_POSTED, "feed:posted");
    /* a name that does not fit is refused, never cut to another room's name */
    char name[TOPIC_MAX];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    assert_int_equal(topic_room(t, name), -1);
    (void)state;
}

/* A backend that records what the front asks of it. */
static int fake_opened, fake_closed, fake_published;
static char fake_last_topic[TOPIC_MAX], fake_listened_topic[TOPIC_MAX];

static int fake_open(const char *url, char *err, size_t n)
{
    if (url && !strcmp(url, "refuse")) {
        snprintf(err, n, "refused");
        return ERR_IO;
    }
    fake_opened++;
    return 0;
}

static void fake_close(void)
{
    fake_closed++;
}

static bus_sub *fake_subscribe(const char *topic, bus_deliver_fn fn, void *ctx)
{
    (void)topic, (void)fn, (void)ctx;
    return NULL;
}

static void fake_unsubscribe(bus_sub *s)
{
    (void)s;
}

static int fake_publish(const char *topic, const char *msg, size_t len)
{
    snprintf(fake_last_topic, sizeof fake_last_topic, "%s", topic);
    fake_published++;
    (void)msg, (void)len;
    return 3; /* three deliveries on this node */
}

static int fake_subscribers(const char *topic)
{
    (void)topic;
    return 0;
}

static bool fake_listened(const char *topic)
{
    snprintf(fake_listened_topic, sizeof fake_listened_topic, "%s", topic);
    return true; /* listened elsewhere in the cluster, nobody here */
}

static const bus_backend fake = {.name = "fake",
                                 .open = fake_open,
                                 .close = fake_close,
                                 .subscribe = fake_subscribe,
                                 .unsubscribe = fake_unsubscribe,
                                 .publish = fake_publish,
                                 .subscribers = fake_subscribers,
                                 .listened = fake_listened};

static int local_count;

static void on_local(void *ctx, const char *topic, const char *msg, size_t len)
{
    local_count++;
    (void)ctx, (void)topic, (void)msg, (void)len;
}

static void test_bus_backend_table(void **state)
{
    char err[64] = "";
    assert_string_equal(bus_backend_name(), "inproc");
    /* a backend that cannot open is not selected */
    assert_int_equal(bus_open(&fake, "refuse", err, sizeof err), ERR_IO);
    assert_string_equal(err, "refused");
    assert_string_equal(bus_backend_name(), "inproc");

    bus_sub *local = bus_subscribe("user:5", on_local, NULL); /* in-process */
    assert_non_null(local);
    assert_int_equal(bus_open(&fake, NULL, err, sizeof err), 0);
    assert_string_equal(bus_backend_name(), "fake");
    uint64_t published = bus_published(), delivered = bus_delivered();
    /* the helpers build topics through core/topics.h and publish through the table */
    assert_int_equal(bus_publish_user(5, "ping", NULL), 3);
    assert_string_equal(fake_last_topic, "user:5");
    assert_int_equal(local_count, 0); /* the in-process table was not used */
    bus_publish_session_ended(8, "logout");
    assert_string_equal(fake_last_topic, "session:8");
    assert_int_equal(bus_publish_room("lobby", "x", NULL), 3);
    assert_string_equal(fake_last_topic, "room:lobby");
    assert_int_equal(fake_published, 3);
    assert_int_equal(bus_published() - published, 3);
    assert_int_equal(bus_delivered() - delivered, 9);
    assert_true(bus_user_listened(77));
    assert_string_equal(fake_listened_topic, "user:77");
    assert_int_equal(bus_publish("", "x", 1), 0); /* refused by the front */
    assert_int_equal(fake_published, 3);

    bus_close();
    assert_int_equal(fake_closed, 1);
    assert_string_equal(bus_backend_name(), "inproc");
    assert_int_equal(bus_publish("user:5", "x", 1), 1);
    assert_int_equal(local_count, 1);
    bus_unsubscribe(local);
    assert_false(bus_user_listened(5));
    (void)state;
}

static void test_slow_mode_wait(void **state)
{
    assert_int_equal(live_room_slow_wait(0, 1000, 1500), 0);   /* off */
    assert_int_equal(live_room_slow_wait(10, 0, 1500), 0);     /* never sent */
    assert_int_equal(live_room_slow_wait(10, 1000, 1000), 10); /* just sent */
    assert_int_equal(live_room_slow_wait(10, 1000, 1001), 10); /* rounded up */
    assert_int_equal(live_room_slow_wait(10, 1000, 10000), 1);
    assert_int_equal(live_room_slow_wait(10, 1000, 11000), 0); /* exactly over */
    (void)state;
}

static void test_room_caps(void **state)
{
    live_room_caps caps = {.per_socket = 2, .per_user = 3};
    live_room_refusal r = {0};
    assert_true(live_room_may_join(&caps, 1, 2, false, &r));
    assert_false(live_room_may_join(&caps, 2, 2, false, &r));
    assert_string_equal(r.scope, "socket");
    assert_string_equal(r.option, "--ws-rooms-per-socket");
    assert_int_equal(r.limit, 2);
    assert_false(live_room_may_join(&caps, 1, 3, false, &r));
    assert_string_equal(r.scope, "user");
    assert_int_equal(r.limit, 3);
    /* another socket of the user is in the room already: it costs the user nothing */
    assert_true(live_room_may_join(&caps, 1, 3, true, &r));
    (void)state;
}

static void test_rooms_service(void **state)
{
    char err[64];
    rooms_options o = {.members_interval_ms = 3600 * 1000,
                       .caps = {.per_socket = 2, .per_user = 3}};
    rooms_service *rs = rooms_open(&o, err, sizeof err);
    assert_non_null(rs);
    live_room_entry e = {.slow_mode_s = 0, .handle = "ana"};
    live_room_refusal r;
    int64_t members = 0;
    assert_int_equal(rooms_join(rs, "a", 1, 10, &e, &members, &r), 0);
    assert_int_equal(members, 1);
    assert_int_equal(rooms_join(rs, "a", 2, 11, &e, &members, &r), 0);
    assert_int_equal(members, 2);
    assert_int_equal(rooms_join(rs, "a", 1, 10, &e, &members, &r), 0); /* again: no change */
    assert_int_equal(members, 2);
    assert_int_equal(rooms_join(rs, "b", 1, 10, &e, &members, &r), 0);
    assert_int_equal(rooms_join(rs, "c", 1, 10, &e, &members, &r), ERR_TOO_LARGE);
    assert_string_equal(r.scope, "socket");
    assert_int_equal(rooms_members(rs, "a"), 2);
    assert_int_equal(rooms_members(rs, "c"), 0);
    /* a ban from any node (the control topic) removes the user's sockets at once */
    const char *ban = "{\"type\":\"room.ban\",\"data\":{\"room\":\"a\",\"user_id\":\"11\","
                      "\"value\":1}}";
    bus_publish(TOPIC_ROOMS_CONTROL, ban, strlen(ban));
    assert_int_equal(rooms_members(rs, "a"), 1);
    assert_int_equal(rooms_leave(rs, "a", 2), ERR_NOT_FOUND);
    assert_int_equal(rooms_leave(rs, "a", 1), 0);
    assert_int_equal(rooms_leave(rs, "a", 1), ERR_NOT_FOUND);
    int64_t id, wait_s;
    assert_int_equal(rooms_send(rs, "a", 1, 10, "hi", &id, &wait_s), ERR_NOT_FOUND);
    rooms_close(rs);
    assert_int_equal(rooms_members(NULL, "a"), 0);
    (void)state;
}

static char control_seen[4][160];
static int control_n;

static void on_control(void *ctx, const char *topic, const char *msg, size_t len)
{
    if (control_n < 4)
        snprintf(control_seen[control_n++], sizeof control_seen[0], "%.*s", (int)len, msg);
    (void)ctx, (void)topic;
}

/* The domain hands changes over as values; the installed publisher writes the control topic's
 * bytes, which every node's services (and nodes of other versions) read. */
static void test_control_topic_bytes(void **state)
{
    bus_sub *sub = bus_subscribe(TOPIC_ROOMS_CONTROL, on_control, NULL);
    live_presence_end(1, 2); /* no publisher installed: nothing */
    assert_int_equal(control_n, 0);
    live_on_change(rooms_control_publish);
    live_presence_end(1, 2);
    rooms_control_publish(&(live_change){.kind = LIVE_ROOM_BAN, .room = "a", .user_id = 11});
    rooms_control_publish(&(live_change){.kind = LIVE_ROOM_SLOW_MODE, .room = "b", .value = 30});
    live_on_change(NULL);
    bus_unsubscribe(sub);
    assert_int_equal(control_n, 3);
    assert_string_equal(control_seen[0], "{\"type\":\"presence.drop\",\"data\":{"
                                         "\"user_id\":\"1\",\"other_id\":\"2\"}}");
    assert_string_equal(control_seen[1], "{\"type\":\"room.ban\",\"data\":{\"room\":\"a\","
                                         "\"user_id\":\"11\",\"value\":1}}");
    assert_string_equal(control_seen[2], "{\"type\":\"room.slow_mode\",\"data\":{\"room\":\"b\","
                                         "\"user_id\":\"0\",\"value\":30}}");
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topic_names),    cmocka_unit_test(test_bus_backend_table),
        cmocka_unit_test(test_slow_mode_wait), cmocka_unit_test(test_room_caps),
        cmocka_unit_test(test_rooms_service),  cmocka_unit_test(test_control_topic_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
