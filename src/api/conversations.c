/* SPDX-License-Identifier: MIT
 *
 * /api/v1/conversations, /api/v1/message-requests and /api/v1/messages/sync: DMs and group chat
 * over REST. Handlers parse and shape only; every rule, write and fan-out is one domain/chat.c
 * function, the same one the socket commands (conversations_ws.c) call, and messages are shaped
 * by conversations_json.c for both. A conversation the caller is not in answers 404 exactly like
 * a missing one, so ids cannot be probed.
 */
#include "api/api.h"

#include "core/id.h"
#include "domain/chat.h"

#include <stdlib.h>
#include <string.h>

/* The conversation as its member me sees it; with members, the whole member list. */
static json_t *conversation_json(db *d, const store_conversation *c, const store_member *mine,
                                 int64_t unread, bool with_members)
{
    json_t *o = json_pack(
        "{s:o, s:s, s:o, s:o, s:I, s:o, s:o, s:s, s:s, s:I, s:o, s:o}", "id", json_id(c->id),
        "kind", c->kind, "title", strcmp(c->kind, "group") ? json_null() : json_string(c->title),
        "created_by", json_id(c->created_by), "member_count", (json_int_t)c->member_count,
        "created_at", json_time(c->created_at), "updated_at", json_time(c->updated_at), "role",
        mine->role, "state", mine->state, "unread", (json_int_t)unread, "last_read_id",
        mine->last_read_id ? json_id(mine->last_read_id) : json_null(), "last_activity_at",
        json_time(id_time_ms(c->activity_id)));
    json_t *last = json_null();
    store_message m;
    if (chat_last_message(d, c, mine, &m) == 0) {
        last = api_chat_message_json(d, &m);
        chat_message_free(&m);
    }
    json_object_set_new(o, "last_message", last);
    /* One query for the members and their users: a list shows only a 1:1's peer, a single
     * conversation every member. */
    bool direct = !strcmp(c->kind, "direct");
    int max = with_members ? CHAT_GROUP_MAX + 1 : direct ? 2 : 0;
    store_member *ms = xcalloc((size_t)max + 1, sizeof *ms);
    store_user *us = xcalloc((size_t)max + 1, sizeof *us);
    int n = max ? chat_members_with_users(d, c->id, ms, us, max) : 0;
    json_t *peer = json_null();
    json_t *members = json_array();
    for (int i = 0; i < n; i++) {
        if (direct && ms[i].user_id != mine->user_id) {
            json_decref(peer);
            peer = api_user_json(&us[i], false);
        }
        if (with_members)
            json_array_append_new(
                members, json_pack("{s:o, s:s, s:o, s:o}", "user", api_user_json(&us[i], false),
                                   "role", ms[i].role, "last_read_id",
                                   ms[i].last_read_id ? json_id(ms[i].last_read_id) : json_null(),
                                   "last_delivered_id",
                                   ms[i].last_delivered_id ? json_id(ms[i].last_delivered_id)
                                                           : json_null()));
    }
    free(ms);
    free(us);
    json_object_set_new(o, "peer", peer);
    if (with_members)
        json_object_set_new(o, "members", members);
    else
        json_decref(members);
    return o;
}

/* The :name path id; a malformed one answers 404 code like a missing one. */
static bool path_id(api_ctx *c, const char *name, const char *code, const char *message,
                    int64_t *id)
{
    if (id_parse(http_req_param(c->req, name), id))
        return true;
    http_res_error(c->res, 404, code, message, NULL);
    return false;
}

static bool conversation_id(api_ctx *c, int64_t *id)
{
    return path_id(c, "id", "conversation_not_found", "not found", id);
}

/* Answers one conversation (GET /conversations/:id shape). */
static void send_conversation(api_ctx *c, int64_t id, int status)
{
    store_conversation conv;
    store_member mine;
    domain_error err = {0};
    int rc = chat_get(c->db, c->viewer, id, &conv, &mine, &err);
    if (rc < 0) {
        api_fail(c->res, rc, &err);
        return;
    }
    http_res_json(c->res, status,
                  conversation_json(c->db, &conv, &mine, chat_unread(c->db, &mine), true));
}

