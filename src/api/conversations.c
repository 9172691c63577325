/* SPDX-License-Identifier: MIT
 *
 * /api/v1/conversations and /api/v1/message-requests: DMs and group chat over REST. Handlers
 * parse and shape only; every rule, write and fan-out is one domain/chat.c function, the same
 * one the socket commands (conversations_ws.c) call. A conversation the caller is not in
 * answers 404 exactly like a missing one, so ids cannot be probed.
 */
#include "api/api.h"

#include "core/id.h"
#include "domain/chat.h"
#include "domain/errors.h"

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
        last = chat_message_json(d, &m);
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

/* Authenticates and parses the :name param as an id (404 not_found_code when it is not one). */
static bool chat_request(http_req *req, http_res *res, db **d, auth_principal *p, const char *param,
                         int64_t *id, const char *not_found_code)
{
    *d = api_db(req, res);
    if (!*d || !api_auth(req, res, *d, p))
        return false;
    if (param && !id_parse(http_req_param(req, param), id)) {
        http_res_error(res, 404, not_found_code, "not found", NULL);
        return false;
    }
    return true;
}

/* Answers one conversation (GET /conversations/:id shape). */
static void send_conversation(http_res *res, db *d, int64_t me, int64_t id, int status)
{
    store_conversation c;
    store_member mine;
    domain_error err = {0};
    int rc = chat_get(d, me, id, &c, &mine, &err);
    if (rc < 0) {
        api_fail(res, rc, &err);
        return;
    }
    http_res_json(res, status, conversation_json(d, &c, &mine, chat_unread(d, &mine), true));
}

static int domain_invalid_ids(domain_error *err, const char *reason)
{
    return domain_invalid(err, "member_ids", reason);
}

/* member_ids: an array of id strings, 1..max; 422 otherwise. */
static int parse_ids(json_t *body, int64_t *out, int max, domain_error *err)
{
    json_t *a = json_object_get(body, "member_ids");
    if (!a || json_is_null(a))
        return domain_invalid_ids(err, "required");
    if (!json_is_array(a))
        return domain_invalid_ids(err, "must_be_array");
    if (json_array_size(a) > (size_t)max)
        return domain_invalid_ids(err, "too_many");
    size_t i;
    json_t *x;
    json_array_foreach(a, i, x)
    {
        if (!json_is_string(x) || !id_parse(json_string_value(x), &out[i]))
            return domain_invalid_ids(err, "invalid_format");
    }
    return (int)json_array_size(a);
}

void api_conversations_create(http_req *req, http_res *res)
{
    static const char *const allowed[] = {"kind", "title", "member_ids", NULL};
    json_t *body = http_req_json(req);
    jv_error v;
    const char *kind, *title;
    if (!jv_only(body, allowed, &v) || !jv_string(body, "kind", true, 1, 16, &kind, &v) ||
        !jv_string(body, "title", false, 0, CHAT_TITLE_MAX, &title, &v)) {
        api_invalid(res, &v);
        return;
    }
    bool group = !strcmp(kind, "group");
    if (!group && strcmp(kind, "direct")) {
        api_invalid(res, &(jv_error){.field = "kind", .reason = "invalid_format"});
        return;
    }
    if (!group && title) {
        api_invalid(res, &(jv_error){.field = "title", .reason = "not_allowed"});
        return;
    }
    int64_t ids[CHAT_GROUP_MAX];
    domain_error err = {0};
    int n = parse_ids(body, ids, CHAT_GROUP_MAX - 1, &err);
    if (n >= 0 && !group && n != 1)
        n = domain_invalid_ids(&err, "direct_needs_one");
    if (n < 0) {
        api_fail(res, n, &err);
        return;
    }
    db *d;
    auth_principal p;
    if (!chat_request(req, res, &d, &p, NULL, NULL, NULL))
        return;
    store_conversation c;
    bool created = true;
    int rc = group ? chat_create_group(d, p.user.id, title, ids, n, &c, &err)
                   : chat_open_direct(d, p.user.id, ids[0], &c, &created, &err);
    if (rc < 0)
        api_fail(res, rc, &err);
    else
        send_conversation(res, d, p.user.id, c.id, created ? 201 : 200);
}

