/* SPDX-License-Identifier: MIT
 *
 * /api/v1/users and /api/v1/follow-requests: profiles and the follow graph.
 */
#include "api/api.h"

#include "core/id.h"
#include "domain/activity.h"
#include "domain/graph.h"
#include "domain/posts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *relationship_json(const graph_relationship *r)
{
    return json_pack("{s:b, s:b, s:b, s:b, s:b, s:b}", "follows", r->follows, "followed_by",
                     r->followed_by, "friends", r->friends, "requested", r->requested,
                     "blocking", r->blocking, "muting", r->muting);
}

json_t *api_profile_json(db *d, const store_user *u, int64_t viewer)
{
    bool self = viewer == u->id;
    json_t *o = api_user_json(u, self);
    json_t *links = json_loads(u->links, 0, NULL);
    json_object_set_new(o, "bio", json_string(u->bio));
    json_object_set_new(o, "links", links ? links : json_array());
    json_object_set_new(o, "is_private", json_boolean(u->is_private));
    /* "avatar" stays the summary's small URL, so a profile is a summary with more members; the
     * full set of renditions (signed like every media URL) comes beside it */
    json_object_set_new(o, "avatar_sizes",
                        u->avatar_media_id ? api_media_urls(u->avatar_media_id, true)
                                           : json_null());
    json_object_set_new(o, "cover",
                        u->cover_media_id ? api_media_urls(u->cover_media_id, true) : json_null());
    json_object_set_new(o, "badges", api_badges_json(d, u->id));
    json_object_set_new(o, "counts", json_pack("{s:I, s:I, s:I}", "followers",
                                               (json_int_t)u->followers_count, "following",
                                               (json_int_t)u->following_count, "posts",
                                               (json_int_t)u->posts_count));
    if (self) {
        json_object_set_new(o, "allow_duets", json_boolean(u->allow_duets));
        json_object_set_new(o, "allow_stitches", json_boolean(u->allow_stitches));
        json_object_set_new(o, "allow_comments", json_boolean(u->allow_comments));
        json_object_set_new(o, "default_visibility", json_string(u->default_visibility));
        json_object_set_new(o, "avatar_media_id",
                            u->avatar_media_id ? json_id(u->avatar_media_id) : json_null());
        json_object_set_new(o, "cover_media_id",
                            u->cover_media_id ? json_id(u->cover_media_id) : json_null());
    } else if (viewer) {
        graph_relationship r;
        graph_relationship_of(d, viewer, u->id, &r);
        json_object_set_new(o, "relationship", relationship_json(&r));
    }
    return o;
}

/* Loads the :handle user ("me" means the viewer); answers 404/401 itself. */
static bool load_target(http_req *req, http_res *res, db *d, const auth_principal *p,
                        bool authed, store_user *out)
{
    const char *handle = http_req_param(req, "handle");
    if (strcmp(handle, "me") == 0) {
        if (!authed) {
            http_res_error(res, 401, "unauthenticated", "an access token is required", NULL);
            return false;
        }
        *out = p->user;
        return true;
    }
    domain_error err = {0};
    int rc = graph_find_user(d, authed ? p->user.id : 0, handle, out, &err);
    if (rc < 0) {
        api_fail(res, rc, &err);
        return false;
    }
    return true;
}

void api_users_get(http_req *req, http_res *res)
{
    db *d = api_db(req, res);
    auth_principal p;
    bool authed;
    store_user u;
    if (!d || !api_auth_optional(req, res, d, &p, &authed) ||
        !load_target(req, res, d, &p, authed, &u))
        return;
    activity_profile_view(authed ? p.user.id : 0, u.id);
    http_res_json(res, 200, api_profile_json(d, &u, authed ? p.user.id : 0));
}

