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

/* Authenticates and parses :id; answers 401/404 itself. */
static bool circle_request(http_req *req, http_res *res, db **d, auth_principal *p, int64_t *id)
{
    *d = api_db(req, res);
    if (!*d || !api_auth(req, res, *d, p))
        return false;
    if (id && !id_parse(http_req_param(req, "id"), id)) {
        http_res_error(res, 404, "circle_not_found", "no such circle", NULL);
        return false;
    }
    return true;
}

static bool read_name(http_req *req, http_res *res, const char **name)
{
    static const char *const allowed[] = {"name", NULL};
    json_t *body = http_req_json(req);
    jv_error verr;
    if (!jv_only(body, allowed, &verr) ||
        !jv_string(body, "name", true, 1, CIRCLES_NAME_CHARS, name, &verr)) {
        api_invalid(res, &verr);
        return false;
    }
    return true;
}

void api_circles_create(http_req *req, http_res *res)
{
    const char *name;
    db *d;
    auth_principal p;
    if (!read_name(req, res, &name) || !circle_request(req, res, &d, &p, NULL))
        return;
    store_circle c;
    domain_error err = {0};
    int rc = circles_create(d, &p.user, name, &c, &err);
    if (rc < 0)
        api_fail(res, rc, &err);
    else
        http_res_json(res, 201, circle_json(&c));
}

void api_circles_list(http_req *req, http_res *res)
{
    int64_t cursor;
    int limit;
    db *d;
    auth_principal p;
    if (!api_page(req, res, &cursor, &limit) || !circle_request(req, res, &d, &p, NULL))
        return;
    store_circle *list = api_alloc(req, res, (size_t)limit + 1, sizeof *list);
    if (!list)
        return;
    domain_error err = {0};
    int n = circles_list(d, &p.user, cursor, list, limit + 1, &err);
    if (n < 0) {
        api_fail(res, n, &err);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, circle_json(&list[i]));
    api_send_page(res, items, n, limit, n > limit ? list[limit - 1].id : 0);
}

void api_circles_get(http_req *req, http_res *res)
{
    db *d;
    auth_principal p;
    int64_t id;
    if (!circle_request(req, res, &d, &p, &id))
        return;
    store_circle c;
    domain_error err = {0};
    int rc = circles_get(d, &p.user, id, &c, &err);
    if (rc < 0)
        api_fail(res, rc, &err);
    else
        http_res_json(res, 200, circle_json(&c));
}

void api_circles_rename(http_req *req, http_res *res)
{
    const char *name;
    db *d;
    auth_principal p;
    int64_t id;
    if (!read_name(req, res, &name) || !circle_request(req, res, &d, &p, &id))
        return;
    store_circle c;
    domain_error err = {0};
    int rc = circles_rename(d, &p.user, id, name, &c, &err);
    if (rc < 0)
        api_fail(res, rc, &err);
    else
        http_res_json(res, 200, circle_json(&c));
}

void api_circles_delete(http_req *req, http_res *res)
{
    db *d;
    auth_principal p;
    int64_t id;
    if (!circle_request(req, res, &d, &p, &id))
        return;
    domain_error err = {0};
    api_answer_empty(res, circles_delete(d, &p.user, id, &err), &err);
}

void api_circles_members(http_req *req, http_res *res)
{
    int64_t cursor, id;
    int limit;
    db *d;
    auth_principal p;
    if (!api_page(req, res, &cursor, &limit) || !circle_request(req, res, &d, &p, &id))
        return;
    store_user *users = api_alloc(req, res, (size_t)limit + 1, sizeof *users);
    if (!users)
        return;
    int64_t ids[API_PAGE_MAX + 1];
    domain_error err = {0};
    int n = circles_members(d, &p.user, id, cursor, ids, users, limit + 1, &err);
    if (n < 0) {
        api_fail(res, n, &err);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, api_user_json(&users[i], false));
    api_send_page(res, items, n, limit, n > limit ? ids[limit - 1] : 0);
}

static void set_member(http_req *req, http_res *res, bool add)
{
    db *d;
    auth_principal p;
    int64_t id;
    if (!circle_request(req, res, &d, &p, &id))
        return;
    domain_error err = {0};
    int rc = circles_set_member(d, &p.user, id, http_req_param(req, "handle"), add, &err);
    api_answer_empty(res, rc, &err);
}

void api_circles_add_member(http_req *req, http_res *res) { set_member(req, res, true); }
void api_circles_remove_member(http_req *req, http_res *res) { set_member(req, res, false); }
