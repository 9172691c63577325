/* SPDX-License-Identifier: MIT
 *
 * The socket commands of conversations (docs/realtime.md#conversations): message.send,
 * message.edit, message.delete, typing, read, delivered and sync. Each one calls the same
 * domain/chat.c function as its REST route, so a message sent on a socket is persisted and
 * fanned out exactly like one sent over HTTP; the reply is an ack carrying the result or an
 * error carrying the same code the REST route would put in its error body. A command's data is
 * checked against declared fields (api_fields_check, as the REST bodies are), and messages are
 * shaped by conversations_json.c. All of them touch the database, so they run on the hub's
 * worker pool (WS_CMD_BLOCKING).
 *
 * "sync" is shared with the hub: with data.after it is the chat catch-up (every message after
 * that id across the user's conversations, oldest first); without it, it keeps the hub's meaning
 * (relay data to the user's other sockets), so both work when this file registers after the
 * hub; "message.sync" is the catch-up alone, under a name no other resource registers.
 */
#include "api/api.h"

#include "core/bus.h"
#include "core/id.h"
#include "domain/chat.h"
#include "ws/ws.h"

#include <stdio.h>
#include <string.h>

/* The worker's database, or an error reply and NULL. */
static db *call_db(ws_call *c)
{
    api_worker *w = ws_call_ctx(c);
    db *d = w ? api_worker_db(w) : NULL;
    if (!d)
        ws_call_error(c, "database_unavailable", "the database cannot be reached");
    return d;
}

static void fail(ws_call *c, const domain_error *err)
{
    char msg[160];
    /* a broken bound is stated as over REST ("text must be at most 4000 characters") */
    bool stated = api_bounds_message(err, msg, sizeof msg);
    if (!stated && err->field)
        snprintf(msg, sizeof msg, "%s (%s: %s)", err->message ? err->message : "invalid",
                 err->field, err->reason ? err->reason : "invalid");
    else if (!stated)
        snprintf(msg, sizeof msg, "%s", err->message ? err->message : "the request failed");
    ws_call_error(c, err->code ? err->code : "internal_error", msg);
}

/* data.<field> as an id; an error reply and false otherwise. */
static bool data_id(ws_call *c, const char *field, int64_t *out)
{
    jv_error v;
    if (jv_id(ws_call_data(c), field, true, out, &v))
        return true;
    char msg[96];
    snprintf(msg, sizeof msg, "a field is invalid (%s: %s)", v.field, v.reason);
    ws_call_error(c, "validation_failed", msg);
    return false;
}

/* data against fields; a validation error reply and false otherwise. */
static bool data_check(ws_call *c, const api_field *fields)
{
    jv_error v;
    if (api_fields_check(ws_call_data(c), fields, &v))
        return true;
    domain_error err = {0};
    domain_invalid_jv(&err, &v);
    fail(c, &err);
    return false;
}

static const api_field send_data[] = {
    {.name = "conversation_id", .type = API_ID, .required = true},
    API_CHAT_SEND_FIELDS,
    {0},
};
static const api_field edit_data[] = {
    {.name = "conversation_id", .type = API_ID, .required = true},
    {.name = "message_id", .type = API_ID, .required = true},
    {.name = "text", .type = API_STRING, .max_len = CHAT_TEXT_MAX},
    {0},
};

static void cmd_send(ws_call *c)
{
    if (!data_check(c, send_data))
        return;
    chat_draft dr;
    api_chat_draft(ws_call_data(c), &dr);
    domain_error err = {0};
    db *d = call_db(c);
    if (!d)
        return;
    store_message m;
    bool existing;
    if (chat_send(d, ws_call_user(c), &dr, &m, &existing, &err) < 0) {
        fail(c, &err);
        return;
    }
    ws_call_ack(c, json_pack("{s:o, s:b}", "message", api_chat_message_json(d, &m), "existing",
                             existing));
    chat_message_free(&m);
}