/* A media id field where absent leaves the value (-1) and null clears it (0). */
static bool profile_image_field(json_t *body, const char *field, int64_t *out, jv_error *err)
{
    json_t *v = json_object_get(body, field);
    *out = -1;
    if (!v)
        return true;
    if (json_is_null(v)) {
        *out = 0;
        return true;
    }
    if (!jv_id(body, field, true, out, err))
        return false;
    if (*out <= 0) {
        *err = (jv_error){.field = field, .reason = "invalid_format"};
        return false;
    }
    return true;
}

/* GET /api/v1/users/by-id/:id: the profile GET /users/:handle shows, found by id. */
void api_users_get_by_id(http_req *req, http_res *res)
{
    db *d = api_db(req, res);
    auth_principal p;
    bool authed;
    if (!d || !api_auth_optional(req, res, d, &p, &authed))
        return;
    int64_t id;
    store_user u;
    domain_error err = {.code = "user_not_found", .message = "no such user"};
    int rc = id_parse(http_req_param(req, "id"), &id)
                 ? graph_find_user_by_id(d, authed ? p.user.id : 0, id, &u, &err)
                 : ERR_NOT_FOUND;
    if (rc < 0) {
        api_fail(res, rc, &err);
        return;
    }
    activity_profile_view(authed ? p.user.id : 0, u.id);
    http_res_json(res, 200, api_profile_json(d, &u, authed ? p.user.id : 0));
}

/* Parses ?ids= (comma-separated ids, at most GRAPH_USERS_BY_IDS_MAX); answers 422 itself. */
static int parse_ids(http_req *req, http_res *res, int64_t *ids)
{
    const char *q = http_req_query(req, "ids");
    if (!q || !*q) {
        api_invalid(res, &(jv_error){.field = "ids", .reason = "required"});
        return -1;
    }
    int n = 0;
    for (const char *p = q;; n++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (n == GRAPH_USERS_BY_IDS_MAX) {
            api_invalid(res, &(jv_error){.field = "ids",
                                         .reason = "too_many",
                                         .max = GRAPH_USERS_BY_IDS_MAX,
                                         .has_max = true});
            return -1;
        }
        char one[24];
        if (len == 0 || len >= sizeof one) {
            api_invalid(res, &(jv_error){.field = "ids", .reason = "invalid_format"});
            return -1;
        }
        memcpy(one, p, len);
        one[len] = '\0';
        if (!id_parse(one, &ids[n])) {
            api_invalid(res, &(jv_error){.field = "ids", .reason = "invalid_format"});
            return -1;
        }
        if (!comma)
            return n + 1;
        p = comma + 1;
    }
}

/* GET /api/v1/users/by-id?ids=1,2,3: user summaries in the order asked; ids unknown or of users
 * who block the caller are left out (docs/social.md). */
void api_users_by_ids(http_req *req, http_res *res)
{
    int64_t ids[GRAPH_USERS_BY_IDS_MAX];
    int n = parse_ids(req, res, ids);
    if (n < 0)
        return;
    db *d = api_db(req, res);
    auth_principal p;
    bool authed;
    if (!d || !api_auth_optional(req, res, d, &p, &authed))
        return;
    store_user *users = api_alloc(req, res, (size_t)n, sizeof *users);
    if (!users)
        return;
    int got = graph_users_by_ids(d, authed ? p.user.id : 0, ids, n, users);
    if (got < 0) {
        api_fail(res, got, NULL);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < got; i++)
        json_array_append_new(items, graph_user_summary_json(&users[i]));
    http_res_json(res, 200, json_pack("{s:o}", "items", items));
}

