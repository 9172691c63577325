/* SPDX-License-Identifier: MIT
 *
 * REST for presence and rooms (the socket side is live_ws.c): a user's presence as the caller
 * may see it, a room's member count and slow mode, and the moderator tools (slow mode, bans).
 * Any name matching [a-z0-9_-]{1,64} is a room, so GET answers for rooms nobody joined yet; a
 * name that cannot be a room is a 404.
 */
#include "api/api.h"

#include "core/id.h"
#include "domain/graph.h"
#include "domain/live.h"

#include <stdio.h>
#include <string.h>

static json_t *room_json(http_req *req, db *d, const char *name)
{
    return json_pack("{s:s, s:I, s:I}", "name", name, "members",
                     (json_int_t)rooms_members(api_app(req)->rooms, name), "slow_mode_seconds",
                     (json_int_t)live_room_slow_mode(d, name));
}

/* The :name parameter; answers 404 for a name that cannot be a room. */
static const char *room_param(http_req *req, http_res *res)
{
    const char *name = http_req_param(req, "name");
    if (!live_room_name_valid(name)) {
        http_res_error(res, 404, "room_not_found",
                       "room names are 1 to 64 of a-z, 0-9, '_' and '-'", NULL);
        return NULL;
    }
    return name;
}

void api_rooms_get(http_req *req, http_res *res)
{
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    const char *name = room_param(req, res);
    if (name)
        http_res_json(res, 200, room_json(req, d, name));
}

/* Body: {"slow_mode_seconds": 0..3600}; moderators and admins. */
void api_rooms_update(http_req *req, http_res *res)
{
    static const char *const allowed[] = {"slow_mode_seconds", NULL};
    json_t *body = http_req_json(req);
    jv_error verr;
    int64_t seconds = 0;
    if (!jv_only(body, allowed, &verr) ||
        !jv_int(body, "slow_mode_seconds", true, 0, LIVE_SLOW_MODE_MAX, &seconds, &verr)) {
        api_invalid(res, &verr);
        return;
    }
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    const char *name = http_req_param(req, "name");
    domain_error err = {0};
    int rc = live_room_set_slow_mode(d, &p.user, name, seconds, &err);
    if (rc < 0) {
        api_fail(res, rc, &err);
        return;
    }
    http_res_json(res, 200, room_json(req, d, name));
}

/* Body: {"user_id": "..."}; moderators and admins. The member leaves the room at once. */
void api_rooms_ban(http_req *req, http_res *res)
{
    static const char *const allowed[] = {"user_id", NULL};
    json_t *body = http_req_json(req);
    jv_error verr;
    int64_t target = 0;
    if (!jv_only(body, allowed, &verr) || !jv_id(body, "user_id", true, &target, &verr)) {
        api_invalid(res, &verr);
        return;
    }
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    const char *name = http_req_param(req, "name");
    domain_error err = {0};
    int rc = live_room_ban(d, &p.user, name, target, &err);
    if (rc < 0) {
        api_fail(res, rc, &err);
        return;
    }
    http_res_json(res, 200, json_pack("{s:s, s:o}", "room", name, "user_id", json_id(target)));
}

void api_rooms_unban(http_req *req, http_res *res)
{
    int64_t target = 0;
    if (!id_parse(http_req_param(req, "user_id"), &target)) {
        http_res_error(res, 404, "ban_not_found", "that user is not banned here", NULL);
        return;
    }
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    domain_error err = {0};
    api_answer_empty(res, live_room_unban(d, &p.user, http_req_param(req, "name"), target, &err),
                     &err);
}

/* A user's presence for the caller: themself, or a mutual follower (403 otherwise). */
void api_users_presence(http_req *req, http_res *res)
{
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    store_user target;
    const char *handle = http_req_param(req, "handle");
    if (!strcmp(handle, "me")) {
        target = p.user;
    } else {
        domain_error err = {0};
        int rc = graph_find_user(d, p.user.id, handle, &target, &err);
        if (rc < 0) {
            api_fail(res, rc, &err);
            return;
        }
    }
    if (!presence_enabled(api_app(req)->presence)) {
        http_res_error(res, 403, "presence_disabled", "presence is switched off on this server",
                       NULL);
        return;
    }
    if (!live_presence_visible(d, p.user.id, target.id)) {
        http_res_error(res, 403, "not_mutual",
                       "presence is visible only between users who follow each other", NULL);
        return;
    }
    store_presence s;
    live_presence_get(d, target.id, &s);
    http_res_json(res, 200, json_pack("{s:o, s:s, s:o}", "user_id", json_id(target.id), "status",
                                      s.status, "last_seen_at",
                                      s.last_seen_at ? json_time(s.last_seen_at) : json_null()));
}
