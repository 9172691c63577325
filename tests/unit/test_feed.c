/* SPDX-License-Identifier: MIT
 *
 * Unit tests for the pieces under the feeds: the streaming JSON writer (byte for byte what
 * jansson writes), the in-process bus, and the feed candidate caches on a real SQLite database
 * (a warm home timeline must pick up new posts, follows, mutes and blocks, and pages below what
 * it holds must still come from the database).
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

#include "scratch.h"

#include "core/bus.h"
#include "core/json.h"
#include "core/jsonw.h"
#include "core/util.h"
#include "domain/feed_cache.h"
#include "store/db.h"
#include "store/migrate.h"
#include "store/posts.h"

static void assert_same_as_jansson(json_t *tree, const char *written)
{
    char *expected = json_dumps(tree, JSON_COMPACT);
    assert_non_null(expected);
    assert_string_equal(written, expected);
    free(expected);
    json_decref(tree);
}

static void test_jsonw(void **state)
{
    const char *strings[] = {"", "plain", "quote \" and \\ backslash", "tab\tnew\nline\r",
                             "\x01\x1f control", "ünïcødé 😀 kept", "slash / kept", NULL};
    for (int i = 0; strings[i]; i++) {
        buf b = {0};
        jsonw w;
        jsonw_init(&w, &b);
        jsonw_object(&w);
        jsonw_key(&w, "k");
        jsonw_string(&w, strings[i]);
        jsonw_end_object(&w);
        assert_same_as_jansson(json_pack("{s:s}", "k", strings[i]), b.data);
        buf_free(&b);
    }
    buf b = {0};
    jsonw w;
    jsonw_init(&w, &b);
    jsonw_object(&w);
    jsonw_key(&w, "ints");
    jsonw_array(&w);
    jsonw_int(&w, 0);
    jsonw_int(&w, -1);
    jsonw_int(&w, INT64_MAX);
    jsonw_int(&w, INT64_MIN);
    jsonw_end_array(&w);
    jsonw_key(&w, "empty");
    jsonw_array(&w);
    jsonw_end_array(&w);
    jsonw_key(&w, "nested");
    jsonw_object(&w);
    jsonw_key(&w, "t");
    jsonw_bool(&w, true);
    jsonw_key(&w, "f");
    jsonw_bool(&w, false);
    jsonw_key(&w, "n");
    jsonw_null(&w);
    jsonw_end_object(&w);
    jsonw_key(&w, "id");
    jsonw_id(&w, 353566088925020160);
    jsonw_key(&w, "no_id");
    jsonw_id(&w, 0);
    jsonw_key(&w, "time");
    jsonw_time(&w, 1764600000123);
    jsonw_key(&w, "no_time");
    jsonw_time(&w, 0);
    jsonw_key(&w, "value");
    json_t *v = json_pack("{s:[i,s]}", "a", 1, "b");
    jsonw_value(&w, v);
    jsonw_end_object(&w);
    json_t *tree = json_pack("{s:[I,I,I,I], s:[], s:{s:b, s:b, s:n}, s:o, s:n, s:o, s:n, s:O}",
                             "ints", (json_int_t)0, (json_int_t)-1, (json_int_t)INT64_MAX,
                             (json_int_t)INT64_MIN, "empty", "nested", "t", 1, "f", 0, "n",
                             "id", json_id(353566088925020160), "no_id", "time",
                             json_time(1764600000123), "no_time", "value", v);
    json_decref(v);
    assert_same_as_jansson(tree, b.data);
    buf_free(&b);
}

typedef struct received {
    int count;
    char last[64];
} received;

static void on_message(void *ctx, const char *topic, const char *msg, size_t len)
{
    received *r = ctx;
    r->count++;
    snprintf(r->last, sizeof r->last, "%.*s", (int)len, msg);
}

static void test_bus(void **state)
{
    received a = {0}, b = {0};
    bus_sub *sa = bus_subscribe("user:7", on_message, &a);
    bus_sub *sb = bus_subscribe("user:7", on_message, &b);
    bus_sub *other = bus_subscribe("user:8", on_message, &b);
    assert_non_null(sa);
    assert_null(bus_subscribe("", on_message, &a));
    assert_int_equal(bus_publish_user(7, "ping", json_pack("{s:i}", "n", 1)), 2);
    assert_string_equal(a.last, "{\"type\":\"ping\",\"data\":{\"n\":1}}");
    assert_int_equal(b.count, 1);
    bus_unsubscribe(sb);
    assert_int_equal(bus_publish("user:7", "x", 1), 1);
    assert_int_equal(a.count, 2);
    assert_int_equal(b.count, 1);
    assert_int_equal(bus_publish("user:9", "x", 1), 0);
    bus_unsubscribe(sa);
    bus_unsubscribe(other);
    assert_int_equal(bus_publish("user:7", "x", 1), 0);
}

/* A tiny graph: viewer 1 follows 2; 3 is a stranger. Post ids are real time-ordered ids so the
 * cache's slack arithmetic applies as in production. */