void api_users_update_me(http_req *req, http_res *res)
{
    json_t *body = http_req_json(req);
    profile_update up = {.is_private = -1, .allow_duets = -1, .allow_stitches = -1,
                         .allow_comments = -1};
    jv_error verr;
    static const char *const allowed[] = {"handle",          "display_name",   "bio",
                                          "links",           "is_private",     "allow_duets",
                                          "allow_stitches",  "allow_comments", "default_visibility",
                                          "avatar_media_id", "cover_media_id", NULL};
    if (!jv_only(body, allowed, &verr) ||
        !jv_string(body, "handle", false, 0, 64, &up.handle, &verr) ||
        !jv_string(body, "display_name", false, 0, 64, &up.display_name, &verr) ||
        !jv_string(body, "bio", false, 0, GRAPH_BIO_MAX_CHARS, &up.bio, &verr) ||
        !jv_string(body, "default_visibility", false, 0, 16, &up.default_visibility, &verr) ||
        !jv_bool(body, "is_private", false, &up.is_private, &verr) ||
        !jv_bool(body, "allow_duets", false, &up.allow_duets, &verr) ||
        !jv_bool(body, "allow_stitches", false, &up.allow_stitches, &verr) ||
        !jv_bool(body, "allow_comments", false, &up.allow_comments, &verr)) {
        api_invalid(res, &verr);
        return;
    }
    if (!profile_image_field(body, "avatar_media_id", &up.avatar_media_id, &verr) ||
        !profile_image_field(body, "cover_media_id", &up.cover_media_id, &verr)) {
        api_invalid(res, &verr);
        return;
    }
    json_t *links = json_object_get(body, "links");
    if (links && !json_is_array(links)) {
        api_invalid(res, &(jv_error){.field = "links", .reason = "must_be_array"});
        return;
    }
    up.links = links;
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    domain_error err = {0};
    int rc = graph_update_profile(d, &p.user, &up, &err);
    if (rc < 0) {
        api_fail(res, rc, &err);
        return;
    }
    http_res_json(res, 200, api_profile_json(d, &p.user, p.user.id));
}

void api_users_follow(http_req *req, http_res *res)
{
    db *d = api_db(req, res);
    auth_principal p;
    store_user target;
    if (!d || !api_auth(req, res, d, &p) || !load_target(req, res, d, &p, true, &target))
        return;
    const char *state;
    domain_error err = {0};
    int rc = graph_follow(d, &p.user, &target, &state, &err);
    if (rc < 0) {
        api_fail(res, rc, &err);
        return;
    }
    http_res_json(res, 200, json_pack("{s:s}", "status", state));
}

void api_users_unfollow(http_req *req, http_res *res)
{
    db *d = api_db(req, res);
    auth_principal p;
    store_user target;
    if (!d || !api_auth(req, res, d, &p) || !load_target(req, res, d, &p, true, &target))
        return;
    domain_error err = {0};
    int rc = graph_unfollow(d, &p.user, &target, &err);
    api_answer_empty(res, rc, &err);
}

static void send_user_page(http_res *res, db *d, store_user *users, int64_t *ids, int n,
                           int limit, int64_t viewer)
{
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, api_profile_json(d, &users[i], viewer));
    api_send_page(res, items, n, limit, n > limit ? ids[limit - 1] : 0);
}

static void list_edges(http_req *req, http_res *res, graph_list_kind kind)
{
    int64_t cursor;
    int limit;
    if (!api_page(req, res, &cursor, &limit))
        return;
    db *d = api_db(req, res);
    auth_principal p;
    bool authed;
    store_user owner;
    if (!d || !api_auth_optional(req, res, d, &p, &authed) ||
        !load_target(req, res, d, &p, authed, &owner))
        return;
    int64_t viewer = authed ? p.user.id : 0;
    store_user *users = api_alloc(req, res, (size_t)limit + 1, sizeof *users);
    if (!users)
        return;
    int64_t ids[API_PAGE_MAX + 1];
    domain_error err = {0};
    int n = graph_list(d, kind, &owner, viewer, cursor, ids, users, limit + 1, &err);
    if (n < 0) {
        api_fail(res, n, &err);
        return;
    }
    send_user_page(res, d, users, ids, n, limit, viewer);
}

void api_users_followers(http_req *req, http_res *res) { list_edges(req, res, GRAPH_FOLLOWERS); }
void api_users_following(http_req *req, http_res *res) { list_edges(req, res, GRAPH_FOLLOWING); }
void api_users_friends(http_req *req, http_res *res) { list_edges(req, res, GRAPH_FRIENDS); }

