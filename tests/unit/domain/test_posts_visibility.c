/* SPDX-License-Identifier: MIT
 *
 * The visibility gate (posts_can_view, docs/social.md "Visibility") as a table: every visibility
 * against every relation of the viewer to the author, once for a public and once for a private
 * account, on an in-memory database. Then what the table cannot show: deleted posts, expired
 * stories, media not yet ready, the relation read with a feed page (posts_can_view_known), duets
 * and stitches never wider than their source (at creation and at every read, down a chain), and
 * which earlier versions of an edited post others see (posts_edit_shown).
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
#include "domain/graph.h"
#include "domain/posts.h"
#include "store/graph.h"

/* The viewer's relation to the author, the table's columns. */
enum {
    V_ANON,     /* not signed in */
    V_AUTHOR,   /* the author */
    V_FOLLOWER, /* follows the author, not followed back */
    V_FRIEND,   /* mutual follows */
    V_CIRCLE,   /* in the author's circle, no follow */
    V_STRANGER, /* no relation */
    V_BLOCKED,  /* was a friend and in the circle, then blocked by the author */
    V_BLOCKER,  /* was a friend and in the circle, then blocked the author */
    V_MUTER,    /* follows the author and mutes them (mutes do not hide from the gate) */
    V_N
};
static const char *const viewer_names[V_N] = {"anonymous", "author",  "follower",
                                              "friend",    "circle",  "stranger",
                                              "blocked",   "blocker", "muter"};

typedef struct cast {
    store_user author;
    int64_t viewer[V_N];
    int64_t circle_id;
} cast;

static void build_cast(cast *c, bool private_account)
{
    c->author = fx_user("author", private_account);
    store_user f = fx_user("follower", false), m = fx_user("friend", false),
               cm = fx_user("member", false), s = fx_user("stranger", false),
               b = fx_user("blocked", false), bb = fx_user("blocker", false),
               mu = fx_user("muter", false);
    const store_user *members[] = {&cm, &b, &bb};
    c->circle_id = fx_circle(&c->author, "close", members, 3);
    fx_follow(&f, &c->author);
    fx_follow(&m, &c->author);
    fx_follow(&c->author, &m);
    fx_follow(&mu, &c->author);
    fx_mute(&mu, &c->author);
    for (int i = 0; i < 2; i++) {
        const store_user *x = i ? &bb : &b;
        fx_follow(x, &c->author);
        fx_follow(&c->author, x);
    }
    fx_block(&c->author, &b);
    fx_block(&bb, &c->author);
    /* a block ends the follows both ways */
    assert_false(store_follows(fx_db, b.id, c->author.id));
    assert_false(store_follows(fx_db, c->author.id, bb.id));
    c->author = fx_reload(&c->author);
    int64_t ids[V_N] = {0, c->author.id, f.id, m.id, cm.id, s.id, b.id, bb.id, mu.id};
    memcpy(c->viewer, ids, sizeof ids);
}

typedef struct row {
    const char *visibility;
    bool see[V_N];
} row;

static void check_table(const row *rows, int n, bool private_account)
{
    cast c;
    build_cast(&c, private_account);
    for (int r = 0; r < n; r++) {
        bool circle = !strcmp(rows[r].visibility, "circle");
        store_post p = fx_post(&c.author, rows[r].visibility, circle ? c.circle_id : 0);
        for (int v = 0; v < V_N; v++) {
            bool got = posts_can_view(fx_db, c.viewer[v], &c.author, &p);
            if (got != rows[r].see[v])
                fail_msg("%s account, %s post, %s viewer: expected %s",
                         private_account ? "private" : "public", rows[r].visibility,
                         viewer_names[v], rows[r].see[v] ? "visible" : "hidden");
            /* posts_get_visible answers the same through the same gate */
            store_post again;
            store_user author;
            domain_error err = {0};
            int rc = posts_get_visible(fx_db, c.viewer[v], p.id, &again, &author, &err);
            assert_int_equal(rc, rows[r].see[v] ? 0 : ERR_NOT_FOUND);
        }
    }
}

