/* SPDX-License-Identifier: MIT
 *
 * /api/v1/admin: operator endpoints, admins only.
 */
#include "api/api.h"

#include "core/id.h"
#include "domain/activity.h"
#include "domain/identity.h"

#include <stdlib.h>
#include <string.h>

/* The domain functions check the role themselves; asking first as well keeps a caller who may
 * not use these routes from learning anything about their bodies (403 before any 422). */
static bool admin_only(http_res *res, const auth_principal *p)
{
    domain_error err = {0};
    int rc = auth_require_role(&p->user, "admin", &err);
    if (rc < 0)
        api_fail(res, rc, &err);
    return rc == 0;
}

void api_admin_set_role(http_req *req, http_res *res)
{
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p) || !admin_only(res, &p))
        return;
    const char *role;
    jv_error verr;
    if (!jv_string(http_req_json(req), "role", true, 0, 16, &role, &verr)) {
        api_invalid(res, &verr);
        return;
    }
    int64_t id;
    if (!id_parse(http_req_param(req, "id"), &id)) {
        http_res_error(res, 404, "user_not_found", "no such user", NULL);
        return;
    }
    store_user u;
    domain_error err = {0};
    int rc = auth_set_role(api_app(req)->auth, d, &p, id, role, &u, &err);
    if (rc < 0) {
        api_fail(res, rc, &err);
        return;
    }
    http_res_json(res, 200, api_user_json(&u, true));
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

static void set_badge(http_req *req, http_res *res, bool on)
{
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p) || !admin_only(res, &p))
        return;
    const char *badge = http_req_query(req, "badge");
    json_t *body = http_req_json(req);
    jv_error verr;
    static const char *const allowed[] = {"badge", NULL};
    if (body && (!jv_only(body, allowed, &verr) ||
                 !jv_string(body, "badge", !badge, 0, 24, &badge, &verr))) {
        api_invalid(res, &verr);
        return;
    }
    if (!badge) {
        api_invalid(res, &(jv_error){.field = "badge", .reason = "required"});
        return;
    }
    int64_t id;
    if (!id_parse(http_req_param(req, "id"), &id)) {
        http_res_error(res, 404, "user_not_found", "no such user", NULL);
        return;
    }
    domain_error err = {0};
    int rc = identity_set_badge(d, &p.user, id, badge, on, &err);
    if (rc < 0) {
        api_fail(res, rc, &err);
        return;
    }
    http_res_json(res, 200, json_pack("{s:o, s:o}", "user_id", json_id(id), "badges",
                                      api_badges_json(d, id)));
}

void api_admin_grant_badge(http_req *req, http_res *res) { set_badge(req, res, true); }
void api_admin_revoke_badge(http_req *req, http_res *res) { set_badge(req, res, false); }

void api_admin_events(http_req *req, http_res *res)
{
    int64_t cursor, actor = 0;
    int limit;
    if (!api_page(req, res, &cursor, &limit))
        return;
    const char *a = http_req_query(req, "actor_id"), *type = http_req_query(req, "type");
    if (a && *a && !id_parse(a, &actor)) {
        api_invalid(res, &(jv_error){.field = "actor_id", .reason = "invalid_format"});
        return;
    }
    if (type && strlen(type) >= sizeof ((store_event *)0)->type) {
        api_invalid(res, &(jv_error){.field = "type", .reason = "too_long"});
        return;
    }
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    store_event *list = api_alloc(req, res, (size_t)limit + 1, sizeof *list);
    if (!list)
        return;
    domain_error err = {0};
    int n =
        activity_events_list(d, &p.user, actor, type ? type : "", cursor, list, limit + 1, &err);
    if (n < 0) {
        api_fail(res, n, &err);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++) {
        json_t *props = json_loads(list[i].props, 0, NULL);
        json_array_append_new(
            items, json_pack("{s:o, s:o, s:s, s:s, s:o, s:o, s:o}", "id", json_id(list[i].id),
                             "actor_id", json_id(list[i].actor_id), "type", list[i].type,
                             "object_type", list[i].object_type, "object_id",
                             json_id(list[i].object_id), "props", props ? props : json_object(),
                             "created_at", json_time(list[i].created_at)));
    }
    api_send_page(res, items, n, limit, n > limit ? list[limit - 1].id : 0);
}