void api_users_relationship(http_req *req, http_res *res)
{
    db *d = api_db(req, res);
    auth_principal p;
    store_user target;
    if (!d || !api_auth(req, res, d, &p) || !load_target(req, res, d, &p, true, &target))
        return;
    graph_relationship r;
    graph_relationship_of(d, p.user.id, target.id, &r);
    http_res_json(res, 200, relationship_json(&r));
}

void api_follow_requests(http_req *req, http_res *res)
{
    int64_t cursor;
    int limit;
    if (!api_page(req, res, &cursor, &limit))
        return;
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    store_user *users = api_alloc(req, res, (size_t)limit + 1, sizeof *users);
    if (!users)
        return;
    int64_t ids[API_PAGE_MAX + 1];
    domain_error err = {0};
    int n = graph_request_list(d, &p.user, cursor, ids, users, limit + 1, &err);
    if (n < 0) {
        api_fail(res, n, &err);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, json_pack("{s:o, s:o}", "id", json_id(ids[i]), "user",
                                               api_user_json(&users[i], false)));
    api_send_page(res, items, n, limit, n > limit ? ids[limit - 1] : 0);
}

static void answer_request(http_req *req, http_res *res, bool accept)
{
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    int64_t id;
    domain_error err = {0};
    int rc = id_parse(http_req_param(req, "id"), &id)
                 ? graph_answer_request(d, &p.user, id, accept, &err)
                 : (err.code = "request_not_found", err.message = "no such follow request",
                    ERR_NOT_FOUND);
    api_answer_empty(res, rc, &err);
}

void api_follow_request_accept(http_req *req, http_res *res) { answer_request(req, res, true); }
void api_follow_request_reject(http_req *req, http_res *res) { answer_request(req, res, false); }

static void set_edge(http_req *req, http_res *res, bool block, bool on)
{
    db *d = api_db(req, res);
    auth_principal p;
    store_user target;
    if (!d || !api_auth(req, res, d, &p) || !load_target(req, res, d, &p, true, &target))
        return;
    domain_error err = {0};
    int rc = block ? graph_set_block(d, &p.user, &target, on, &err)
                   : graph_set_mute(d, &p.user, &target, on, &err);
    api_answer_empty(res, rc, &err);
}

void api_users_block(http_req *req, http_res *res) { set_edge(req, res, true, true); }
void api_users_unblock(http_req *req, http_res *res) { set_edge(req, res, true, false); }
void api_users_mute(http_req *req, http_res *res) { set_edge(req, res, false, true); }
void api_users_unmute(http_req *req, http_res *res) { set_edge(req, res, false, false); }

/* The viewer's own blocks or mutes, newest first. */
static void own_list(http_req *req, http_res *res, graph_list_kind kind)
{
    int64_t cursor;
    int limit;
    if (!api_page(req, res, &cursor, &limit))
        return;
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    store_user *users = api_alloc(req, res, (size_t)limit + 1, sizeof *users);
    if (!users)
        return;
    int64_t ids[API_PAGE_MAX + 1];
    domain_error err = {0};
    int n = graph_list(d, kind, &p.user, p.user.id, cursor, ids, users, limit + 1, &err);
    if (n < 0) {
        api_fail(res, n, &err);
        return;
    }
    send_user_page(res, d, users, ids, n, limit, p.user.id);
}

void api_blocks(http_req *req, http_res *res) { own_list(req, res, GRAPH_BLOCKS); }
void api_mutes(http_req *req, http_res *res) { own_list(req, res, GRAPH_MUTES); }

void api_users_posts(http_req *req, http_res *res)
{
    feed_query q;
    if (!api_feed_query(req, res, &q))
        return;
    db *d = api_db(req, res);
    auth_principal p;
    bool authed;
    store_user author;
    if (!d || !api_auth_optional(req, res, d, &p, &authed) ||
        !load_target(req, res, d, &p, authed, &author))
        return;
    api_feed_profile(res, d, authed ? &p.user : NULL, author.id, &q);
}
