/* SPDX-License-Identifier: MIT
 *
 * /api/v1/admin: operator endpoints, admins only. Each route declares the role, so a caller who
 * may not use them learns nothing about their bodies (403 before any 422); the domain functions
 * check it again for their other callers.
 */
#include "api/api.h"

#include "core/id.h"
#include "domain/activity.h"
#include "domain/identity.h"
#include "domain/reco.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest event type the log stores. */
#define ADMIN_EVENT_TYPE_MAX_CHARS (sizeof ((store_event *)0)->type - 1)

/* The :id user; answers 404 itself. */
static bool user_id(api_ctx *c, int64_t *id)
{
    if (id_parse(http_req_param(c->req, "id"), id))
        return true;
    http_res_error(c->res, 404, "user_not_found", "no such user", NULL);
    return false;
}

static void set_role_handler(api_ctx *c)
{
    int64_t id;
    if (!user_id(c, &id))
        return;
    store_user u;
    domain_error err = {0};
    int rc = auth_set_role(api_app(c->req)->auth, c->db, &c->principal, id,
                           api_body_string(c, "role"), &u, &err);
    if (rc < 0) {
        api_fail(c->res, rc, &err);
        return;
    }
    http_res_json(c->res, 200, api_user_json(&u, true));
}

json_t *api_badges_json(db *d, int64_t user_id)
{
    char badges[IDENTITY_MAX_BADGES][STORE_BADGE_BYTES];
    int n = identity_badges_of(d, user_id, badges, IDENTITY_MAX_BADGES);
    json_t *list = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(list, json_string(badges[i]));
    return list;
}

static void set_badge(api_ctx *c, bool on)
{
    /* the body's badge, or for a revoke without one ?badge= */
    const char *badge = api_body_string(c, "badge");
    if (!badge)
        badge = http_req_query(c->req, "badge");
    if (!badge || !*badge) {
        api_invalid(c->res, &(jv_error){.field = "badge", .reason = "required"});
        return;
    }
    int64_t id;
    if (!user_id(c, &id))
        return;
    domain_error err = {0};
    int rc = identity_set_badge(c->db, &c->principal.user, id, badge, on, &err);
    if (rc < 0) {
        api_fail(c->res, rc, &err);
        return;
    }
    http_res_json(c->res, 200, json_pack("{s:o, s:o}", "user_id", json_id(id), "badges",
                                         api_badges_json(c->db, id)));
}

static void grant_badge_handler(api_ctx *c) { set_badge(c, true); }
static void revoke_badge_handler(api_ctx *c) { set_badge(c, false); }

static json_t *event_json(const store_event *e)
{
    json_t *props = json_loads(e->props, 0, NULL);
    return json_pack("{s:o, s:o, s:s, s:s, s:o, s:o, s:o}", "id", json_id(e->id), "actor_id",
                     json_id(e->actor_id), "type", e->type, "object_type", e->object_type,
                     "object_id", json_id(e->object_id), "props", props ? props : json_object(),
                     "created_at", json_time(e->created_at));
}

static void events_handler(api_ctx *c)
{
    int64_t cursor, actor = 0;
    int limit;
    if (!api_page(c->req, c->res, &cursor, &limit))
        return;
    const char *a = http_req_query(c->req, "actor_id"), *type = http_req_query(c->req, "type");
    if (a && *a)
        id_parse(a, &actor); /* the declaration checked it */
    store_event *list = api_alloc(c->req, c->res, (size_t)limit + 1, sizeof *list);
    if (!list)
        return;
    domain_error err = {0};
    int n = activity_events_list(c->db, &c->principal.user, actor, type ? type : "", cursor, list,
                                 limit + 1, &err);
    if (n < 0) {
        api_fail(c->res, n, &err);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, event_json(&list[i]));
    api_send_page(c->res, items, n, limit, n > limit ? list[limit - 1].id : 0);
}

/* What this node serves: the model's training time, size and memory. */
static json_t *reco_model_json(void)
{
    int64_t trained_at;
    int items, users;
    size_t bytes;
    reco_model_info(&trained_at, &items, &users, &bytes);
    json_t *out = json_pack("{s:b, s:i, s:i, s:I}", "model_ready", trained_at > 0, "model_items",
                            items, "model_users", users, "model_bytes", (json_int_t)bytes);
    json_object_set_new(out, "trained_at", trained_at > 0 ? json_integer(trained_at) : json_null());
    return out;
}

