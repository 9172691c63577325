/* SPDX-License-Identifier: MIT
 *
 * /api/v1/users, /api/v1/follow-requests, /api/v1/blocks and /api/v1/mutes: profiles and the
 * follow graph. It also owns the one JSON shape of a user embedded anywhere (api_user_summary_*).
 */
#include "api/api.h"

#include "core/id.h"
#include "core/util.h"
#include "domain/activity.h"
#include "domain/graph.h"
#include "domain/posts.h"
#include "domain/validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void api_user_summary_members(jsonw *w, const store_user *u)
{
    jsonw_member_id(w, "id", u->id);
    jsonw_member_string(w, "handle", u->handle);
    jsonw_member_string(w, "display_name", graph_display_name(u));
    jsonw_key(w, "avatar");
    if (u->avatar_media_id) {
        char url[700];
        media_signed_url(u->avatar_media_id, GRAPH_AVATAR_SMALL, now_ms() / 1000 + MEDIA_URL_TTL_S,
                         url, sizeof url);
        jsonw_string(w, url);
    } else {
        jsonw_null(w);
    }
    jsonw_member_bool(w, "verified", u->verified);
}

json_t *api_user_summary_json(const store_user *u)
{
    buf b = {0};
    jsonw w;
    jsonw_init(&w, &b);
    jsonw_object(&w);
    api_user_summary_members(&w, u);
    jsonw_end_object(&w);
    json_t *o = json_loadb(b.data, b.len, 0, NULL);
    buf_free(&b);
    return o ? o : json_object();
}

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

/* Loads the :handle user ("me" means the caller); answers 404/401 itself. */
static bool load_target(api_ctx *c, store_user *out)
{
    const char *handle = http_req_param(c->req, "handle");
    if (strcmp(handle, "me") == 0) {
        if (!c->authed) {
            http_res_error(c->res, 401, "unauthenticated", "an access token is required", NULL);
            return false;
        }
        *out = c->principal.user;
        return true;
    }
    domain_error err = {0};
    int rc = graph_find_user(c->db, c->viewer, handle, out, &err);
    if (rc < 0) {
        api_fail(c->res, rc, &err);
        return false;
    }
    return true;
}

static void users_get_handler(api_ctx *c)
{
    store_user u;
    if (!load_target(c, &u))
        return;
    activity_profile_view(c->viewer, u.id);
    http_res_json(c->res, 200, api_profile_json(c->db, &u, c->viewer));
}

/* GET /api/v1/users/by-id/:id: the profile GET /users/:handle shows, found by id. */
static void users_get_by_id_handler(api_ctx *c)
{
    int64_t id;
    store_user u;
    domain_error err = {.code = "user_not_found", .message = "no such user"};
    int rc = id_parse(http_req_param(c->req, "id"), &id)
                 ? graph_find_user_by_id(c->db, c->viewer, id, &u, &err)
                 : ERR_NOT_FOUND;
    if (rc < 0) {
        api_fail(c->res, rc, &err);
        return;
    }
    activity_profile_view(c->viewer, u.id);
    http_res_json(c->res, 200, api_profile_json(c->db, &u, c->viewer));
}

/* Parses ?ids= (comma-separated ids, at most GRAPH_USERS_BY_IDS_MAX; the declaration made it
 * present); answers 422 itself. */
static int parse_ids(api_ctx *c, int64_t *ids)
{
    const char *q = http_req_query(c->req, "ids");
    int n = 0;
    for (const char *p = q;; n++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (n == GRAPH_USERS_BY_IDS_MAX) {
            api_invalid(c->res, &(jv_error){.field = "ids",
                                            .reason = "too_many",
                                            .max = GRAPH_USERS_BY_IDS_MAX,
                                            .has_max = true});
            return -1;
        }
        char one[24];
        if (len == 0 || len >= sizeof one) {
            api_invalid(c->res, &(jv_error){.field = "ids", .reason = "invalid_format"});
            return -1;
        }
        memcpy(one, p, len);
        one[len] = '\0';
        if (!id_parse(one, &ids[n])) {
            api_invalid(c->res, &(jv_error){.field = "ids", .reason = "invalid_format"});
            return -1;
        }
        if (!comma)
            return n + 1;
        p = comma + 1;
    }
}

/* GET /api/v1/users/by-id?ids=1,2,3: user summaries in the order asked; ids unknown or of users
 * who block the caller are left out (docs/social.md). */