static void invalid(api_ctx *c, const char *field, const char *reason)
{
    api_invalid(c->res, &(jv_error){.field = field, .reason = reason});
}

/* The checked member_ids (at most CHAT_GROUP_MAX - 1 ids) into out; returns how many. */
static int member_ids(const api_ctx *c, int64_t out[CHAT_GROUP_MAX])
{
    int n = 0;
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(c->body, "member_ids"), i, x)
    {
        if (n < CHAT_GROUP_MAX && id_parse(json_string_value(x), &out[n]))
            n++;
    }
    return n;
}

static void conversations_create_handler(api_ctx *c)
{
    const char *title = api_body_string(c, "title");
    bool group = !strcmp(api_body_string(c, "kind"), "group");
    int64_t ids[CHAT_GROUP_MAX];
    int n = member_ids(c, ids);
    if (!group && title) {
        invalid(c, "title", "not_allowed");
        return;
    }
    if (!group && n != 1) {
        invalid(c, "member_ids", "direct_needs_one");
        return;
    }
    store_conversation conv;
    bool created = true;
    domain_error err = {0};
    int rc = group ? chat_create_group(c->db, c->viewer, title, ids, n, &conv, &err)
                   : chat_open_direct(c->db, c->viewer, ids[0], &conv, &created, &err);
    if (rc < 0)
        api_fail(c->res, rc, &err);
    else
        send_conversation(c, conv.id, created ? 201 : 200);
}