static void test_public_account(void **state)
{
    (void)state;
    /*                  anon   author follower friend circle stranger blocked blocker muter */
    static const row rows[] = {
        {"public", {true, true, true, true, true, true, false, false, true}},
        {"followers", {false, true, true, true, false, false, false, false, true}},
        {"friends", {false, true, false, true, false, false, false, false, false}},
        {"circle", {false, true, false, false, true, false, false, false, false}},
        {"private", {false, true, false, false, false, false, false, false, false}},
    };
    check_table(rows, (int)(sizeof rows / sizeof rows[0]), false);
}

static void test_private_account(void **state)
{
    (void)state;
    /* a private account's posts reach followers only, whatever they say, except circle posts
     * (members were chosen by hand) */
    static const row rows[] = {
        {"public", {false, true, true, true, false, false, false, false, true}},
        {"followers", {false, true, true, true, false, false, false, false, true}},
        {"friends", {false, true, false, true, false, false, false, false, false}},
        {"circle", {false, true, false, false, true, false, false, false, false}},
        {"private", {false, true, false, false, false, false, false, false, false}},
    };
    check_table(rows, (int)(sizeof rows / sizeof rows[0]), true);
}

/* Deleted posts and expired stories are nobody's, the author's included; a media post is its
 * author's alone until the media is ready. */
static void test_gone_and_unready(void **state)
{
    (void)state;
    store_user a = fx_user("writer", false), s = fx_user("reader", false);
    store_post p = fx_post(&a, "public", 0);
    assert_true(posts_can_view(fx_db, s.id, &a, &p));

    store_post story = p;
    story.expires_at = now_ms() + 3600 * 1000;
    assert_true(posts_can_view(fx_db, s.id, &a, &story));
    story.expires_at = now_ms() - 1;
    assert_false(posts_can_view(fx_db, s.id, &a, &story));
    assert_false(posts_can_view(fx_db, a.id, &a, &story));

    store_post media = p;
    media.media_id = 42;
    media.media_ready = false;
    assert_true(posts_can_view(fx_db, a.id, &a, &media));
    assert_false(posts_can_view(fx_db, s.id, &a, &media));
    assert_false(posts_can_view(fx_db, 0, &a, &media));
    media.media_ready = true;
    assert_true(posts_can_view(fx_db, s.id, &a, &media));

    domain_error err = {0};
    assert_int_equal(posts_delete(fx_db, &a, p.id, &err), 0);
    store_post gone;
    store_user author;
    assert_int_equal(posts_get_visible(fx_db, a.id, p.id, &gone, &author, &err), ERR_NOT_FOUND);
    assert_int_equal(posts_get_visible(fx_db, s.id, p.id, &gone, &author, &err), ERR_NOT_FOUND);
    /* someone else cannot delete a post */
    store_post other = fx_post(&a, "public", 0);
    assert_int_equal(posts_delete(fx_db, &s, other.id, &err), ERR_FORBIDDEN);
    assert_int_equal(posts_get_visible(fx_db, s.id, other.id, &gone, &author, &err), 0);
}

/* Feeds pass the relation they read with the page: the gate must use it rather than the
 * database (so a page costs no query per post) and reach the same answers with it. */
static void test_known_relation(void **state)
{
    (void)state;
    store_user a = fx_user("known", false), s = fx_user("unknown", false);
    store_post p = fx_post(&a, "followers", 0);
    store_relation none = {0}, follows = {.follows = true},
                   friends = {.follows = true, .followed_by = true},
                   blocked = {.follows = true, .blocked = true};
    assert_false(posts_can_view_known(fx_db, s.id, &a, &p, &none));
    assert_true(posts_can_view_known(fx_db, s.id, &a, &p, &follows));
    assert_false(posts_can_view_known(fx_db, s.id, &a, &p, &blocked));
    assert_false(posts_can_view_known(fx_db, s.id, &a, &p, NULL)); /* the database says none */
    store_post f = fx_post(&a, "friends", 0);
    assert_false(posts_can_view_known(fx_db, s.id, &a, &f, &follows));
    assert_true(posts_can_view_known(fx_db, s.id, &a, &f, &friends));
}