static void users_by_ids_handler(api_ctx *c)
{
    int64_t ids[GRAPH_USERS_BY_IDS_MAX];
    int n = parse_ids(c, ids);
    if (n < 0)
        return;
    store_user *users = api_alloc(c->req, c->res, (size_t)n, sizeof *users);
    if (!users)
        return;
    int got = graph_users_by_ids(c->db, c->viewer, ids, n, users);
    if (got < 0) {
        api_fail(c->res, got, NULL);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < got; i++)
        json_array_append_new(items, api_user_summary_json(&users[i]));
    http_res_json(c->res, 200, json_pack("{s:o}", "items", items));
}

/* A media id member: absent leaves the image (-1), null removes it (0). */
static int64_t image_member(const api_ctx *c, const char *name)
{
    return api_body_has(c, name) ? api_body_id(c, name) : -1;
}

/* The links member as the domain takes them (strings borrowed from the body); false when
 * api_alloc answered. */
static bool links_member(api_ctx *c, profile_update *up)
{
    json_t *links = json_object_get(c->body, "links");
    if (!json_is_array(links))
        return true; /* absent or null: unchanged */
    size_t n = json_array_size(links);
    const char **list = api_alloc(c->req, c->res, n, sizeof *list);
    if (!list)
        return false;
    for (size_t i = 0; i < n; i++)
        list[i] = json_string_value(json_array_get(links, i));
    up->links = list;
    up->n_links = (int)n;
    return true;
}

static void users_update_me_handler(api_ctx *c)
{
    profile_update up = {.handle = api_body_string(c, "handle"),
                         .display_name = api_body_string(c, "display_name"),
                         .bio = api_body_string(c, "bio"),
                         .is_private = api_body_bool(c, "is_private"),
                         .allow_duets = api_body_bool(c, "allow_duets"),
                         .allow_stitches = api_body_bool(c, "allow_stitches"),
                         .allow_comments = api_body_bool(c, "allow_comments"),
                         .default_visibility = api_body_string(c, "default_visibility"),
                         .avatar_media_id = image_member(c, "avatar_media_id"),
                         .cover_media_id = image_member(c, "cover_media_id")};
    if (!links_member(c, &up))
        return;
    store_user *me = &c->principal.user;
    domain_error err = {0};
    int rc = graph_update_profile(c->db, me, &up, &err);
    if (rc < 0) {
        api_fail(c->res, rc, &err);
        return;
    }
    http_res_json(c->res, 200, api_profile_json(c->db, me, me->id));
}

static void users_follow_handler(api_ctx *c)
{
    store_user target;
    if (!load_target(c, &target))
        return;
    const char *state;
    domain_error err = {0};
    int rc = graph_follow(c->db, &c->principal.user, &target, &state, &err);
    if (rc < 0) {
        api_fail(c->res, rc, &err);
        return;
    }
    http_res_json(c->res, 200, json_pack("{s:s}", "status", state));
}

static void users_unfollow_handler(api_ctx *c)
{
    store_user target;
    if (!load_target(c, &target))
        return;
    domain_error err = {0};
    int rc = graph_unfollow(c->db, &c->principal.user, &target, &err);
    api_answer_empty(c->res, rc, &err);
}

/* Answers a page of edges (ids[i] is users[i]'s edge), each user as a profile. */
static void list_page(api_ctx *c, graph_list_kind kind, const store_user *owner)
{
    int64_t cursor;
    int limit;
    if (!api_page(c->req, c->res, &cursor, &limit))
        return;
    store_user *users = api_alloc(c->req, c->res, (size_t)limit + 1, sizeof *users);
    int64_t *ids = api_alloc(c->req, c->res, (size_t)limit + 1, sizeof *ids);
    if (!users || !ids)
        return;
    domain_error err = {0};
    int n = graph_list(c->db, kind, owner, c->viewer, cursor, ids, users, limit + 1, &err);
    if (n < 0) {
        api_fail(c->res, n, &err);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, api_profile_json(c->db, &users[i], c->viewer));
    api_send_page(c->res, items, n, limit, n > limit ? ids[limit - 1] : 0);
}

static void list_edges(api_ctx *c, graph_list_kind kind)
{
    store_user owner;
    if (load_target(c, &owner))
        list_page(c, kind, &owner);
}

static void users_followers_handler(api_ctx *c) { list_edges(c, GRAPH_FOLLOWERS); }
static void users_following_handler(api_ctx *c) { list_edges(c, GRAPH_FOLLOWING); }
static void users_friends_handler(api_ctx *c) { list_edges(c, GRAPH_FRIENDS); }