static db *feed_db(char *dir)
{
    char url[128], err[256];
    snprintf(url, sizeof url, "sqlite:%s/t.db", dir);
    db *d;
    assert_int_equal(db_open(url, &d, err, sizeof err), 0);
    assert_true(store_migrate(d, err, sizeof err) > 0);
    assert_int_equal(db_exec(d, "INSERT INTO users (id, handle, handle_norm, display_name, "
                                "created_at, updated_at) VALUES (1, 'v', 'v', 'V', 0, 0), "
                                "(2, 'f', 'f', 'F', 0, 0), (3, 's', 's', 'S', 0, 0);"
                                "INSERT INTO follows (id, follower_id, followee_id, created_at) "
                                "VALUES (1, 1, 2, 0);"),
                     0);
    return d;
}

static void close_feed_db(db *d, const char *dir)
{
    db_close(d);
    scratch_dir_remove(dir);
}

static int64_t post_base = (int64_t)1 << 62;

static void add_post(db *d, int64_t id, int64_t author)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO posts (id, author_id, type, caption, visibility, created_at, "
             "updated_at) VALUES (%lld, %lld, 'text', 'x', 'public', 0, 0)",
             (long long)id, (long long)author);
    assert_int_equal(db_exec(d, sql), 0);
}

static void test_home_cache(void **state)
{
    char dir[] = "/tmp/sh-unit-XXXXXX";
    scratch_dir_make(dir);
    db *d = feed_db(dir);
    feed_cache_configure(64, 60000, 1000);
    int64_t id = post_base;
    for (int i = 0; i < 200; i++) /* more than the cache holds */
        add_post(d, ++id, 2);
    add_post(d, ++id, 3);
    int64_t out[32];
    bool ex = true;
    feed_cache_stats before, after;
    feed_cache_get_stats(&before);
    assert_int_equal(feed_cache_home_ids(d, 1, false, 0, out, 10, &ex), 10);
    assert_int_equal(out[0], post_base + 200); /* the stranger's post is not a candidate */
    assert_false(ex);
    assert_int_equal(feed_cache_home_ids(d, 1, false, out[9], out, 10, &ex), 10);
    assert_int_equal(out[0], post_base + 190);
    feed_cache_get_stats(&after);
    assert_int_equal(after.home_misses - before.home_misses, 1);
    assert_int_equal(after.home_hits - before.home_hits, 1);

    /* below the cached range, pages still come from the database, down to the last post */
    int64_t cursor = post_base + 30;
    assert_int_equal(feed_cache_home_ids(d, 1, false, cursor, out, 32, &ex), 29);
    assert_int_equal(out[28], post_base + 1);

    /* a new post is merged in once it is announced */
    add_post(d, ++id, 2);
    assert_int_equal(feed_cache_home_ids(d, 1, false, 0, out, 1, &ex), 1);
    assert_int_equal(out[0], post_base + 200); /* not announced yet: the warm list stands */
    feed_cache_posted();
    assert_int_equal(feed_cache_home_ids(d, 1, false, 0, out, 2, &ex), 2);
    assert_int_equal(out[0], id);
    assert_int_equal(out[1], post_base + 200);

    /* following the stranger shows their post once the change is announced */
    assert_int_equal(db_exec(d, "INSERT INTO follows (id, follower_id, followee_id, created_at) "
                                "VALUES (2, 1, 3, 0)"),
                     0);
    feed_cache_forget(1);
    assert_int_equal(feed_cache_home_ids(d, 1, false, 0, out, 3, &ex), 3);
    assert_int_equal(out[0], id);
    assert_int_equal(out[1], post_base + 201);

    /* muting the followee leaves only the stranger's post */
    assert_int_equal(db_exec(d, "INSERT INTO mutes (id, muter_id, muted_id, created_at) "
                                "VALUES (1, 1, 2, 0)"),
                     0);
    feed_cache_forget(1);
    assert_int_equal(feed_cache_home_ids(d, 1, false, 0, out, 32, &ex), 1);
    assert_int_equal(out[0], post_base + 201);
    assert_true(ex); /* the mute is known with the rebuilt timeline */

    /* with the cache off the same answers come straight from the database */
    feed_cache_configure(0, 60000, 0);
    assert_int_equal(feed_cache_home_ids(d, 1, false, 0, out, 32, &ex), 1);
    int64_t keys[4], ids[4];
    assert_int_equal(feed_cache_trending_ids(d, 0, 0, keys, ids, 4), 4);
    close_feed_db(d, dir);
}

