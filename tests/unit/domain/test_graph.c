/* SPDX-License-Identifier: MIT
 *
 * domain/graph.c on an in-memory database: follows and their counters, follow requests on
 * private accounts (accept, reject, withdraw, only by their addressee), blocks ending follows and
 * requests both ways and hiding the blocker, mutes that only mark, who may see a profile's
 * follower lists, users by id as a viewer finds them, and the profile rules (bio, links, default
 * visibility, handle changes and the reservation of the old handle).
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

#include "domain/graph.h"
#include "store/graph.h"

static const char *follow(const store_user *me, const store_user *target, int expect_rc)
{
    const char *state = NULL;
    domain_error err = {0};
    assert_int_equal(graph_follow(fx_db, me, target, &state, &err), expect_rc);
    return state;
}

static void unfollow(const store_user *me, const store_user *target)
{
    domain_error err = {0};
    assert_int_equal(graph_unfollow(fx_db, me, target, &err), 0);
}

/* The only request addressed to target (asserts there is exactly one), or 0 when none. */
static int64_t only_request(const store_user *target, int64_t *requester)
{
    int64_t ids[4];
    store_user from[4];
    int n = store_request_list(fx_db, target->id, 0, ids, from, 4);
    assert_true(n >= 0 && n <= 1);
    if (n && requester)
        *requester = from[0].id;
    return n ? ids[0] : 0;
}

static void test_follow_public(void **state)
{
    (void)state;
    store_user a = fx_user("alice", false), b = fx_user("bob", false);
    domain_error err = {0};
    const char *st = NULL;
    assert_int_equal(graph_follow(fx_db, &a, &a, &st, &err), ERR_INVALID);
    assert_string_equal(err.code, "cannot_follow_self");

    assert_string_equal(follow(&a, &b, 0), "following");
    assert_true(store_follows(fx_db, a.id, b.id));
    assert_false(store_follows(fx_db, b.id, a.id));
    assert_int_equal(fx_reload(&b).followers_count, 1);
    assert_int_equal(fx_reload(&a).following_count, 1);
    /* idempotent: a retry changes nothing */
    assert_string_equal(follow(&a, &b, 0), "following");
    assert_int_equal(fx_reload(&b).followers_count, 1);

    graph_relationship r;
    graph_relationship_of(fx_db, a.id, b.id, &r);
    assert_true(r.follows);
    assert_false(r.followed_by);
    assert_false(r.friends);
    assert_string_equal(follow(&b, &a, 0), "following");
    graph_relationship_of(fx_db, a.id, b.id, &r);
    assert_true(r.friends);
    /* anonymous and oneself have no relationship */
    graph_relationship_of(fx_db, 0, b.id, &r);
    assert_false(r.follows || r.followed_by || r.friends || r.requested || r.blocking);
    graph_relationship_of(fx_db, a.id, a.id, &r);
    assert_false(r.follows || r.followed_by);

    unfollow(&a, &b);
    assert_false(store_follows(fx_db, a.id, b.id));
    assert_int_equal(fx_reload(&b).followers_count, 0);
    assert_int_equal(fx_reload(&a).following_count, 0);
    unfollow(&a, &b); /* idempotent */
    assert_int_equal(fx_reload(&b).followers_count, 0);
    assert_true(store_follows(fx_db, b.id, a.id)); /* the other direction stays */
}

static void test_requests(void **state)
{
    (void)state;
    store_user p = fx_user("private", true), a = fx_user("asker", false),
               c = fx_user("other", false), x = fx_user("outsider", false);
    assert_string_equal(follow(&a, &p, 0), "requested");
    assert_false(store_follows(fx_db, a.id, p.id));
    assert_int_equal(fx_reload(&p).followers_count, 0);
    graph_relationship r;
    graph_relationship_of(fx_db, a.id, p.id, &r);
    assert_true(r.requested);
    assert_false(r.follows);
    assert_string_equal(follow(&a, &p, 0), "requested"); /* asking again: still one request */
    int64_t from = 0, req = only_request(&p, &from);
    assert_true(req != 0);
    assert_int_equal(from, a.id);

    /* only the addressee answers; an unknown id is 404 */
    domain_error err = {0};
    assert_int_equal(graph_answer_request(fx_db, &x, req, true, &err), ERR_NOT_FOUND);
    assert_string_equal(err.code, "request_not_found");
    assert_int_equal(graph_answer_request(fx_db, &p, req + 1, true, &err), ERR_NOT_FOUND);
    assert_false(store_follows(fx_db, a.id, p.id));

    assert_int_equal(graph_answer_request(fx_db, &p, req, true, &err), 0);
    assert_true(store_follows(fx_db, a.id, p.id));
    assert_int_equal(fx_reload(&p).followers_count, 1);
    assert_int_equal(only_request(&p, NULL), 0);
    assert_int_equal(graph_answer_request(fx_db, &p, req, true, &err), ERR_NOT_FOUND);
    /* a follower following again stays a follower (no new request) */
    assert_string_equal(follow(&a, &p, 0), "following");
    assert_int_equal(only_request(&p, NULL), 0);

    /* rejected: no follow, no request left */
    assert_string_equal(follow(&c, &p, 0), "requested");
    req = only_request(&p, NULL);
    assert_int_equal(graph_answer_request(fx_db, &p, req, false, &err), 0);
    assert_false(store_follows(fx_db, c.id, p.id));
    assert_false(store_requested(fx_db, c.id, p.id));

    /* withdrawn by unfollowing */
    assert_string_equal(follow(&x, &p, 0), "requested");
    unfollow(&x, &p);
    assert_false(store_requested(fx_db, x.id, p.id));
    assert_int_equal(only_request(&p, NULL), 0);
}