/* The caller's own blocks or mutes, newest first. */
static void blocks_handler(api_ctx *c) { list_page(c, GRAPH_BLOCKS, &c->principal.user); }
static void mutes_handler(api_ctx *c) { list_page(c, GRAPH_MUTES, &c->principal.user); }

static void users_relationship_handler(api_ctx *c)
{
    store_user target;
    if (!load_target(c, &target))
        return;
    graph_relationship r;
    graph_relationship_of(c->db, c->viewer, target.id, &r);
    http_res_json(c->res, 200, relationship_json(&r));
}

static void follow_requests_handler(api_ctx *c)
{
    int64_t cursor;
    int limit;
    if (!api_page(c->req, c->res, &cursor, &limit))
        return;
    store_user *users = api_alloc(c->req, c->res, (size_t)limit + 1, sizeof *users);
    int64_t *ids = api_alloc(c->req, c->res, (size_t)limit + 1, sizeof *ids);
    if (!users || !ids)
        return;
    domain_error err = {0};
    int n = graph_request_list(c->db, &c->principal.user, cursor, ids, users, limit + 1, &err);
    if (n < 0) {
        api_fail(c->res, n, &err);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, json_pack("{s:o, s:o}", "id", json_id(ids[i]), "user",
                                               api_user_json(&users[i], false)));
    api_send_page(c->res, items, n, limit, n > limit ? ids[limit - 1] : 0);
}

static void answer_request(api_ctx *c, bool accept)
{
    int64_t id;
    domain_error err = {0};
    int rc = id_parse(http_req_param(c->req, "id"), &id)
                 ? graph_answer_request(c->db, &c->principal.user, id, accept, &err)
                 : (err.code = "request_not_found", err.message = "no such follow request",
                    ERR_NOT_FOUND);
    api_answer_empty(c->res, rc, &err);
}

static void follow_request_accept_handler(api_ctx *c) { answer_request(c, true); }
static void follow_request_reject_handler(api_ctx *c) { answer_request(c, false); }

static void set_edge(api_ctx *c, bool block, bool on)
{
    store_user target;
    if (!load_target(c, &target))
        return;
    domain_error err = {0};
    int rc = block ? graph_set_block(c->db, &c->principal.user, &target, on, &err)
                   : graph_set_mute(c->db, &c->principal.user, &target, on, &err);
    api_answer_empty(c->res, rc, &err);
}

static void users_block_handler(api_ctx *c) { set_edge(c, true, true); }
static void users_unblock_handler(api_ctx *c) { set_edge(c, true, false); }
static void users_mute_handler(api_ctx *c) { set_edge(c, false, true); }
static void users_unmute_handler(api_ctx *c) { set_edge(c, false, false); }

static void users_posts_handler(api_ctx *c)
{
    feed_query q;
    store_user author;
    if (!api_feed_query(c->req, c->res, &q) || !load_target(c, &author))
        return;
    api_feed_profile(c->res, c->db, c->authed ? &c->principal.user : NULL, author.id, &q);
}

static const api_field profile_body[] = {
    {.name = "handle", .type = API_STRING, .min_len = VALIDATE_HANDLE_MIN,
     .max_len = VALIDATE_HANDLE_MAX,
     .about = "a new handle; the old one stays reserved for you for 30 days"},
    {.name = "display_name", .type = API_STRING, .max_len = VALIDATE_DISPLAY_NAME_MAX,
     .about = "trimmed; no control, bidi-formatting or invisible characters; ZWJ/ZWNJ only inside "
              "a word or emoji sequence (docs/accounts.md#names); empty or blank removes it (the "
              "handle shows instead)"},
    {.name = "bio", .type = API_STRING, .max_len = GRAPH_BIO_MAX_CHARS},
    {.name = "links", .type = API_ARRAY, .max_len = GRAPH_LINKS_MAX, .items = API_STRING,
     .item_max_len = GRAPH_LINK_MAX_CHARS, .about = "http(s) URLs"},
    {.name = "is_private", .type = API_BOOL},
    {.name = "allow_duets", .type = API_BOOL},
    {.name = "allow_stitches", .type = API_BOOL},
    {.name = "allow_comments", .type = API_BOOL},
    {.name = "default_visibility", .type = API_STRING, .values = graph_visibilities},
    {.name = "avatar_media_id", .type = API_ID, .nullable = true,
     .about = "id of one of your own ready image media to show as your avatar; null removes it"},
    {.name = "cover_media_id", .type = API_ID, .nullable = true,
     .about = "id of one of your own ready image media to show as your cover image; null "
              "removes it"},
    {0},
};
static const api_field page_query[] = {API_PAGE_QUERY, {0}};
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