static void list_inbox(http_req *req, http_res *res, const char *state)
{
    int64_t cursor;
    int limit;
    db *d;
    auth_principal p;
    if (!api_page(req, res, &cursor, &limit) || !chat_request(req, res, &d, &p, NULL, NULL, NULL))
        return;
    store_inbox_row *rows = api_alloc(req, res, (size_t)limit + 1, sizeof *rows);
    if (!rows)
        return;
    domain_error err = {0};
    int n = chat_inbox(d, p.user.id, state, cursor, rows, limit + 1, &err);
    if (n < 0) {
        api_fail(res, n, &err);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items,
                              conversation_json(d, &rows[i].c, &rows[i].me, rows[i].unread, false));
    api_send_page(res, items, n, limit, n > limit ? rows[limit - 1].c.activity_id : 0);
}

void api_conversations_list(http_req *req, http_res *res)
{
    list_inbox(req, res, "active");
}
void api_message_requests(http_req *req, http_res *res)
{
    list_inbox(req, res, "request");
}

void api_conversations_get(http_req *req, http_res *res)
{
    db *d;
    auth_principal p;
    int64_t id;
    if (chat_request(req, res, &d, &p, "id", &id, "conversation_not_found"))
        send_conversation(res, d, p.user.id, id, 200);
}

void api_conversations_update(http_req *req, http_res *res)
{
    static const char *const allowed[] = {"title", NULL};
    json_t *body = http_req_json(req);
    jv_error v;
    const char *title;
    if (!jv_only(body, allowed, &v) ||
        !jv_string(body, "title", true, 1, CHAT_TITLE_MAX, &title, &v)) {
        api_invalid(res, &v);
        return;
    }
    db *d;
    auth_principal p;
    int64_t id;
    if (!chat_request(req, res, &d, &p, "id", &id, "conversation_not_found"))
        return;
    domain_error err = {0};
    int rc = chat_set_title(d, p.user.id, id, title, &err);
    if (rc < 0)
        api_fail(res, rc, &err);
    else
        send_conversation(res, d, p.user.id, id, 200);
}

void api_conversations_add_members(http_req *req, http_res *res)
{
    static const char *const allowed[] = {"member_ids", NULL};
    json_t *body = http_req_json(req);
    jv_error v;
    if (!jv_only(body, allowed, &v)) {
        api_invalid(res, &v);
        return;
    }
    int64_t ids[CHAT_GROUP_MAX];
    domain_error err = {0};
    int n = parse_ids(body, ids, CHAT_GROUP_MAX - 1, &err);
    if (n == 0)
        n = domain_invalid_ids(&err, "required");
    if (n < 0) {
        api_fail(res, n, &err);
        return;
    }
    db *d;
    auth_principal p;
    int64_t id;
    if (!chat_request(req, res, &d, &p, "id", &id, "conversation_not_found"))
        return;
    int rc = chat_add_members(d, p.user.id, id, ids, n, &err);
    if (rc < 0)
        api_fail(res, rc, &err);
    else
        send_conversation(res, d, p.user.id, id, 200);
}

/* Parses :user_id; a bad one is an unknown member. */
static bool member_param(http_req *req, http_res *res, int64_t *user)
{
    if (id_parse(http_req_param(req, "user_id"), user))
        return true;
    http_res_error(res, 404, "member_not_found", "no such member", NULL);
    return false;
}

void api_conversations_set_member(http_req *req, http_res *res)
{
    static const char *const allowed[] = {"role", NULL};
    json_t *body = http_req_json(req);
    jv_error v;
    const char *role;
    if (!jv_only(body, allowed, &v) || !jv_string(body, "role", true, 1, 16, &role, &v)) {
        api_invalid(res, &v);
        return;
    }
    db *d;
    auth_principal p;
    int64_t id, user;
    if (!chat_request(req, res, &d, &p, "id", &id, "conversation_not_found") ||
        !member_param(req, res, &user))
        return;
    domain_error err = {0};
    int rc = chat_set_role(d, p.user.id, id, user, role, &err);
    if (rc < 0)
        api_fail(res, rc, &err);
    else
        send_conversation(res, d, p.user.id, id, 200);
}

void api_conversations_remove_member(http_req *req, http_res *res)
{
    db *d;
    auth_principal p;
    int64_t id, user;
    if (!chat_request(req, res, &d, &p, "id", &id, "conversation_not_found") ||
        !member_param(req, res, &user))
        return;
    domain_error err = {0};
    api_answer_empty(res, chat_remove_member(d, p.user.id, id, user, &err), &err);
}