static int edit_visibility(const store_user *me, int64_t id, const char *visibility)
{
    store_post out;
    domain_error err = {0};
    return posts_edit(fx_db, me, id, NULL, visibility, 0, &out, &err);
}

/* A duet or stitch is never wider than its source: refused at creation when it would claim a
 * wider audience, and hidden at every read from whoever may not see the source. */
static void test_derived_never_wider(void **state)
{
    (void)state;
    store_user x = fx_user("source", false), y = fx_user("dueter", false),
               f = fx_user("xfollower", false), s = fx_user("passerby", false);
    fx_follow(&f, &x);
    fx_follow(&y, &x);
    store_post src = fx_post(&x, "public", 0), duet, stitch, chain;
    assert_int_equal(fx_derived(&y, "duet", src.id, "public", &duet), 0);
    assert_int_equal(fx_derived(&y, "stitch", src.id, "public", &stitch), 0);
    store_user z = fx_user("chainer", false);
    assert_int_equal(fx_derived(&z, "duet", duet.id, "public", &chain), 0);
    const store_post *derived[] = {&duet, &stitch};
    for (int i = 0; i < 2; i++) {
        assert_true(posts_can_view(fx_db, s.id, &y, derived[i]));
        assert_true(posts_can_view(fx_db, 0, &y, derived[i]));
    }
    assert_true(posts_can_view(fx_db, s.id, &z, &chain));

    /* the source narrowed: the duets (and the duet of the duet) follow at once */
    assert_int_equal(edit_visibility(&x, src.id, "followers"), 0);
    for (int i = 0; i < 2; i++) {
        assert_false(posts_can_view(fx_db, s.id, &y, derived[i]));
        assert_false(posts_can_view(fx_db, 0, &y, derived[i]));
        assert_true(posts_can_view(fx_db, f.id, &y, derived[i]));
        assert_true(posts_can_view(fx_db, y.id, &y, derived[i])); /* its own author still */
    }
    assert_false(posts_can_view(fx_db, s.id, &z, &chain));
    assert_true(posts_can_view(fx_db, f.id, &z, &chain));
    assert_true(posts_can_view(fx_db, z.id, &z, &chain));

    /* a public duet of a source that is not public is refused; a narrower one is accepted */
    post_input in = {.caption = "wide", .visibility = "public", .duet_of = src.id};
    store_post out;
    domain_error err = {0};
    assert_int_equal(posts_create(fx_db, &y, &in, &out, &err), ERR_INVALID);
    assert_string_equal(err.field, "visibility");
    assert_string_equal(err.reason, "wider_than_source");
    assert_int_equal(fx_derived(&y, "stitch", src.id, "public", &out), ERR_INVALID);
    assert_int_equal(fx_derived(&y, "duet", src.id, "followers", &out), 0);
    /* someone who cannot see the source cannot duet it at all */
    memset(&err, 0, sizeof err);
    in.visibility = "private";
    assert_int_equal(posts_create(fx_db, &s, &in, &out, &err), ERR_INVALID);
    assert_string_equal(err.field, "duet_of");
    assert_string_equal(err.reason, "not_found");

    /* widened again: visible again; then a block between viewer and source author hides it */
    assert_int_equal(edit_visibility(&x, src.id, "public"), 0);
    assert_true(posts_can_view(fx_db, s.id, &y, &duet));
    fx_block(&s, &x);
    assert_false(posts_can_view(fx_db, s.id, &y, &duet));
    assert_false(posts_can_view(fx_db, s.id, &z, &chain));
    assert_true(posts_can_view(fx_db, f.id, &y, &duet));

    /* deleting the source takes its duets from everyone but their authors */
    assert_int_equal(posts_delete(fx_db, &x, src.id, &err), 0);
    assert_false(posts_can_view(fx_db, f.id, &y, &duet));
    assert_false(posts_can_view(fx_db, f.id, &y, &stitch));
    assert_false(posts_can_view(fx_db, 0, &z, &chain));
    assert_true(posts_can_view(fx_db, y.id, &y, &duet));
}

