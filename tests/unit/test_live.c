/* SPDX-License-Identifier: MIT
 *
 * Unit tests for live delivery after commit: db_on_commit hooks run after COMMIT in order, are
 * dropped by ROLLBACK and run at once outside a transaction; and notify() inside a transaction
 * that rolls back publishes nothing on the bus, while a committed one publishes the
 * notification and the unread count to "user:<recipient>" through the publisher app.c installs
 * (api_notifications_publish, which shapes the client's JSON).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "core/bus.h"
#include "core/util.h"
#include "domain/notify.h"
#include "store/db.h"
#include "store/migrate.h"
#include "testdb.h"

static char seen[16];
static int n_seen, n_dropped;

static void hook(void *arg, bool committed)
{
    if (committed && n_seen < (int)sizeof seen - 1)
        seen[n_seen++] = *(const char *)arg;
    else if (!committed)
        n_dropped++;
}

static void test_commit_hooks(void **state)
{
    char dir[] = "/tmp/sh-unit-XXXXXX";
    db *d = testdb_open(NULL, dir, TESTDB_ALL);
    n_seen = n_dropped = 0;
    memset(seen, 0, sizeof seen);
    db_on_commit(d, hook, "x"); /* no transaction: at once */
    assert_string_equal(seen, "x");
    assert_int_equal(db_begin(d), 0);
    db_on_commit(d, hook, "a");
    db_on_commit(d, hook, "b");
    assert_string_equal(seen, "x");
    assert_int_equal(db_commit(d), 0);
    assert_string_equal(seen, "xab");
    assert_int_equal(db_begin(d), 0);
    db_on_commit(d, hook, "c");
    assert_int_equal(db_rollback(d), 0);
    assert_string_equal(seen, "xab");
    assert_int_equal(n_dropped, 1);
    assert_int_equal(db_begin(d), 0); /* pending at close: dropped, never run */
    db_on_commit(d, hook, "d");
    testdb_close(d, dir);
    assert_string_equal(seen, "xab");
    assert_int_equal(n_dropped, 2);
}

static char last_msgs[4][1024];
static int n_msgs;

static void on_bus(void *ctx, const char *topic, const char *msg, size_t len)
{
    if (n_msgs < 4)
        snprintf(last_msgs[n_msgs++], sizeof last_msgs[0], "%.*s", (int)len, msg);
}

static void test_notify_after_commit(void **state)
{
    char dir[] = "/tmp/sh-unit-XXXXXX";
    db *d = testdb_open(NULL, dir, TESTDB_ALL);
    assert_int_equal(db_exec(d, "INSERT INTO users (id, email, email_norm, handle, handle_norm, "
                                "display_name, created_at, updated_at) VALUES "
                                "(1, 'a', 'a', 'ana', 'ana', 'Ana', 0, 0), "
                                "(2, 'b', 'b', 'bo', 'bo', 'Bo', 0, 0)"),
                     0);
    notify_set_publisher(api_notifications_publish);
    bus_sub *sub = bus_subscribe("user:1", on_bus, NULL);
    n_msgs = 0;
    /* rolled back: the row and the push both vanish */
    assert_int_equal(db_begin(d), 0);
    assert_int_equal(notify(d, 1, "follow", 2, 0, 0), 0);
    assert_int_equal(n_msgs, 0);
    assert_int_equal(db_rollback(d), 0);
    assert_int_equal(n_msgs, 0);
    /* committed: pushed once the commit is through, not before */
    assert_int_equal(db_begin(d), 0);
    assert_int_equal(notify(d, 1, "follow", 2, 0, 0), 0);
    assert_int_equal(n_msgs, 0);
    assert_int_equal(db_commit(d), 0);
    assert_int_equal(n_msgs, 2);
    assert_non_null(strstr(last_msgs[0], "\"type\":\"notification\""));
    assert_non_null(strstr(last_msgs[0], "\"handle\":\"bo\""));
    assert_non_null(strstr(last_msgs[0], "bo started following you"));
    assert_string_equal(last_msgs[1], "{\"type\":\"notifications.unread\",\"data\":{\"count\":1}}");
    bus_unsubscribe(sub);
    testdb_close(d, dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_hooks),
        cmocka_unit_test(test_notify_after_commit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