/* Queues a training of the recommender's models now (the periodic one is
 * --reco-retrain-interval); answers with the job, which runs off the request path. */
static void reco_train_handler(api_ctx *c)
{
    int64_t job_id;
    if (reco_request_training(c->db, &job_id) < 0) {
        api_fail(c->res, ERR_DB, NULL);
        return;
    }
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)job_id);
    json_t *out = reco_model_json();
    json_object_set_new(out, "job_id", json_string(id));
    http_res_json(c->res, 202, out);
}

static void reco_model_handler(api_ctx *c)
{
    http_res_json(c->res, 200, reco_model_json());
}

static const api_field role_body[] = {
    {.name = "role", .type = API_STRING, .required = true, .values = auth_roles},
    {0},
};
static const api_field grant_body[] = {
    {.name = "badge", .type = API_STRING, .required = true, .values = identity_badges},
    {0},
};
static const api_field revoke_body[] = {
    {.name = "badge", .type = API_STRING, .values = identity_badges,
     .about = "required unless ?badge= names it"},
    {0},
};
static const api_field revoke_query[] = {
    {.name = "badge", .type = API_STRING, .values = identity_badges,
     .about = "the badge, when the body does not name it"},
    {0},
};
static const api_field events_query[] = {
    {.name = "actor_id", .type = API_ID, .about = "only this user's actions"},
    {.name = "type", .type = API_STRING, .max_len = ADMIN_EVENT_TYPE_MAX_CHARS,
     .about = "only events of this type (like, view, follow, ...)"},
    API_PAGE_QUERY,
    {0},
};

static const api_route routes[] = {
    {"PATCH", "/api/v1/admin/users/:id/role", set_role_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .role = "admin", .body = role_body, .operation_id = "setRole",
     .summary = "Change a user's role",
     .description = "Admins only (403 `forbidden`). 404 `user_not_found`; 409 "
                    "`cannot_change_own_role`.",
     .response = "User", .response_about = "The updated user", .errors = "409"},
    {"POST", "/api/v1/admin/users/:id/badges", grant_badge_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .role = "admin", .body = grant_body, .operation_id = "grantBadge",
     .summary = "Grant a badge (admins)", .description = "Idempotent. 404 `user_not_found`.",
     .response = "UserBadges", .response_about = "The user's badges"},
    {"DELETE", "/api/v1/admin/users/:id/badges", revoke_badge_handler,
     HTTP_BLOCKING | HTTP_OPTIONAL_BODY, API_SIGNED_IN, .role = "admin", .body = revoke_body,
     .query = revoke_query, .operation_id = "revokeBadge",
     .summary = "Revoke a badge (admins); badge in the body or ?badge=",
     .description = "Idempotent. The body's badge wins over ?badge=; 422 when neither names one. "
                    "404 `user_not_found`.",
     .response = "UserBadges", .response_about = "The user's badges"},
    {"GET", "/api/v1/admin/events", events_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .role = "admin", .query = events_query, .operation_id = "adminEvents",
     .summary = "The event log, newest first (admins)", .response = "page:ActivityEvent",
     .response_about = "A page of events"},
    {"POST", "/api/v1/admin/reco/train", reco_train_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .role = "admin", .operation_id = "trainRecommender",
     .summary = "Retrain the recommender's models now (admins)",
     .description = "Queues the training job (docs/discovery.md, Models); the new model is "
                    "swapped in when it finishes, on every node at its next housekeeping round.",
     .status = 202, .response = "RecoTraining", .response_about = "The queued job and the model "
                                                                 "served now"},
    {"GET", "/api/v1/admin/reco", reco_model_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .role = "admin", .operation_id = "recommenderModel",
     .summary = "The recommender model this node serves (admins)",
     .response = "RecoModel", .response_about = "model_ready false until the first training"},
};

API_MODULE(admin, "Operator endpoints: roles, badges and the event log (admins only)", routes);