/* The source's account gone private narrows its duets too, and a private account's post can
 * only be dueted narrowly (and only by a follower, who can see it). */
static void test_derived_private_source(void **state)
{
    (void)state;
    store_user x = fx_user("privsrc", true), y = fx_user("privfan", false),
               s = fx_user("privpasser", false);
    fx_follow(&y, &x);
    store_post src = fx_post(&x, "public", 0), out;
    assert_int_equal(fx_derived(&y, "duet", src.id, "public", &out), ERR_INVALID);
    assert_int_equal(fx_derived(&y, "duet", src.id, "followers", &out), 0);
    fx_follow(&s, &y);
    assert_false(posts_can_view(fx_db, s.id, &y, &out)); /* follows y, not x */
    fx_follow(&s, &x);
    assert_true(posts_can_view(fx_db, s.id, &y, &out));
    assert_int_equal(fx_derived(&s, "duet", src.id, "friends", &out), 0);

    /* a source author who turns duets off refuses new ones */
    profile_update u = {.is_private = -1,
                        .allow_duets = 0,
                        .allow_stitches = -1,
                        .allow_comments = -1,
                        .avatar_media_id = -1,
                        .cover_media_id = -1};
    domain_error err = {0};
    assert_int_equal(graph_update_profile(fx_db, &x, &u, &err), 0);
    memset(&err, 0, sizeof err);
    post_input in = {.caption = "no", .visibility = "followers", .duet_of = src.id};
    assert_int_equal(posts_create(fx_db, &y, &in, &out, &err), ERR_FORBIDDEN);
    assert_string_equal(err.code, "duets_not_allowed");
    assert_int_equal(fx_derived(&y, "stitch", src.id, "followers", &out), 0);
}

/* posts_edit_shown: an earlier version is shown to others only if its audience held the
 * post's current one; the author sees every version. */
static void test_edit_history(void **state)
{
    (void)state;
    store_user pub = fx_user("histpub", false), priv = fx_user("histpriv", true),
               reader = fx_user("histreader", false);
    const int64_t other = reader.id;
    static const struct {
        bool private_account;
        const char *old, *now;
        bool shown;
    } cases[] = {
        {false, "public", "public", true},
        {false, "public", "private", true},
        {false, "followers", "followers", true},
        {false, "followers", "friends", true},
        {false, "followers", "public", false},
        {false, "friends", "friends", true},
        {false, "friends", "followers", false},
        {false, "friends", "public", false},
        {false, "circle", "circle", false},
        {false, "circle", "private", false},
        {false, "private", "private", false},
        {false, "private", "friends", false},
        /* on a private account "public" reaches followers only */
        {true, "followers", "public", true},
        {true, "public", "followers", true},
        {true, "public", "friends", true},
        {true, "friends", "public", false},
        {true, "circle", "public", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const store_user *a = cases[i].private_account ? &priv : &pub;
        store_post p = {.author_id = a->id};
        snprintf(p.visibility, sizeof p.visibility, "%s", cases[i].now);
        if (posts_edit_shown(other, a, &p, cases[i].old) != cases[i].shown)
            fail_msg("%s account: a %s version of a post now %s: expected %s",
                     cases[i].private_account ? "private" : "public", cases[i].old, cases[i].now,
                     cases[i].shown ? "shown" : "hidden");
        assert_true(posts_edit_shown(a->id, a, &p, cases[i].old));
        assert_int_equal(posts_edit_shown(0, a, &p, cases[i].old), cases[i].shown);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_public_account, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_private_account, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_gone_and_unready, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_known_relation, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_derived_never_wider, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_derived_private_source, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_edit_history, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