static void test_blocks(void **state)
{
    (void)state;
    store_user a = fx_user("blocker", false), b = fx_user("blockee", false),
               p = fx_user("privblock", true);
    fx_follow(&a, &b);
    fx_follow(&b, &a);
    assert_string_equal(follow(&p, &a, 0), "following");
    assert_string_equal(follow(&a, &p, 0), "requested");
    domain_error err = {0};
    assert_int_equal(graph_set_block(fx_db, &a, &a, true, &err), ERR_INVALID);
    assert_string_equal(err.code, "cannot_block_self");

    /* a block ends follows and requests both ways, counters included */
    fx_block(&a, &b);
    fx_block(&a, &p);
    assert_false(store_follows(fx_db, a.id, b.id));
    assert_false(store_follows(fx_db, b.id, a.id));
    assert_false(store_follows(fx_db, p.id, a.id));
    assert_false(store_requested(fx_db, a.id, p.id));
    assert_int_equal(fx_reload(&a).followers_count, 0);
    assert_int_equal(fx_reload(&a).following_count, 0);
    assert_int_equal(fx_reload(&b).followers_count, 0);
    fx_block(&a, &b); /* idempotent */
    graph_relationship r;
    graph_relationship_of(fx_db, a.id, b.id, &r);
    assert_true(r.blocking);
    graph_relationship_of(fx_db, b.id, a.id, &r);
    assert_false(r.blocking);

    /* neither may follow the other while it lasts */
    memset(&err, 0, sizeof err);
    const char *st;
    assert_int_equal(graph_follow(fx_db, &b, &a, &st, &err), ERR_FORBIDDEN);
    assert_string_equal(err.code, "blocked");
    follow(&a, &b, ERR_FORBIDDEN);
    assert_false(store_follows(fx_db, b.id, a.id));

    /* the blocker does not exist for the blocked; the blocked still does for the blocker */
    store_user found;
    assert_int_equal(graph_find_user(fx_db, b.id, "BLOCKER", &found, &err), ERR_NOT_FOUND);
    assert_int_equal(graph_find_user_by_id(fx_db, b.id, a.id, &found, &err), ERR_NOT_FOUND);
    assert_int_equal(graph_find_user(fx_db, a.id, "blockee", &found, &err), 0);
    assert_int_equal(found.id, b.id);
    assert_int_equal(graph_find_user(fx_db, 0, "Blocker", &found, &err), 0);    /* anonymous */
    assert_int_equal(graph_find_user(fx_db, a.id, "blocker", &found, &err), 0); /* oneself */

    /* unblocking restores nothing but the right to follow */
    assert_int_equal(graph_set_block(fx_db, &a, &b, false, &err), 0);
    assert_int_equal(graph_set_block(fx_db, &a, &b, false, &err), 0); /* idempotent */
    assert_false(store_follows(fx_db, b.id, a.id));
    assert_int_equal(graph_find_user(fx_db, b.id, "blocker", &found, &err), 0);
    assert_string_equal(follow(&b, &a, 0), "following");
}

static void test_mutes(void **state)
{
    (void)state;
    store_user a = fx_user("muter", false), b = fx_user("mutee", false);
    fx_follow(&a, &b);
    domain_error err = {0};
    assert_int_equal(graph_set_mute(fx_db, &a, &a, true, &err), ERR_INVALID);
    assert_string_equal(err.code, "cannot_mute_self");
    fx_mute(&a, &b);
    fx_mute(&a, &b); /* idempotent */
    graph_relationship r;
    graph_relationship_of(fx_db, a.id, b.id, &r);
    assert_true(r.muting);
    assert_true(r.follows); /* a mute only marks */
    graph_relationship_of(fx_db, b.id, a.id, &r);
    assert_false(r.muting);
    store_user found;
    assert_int_equal(graph_find_user(fx_db, b.id, "muter", &found, &err), 0);
    assert_int_equal(graph_set_mute(fx_db, &a, &b, false, &err), 0);
    assert_int_equal(graph_set_mute(fx_db, &a, &b, false, &err), 0);
    graph_relationship_of(fx_db, a.id, b.id, &r);
    assert_false(r.muting);
}