void api_conversations_leave(http_req *req, http_res *res)
{
    db *d;
    auth_principal p;
    int64_t id;
    if (!chat_request(req, res, &d, &p, "id", &id, "conversation_not_found"))
        return;
    domain_error err = {0};
    api_answer_empty(res, chat_remove_member(d, p.user.id, id, p.user.id, &err), &err);
}

void api_conversations_messages(http_req *req, http_res *res)
{
    int64_t cursor, after = 0;
    int limit;
    const char *a = http_req_query(req, "after");
    if (!api_page(req, res, &cursor, &limit))
        return;
    if (a && *a && !id_parse(a, &after)) {
        api_invalid(res, &(jv_error){.field = "after", .reason = "invalid_format"});
        return;
    }
    if (after && cursor) {
        api_invalid(res, &(jv_error){.field = "after", .reason = "not_allowed"});
        return;
    }
    db *d;
    auth_principal p;
    int64_t id;
    if (!chat_request(req, res, &d, &p, "id", &id, "conversation_not_found"))
        return;
    store_message *ms = api_alloc(req, res, (size_t)limit + 1, sizeof *ms);
    if (!ms)
        return;
    domain_error err = {0};
    int n = chat_history(d, p.user.id, id, cursor, after, ms, limit + 1, &err);
    if (n < 0) {
        api_fail(res, n, &err);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, chat_message_json(d, &ms[i]));
    int64_t last = n > limit ? ms[limit - 1].id : 0;
    chat_messages_free(ms, n);
    /* Catch-up pages (?after=) go forward, history pages (?cursor=) backward; both answer the
     * one list shape, next_cursor being what to pass back in the same parameter. */
    api_send_page(res, items, n, limit, last);
}

void api_conversations_send(http_req *req, http_res *res)
{
    chat_draft dr;
    domain_error err = {0};
    int rc = chat_draft_parse(http_req_json(req), false, &dr, &err);
    if (rc < 0) {
        api_fail(res, rc, &err);
        return;
    }
    db *d;
    auth_principal p;
    if (!chat_request(req, res, &d, &p, "id", &dr.conversation_id, "conversation_not_found"))
        return;
    if (!api_message_budget_allows(res, p.user.id))
        return;
    store_message m;
    bool existing;
    rc = chat_send(d, p.user.id, &dr, &m, &existing, &err);
    if (rc < 0) {
        api_fail(res, rc, &err);
        return;
    }
    http_res_json(res, existing ? 200 : 201, chat_message_json(d, &m));
    chat_message_free(&m);
}

static bool message_params(http_req *req, http_res *res, db **d, auth_principal *p, int64_t *id,
                           int64_t *message_id)
{
    if (!chat_request(req, res, d, p, "id", id, "conversation_not_found"))
        return false;
    if (id_parse(http_req_param(req, "message_id"), message_id))
        return true;
    http_res_error(res, 404, "message_not_found", "no such message", NULL);
    return false;
}

void api_conversations_edit_message(http_req *req, http_res *res)
{
    db *d;
    auth_principal p;
    int64_t id, mid;
    if (!message_params(req, res, &d, &p, &id, &mid) || !api_message_budget_allows(res, p.user.id))
        return;
    store_message m;
    domain_error err = {0};
    int rc = chat_edit(d, p.user.id, id, mid, http_req_json(req), &m, &err);
    if (rc < 0) {
        api_fail(res, rc, &err);
        return;
    }
    http_res_json(res, 200, chat_message_json(d, &m));
    chat_message_free(&m);
}

void api_conversations_delete_message(http_req *req, http_res *res)
{
    db *d;
    auth_principal p;
    int64_t id, mid;
    if (!message_params(req, res, &d, &p, &id, &mid) || !api_message_budget_allows(res, p.user.id))
        return;
    domain_error err = {0};
    api_answer_empty(res, chat_delete(d, p.user.id, id, mid, &err), &err);
}

static void receipt(http_req *req, http_res *res, bool read)
{
    static const char *const allowed[] = {"message_id", NULL};
    json_t *body = http_req_json(req);
    jv_error v;
    int64_t mid;
    if (!jv_only(body, allowed, &v) || !jv_id(body, "message_id", true, &mid, &v)) {
        api_invalid(res, &v);
        return;
    }
    db *d;
    auth_principal p;
    int64_t id;
    if (!chat_request(req, res, &d, &p, "id", &id, "conversation_not_found"))
        return;
    domain_error err = {0};
    int rc = read ? chat_mark_read(d, p.user.id, id, mid, &err)
                  : chat_mark_delivered(d, p.user.id, id, mid, &err);
    api_answer_empty(res, rc, &err);
}

