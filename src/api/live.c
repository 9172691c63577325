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

#include <string.h>

static json_t *room_json(api_ctx *c, const char *name)
{
    return json_pack("{s:s, s:I, s:I}", "name", name, "members",
                     (json_int_t)rooms_members(api_app(c->req)->rooms, name), "slow_mode_seconds",
                     (json_int_t)live_room_slow_mode(c->db, name));
}

static void rooms_get_handler(api_ctx *c)
{
    const char *name = http_req_param(c->req, "name");
    if (!live_room_name_valid(name))
        http_res_error(c->res, 404, "room_not_found",
                       "room names are 1 to 64 of a-z, 0-9, '_' and '-'", NULL);
    else
        http_res_json(c->res, 200, room_json(c, name));
}

static void rooms_update_handler(api_ctx *c)
{
    const char *name = http_req_param(c->req, "name");
    domain_error err = {0};
    int rc = live_room_set_slow_mode(c->db, &c->principal.user, name,
                                     api_body_int(c, "slow_mode_seconds", 0), &err);
    if (rc < 0)
        api_fail(c->res, rc, &err);
    else
        http_res_json(c->res, 200, room_json(c, name));
}

/* The member leaves the room at once. */
static void rooms_ban_handler(api_ctx *c)
{
    const char *name = http_req_param(c->req, "name");
    int64_t target = api_body_id(c, "user_id");
    domain_error err = {0};
    int rc = live_room_ban(c->db, &c->principal.user, name, target, &err);
    if (rc < 0)
        api_fail(c->res, rc, &err);
    else
        http_res_json(c->res, 200,
                      json_pack("{s:s, s:o}", "room", name, "user_id", json_id(target)));
}

static void rooms_unban_handler(api_ctx *c)
{
    int64_t target = 0;
    if (!id_parse(http_req_param(c->req, "user_id"), &target)) {
        http_res_error(c->res, 404, "ban_not_found", "that user is not banned here", NULL);
        return;
    }
    domain_error err = {0};
    int rc =
        live_room_unban(c->db, &c->principal.user, http_req_param(c->req, "name"), target, &err);
    api_answer_empty(c->res, rc, &err);
}

/* A user's presence for the caller: themself, or a mutual follower (403 otherwise). */
static void users_presence_handler(api_ctx *c)
{
    store_user target;
    const char *handle = http_req_param(c->req, "handle");
    if (!strcmp(handle, "me")) {
        target = c->principal.user;
    } else {
        domain_error err = {0};
        int rc = graph_find_user(c->db, c->viewer, handle, &target, &err);
        if (rc < 0) {
            api_fail(c->res, rc, &err);
            return;
        }
    }
    if (!presence_enabled(api_app(c->req)->presence)) {
        http_res_error(c->res, 403, "presence_disabled", "presence is switched off on this server",
                       NULL);
        return;
    }
    if (!live_presence_visible(c->db, c->viewer, target.id)) {
        http_res_error(c->res, 403, "not_mutual",
                       "presence is visible only between users who follow each other", NULL);
        return;
    }
    store_presence s;
    live_presence_get(c->db, target.id, &s);
    http_res_json(c->res, 200,
                  json_pack("{s:o, s:s, s:o}", "user_id", json_id(target.id), "status", s.status,
                            "last_seen_at",
                            s.last_seen_at ? json_time(s.last_seen_at) : json_null()));
}

static const api_field slow_mode_body[] = {
    {.name = "slow_mode_seconds", .type = API_INT, .required = true, .bounded = true,
     .minimum = 0, .maximum = LIVE_SLOW_MODE_MAX,
     .about = "seconds one user must wait between two messages in the room; 0 = off"},
    {0},
};
static const api_field ban_body[] = {
    {.name = "user_id", .type = API_ID, .required = true, .about = "the user to ban"},
    {0},
};

#define ROOM_NAME_RULE                                                                             \
    "`:name` is the room: 1 to 64 of a-z, 0-9, `_`, `-` (any such name is a room; another "        \
    "name is a 404 `room_not_found`)."

static const api_route routes[] = {
    {"GET", "/api/v1/users/:handle/presence", users_presence_handler, HTTP_BLOCKING,
     API_SIGNED_IN, .operation_id = "userPresence",
     .summary = "A user's presence (yourself or a mutual follower)",
     .description = "`:handle` is a handle in any case, or `me` for the signed-in user. `online`, "
                    "`away` or `offline` with the last time seen. Visible only between users who "
                    "follow each other: 403 `not_mutual` otherwise, 403 `presence_disabled` when "
                    "the server runs with `--presence off`, 404 for no such user. Live changes "
                    "come over the WebSocket after `presence.subscribe`.",
     .response = "Presence", .response_about = "The presence", .errors = "403"},
    {"GET", "/api/v1/rooms/:name", rooms_get_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .operation_id = "getRoom", .summary = "A room's member count and slow mode",
     .description = "Rooms are joined and chatted in over the WebSocket (`room.join`, "
                    "`room.send`, `room.leave`); this is their REST face. " ROOM_NAME_RULE,
     .response = "Room", .response_about = "The room"},
    {"PATCH", "/api/v1/rooms/:name", rooms_update_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .role = "moderator", .body = slow_mode_body, .operation_id = "updateRoom",
     .summary = "Set a room's slow mode (moderators, admins)",
     .description = "Slow mode: seconds one user must wait between two messages in the room (0 = "
                    "off); takes effect on every node at once. " ROOM_NAME_RULE,
     .response = "Room", .response_about = "The room"},
    {"POST", "/api/v1/rooms/:name/bans", rooms_ban_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .role = "moderator", .body = ban_body, .operation_id = "banFromRoom",
     .summary = "Ban a user from a room (moderators, admins)",
     .description = "Idempotent. A banned member is removed from the room at once (their sockets "
                    "get `room.removed` `{room, reason:\"banned\"}`) and can neither join nor "
                    "send. 404 `user_not_found`; 422 `cannot_ban_self`. " ROOM_NAME_RULE,
     .response = "RoomBan", .response_about = "Banned"},
    {"DELETE", "/api/v1/rooms/:name/bans/:user_id", rooms_unban_handler, HTTP_BLOCKING,
     API_SIGNED_IN, .role = "moderator", .operation_id = "unbanFromRoom",
     .summary = "Lift a room ban (moderators, admins)",
     .description = "404 `ban_not_found` when the user is not banned there. " ROOM_NAME_RULE,
     .status = 204, .response_about = "Lifted"},
};

API_MODULE(rooms, "Rooms (named chat channels, joined over the WebSocket) and presence", routes);