static void list_inbox(api_ctx *c, const char *state)
{
    int64_t cursor;
    int limit;
    if (!api_page(c->req, c->res, &cursor, &limit))
        return;
    store_inbox_row *rows = api_alloc(c->req, c->res, (size_t)limit + 1, sizeof *rows);
    if (!rows)
        return;
    domain_error err = {0};
    int n = chat_inbox(c->db, c->viewer, state, cursor, rows, limit + 1, &err);
    if (n < 0) {
        api_fail(c->res, n, &err);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(
            items, conversation_json(c->db, &rows[i].c, &rows[i].me, rows[i].unread, false));
    api_send_page(c->res, items, n, limit, n > limit ? rows[limit - 1].c.activity_id : 0);
}

static void conversations_list_handler(api_ctx *c)
{
    list_inbox(c, "active");
}

static void message_requests_handler(api_ctx *c)
{
    list_inbox(c, "request");
}

static void conversations_get_handler(api_ctx *c)
{
    int64_t id;
    if (conversation_id(c, &id))
        send_conversation(c, id, 200);
}

static void conversations_update_handler(api_ctx *c)
{
    int64_t id;
    if (!conversation_id(c, &id))
        return;
    domain_error err = {0};
    int rc = chat_set_title(c->db, c->viewer, id, api_body_string(c, "title"), &err);
    if (rc < 0)
        api_fail(c->res, rc, &err);
    else
        send_conversation(c, id, 200);
}

static void conversations_add_members_handler(api_ctx *c)
{
    int64_t id, ids[CHAT_GROUP_MAX];
    int n = member_ids(c, ids);
    if (!conversation_id(c, &id))
        return;
    domain_error err = {0};
    int rc = chat_add_members(c->db, c->viewer, id, ids, n, &err);
    if (rc < 0)
        api_fail(c->res, rc, &err);
    else
        send_conversation(c, id, 200);
}

/* :id and :user_id; a bad :user_id is an unknown member. */
static bool member_params(api_ctx *c, int64_t *id, int64_t *user)
{
    return conversation_id(c, id) &&
           path_id(c, "user_id", "member_not_found", "no such member", user);
}

static void conversations_set_member_handler(api_ctx *c)
{
    int64_t id, user;
    if (!member_params(c, &id, &user))
        return;
    domain_error err = {0};
    int rc = chat_set_role(c->db, c->viewer, id, user, api_body_string(c, "role"), &err);
    if (rc < 0)
        api_fail(c->res, rc, &err);
    else
        send_conversation(c, id, 200);
}

static void conversations_remove_member_handler(api_ctx *c)
{
    int64_t id, user;
    if (!member_params(c, &id, &user))
        return;
    domain_error err = {0};
    api_answer_empty(c->res, chat_remove_member(c->db, c->viewer, id, user, &err), &err);
}

static void conversations_leave_handler(api_ctx *c)
{
    int64_t id;
    if (!conversation_id(c, &id))
        return;
    domain_error err = {0};
    api_answer_empty(c->res, chat_remove_member(c->db, c->viewer, id, c->viewer, &err), &err);
}

static void conversations_messages_handler(api_ctx *c)
{
    int64_t cursor, after = 0, id;
    int limit;
    const char *a = http_req_query(c->req, "after");
    if (!api_page(c->req, c->res, &cursor, &limit))
        return;
    if (a && *a)
        id_parse(a, &after); /* its format was checked with the query */
    if (after && cursor) {
        invalid(c, "after", "not_allowed");
        return;
    }
    if (!conversation_id(c, &id))
        return;
    store_message *ms = api_alloc(c->req, c->res, (size_t)limit + 1, sizeof *ms);
    if (!ms)
        return;
    domain_error err = {0};
    int n = chat_history(c->db, c->viewer, id, cursor, after, ms, limit + 1, &err);
    if (n < 0) {
        api_fail(c->res, n, &err);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, api_chat_message_json(c->db, &ms[i]));
    int64_t last = n > limit ? ms[limit - 1].id : 0;
    chat_messages_free(ms, n);
    /* Catch-up pages (?after=) go forward, history pages (?cursor=) backward; both answer the
     * one list shape, next_cursor being what to pass back in the same parameter. */
    api_send_page(c->res, items, n, limit, last);
}

static void conversations_send_handler(api_ctx *c)
{
    chat_draft dr;
    api_chat_draft(c->body, &dr);
    domain_error err = {0};
    /* the draft's own rules before the budget is spent on it */
    int rc = chat_draft_check(&dr, &err);
    if (rc < 0) {
        api_fail(c->res, rc, &err);
        return;
    }
    if (!conversation_id(c, &dr.conversation_id) || !api_message_budget_allows(c->res, c->viewer))
        return;
    store_message m;
    bool existing;
    rc = chat_send(c->db, c->viewer, &dr, &m, &existing, &err);
    if (rc < 0) {
        api_fail(c->res, rc, &err);
        return;
    }
    http_res_json(c->res, existing ? 200 : 201, api_chat_message_json(c->db, &m));
    chat_message_free(&m);
}

/* :id and :message_id, then the sender's message budget (edits and deletions spend it too). */
static bool message_params(api_ctx *c, int64_t *id, int64_t *message_id)
{
    return conversation_id(c, id) &&
           path_id(c, "message_id", "message_not_found", "no such message", message_id) &&
           api_message_budget_allows(c->res, c->viewer);
}

static void conversations_edit_message_handler(api_ctx *c)
{
    int64_t id, mid;
    if (!message_params(c, &id, &mid))
        return;
    store_message m;
    domain_error err = {0};
    int rc = chat_edit(c->db, c->viewer, id, mid, api_body_string(c, "text"), &m, &err);
    if (rc < 0) {
        api_fail(c->res, rc, &err);
        return;
    }
    http_res_json(c->res, 200, api_chat_message_json(c->db, &m));
    chat_message_free(&m);
}

static void conversations_delete_message_handler(api_ctx *c)
{
    int64_t id, mid;
    if (!message_params(c, &id, &mid))
        return;
    domain_error err = {0};
    api_answer_empty(c->res, chat_delete(c->db, c->viewer, id, mid, &err), &err);
}

static void receipt(api_ctx *c, bool read)
{
    int64_t id;
    if (!conversation_id(c, &id))
        return;
    int64_t mid = api_body_id(c, "message_id");
    domain_error err = {0};
    int rc = read ? chat_mark_read(c->db, c->viewer, id, mid, &err)
                  : chat_mark_delivered(c->db, c->viewer, id, mid, &err);
    api_answer_empty(c->res, rc, &err);
}

static void conversations_read_handler(api_ctx *c)
{
    receipt(c, true);
}

static void conversations_delivered_handler(api_ctx *c)
{
    receipt(c, false);
}

static void answer_request(api_ctx *c, bool accept)
{
    int64_t id;
    if (!path_id(c, "id", "request_not_found", "not found", &id))
        return;
    domain_error err = {0};
    int rc =
        accept ? chat_accept(c->db, c->viewer, id, &err) : chat_decline(c->db, c->viewer, id, &err);
    if (rc < 0)
        api_fail(c->res, rc, &err);
    else if (accept)
        send_conversation(c, id, 200);
    else
        http_res_empty(c->res, 204);
}

static void message_request_accept_handler(api_ctx *c)
{
    answer_request(c, true);
}

static void message_request_decline_handler(api_ctx *c)
{
    answer_request(c, false);
}

static void messages_sync_handler(api_ctx *c)
{
    int64_t after = 0;
    const char *a = http_req_query(c->req, "after");
    /* a message id, or 0 for "from the start": not an id, so checked here */
    if (a && *a && strcmp(a, "0") && !id_parse(a, &after)) {
        invalid(c, "after", "invalid_format");
        return;
    }
    domain_error err = {0};
    int rc;
    json_t *out = api_chat_sync_json(c->db, c->viewer, after, &err, &rc);
    if (rc < 0)
        api_fail(c->res, rc, &err);
    else
        http_res_json(c->res, 200, out);
}

#define TITLE_RULES                                                                            \
    "no control, bidi-formatting or invisible characters; ZWJ/ZWNJ only inside a word or "     \
    "emoji sequence (docs/accounts.md#names); 422 `required` when blank"

static const char *const kinds[] = {"direct", "group", NULL};
static const char *const roles[] = {"admin", "member", NULL};

static const api_field create_body[] = {
    {.name = "kind", .type = API_STRING, .required = true, .values = kinds},
    {.name = "title", .type = API_STRING, .max_len = CHAT_TITLE_MAX,
     .about = "groups only, required trimmed; " TITLE_RULES},
    {.name = "member_ids", .type = API_ARRAY, .required = true, .items = API_ID,
     .max_len = CHAT_GROUP_MAX - 1,
     .about = "the other member (direct: exactly one) or the invited members"},
    {0},
};
static const api_field title_body[] = {
    {.name = "title", .type = API_STRING, .required = true, .min_len = 1,
     .max_len = CHAT_TITLE_MAX, .about = "trimmed; " TITLE_RULES},
    {0},
};
static const api_field members_body[] = {
    {.name = "member_ids", .type = API_ARRAY, .required = true, .items = API_ID, .min_len = 1,
     .max_len = CHAT_GROUP_MAX - 1, .about = "the users to add"},
    {0},
};
static const api_field role_body[] = {
    {.name = "role", .type = API_STRING, .required = true, .values = roles},
    {0},
};
static const api_field send_body[] = {API_CHAT_SEND_FIELDS, {0}};
static const api_field edit_body[] = {
    {.name = "text", .type = API_STRING, .max_len = CHAT_TEXT_MAX,
     .about = "the new text; may be empty or absent when the message has attachments"},
    {0},
};
static const api_field receipt_body[] = {
    {.name = "message_id", .type = API_ID, .required = true},
    {0},
};
static const api_field no_body[] = {{0}};
static const api_field page_query[] = {API_PAGE_QUERY, {0}};
static const api_field history_query[] = {
    API_PAGE_QUERY,
    {.name = "after", .type = API_ID,
     .about = "a message id: the messages after it, oldest first (catch-up); next_cursor is then "
              "the `after` of the next page; not with cursor"},
    {0},
};
static const api_field sync_query[] = {
    {.name = "after", .type = API_STRING,
     .about = "the last message id you saw (0 or absent: from the start)"},
    {0},
};

static const api_route routes[] = {
    {"GET", "/api/v1/conversations", conversations_list_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .query = page_query, .operation_id = "listConversations",
     .summary = "Your conversations with their last message and unread count, latest activity "
                "first (message requests are listed separately)",
     .response = "page:Conversation",
     .response_about = "A page of conversations, latest activity first"},
    {"POST", "/api/v1/conversations", conversations_create_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .body = create_body, .operation_id = "createConversation",
     .summary = "Open a 1:1 (returns the existing one with 200) or create a group (you become "
                "its admin)",
     .description = "A 1:1 with a user who blocks you or whom you block answers 404 "
                    "`user_not_found`. A private account takes DMs from its followers only: "
                    "anyone else's 1:1 is opened as a message request for the recipient (see "
                    "/api/v1/message-requests). The 1:1 you already have with this user answers "
                    "200 with the same shape.",
     .status = 201, .response = "Conversation", .response_about = "Created",
     .errors = "404"},
    {"GET", "/api/v1/conversations/:id", conversations_get_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .operation_id = "getConversation",
     .summary = "One of your conversations with its members and receipts",
     .response = "Conversation", .response_about = "The conversation"},
    {"PATCH", "/api/v1/conversations/:id", conversations_update_handler, HTTP_BLOCKING,
     API_SIGNED_IN, .body = title_body, .operation_id = "updateConversation",
     .summary = "Rename a group (admins)",
     .response = "Conversation", .response_about = "The conversation", .errors = "403 409"},
    {"POST", "/api/v1/conversations/:id/members", conversations_add_members_handler, HTTP_BLOCKING,
     API_SIGNED_IN, .body = members_body, .operation_id = "addConversationMembers",
     .summary = "Add members to a group (admins; up to 256 members in all; idempotent)",
     .response = "Conversation", .response_about = "The conversation", .errors = "403 409"},
    {"PATCH", "/api/v1/conversations/:id/members/:user_id", conversations_set_member_handler,
     HTTP_BLOCKING, API_SIGNED_IN, .body = role_body, .operation_id = "setConversationMemberRole",
     .summary = "Promote or demote a group member (admins; a group keeps at least one admin)",
     .response = "Conversation", .response_about = "The conversation", .errors = "403 409"},
    {"DELETE", "/api/v1/conversations/:id/members/:user_id", conversations_remove_member_handler,
     HTTP_BLOCKING, API_SIGNED_IN, .operation_id = "removeConversationMember",
     .summary = "Remove a member (admins), or leave when user_id is yours", .status = 204,
     .response_about = "Removed", .errors = "403 409"},
    {"POST", "/api/v1/conversations/:id/leave", conversations_leave_handler,
     HTTP_BLOCKING | HTTP_OPTIONAL_BODY, API_SIGNED_IN, .body = no_body,
     .operation_id = "leaveConversation",
     .summary = "Leave a group; if no admin is left, the oldest member becomes admin",
     .status = 204, .response_about = "Left", .errors = "403 409"},
    {"GET", "/api/v1/conversations/:id/messages", conversations_messages_handler, HTTP_BLOCKING,
     API_SIGNED_IN, .query = history_query, .operation_id = "listConversationMessages",
     .summary = "History: newest first with ?cursor=, or oldest first above ?after=<message id> "
                "for catch-up",
     .response = "page:ChatMessage", .response_about = "A page of messages"},
    {"POST", "/api/v1/conversations/:id/messages", conversations_send_handler, HTTP_BLOCKING,
     API_SIGNED_IN, .body = send_body, .operation_id = "sendConversationMessage",
     .summary = "Send a message (persisted, then delivered to every member's sockets as "
                "`message.new`)",
     .description = "403 `cannot_message` between users who block each other (1:1). Text or at "
                    "least one attachment is required. A client_id already used answers 200 "
                    "with the first message. 429 `rate_limited` (`Retry-After` in seconds, "
                    "`details` `{retry_after_ms, budget, limit, window_seconds}`) when the "
                    "sender's `--ws-message-rate` budget, shared with the socket's "
                    "`message.send`, `message.edit`, `message.delete` and `room.send` and with "
                    "editing and deleting here, is spent.",
     .status = 201, .response = "ChatMessage", .response_about = "Sent", .errors = "403"},
    {"PATCH", "/api/v1/conversations/:id/messages/:message_id",
     conversations_edit_message_handler, HTTP_BLOCKING, API_SIGNED_IN, .body = edit_body,
     .operation_id = "editConversationMessage",
     .summary = "Edit your message's text (sets edited_at; pushed as `message.edited`)",
     .response = "ChatMessage", .response_about = "The edited message", .errors = "403 409"},
    {"DELETE", "/api/v1/conversations/:id/messages/:message_id",
     conversations_delete_message_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .operation_id = "deleteConversationMessage",
     .summary = "Delete a message for everyone (its sender, or a group admin); pushed as "
                "`message.deleted`",
     .status = 204, .response_about = "Deleted (or already deleted)", .errors = "403"},
    {"POST", "/api/v1/conversations/:id/read", conversations_read_handler, HTTP_BLOCKING,
     API_SIGNED_IN, .body = receipt_body, .operation_id = "markConversationRead",
     .summary = "Read receipt: your last read message (only moves forward); pushed to the "
                "members as `conversation.read`",
     .status = 204, .response_about = "Recorded", .errors = "403"},
    {"POST", "/api/v1/conversations/:id/delivered", conversations_delivered_handler, HTTP_BLOCKING,
     API_SIGNED_IN, .body = receipt_body, .operation_id = "markConversationDelivered",
     .summary = "Delivery receipt: every message up to message_id reached a device of yours; "
                "pushed to their senders as `message.delivered`",
     .status = 204, .response_about = "Recorded", .errors = "403"},
    {"GET", "/api/v1/message-requests", message_requests_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .query = page_query, .operation_id = "listMessageRequests",
     .summary = "1:1s opened by users you do not let DM you directly (you are private and they "
                "do not follow you); nothing is pushed to you until you accept",
     .response = "page:Conversation",
     .response_about = "A page of conversations, latest activity first"},
    {"POST", "/api/v1/message-requests/:id/accept", message_request_accept_handler,
     HTTP_BLOCKING | HTTP_OPTIONAL_BODY, API_SIGNED_IN, .body = no_body,
     .operation_id = "acceptMessageRequest",
     .summary = "Accept a message request: the conversation joins your inbox",
     .response = "Conversation", .response_about = "The conversation"},
    {"POST", "/api/v1/message-requests/:id/decline", message_request_decline_handler,
     HTTP_BLOCKING | HTTP_OPTIONAL_BODY, API_SIGNED_IN, .body = no_body,
     .operation_id = "declineMessageRequest",
     .summary = "Decline a message request: it disappears for you (the sender is not told)",
     .status = 204, .response_about = "Declined"},
    {"GET", "/api/v1/messages/sync", messages_sync_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .query = sync_query, .operation_id = "syncMessages",
     .summary = "Catch-up after a reconnect: every message after ?after= across your "
                "conversations, oldest first (up to 200, fewer when they are long, so the answer "
                "fits a socket's send queue; call again with last_id while has_more), and the "
                "older ones edited or deleted since",
     .response = "ChatSync", .response_about = "The missed messages"},
};

API_MODULE(conversations, "Direct messages and group chat. Realtime delivery over the WebSocket "
                          "(`GET /api/v1/ws`): the socket commands `message.send`, "
                          "`message.edit`, `message.delete`, `typing`, `read`, `delivered` and "
                          "`sync` / `message.sync`, and the events `message.new`, "
                          "`message.edited`, `message.deleted`, `conversation.read`, "
                          "`message.delivered`, `typing`, `conversation.accepted`; see "
                          "docs/realtime.md#conversations.",
           routes);