static const api_field ids_query[] = {
    {.name = "ids", .type = API_STRING, .required = true,
     .about = "comma-separated user ids, 1 to " STRINGIFY(GRAPH_USERS_BY_IDS_MAX)
              " (duplicates count)"},
    {0},
};
static const api_field posts_query[] = {
    API_PAGE_QUERY,
    {.name = "type", .type = API_STRING, .values = feed_types, .about = "only posts of this type"},
    {0},
};
static const api_field no_body[] = {{0}};

#define LISTS_PRIVATE "403 `private_account` for private accounts unless you follow them."

static const api_route routes[] = {
    {"GET", "/api/v1/users/by-id", users_by_ids_handler, HTTP_BLOCKING, API_OPTIONAL,
     .query = ids_query, .operation_id = "getUsersByIds", .summary = "User summaries by id",
     .description =
         "For clients holding ids (conversation members, presence, typing, admin routes). "
         "Anonymous or signed in. Ids that name no user, or a user who blocks you, are left out "
         "of `items` (no error, no placeholder): match the answer by `id`. 422 "
         "`validation_failed` with field `ids` and reason `required` (missing or empty), "
         "`invalid_format` (not a list of decimal ids, empty entries included) or `too_many` "
         "(more than " STRINGIFY(GRAPH_USERS_BY_IDS_MAX) ").",
     .response = "UserSummaries",
     .response_about = "The users found, in the order asked, each once"},
    {"GET", "/api/v1/users/by-id/:id", users_get_by_id_handler, HTTP_BLOCKING, API_OPTIONAL, .point_read = true,
     .operation_id = "getUserById", .summary = "A profile by user id",
     .description = "The same profile, with the same rules, as `GET /api/v1/users/{handle}`: 404 "
                    "`user_not_found` for an unknown or malformed id and for a user who blocks "
                    "you.",
     .response = "Profile", .response_about = "The profile"},
    {"GET", "/api/v1/users/:handle", users_get_handler, HTTP_BLOCKING, API_OPTIONAL, .point_read = true,
     .operation_id = "getUser", .summary = "A profile",
     .description = "Anonymous or signed in (`me` names the signed-in user). Signed-in viewers "
                    "get `relationship`; your own profile adds private fields and settings.",
     .response = "Profile", .response_about = "The profile"},
    {"PATCH", "/api/v1/users/me", users_update_me_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .body = profile_body, .operation_id = "updateProfile", .summary = "Edit your profile",
     .description =
         "Only the fields given change. Unknown fields answer 422 `not_allowed`; a taken handle "
         "409 `handle_taken`. `avatar_media_id` and `cover_media_id` take your own ready image "
         "media (404 `media_not_found` for an unknown or someone else's media; 422 "
         "`validation_failed` with reason `not_an_image` or `media_not_ready`); null removes "
         "them; deleting the media removes them too.",
     .response = "Profile", .response_about = "The updated profile", .errors = "404 409"},
    {"POST", "/api/v1/users/:handle/follow", users_follow_handler,
     HTTP_BLOCKING | HTTP_OPTIONAL_BODY, API_SIGNED_IN, .body = no_body, .operation_id = "follow",
     .summary = "Follow (or ask to follow a private account)",
     .description = "Idempotent. 422 `cannot_follow_self`; 403 `blocked` while you block them.",
     .response = "FollowStatus", .response_about = "`following` or `requested`",
     .errors = "403"},
    {"DELETE", "/api/v1/users/:handle/follow", users_unfollow_handler, HTTP_BLOCKING,
     API_SIGNED_IN, .operation_id = "unfollow", .summary = "Unfollow or withdraw a request",
     .status = 204, .response_about = "Done (also when there was nothing to undo)"},
    {"GET", "/api/v1/users/:handle/followers", users_followers_handler, HTTP_BLOCKING,
     API_OPTIONAL, .query = page_query, .operation_id = "listFollowers",
     .summary = "Who follows this user, newest first", .description = LISTS_PRIVATE,
     .response = "page:Profile", .response_about = "A page of profiles", .errors = "403"},
    {"GET", "/api/v1/users/:handle/following", users_following_handler, HTTP_BLOCKING,
     API_OPTIONAL, .query = page_query, .operation_id = "listFollowing",
     .summary = "Whom this user follows, newest first", .description = LISTS_PRIVATE,
     .response = "page:Profile", .response_about = "A page of profiles", .errors = "403"},
    {"GET", "/api/v1/users/:handle/friends", users_friends_handler, HTTP_BLOCKING, API_OPTIONAL,
     .query = page_query, .operation_id = "listFriends", .summary = "Mutual follows, newest first",
     .description = LISTS_PRIVATE, .response = "page:Profile",
     .response_about = "A page of profiles", .errors = "403"},
    {"GET", "/api/v1/users/:handle/relationship", users_relationship_handler, HTTP_BLOCKING,
     API_SIGNED_IN, .operation_id = "relationship", .summary = "Your relationship to a user",
     .response = "Relationship", .response_about = "Relationship"},
    {"GET", "/api/v1/users/:handle/posts", users_posts_handler, HTTP_BLOCKING, API_OPTIONAL,
     .query = posts_query, .operation_id = "userPosts",
     .summary = "A user's posts the viewer may see, newest first",
     .description = "Pages are refilled past posts the viewer may not see: a page holds `limit` "
                    "items unless it is the last (or " STRINGIFY(FEED_SCAN_MAX) " candidates in a "
                    "row were hidden); follow `next_cursor` until it is null.",
     .response = "page:Post", .response_about = "A page of posts"},
    {"GET", "/api/v1/follow-requests", follow_requests_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .query = page_query, .operation_id = "listFollowRequests",
     .summary = "Follow requests addressed to you", .response = "page:FollowRequest",
     .response_about = "A page of requests"},
    {"POST", "/api/v1/follow-requests/:id/accept", follow_request_accept_handler,
     HTTP_BLOCKING | HTTP_OPTIONAL_BODY, API_SIGNED_IN, .body = no_body,
     .operation_id = "acceptFollowRequest", .summary = "Accept a follow request",
     .description = "404 `request_not_found` for unknown requests and requests addressed to "
                    "someone else.",
     .status = 204, .response_about = "Done"},
    {"POST", "/api/v1/follow-requests/:id/reject", follow_request_reject_handler,
     HTTP_BLOCKING | HTTP_OPTIONAL_BODY, API_SIGNED_IN, .body = no_body,
     .operation_id = "rejectFollowRequest", .summary = "Reject a follow request",
     .description = "404 `request_not_found` for unknown requests and requests addressed to "
                    "someone else.",
     .status = 204, .response_about = "Done"},
    {"POST", "/api/v1/users/:handle/block", users_block_handler,
     HTTP_BLOCKING | HTTP_OPTIONAL_BODY, API_SIGNED_IN, .body = no_body, .operation_id = "block",
     .summary = "Block a user (idempotent)",
     .description = "Blocking ends follows and follow requests in both directions; the blocked "
                    "user then gets 404 for your profile and cannot follow you. 422 "
                    "`cannot_block_self`.",
     .status = 204, .response_about = "Done"},
    {"DELETE", "/api/v1/users/:handle/block", users_unblock_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .operation_id = "unblock", .summary = "Unblock a user (idempotent)", .status = 204,
     .response_about = "Done", .errors = "422"},
    {"POST", "/api/v1/users/:handle/mute", users_mute_handler, HTTP_BLOCKING | HTTP_OPTIONAL_BODY,
     API_SIGNED_IN, .body = no_body, .operation_id = "mute", .summary = "Mute a user (idempotent)",
     .description = "Muted users' posts and stories will be left out of your feeds; nothing else "
                    "changes. 422 `cannot_mute_self`.",
     .status = 204, .response_about = "Done"},
    {"DELETE", "/api/v1/users/:handle/mute", users_unmute_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .operation_id = "unmute", .summary = "Unmute a user (idempotent)", .status = 204,
     .response_about = "Done", .errors = "422"},
    {"GET", "/api/v1/blocks", blocks_handler, HTTP_BLOCKING, API_SIGNED_IN, .query = page_query,
     .operation_id = "listBlocks", .summary = "Users you block, newest first",
     .response = "page:Profile", .response_about = "A page of profiles"},
    {"GET", "/api/v1/mutes", mutes_handler, HTTP_BLOCKING, API_SIGNED_IN, .query = page_query,
     .operation_id = "listMutes", .summary = "Users you mute, newest first",
     .response = "page:Profile", .response_about = "A page of profiles"},
};

API_MODULE(users, "Profiles and the follow graph: follows and requests, blocks and mutes",
           routes);
