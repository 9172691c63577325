/* SPDX-License-Identifier: MIT
 *
 * The socket side of presence and rooms (docs/realtime.md): the commands "presence.subscribe",
 * "presence.unsubscribe", "presence.set", "room.join", "room.leave" and "room.send". This file
 * parses the commands and answers them; the state lives in the services (services/presence.c:
 * the presence thread and its tables; services/rooms.c: this node's member tables, bans and
 * slow mode applied from the control topic, the member tick) and the rules in domain/live.c
 * (who may watch whom, who may join, slow mode, membership caps).
 *
 * A viewer subscribes to a user's presence topic explicitly (mutual followers only), so a
 * change costs one publish that reaches just the subscribed sockets. A socket subscribes its
 * connection topic (core/topics.h) at its first join: the rooms service addresses it there
 * ("room.removed") and tells from it whether the socket is still open.
 *
 * Inline commands have no worker context, so the api_env (and through it the services) is
 * kept here when the commands are registered.
 */
#include "api/api.h"

#include "core/id.h"
#include "core/topics.h"
#include "domain/live.h"
#include "services/presence.h"
#include "services/rooms.h"
#include "ws/ws.h"

#include <stdio.h>
#include <string.h>

#define PRESENCE_BATCH_MAX 100 /* user ids per presence.subscribe */

static const api_env *live_env;

/* ---- presence ---------------------------------------------------------------------------- */

/* Parses {"user_ids":[...]} into ids; false after answering the error. */
static int parse_user_ids(ws_call *c, int64_t *ids)
{
    json_t *list = json_object_get(ws_call_data(c), "user_ids");
    if (!json_is_array(list) || json_array_size(list) == 0 ||
        json_array_size(list) > PRESENCE_BATCH_MAX) {
        ws_call_error(c, "validation_failed", "data.user_ids must be an array of 1 to 100 ids");
        return -1;
    }
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (!json_is_string(v) || !id_parse(json_string_value(v), &ids[i])) {
            ws_call_error(c, "validation_failed", "data.user_ids must hold user ids (strings)");
            return -1;
        }
    }
    return (int)json_array_size(list);
}

static bool presence_on(ws_call *c)
{
    if (presence_enabled(live_env->presence))
        return true;
    ws_call_error(c, "presence_disabled", "presence is switched off on this server");
    return false;
}

/* {"user_ids":[...]}: subscribes to those whose presence the caller may see and acks their
 * current state; the others are listed under "denied" (same answer for "no such user" and "not
 * mutual", so the command cannot probe the graph). */
static void cmd_presence_subscribe(ws_call *c)
{
    int64_t ids[PRESENCE_BATCH_MAX];
    if (!presence_on(c))
        return;
    int n = parse_user_ids(c, ids);
    if (n < 0)
        return;
    api_worker *w = ws_call_ctx(c);
    db *d = w ? api_worker_db(w) : NULL;
    if (!d) {
        ws_call_error(c, "database_unavailable", "the database cannot be reached");
        return;
    }
    int64_t me = ws_call_user(c);
    json_t *states = json_array(), *denied = json_array();
    for (int i = 0; i < n; i++) {
        if (!live_presence_watchable(d, me, ids[i])) {
            json_array_append_new(denied, json_id(ids[i]));
            continue;
        }
        char topic[TOPIC_MAX];
        topic_presence(topic, ids[i]);
        /* subscribe first, then read: a change in between is delivered, never lost */
        ws_call_subscribe(c, topic);
        /* a block committed since the check above may have dropped subscriptions already:
         * this one must not outlive it */
        if (!live_presence_visible(d, me, ids[i])) {
            ws_call_unsubscribe(c, topic);
            json_array_append_new(denied, json_id(ids[i]));
            continue;
        }
        store_presence p;
        live_presence_get(d, ids[i], &p);
        json_array_append_new(states, presence_json(ids[i], p.status, p.last_seen_at));
    }
    ws_call_ack(c, json_pack("{s:o, s:o}", "presence", states, "denied", denied));
}

static void cmd_presence_unsubscribe(ws_call *c)
{
    int64_t ids[PRESENCE_BATCH_MAX];
    int n = parse_user_ids(c, ids);
    if (n < 0)
        return;
    for (int i = 0; i < n; i++) {
        char topic[TOPIC_MAX];
        topic_presence(topic, ids[i]);
        ws_call_unsubscribe(c, topic);
    }
    ws_call_ack(c, NULL);
}

/* {"status":"away"|"online"} */
static void cmd_presence_set(ws_call *c)
{
    if (!presence_on(c))
        return;
    const char *status = json_string_value(json_object_get(ws_call_data(c), "status"));
    if (!status || (strcmp(status, "away") && strcmp(status, "online"))) {
        ws_call_error(c, "validation_failed", "data.status must be \"away\" or \"online\"");
        return;
    }
    presence_set(live_env->presence, ws_call_user(c), status);
    ws_call_ack(c, json_pack("{s:s}", "status", status));
}

