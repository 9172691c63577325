/* SPDX-License-Identifier: MIT
 *
 * The domain unit tests' fixture (fixture.h). An in-memory database lives as long as its one
 * connection, so every test starts from an empty schema without files to clean up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h needs the headers above; the blank line keeps clang-format from sorting it first */
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#include "core/id.h"
#include "core/util.h"
#include "domain/circles.h"
#include "domain/graph.h"
#include "domain/posts.h"
#include "store/graph.h"
#include "store/migrate.h"

db *fx_db;
char fx_url[256];
static char fx_dir[128];

int fx_setup(void **state)
{
    (void)state;
    char err[256];
    if (db_open("sqlite::memory:", &fx_db, err, sizeof err) != 0) {
        fprintf(stderr, "fixture: %s\n", err);
        return -1;
    }
    if (store_migrate(fx_db, err, sizeof err) < 0) {
        fprintf(stderr, "fixture: migrate: %s\n", err);
        return -1;
    }
    return 0;
}

int fx_setup_file(void **state)
{
    (void)state;
    snprintf(fx_dir, sizeof fx_dir, "/tmp/sh-fixture-XXXXXX");
    if (!mkdtemp(fx_dir))
        return -1;
    snprintf(fx_url, 256, "sqlite:%s/test.db", fx_dir);
    char err[256];
    if (db_open(fx_url, &fx_db, err, sizeof err) != 0 || store_migrate(fx_db, err, sizeof err) < 0) {
        fprintf(stderr, "fixture: %s\n", err);
        return -1;
    }
    return 0;
}

int fx_teardown_file(void **state)
{
    fx_teardown(state);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int fx_teardown(void **state)
{
    (void)state;
    db_close(fx_db);
    fx_db = NULL;
    return 0;
}

store_user fx_reload(const store_user *u)
{
    store_user out;
    assert_int_equal(store_user_by_id(fx_db, u->id, &out), 0);
    return out;
}

store_user fx_user(const char *handle, bool is_private)
{
    store_user u = {0};
    u.id = id_next();
    snprintf(u.handle, sizeof u.handle, "%s", handle);
    snprintf(u.email, sizeof u.email, "%s@example.org", handle);
    snprintf(u.role, sizeof u.role, "user");
    u.created_at = u.updated_at = now_ms();
    assert_int_equal(store_user_insert(fx_db, &u), 0);
    store_user full = fx_reload(&u);
    if (is_private) {
        full.is_private = true;
        assert_int_equal(store_user_update_profile(fx_db, &full, now_ms()), 0);
        full = fx_reload(&full);
        assert_true(full.is_private);
    }
    return full;
}

void fx_follow(const store_user *follower, const store_user *followee)
{
    assert_int_equal(store_follow_add(fx_db, id_next(), follower->id, followee->id, now_ms()), 0);
}

void fx_block(const store_user *blocker, const store_user *blocked)
{
    domain_error err = {0};
    assert_int_equal(graph_set_block(fx_db, blocker, blocked, true, &err), 0);
}

void fx_mute(const store_user *muter, const store_user *muted)
{
    domain_error err = {0};
    assert_int_equal(graph_set_mute(fx_db, muter, muted, true, &err), 0);
}

int64_t fx_circle(const store_user *owner, const char *name, const store_user *const *members,
                  int n)
{
    store_circle c;
    domain_error err = {0};
    assert_int_equal(circles_create(fx_db, owner, name, &c, &err), 0);
    for (int i = 0; i < n; i++)
        assert_int_equal(circles_set_member(fx_db, owner, c.id, members[i]->handle, true, &err), 0);
    return c.id;
}

store_post fx_post(const store_user *author, const char *visibility, int64_t circle_id)
{
    post_input in = {.caption = "a post", .visibility = visibility, .circle_id = circle_id};
    store_post p;
    domain_error err = {0};
    assert_int_equal(posts_create(fx_db, author, &in, &p, &err), 0);
    assert_string_equal(p.visibility, visibility);
    return p;
}

int fx_derived(const store_user *author, const char *kind, int64_t source, const char *visibility,
               store_post *out)
{
    post_input in = {.caption = "a reply", .visibility = visibility};
    if (!strcmp(kind, "duet"))
        in.duet_of = source;
    else
        in.stitch_of = source;
    domain_error err = {0};
    return posts_create(fx_db, author, &in, out, &err);
}