static void cmd_edit(ws_call *c)
{
    int64_t conv, mid;
    if (!data_id(c, "conversation_id", &conv) || !data_id(c, "message_id", &mid))
        return;
    db *d = call_db(c);
    if (!d || !data_check(c, edit_data))
        return;
    store_message m;
    domain_error err = {0};
    const char *text = json_string_value(json_object_get(ws_call_data(c), "text"));
    if (chat_edit(d, ws_call_user(c), conv, mid, text, &m, &err) < 0) {
        fail(c, &err);
        return;
    }
    ws_call_ack(c, json_pack("{s:o}", "message", api_chat_message_json(d, &m)));
    chat_message_free(&m);
}

static void cmd_delete(ws_call *c)
{
    int64_t conv, mid;
    if (!data_id(c, "conversation_id", &conv) || !data_id(c, "message_id", &mid))
        return;
    db *d = call_db(c);
    if (!d)
        return;
    domain_error err = {0};
    if (chat_delete(d, ws_call_user(c), conv, mid, &err) < 0)
        fail(c, &err);
    else
        ws_call_ack(c, NULL);
}

static void receipt(ws_call *c, bool read)
{
    int64_t conv, mid;
    if (!data_id(c, "conversation_id", &conv) || !data_id(c, "message_id", &mid))
        return;
    db *d = call_db(c);
    if (!d)
        return;
    domain_error err = {0};
    int rc = read ? chat_mark_read(d, ws_call_user(c), conv, mid, &err)
                  : chat_mark_delivered(d, ws_call_user(c), conv, mid, &err);
    if (rc < 0)
        fail(c, &err);
    else
        ws_call_ack(c, NULL);
}

static void cmd_read(ws_call *c)
{
    receipt(c, true);
}
static void cmd_delivered(ws_call *c)
{
    receipt(c, false);
}

static void cmd_typing(ws_call *c)
{
    int64_t conv;
    if (!data_id(c, "conversation_id", &conv))
        return;
    db *d = call_db(c);
    if (!d)
        return;
    bool throttled;
    domain_error err = {0};
    if (chat_typing(d, ws_call_user(c), conv, &throttled, &err) < 0)
        fail(c, &err);
    else
        ws_call_ack(c, json_pack("{s:b, s:i}", "throttled", throttled, "expires_in_ms",
                                 CHAT_TYPING_EXPIRES_MS));
}

static void cmd_sync(ws_call *c)
{
    json_t *after_v = json_object_get(ws_call_data(c), "after");
    if (!after_v) {
        /* The hub's relay to the user's other sockets (api/realtime.c), kept as it was. */
        char cid[24];
        snprintf(cid, sizeof cid, "%llu", (unsigned long long)ws_call_connection(c));
        int n = bus_publish_user(
            ws_call_user(c), "sync",
            json_pack("{s:s, s:O}", "connection_id", cid, "payload", ws_call_data(c)));
        ws_call_ack(c, json_pack("{s:i}", "delivered", n));
        return;
    }
    int64_t after = 0;
    if (!(json_is_null(after_v) ||
          (json_is_string(after_v) && !strcmp(json_string_value(after_v), "0")) ||
          (json_is_string(after_v) && id_parse(json_string_value(after_v), &after)))) {
        ws_call_error(c, "validation_failed",
                      "a field is invalid (after: invalid_format): a message id string");
        return;
    }
    db *d = call_db(c);
    if (!d)
        return;
    domain_error err = {0};
    int rc;
    json_t *out = api_chat_sync_json(d, ws_call_user(c), after, &err, &rc);
    if (rc < 0)
        fail(c, &err);
    else
        ws_call_ack(c, out);
}

void api_conversations_ws_register(void)
{
    ws_command_register("message.send", cmd_send, WS_CMD_BLOCKING);
    ws_command_register("message.edit", cmd_edit, WS_CMD_BLOCKING);
    ws_command_register("message.delete", cmd_delete, WS_CMD_BLOCKING);
    ws_command_register("typing", cmd_typing, WS_CMD_BLOCKING);
    ws_command_register("read", cmd_read, WS_CMD_BLOCKING);
    ws_command_register("delivered", cmd_delivered, WS_CMD_BLOCKING);
    ws_command_register("sync", cmd_sync, WS_CMD_BLOCKING);
    /* The same catch-up under a name nobody else registers, whatever the order of start-up. */
    ws_command_register("message.sync", cmd_sync, WS_CMD_BLOCKING);
}