void api_conversations_read(http_req *req, http_res *res)
{
    receipt(req, res, true);
}
void api_conversations_delivered(http_req *req, http_res *res)
{
    receipt(req, res, false);
}

static void answer_request(http_req *req, http_res *res, bool accept)
{
    db *d;
    auth_principal p;
    int64_t id;
    if (!chat_request(req, res, &d, &p, "id", &id, "request_not_found"))
        return;
    domain_error err = {0};
    int rc = accept ? chat_accept(d, p.user.id, id, &err) : chat_decline(d, p.user.id, id, &err);
    if (rc < 0)
        api_fail(res, rc, &err);
    else if (accept)
        send_conversation(res, d, p.user.id, id, 200);
    else
        http_res_empty(res, 204);
}

void api_message_request_accept(http_req *req, http_res *res)
{
    answer_request(req, res, true);
}
void api_message_request_decline(http_req *req, http_res *res)
{
    answer_request(req, res, false);
}

/* A catch-up answer stays well under the hub's per-socket send queue (1 MiB by default), or a
 * client catching up on long messages would be closed as a slow consumer (1013): past this many
 * bytes of message text the page ends early (has_more) and changes are cut (changed_complete). */
#define SYNC_BYTES (384 * 1024)

json_t *api_chat_sync_json(db *d, int64_t me, int64_t after, domain_error *err, int *rc_out)
{
    store_message *ms = xcalloc(CHAT_SYNC_MAX + 1, sizeof *ms);
    store_message *ch = xcalloc(CHAT_SYNC_MAX, sizeof *ch);
    int n_changed = 0;
    int n = chat_sync(d, me, after, ms, CHAT_SYNC_MAX + 1, ch, CHAT_SYNC_MAX, &n_changed, err);
    *rc_out = n < 0 ? n : 0;
    json_t *out = NULL;
    if (n >= 0) {
        json_t *items = json_array(), *changes = json_array();
        size_t bytes = 0;
        int shown = 0, shown_changed = 0;
        /* a JSON-escaped character takes at most 6 bytes; 400 more for the other fields */
        while (shown < n && shown < CHAT_SYNC_MAX &&
               (shown == 0 || bytes + 6 * strlen(ms[shown].body) + 400 <= SYNC_BYTES)) {
            bytes += 6 * strlen(ms[shown].body) + 400;
            json_array_append_new(items, chat_message_json(d, &ms[shown++]));
        }
        while (shown_changed < n_changed &&
               bytes + 6 * strlen(ch[shown_changed].body) + 400 <= SYNC_BYTES) {
            bytes += 6 * strlen(ch[shown_changed].body) + 400;
            json_array_append_new(changes, chat_message_json(d, &ch[shown_changed++]));
        }
        out = json_pack("{s:o, s:o, s:b, s:b, s:o}", "messages", items, "changed", changes,
                        "has_more", n > shown, "changed_complete",
                        shown_changed == n_changed && n_changed < CHAT_SYNC_MAX, "last_id",
                        shown   ? json_id(ms[shown - 1].id)
                        : after ? json_id(after)
                                : json_null());
        /* the list shape's cursor too: the "after" of the next call while more wait */
        json_object_set_new(out, "next_cursor",
                            n > shown && shown ? json_id(ms[shown - 1].id) : json_null());
        chat_messages_free(ms, n);
        chat_messages_free(ch, n_changed);
    }
    free(ms);
    free(ch);
    return out;
}

void api_messages_sync(http_req *req, http_res *res)
{
    int64_t after = 0;
    const char *a = http_req_query(req, "after");
    if (a && *a && strcmp(a, "0") && !id_parse(a, &after)) {
        api_invalid(res, &(jv_error){.field = "after", .reason = "invalid_format"});
        return;
    }
    db *d;
    auth_principal p;
    if (!chat_request(req, res, &d, &p, NULL, NULL, NULL))
        return;
    domain_error err = {0};
    int rc;
    json_t *out = api_chat_sync_json(d, p.user.id, after, &err, &rc);
    if (rc < 0)
        api_fail(res, rc, &err);
    else
        http_res_json(res, 200, out);
}
