/* SPDX-License-Identifier: MIT
 *
 * /api/v1/admin: operator endpoints, admins only.
 */
#include "api/api.h"

#include "core/id.h"

void api_admin_set_role(http_req *req, http_res *res)
{
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p) || !api_require_role(res, &p, "admin"))
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
    auth_error err = {0};
    int rc = auth_set_role(api_app(req)->auth, d, &p, id, role, &u, &err);
    if (rc < 0) {
        api_fail(res, rc, &err);
        return;
    }
    http_res_json(res, 200, api_user_json(&u, true));
}
