/* SPDX-License-Identifier: MIT
 *
 * /api/v1/circles: the caller's close-friend lists. Every route is owner-only; another user's
 * circle answers 404 like a missing one.
 */
#include "api/api.h"

#include "core/id.h"
#include "domain/circles.h"

#include <stdlib.h>

static json_t *circle_json(const store_circle *c)
{
    return json_pack("{s:o, s:s, s:I, s:o, s:o}", "id", json_id(c->id), "name", c->name,
                     "member_count", (json_int_t)c->member_count, "created_at",
                     json_time(c->created_at), "updated_at", json_time(c->updated_at));
}

/* The :id circle; answers 404 itself. */
static bool circle_id(api_ctx *c, int64_t *id)
{
    if (id_parse(http_req_param(c->req, "id"), id))
        return true;
    http_res_error(c->res, 404, "circle_not_found", "no such circle", NULL);
    return false;
}

static void circles_create_handler(api_ctx *c)
{
    store_circle circle;
    domain_error err = {0};
    int rc = circles_create(c->db, &c->principal.user, api_body_string(c, "name"), &circle, &err);
    if (rc < 0)
        api_fail(c->res, rc, &err);
    else
        http_res_json(c->res, 201, circle_json(&circle));
}

static void circles_list_handler(api_ctx *c)
{
    int64_t cursor;
    int limit;
    if (!api_page(c->req, c->res, &cursor, &limit))
        return;
    store_circle *list = api_alloc(c->req, c->res, (size_t)limit + 1, sizeof *list);
    if (!list)
        return;
    domain_error err = {0};
    int n = circles_list(c->db, &c->principal.user, cursor, list, limit + 1, &err);
    if (n < 0) {
        api_fail(c->res, n, &err);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, circle_json(&list[i]));
    api_send_page(c->res, items, n, limit, n > limit ? list[limit - 1].id : 0);
}

static void circles_get_handler(api_ctx *c)
{
    int64_t id;
    if (!circle_id(c, &id))
        return;
    store_circle circle;
    domain_error err = {0};
    int rc = circles_get(c->db, &c->principal.user, id, &circle, &err);
    if (rc < 0)
        api_fail(c->res, rc, &err);
    else
        http_res_json(c->res, 200, circle_json(&circle));
}

static void circles_rename_handler(api_ctx *c)
{
    int64_t id;
    if (!circle_id(c, &id))
        return;
    store_circle circle;
    domain_error err = {0};
    int rc = circles_rename(c->db, &c->principal.user, id, api_body_string(c, "name"), &circle,
                            &err);
    if (rc < 0)
        api_fail(c->res, rc, &err);
    else
        http_res_json(c->res, 200, circle_json(&circle));
}

static void circles_delete_handler(api_ctx *c)
{
    int64_t id;
    if (!circle_id(c, &id))
        return;
    domain_error err = {0};
    api_answer_empty(c->res, circles_delete(c->db, &c->principal.user, id, &err), &err);
}

static void circles_members_handler(api_ctx *c)
{
    int64_t cursor, id;
    int limit;
    if (!api_page(c->req, c->res, &cursor, &limit) || !circle_id(c, &id))
        return;
    store_user *users = api_alloc(c->req, c->res, (size_t)limit + 1, sizeof *users);
    int64_t *ids = api_alloc(c->req, c->res, (size_t)limit + 1, sizeof *ids);
    if (!users || !ids)
        return;
    domain_error err = {0};
    int n = circles_members(c->db, &c->principal.user, id, cursor, ids, users, limit + 1, &err);
    if (n < 0) {
        api_fail(c->res, n, &err);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, api_user_json(&users[i], false));
    api_send_page(c->res, items, n, limit, n > limit ? ids[limit - 1] : 0);
}

static void set_member(api_ctx *c, bool add)
{
    int64_t id;
    if (!circle_id(c, &id))
        return;
    domain_error err = {0};
    int rc = circles_set_member(c->db, &c->principal.user, id, http_req_param(c->req, "handle"),
                                add, &err);
    api_answer_empty(c->res, rc, &err);
}

static void circles_add_member_handler(api_ctx *c) { set_member(c, true); }
static void circles_remove_member_handler(api_ctx *c) { set_member(c, false); }

static const api_field name_body[] = {
    {.name = "name", .type = API_STRING, .required = true, .min_len = 1,
     .max_len = CIRCLES_NAME_CHARS, .about = "shown only to you"},
    {0},
};
static const api_field page_query[] = {API_PAGE_QUERY, {0}};
static const api_field no_body[] = {{0}};

static const api_route routes[] = {
    {"GET", "/api/v1/circles", circles_list_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .query = page_query, .operation_id = "listCircles", .summary = "Your circles, newest first",
     .response = "page:Circle"},
    {"POST", "/api/v1/circles", circles_create_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .body = name_body, .operation_id = "createCircle",
     .summary = "Create a circle (close-friend list), up to 50", .status = 201,
     .response = "Circle", .response_about = "The circle", .errors = "409"},
    {"GET", "/api/v1/circles/:id", circles_get_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .operation_id = "getCircle", .summary = "One of your circles", .response = "Circle",
     .response_about = "The circle"},
    {"PATCH", "/api/v1/circles/:id", circles_rename_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .body = name_body, .operation_id = "renameCircle",
     .summary = "Rename one of your circles", .response = "Circle",
     .response_about = "The circle"},
    {"DELETE", "/api/v1/circles/:id", circles_delete_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .operation_id = "deleteCircle",
     .summary = "Delete one of your circles (posts shared to it become visible to you alone)",
     .status = 204},
    {"GET", "/api/v1/circles/:id/members", circles_members_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .query = page_query, .operation_id = "circleMembers",
     .summary = "Members of one of your circles, newest first", .response = "page:User"},
    {"PUT", "/api/v1/circles/:id/members/:handle", circles_add_member_handler,
     HTTP_BLOCKING | HTTP_OPTIONAL_BODY, API_SIGNED_IN, .body = no_body,
     .operation_id = "addCircleMember",
     .summary = "Add a user to one of your circles (idempotent)", .status = 204},
    {"DELETE", "/api/v1/circles/:id/members/:handle", circles_remove_member_handler,
     HTTP_BLOCKING, API_SIGNED_IN, .operation_id = "removeCircleMember",
     .summary = "Remove a user from one of your circles (idempotent)", .status = 204},
};

API_MODULE(circles, "Circles: close-friend lists a post can be shared to", routes);