/* ---- rooms -------------------------------------------------------------------------------- */

static const char *room_arg(ws_call *c)
{
    const char *name = json_string_value(json_object_get(ws_call_data(c), "room"));
    if (!live_room_name_valid(name)) {
        ws_call_error(c, "validation_failed", "data.room must match [a-z0-9_-]{1,64}");
        return NULL;
    }
    return name;
}

/* {"room":name}: ack {room, members, slow_mode_seconds}. Blocking: the ban list and the slow
 * mode are in the database. */
static void cmd_room_join(ws_call *c)
{
    const char *name = room_arg(c);
    if (!name)
        return;
    api_worker *w = ws_call_ctx(c);
    db *d = w ? api_worker_db(w) : NULL;
    if (!d) {
        ws_call_error(c, "database_unavailable", "the database cannot be reached");
        return;
    }
    int64_t me = ws_call_user(c);
    uint64_t cid = ws_call_connection(c);
    live_room_entry entry;
    domain_error err = {0};
    int rc = live_room_admit(d, name, me, &entry, &err);
    if (rc == ERR_FORBIDDEN) {
        ws_call_error(c, err.code, err.message);
        return;
    }
    if (rc < 0) {
        ws_call_error(c, "database_unavailable", "the database cannot be reached");
        return;
    }
    char t[TOPIC_MAX];
    topic_conn(t, cid);
    if (ws_call_subscribe(c, t) < 0) {
        ws_call_error(c, "gone", "the socket is closing");
        return;
    }
    int64_t members = 0;
    live_room_refusal refusal;
    if (rooms_join(live_env->rooms, name, cid, me, &entry, &members, &refusal) < 0) {
        char msg[128];
        if (refusal.option)
            snprintf(msg, sizeof msg,
                     "a %s may be in at most %lld rooms at once (%s); leave one "
                     "first",
                     refusal.scope, (long long)refusal.limit, refusal.option);
        else
            snprintf(msg, sizeof msg, "this node holds too many rooms");
        ws_call_error_details(
            c, "too_many_rooms", msg,
            json_pack("{s:s, s:I}", "scope", refusal.scope, "limit", (json_int_t)refusal.limit));
        return;
    }
    ws_call_ack(c, json_pack("{s:s, s:I, s:I}", "room", name, "members", (json_int_t)members,
                             "slow_mode_seconds", (json_int_t)entry.slow_mode_s));
}

static void cmd_room_leave(ws_call *c)
{
    const char *name = room_arg(c);
    if (!name)
        return;
    if (rooms_leave(live_env->rooms, name, ws_call_connection(c)) < 0) {
        ws_call_error(c, "not_member", "this socket has not joined that room");
        return;
    }
    ws_call_ack(c, json_pack("{s:s}", "room", name));
}

/* {"room":name,"text":"..."}: members only, slow mode per user; ack {id}. Inline: no database,
 * the member list and slow mode are in memory. */
static void cmd_room_send(ws_call *c)
{
    const char *name = room_arg(c);
    if (!name)
        return;
    domain_error err = {0};
    const char *text = json_string_value(json_object_get(ws_call_data(c), "text"));
    if (live_room_text_check(text, &err) < 0) {
        char msg[96];
        snprintf(msg, sizeof msg, "data.text: %s (1 to %d characters)", err.reason,
                 LIVE_ROOM_TEXT_MAX);
        ws_call_error(c, "validation_failed", msg);
        return;
    }
    int64_t id = 0, wait_s = 0;
    int rc = rooms_send(live_env->rooms, name, ws_call_connection(c), ws_call_user(c), text, &id,
                        &wait_s);
    if (rc == ERR_NOT_FOUND) {
        ws_call_error(c, "not_member", "join the room before sending to it");
        return;
    }
    if (rc == ERR_RATE_LIMITED) {
        char msg[96];
        snprintf(msg, sizeof msg, "slow mode: wait %lld s before your next message",
                 (long long)wait_s);
        ws_call_error(c, "slow_mode", msg);
        return;
    }
    ws_call_ack(c, json_pack("{s:o}", "id", json_id(id)));
}

/* ---- wiring ------------------------------------------------------------------------------- */

void api_live_ws_register(const api_env *env)
{
    live_env = env;
    ws_command_register("presence.subscribe", cmd_presence_subscribe, WS_CMD_BLOCKING);
    ws_command_register("presence.unsubscribe", cmd_presence_unsubscribe, WS_CMD_INLINE);
    ws_command_register("presence.set", cmd_presence_set, WS_CMD_INLINE);
    ws_command_register("room.join", cmd_room_join, WS_CMD_BLOCKING);
    ws_command_register("room.leave", cmd_room_leave, WS_CMD_INLINE);
    ws_command_register("room.send", cmd_room_send, WS_CMD_INLINE);
}
