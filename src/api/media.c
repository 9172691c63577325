/* SPDX-License-Identifier: MIT
 *
 * /api/v1/media: a media record and its processing state, for its owner.
 */
#include "api/api.h"

#include "core/id.h"
#include "domain/media.h"

json_t *api_media_json(const store_media *m)
{
    json_t *probe = m->probe ? json_loads(m->probe, 0, NULL) : NULL;
    json_t *renditions = m->renditions ? json_loads(m->renditions, 0, NULL) : NULL;
    json_t *o = json_pack("{s:o, s:s, s:s, s:s, s:I, s:s, s:I, s:o, s:o}", "id", json_id(m->id),
                          "kind", m->kind, "mime", m->mime, "filename", m->filename, "size",
                          (json_int_t)m->size, "state", m->state, "progress",
                          (json_int_t)m->progress, "created_at", json_time(m->created_at),
                          "updated_at", json_time(m->updated_at));
    json_object_set_new(o, "error", m->error[0] ? json_string(m->error) : json_null());
    json_object_set_new(o, "probe", probe ? probe : json_null());
    json_object_set_new(o, "renditions", renditions ? renditions : json_array());
    return o;
}

void api_media_get(http_req *req, http_res *res)
{
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    int64_t id;
    if (!id_parse(http_req_param(req, "id"), &id)) {
        http_res_error(res, 404, "media_not_found", "no such media", NULL);
        return;
    }
    store_media m;
    auth_error err = {0};
    int rc = media_get_own(d, p.user.id, id, &m, &err);
    if (rc < 0) {
        api_fail(res, rc, &err);
        return;
    }
    http_res_json(res, 200, api_media_json(&m));
    store_media_free(&m);
}
