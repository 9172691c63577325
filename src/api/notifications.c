/* SPDX-License-Identifier: MIT
 *
 * /api/v1/notifications: the caller's notifications (grouped, newest first), the unread count,
 * marking read, and per-type preferences.
 */
#include "api/api.h"

#include "core/id.h"
#include "domain/notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void api_notifications_list(http_req *req, http_res *res)
{
    int64_t cursor, next;
    int limit;
    if (!api_page(req, res, &cursor, &limit))
        return;
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    notify_item *list = api_alloc(req, res, (size_t)limit, sizeof *list);
    if (!list)
        return;
    int n = notify_list(d, p.user.id, cursor, limit, list, &next);
    if (n < 0) {
        api_fail(res, ERR_DB, NULL);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(items, notify_item_json(&list[i]));
    http_res_json(res, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor",
                                      next ? json_id(next) : json_null()));
}

void api_notifications_unread(http_req *req, http_res *res)
{
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    int64_t n = notify_unread(d, p.user.id);
    if (n < 0) {
        api_fail(res, ERR_DB, NULL);
        return;
    }
    http_res_json(res, 200, json_pack("{s:I}", "unread", (json_int_t)n));
}

#define MAX_MARK 100

/* Body: {"ids": ["...", ...]} (up to 100) or {"all": true}. */
void api_notifications_read(http_req *req, http_res *res)
{
    json_t *body = http_req_json(req), *ids = json_object_get(body, "ids");
    static const char *const allowed[] = {"ids", "all", NULL};
    jv_error verr;
    int all;
    if (!jv_only(body, allowed, &verr) || !jv_bool(body, "all", false, &all, &verr)) {
        api_invalid(res, &verr);
        return;
    }
    int64_t list[MAX_MARK];
    int n = 0;
    if (all == 1 && ids) {
        api_invalid(res, &(jv_error){.field = "ids", .reason = "not_allowed_with_all"});
        return;
    }
    if (all != 1) {
        if (!ids) {
            api_invalid(res, &(jv_error){.field = "ids", .reason = "required"});
            return;
        }
        if (!json_is_array(ids)) {
            api_invalid(res, &(jv_error){.field = "ids", .reason = "must_be_array"});
            return;
        }
        if (json_array_size(ids) > MAX_MARK) {
            api_invalid(
                res, &(jv_error){
                         .field = "ids", .reason = "too_many", .max = MAX_MARK, .has_max = true});
            return;
        }
        size_t i;
        json_t *v;
        json_array_foreach(ids, i, v) {
            if (!json_is_string(v) || !id_parse(json_string_value(v), &list[n])) {
                api_invalid(res, &(jv_error){.field = "ids", .reason = "invalid_format"});
                return;
            }
            n++;
        }
    }
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    domain_error err = {0};
    int rc = notify_mark_read(d, p.user.id, list, all == 1 ? -1 : n, &err);
    if (rc < 0) {
        api_fail(res, rc, &err);
        return;
    }
    int64_t unread = notify_unread(d, p.user.id);
    http_res_json(res, 200, json_pack("{s:I}", "unread", (json_int_t)(unread < 0 ? 0 : unread)));
}

static json_t *prefs_json(db *d, int64_t user_id)
{
    json_t *o = json_object();
    for (const char *const *t = notify_types; *t; t++)
        json_object_set_new(o, *t, json_boolean(notify_pref_wanted(d, user_id, *t)));
    return o;
}

void api_notifications_prefs(http_req *req, http_res *res)
{
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    http_res_json(res, 200, prefs_json(d, p.user.id));
}

/* Body: {"like": false, "follow": true, ...}; unknown types are 422. */
void api_notifications_set_prefs(http_req *req, http_res *res)
{
    json_t *body = http_req_json(req);
    jv_error verr;
    if (!jv_only(body, notify_types, &verr)) {
        api_invalid(res, &verr);
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        if (!json_is_boolean(v)) {
            api_invalid(res, &(jv_error){.field = key, .reason = "must_be_boolean"});
            return;
        }
    }
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    json_object_foreach(body, key, v) {
        domain_error err = {0};
        int rc = notify_pref_set(d, p.user.id, key, json_is_true(v), &err);
        if (rc < 0) {
            api_fail(res, rc, &err);
            return;
        }
    }
    http_res_json(res, 200, prefs_json(d, p.user.id));
}