static void test_lists_visible_to(void **state)
{
    (void)state;
    store_user pub = fx_user("openlists", false), priv = fx_user("closedlists", true),
               f = fx_user("listfan", false), s = fx_user("liststranger", false),
               q = fx_user("listasker", false);
    fx_follow(&f, &priv);
    assert_string_equal(follow(&q, &priv, 0), "requested");
    assert_true(graph_may_see_lists(fx_db, 0, &pub));
    assert_true(graph_may_see_lists(fx_db, s.id, &pub));
    assert_true(graph_may_see_lists(fx_db, priv.id, &priv));
    assert_true(graph_may_see_lists(fx_db, f.id, &priv));
    assert_false(graph_may_see_lists(fx_db, 0, &priv));
    assert_false(graph_may_see_lists(fx_db, s.id, &priv));
    assert_false(graph_may_see_lists(fx_db, q.id, &priv)); /* a request is not a follow */
    unfollow(&f, &priv);
    assert_false(graph_may_see_lists(fx_db, f.id, &priv));
}

static void test_users_by_ids(void **state)
{
    (void)state;
    store_user a = fx_user("ida", false), b = fx_user("idb", false), c = fx_user("idc", false),
               v = fx_user("idviewer", false);
    fx_block(&b, &v); /* b blocks the viewer: b does not exist for them */
    int64_t ids[] = {c.id, b.id, a.id, c.id, 999999, v.id};
    store_user out[6];
    int n = graph_users_by_ids(fx_db, v.id, ids, 6, out);
    assert_int_equal(n, 3);
    assert_int_equal(out[0].id, c.id); /* in the order asked, each once */
    assert_int_equal(out[1].id, a.id);
    assert_int_equal(out[2].id, v.id);
    n = graph_users_by_ids(fx_db, 0, ids, 6, out);
    assert_int_equal(n, 4);
    assert_int_equal(out[1].id, b.id);
}

static profile_update unchanged(void)
{
    profile_update u = {.is_private = -1,
                        .allow_duets = -1,
                        .allow_stitches = -1,
                        .allow_comments = -1,
                        .avatar_media_id = -1,
                        .cover_media_id = -1};
    return u;
}

static void test_profile_rules(void **state)
{
    (void)state;
    store_user me = fx_user("profiled", false), other = fx_user("bystander", false);
    domain_error err = {0};
    profile_update u = unchanged();
    char bio[GRAPH_BIO_MAX_CHARS * 4 + 8];
    memset(bio, 'b', GRAPH_BIO_MAX_CHARS + 1);
    bio[GRAPH_BIO_MAX_CHARS + 1] = '\0';
    u.bio = bio;
    assert_int_equal(graph_update_profile(fx_db, &me, &u, &err), ERR_INVALID);
    assert_string_equal(err.field, "bio");
    bio[GRAPH_BIO_MAX_CHARS] = '\0';
    assert_int_equal(graph_update_profile(fx_db, &me, &u, &err), 0);
    assert_int_equal(strlen(fx_reload(&me).bio), GRAPH_BIO_MAX_CHARS);

    /* the type of each link is the API's check (a JSON body); the domain takes strings */
    static const char *const ftp[] = {"ftp://x.org"}, *const space[] = {"https://a b.org"},
                             *const six[] = {"https://1", "https://2", "https://3",
                                             "https://4", "https://5", "https://6"};
    static const struct {
        const char *const *links;
        int n;
    } bad_links[] = {{ftp, 1}, {space, 1}, {six, 6}};
    for (size_t i = 0; i < sizeof bad_links / sizeof bad_links[0]; i++) {
        u = unchanged();
        u.links = bad_links[i].links;
        u.n_links = bad_links[i].n;
        memset(&err, 0, sizeof err);
        assert_int_equal(graph_update_profile(fx_db, &me, &u, &err), ERR_INVALID);
        assert_string_equal(err.field, "links");
    }
    assert_string_equal(fx_reload(&me).links, "[]");

    u = unchanged();
    u.default_visibility = "circle"; /* needs a circle id, so never a default */
    assert_int_equal(graph_update_profile(fx_db, &me, &u, &err), ERR_INVALID);
    assert_string_equal(err.field, "default_visibility");
    u.default_visibility = "friends";
    assert_int_equal(graph_update_profile(fx_db, &me, &u, &err), 0);
    assert_string_equal(fx_reload(&me).default_visibility, "friends");

    /* a changed handle: the old one stays reserved for its previous owner */
    u = unchanged();
    u.handle = "Bystander";
    memset(&err, 0, sizeof err);
    assert_int_equal(graph_update_profile(fx_db, &me, &u, &err), ERR_CONFLICT);
    assert_string_equal(err.code, "handle_taken");
    u.handle = "renamed";
    assert_int_equal(graph_update_profile(fx_db, &me, &u, &err), 0);
    assert_string_equal(fx_reload(&me).handle, "renamed");
    u.handle = "profiled";
    memset(&err, 0, sizeof err);
    assert_int_equal(graph_update_profile(fx_db, &other, &u, &err), ERR_CONFLICT);
    assert_string_equal(fx_reload(&other).handle, "bystander");
    assert_int_equal(graph_update_profile(fx_db, &me, &u, &err), 0); /* its owner may return */
    assert_string_equal(fx_reload(&me).handle, "profiled");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_follow_public, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_requests, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_blocks, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_mutes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_lists_visible_to, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_users_by_ids, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_profile_rules, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