static void test_trending_cache(void **state)
{
    char dir[] = "/tmp/sh-unit-XXXXXX";
    scratch_dir_make(dir);
    db *d = feed_db(dir);
    for (int i = 1; i <= 300; i++) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "INSERT INTO posts (id, author_id, type, caption, visibility, created_at, "
                 "updated_at, hot_at) VALUES (%d, 3, 'text', 'x', 'public', 0, 0, %d)",
                 i, i % 100); /* ties on hot_at, broken by id */
        assert_int_equal(db_exec(d, sql), 0);
    }
    feed_cache_configure(0, 60000, 60000);
    int64_t keys[300], ids[300];
    int64_t direct_keys[300], direct_ids[300];
    /* walking the whole list page by page gives exactly the database's order */
    int got = 0;
    int64_t key = 0, id = 0;
    for (;;) {
        int n = feed_cache_trending_ids(d, key, id, keys + got, ids + got, 7);
        assert_true(n >= 0);
        if (!n)
            break;
        got += n;
        key = keys[got - 1];
        id = ids[got - 1];
    }
    assert_int_equal(got, 300);
    assert_int_equal(store_post_trending_ids(d, 0, 0, direct_keys, direct_ids, 300), 300);
    for (int i = 0; i < 300; i++) {
        assert_int_equal(keys[i], direct_keys[i]);
        assert_int_equal(ids[i], direct_ids[i]);
    }
    /* the shared list is re-read only after its refresh interval: a new top post waits */
    assert_int_equal(db_exec(d, "UPDATE posts SET hot_at = 1000 WHERE id = 5"), 0);
    assert_int_equal(feed_cache_trending_ids(d, 0, 0, keys, ids, 1), 1);
    assert_int_equal(ids[0], 299);
    feed_cache_configure(0, 60000, 1);
    usleep(5000);
    assert_int_equal(feed_cache_trending_ids(d, 0, 0, keys, ids, 1), 1);
    assert_int_equal(ids[0], 5);
    feed_cache_configure(0, 60000, 0);
    close_feed_db(d, dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonw),
        cmocka_unit_test(test_bus),
        cmocka_unit_test(test_home_cache),
        cmocka_unit_test(test_trending_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
