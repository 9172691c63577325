/* SPDX-License-Identifier: MIT
 *
 * domain/circles.c on an in-memory database: names by the one rule for names, the per-user
 * limit, circles only their owner sees or changes, members (not the owner, not across a block,
 * idempotent both ways), and what a circle post does when its audience changes: a removed
 * member loses it, a deleted circle leaves it to the author alone; posts name only their
 * author's own circles.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h needs the headers above; the blank line keeps clang-format from sorting it first */
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"

#include "core/util.h"
#include "domain/circles.h"
#include "domain/posts.h"

static int64_t members_of(const store_user *owner, int64_t id)
{
    store_circle c;
    domain_error err = {0};
    assert_int_equal(circles_get(fx_db, owner, id, &c, &err), 0);
    return c.member_count;
}

static void test_names_and_limit(void **state)
{
    (void)state;
    store_user me = fx_user("namer", false);
    store_circle c;
    domain_error err = {0};
    assert_int_equal(circles_create(fx_db, &me, "  Close friends ", &c, &err), 0);
    assert_string_equal(c.name, "Close friends");
    assert_int_equal(circles_create(fx_db, &me, "   ", &c, &err), ERR_INVALID);
    assert_string_equal(err.field, "name");
    assert_string_equal(err.reason, "required");
    char name[CIRCLES_NAME_CHARS + 2];
    memset(name, 'n', CIRCLES_NAME_CHARS + 1);
    name[CIRCLES_NAME_CHARS + 1] = '\0';
    memset(&err, 0, sizeof err);
    assert_int_equal(circles_create(fx_db, &me, name, &c, &err), ERR_INVALID);
    assert_string_equal(err.reason, "too_long");
    name[CIRCLES_NAME_CHARS] = '\0';
    assert_int_equal(circles_create(fx_db, &me, name, &c, &err), 0);

    for (int i = 2; i < CIRCLES_MAX_PER_USER; i++) {
        char n[16];
        snprintf(n, sizeof n, "c%d", i);
        assert_int_equal(circles_create(fx_db, &me, n, &c, &err), 0);
    }
    memset(&err, 0, sizeof err);
    assert_int_equal(circles_create(fx_db, &me, "one too many", &c, &err), ERR_CONFLICT);
    assert_string_equal(err.code, "too_many_circles");
    /* the limit is per user */
    store_user other = fx_user("othernamer", false);
    assert_int_equal(circles_create(fx_db, &other, "mine", &c, &err), 0);
}

static void test_owner_only(void **state)
{
    (void)state;
    store_user me = fx_user("owner", false), x = fx_user("intruder", false);
    const store_user *none[] = {NULL};
    int64_t id = fx_circle(&me, "mine", none, 0);
    store_circle c;
    domain_error err = {0};
    assert_int_equal(circles_get(fx_db, &x, id, &c, &err), ERR_NOT_FOUND);
    assert_string_equal(err.code, "circle_not_found");
    assert_int_equal(circles_rename(fx_db, &x, id, "theirs", &c, &err), ERR_NOT_FOUND);
    assert_int_equal(circles_set_member(fx_db, &x, id, "intruder", true, &err), ERR_NOT_FOUND);
    assert_int_equal(circles_delete(fx_db, &x, id, &err), ERR_NOT_FOUND);
    assert_int_equal(circles_get(fx_db, &me, id, &c, &err), 0);
    assert_string_equal(c.name, "mine");
    assert_int_equal(c.member_count, 0);
    assert_int_equal(circles_rename(fx_db, &me, id, " ours ", &c, &err), 0);
    assert_int_equal(circles_get(fx_db, &me, id, &c, &err), 0);
    assert_string_equal(c.name, "ours");
}

static void test_members(void **state)
{
    (void)state;
    store_user me = fx_user("keeper", false), m = fx_user("pal", false),
               b1 = fx_user("blockedpal", false), b2 = fx_user("blockingpal", false);
    const store_user *none[] = {NULL};
    int64_t id = fx_circle(&me, "pals", none, 0);
    domain_error err = {0};
    assert_int_equal(circles_set_member(fx_db, &me, id, "KEEPER", true, &err), ERR_INVALID);
    assert_string_equal(err.reason, "is_owner");
    assert_int_equal(circles_set_member(fx_db, &me, id, "nobody", true, &err), ERR_NOT_FOUND);
    assert_int_equal(circles_set_member(fx_db, &me, id, "Pal", true, &err), 0);
    assert_int_equal(circles_set_member(fx_db, &me, id, "pal", true, &err), 0);
    assert_int_equal(members_of(&me, id), 1);
    assert_true(store_circle_has_member(fx_db, id, m.id));
    /* not across a block, whichever way */
    fx_block(&me, &b1);
    fx_block(&b2, &me);
    assert_int_equal(circles_set_member(fx_db, &me, id, "blockedpal", true, &err), ERR_NOT_FOUND);
    assert_int_equal(circles_set_member(fx_db, &me, id, "blockingpal", true, &err), ERR_NOT_FOUND);
    assert_int_equal(members_of(&me, id), 1);
    assert_int_equal(circles_set_member(fx_db, &me, id, "pal", false, &err), 0);
    assert_int_equal(circles_set_member(fx_db, &me, id, "pal", false, &err), 0);
    assert_int_equal(members_of(&me, id), 0);
    assert_false(store_circle_has_member(fx_db, id, m.id));
}

static void test_circle_posts(void **state)
{
    (void)state;
    store_user me = fx_user("sharer", false), m = fx_user("insider", false),
               o = fx_user("outsider", false);
    const store_user *members[] = {&m};
    int64_t id = fx_circle(&me, "inner", members, 1);
    int64_t theirs = fx_circle(&o, "theirs", members, 1);
    store_post p = fx_post(&me, "circle", id), out;
    assert_true(posts_can_view(fx_db, m.id, &me, &p));
    assert_false(posts_can_view(fx_db, o.id, &me, &p));

    /* a post names its author's own circle (not someone else's), and only with circle
     * visibility */
    const struct {
        const char *visibility;
        int64_t circle_id;
        const char *reason;
    } bad[] = {
        {"circle", theirs, "not_found"},
        {"public", id, "needs_circle_visibility"},
        {"circle", 0, "required"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        post_input in = {
            .caption = "c", .visibility = bad[i].visibility, .circle_id = bad[i].circle_id};
        domain_error err = {0};
        assert_int_equal(posts_create(fx_db, &me, &in, &out, &err), ERR_INVALID);
        assert_string_equal(err.field, "circle_id");
        assert_string_equal(err.reason, bad[i].reason);
    }

    /* a removed member loses the post; a deleted circle leaves it to the author alone */
    domain_error err = {0};
    store_post q = fx_post(&me, "circle", id);
    assert_int_equal(circles_set_member(fx_db, &me, id, "insider", false, &err), 0);
    assert_false(posts_can_view(fx_db, m.id, &me, &p));
    assert_int_equal(circles_set_member(fx_db, &me, id, "insider", true, &err), 0);
    assert_true(posts_can_view(fx_db, m.id, &me, &q));
    assert_int_equal(circles_delete(fx_db, &me, id, &err), 0);
    store_post again;
    store_user author;
    assert_int_equal(posts_get_visible(fx_db, m.id, q.id, &again, &author, &err), ERR_NOT_FOUND);
    assert_int_equal(posts_get_visible(fx_db, me.id, q.id, &again, &author, &err), 0);
    assert_false(posts_can_view(fx_db, m.id, &me, &again));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_names_and_limit, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_owner_only, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_members, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_circle_posts, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
