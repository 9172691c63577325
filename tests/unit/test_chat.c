/* SPDX-License-Identifier: MIT
 *
 * domain/chat.c without the server: drafts (the declared limits every send path shares,
 * API_CHAT_SEND_FIELDS, and the domain's rules across fields), the message JSON shape
 * (api/conversations_json.c), and the rules on a real SQLite database in a temporary directory
 * (one 1:1 per pair, blocks, message requests, idempotent client ids, catch-up in id order).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h needs the headers above; the blank line keeps clang-format from sorting it first */
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "core/id.h"
#include "core/util.h"
#include "domain/chat.h"
#include "store/graph.h"
#include "store/migrate.h"
#include "store/users.h"

/* What both send paths do: the declared fields (REST body; the socket's data adds
 * conversation_id), then the draft's rules across fields. */
static int parse(const char *text, bool ws, chat_draft *dr, domain_error *err)
{
    static const api_field rest[] = {API_CHAT_SEND_FIELDS, {0}};
    static const api_field socket_data[] = {
        {.name = "conversation_id", .type = API_ID, .required = true},
        API_CHAT_SEND_FIELDS,
        {0},
    };
    json_t *body = json_loads(text, 0, NULL);
    assert_non_null(body);
    memset(err, 0, sizeof *err);
    jv_error v;
    int rc = api_fields_check(body, ws ? socket_data : rest, &v) ? 0 : domain_invalid_jv(err, &v);
    if (rc == 0) {
        api_chat_draft(body, dr);
        rc = chat_draft_check(dr, err);
    }
    /* the draft borrows from the JSON: keep it for the caller's checks */
    static json_t *keep;
    json_decref(keep);
    keep = body;
    return rc;
}

static void test_draft_limits(void **state)
{
    chat_draft dr;
    domain_error err;
    assert_int_equal(
        parse("{\"text\":\"hi\",\"client_id\":\"k\",\"reply_to\":\"7\"}", false, &dr, &err), 0);
    assert_string_equal(dr.text, "hi");
    assert_string_equal(dr.client_id, "k");
    assert_int_equal(dr.reply_to, 7);
    assert_int_equal(parse("{\"attachments\":[\"5\",\"6\"]}", false, &dr, &err), 0);
    assert_int_equal(dr.n_attachments, 2);

    char *big = xmalloc(CHAT_TEXT_MAX + 32);
    strcpy(big, "{\"text\":\"");
    memset(big + 9, 'x', CHAT_TEXT_MAX + 1);
    strcpy(big + 9 + CHAT_TEXT_MAX + 1, "\"}");
    assert_int_equal(parse(big, false, &dr, &err), ERR_INVALID);
    assert_string_equal(err.field, "text");
    assert_string_equal(err.reason, "too_long");
    big[9 + CHAT_TEXT_MAX] = '"';
    big[9 + CHAT_TEXT_MAX + 1] = '}';
    big[9 + CHAT_TEXT_MAX + 2] = '\0';
    assert_int_equal(parse(big, false, &dr, &err), 0);
    free(big);

    static const struct {
        const char *json, *field;
    } bad[] = {
        {"{}", "text"},
        {"{\"text\":\"\"}", "text"},
        {"{\"text\":3}", "text"},
        {"{\"text\":\"x\",\"attachments\":\"5\"}", "attachments"},
        {"{\"text\":\"x\",\"attachments\":[5]}", "attachments"},
        {"{\"text\":\"x\",\"attachments\":[\"5\",\"5\"]}", "attachments"},
        {"{\"text\":\"x\",\"attachments\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\","
         "\"10\",\"11\"]}",
         "attachments"},
        {"{\"text\":\"x\",\"reply_to\":7}", "reply_to"},
        {"{\"text\":\"x\",\"sender_id\":\"1\"}", "sender_id"},
        {"{\"text\":\"x\",\"conversation_id\":\"1\"}", "conversation_id"}, /* REST: in the path */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse(bad[i].json, false, &dr, &err), ERR_INVALID);
        assert_string_equal(err.field, bad[i].field);
    }
    /* The socket form carries the conversation in data. */
    assert_int_equal(parse("{\"text\":\"x\"}", true, &dr, &err), ERR_INVALID);
    assert_string_equal(err.field, "conversation_id");
    assert_int_equal(parse("{\"text\":\"x\",\"conversation_id\":\"9\"}", true, &dr, &err), 0);
    assert_int_equal(dr.conversation_id, 9);
}

static void test_message_json(void **state)
{
    store_message m = {.id = 10, .conversation_id = 2, .sender_id = 3, .created_at = 1000};
    snprintf(m.kind, sizeof m.kind, "text");
    m.body = xstrdup("hello");
    snprintf(m.attachments, sizeof m.attachments, "[\"4\"]");
    json_t *o = api_chat_message_json(NULL, &m);
    assert_string_equal(json_string_value(json_object_get(o, "text")), "hello");
    assert_string_equal(json_string_value(json_object_get(o, "id")), "10");
    assert_int_equal(json_array_size(json_object_get(o, "attachments")), 1);
    assert_true(json_is_null(json_object_get(o, "client_id")));
    assert_true(json_is_false(json_object_get(o, "deleted")));
    json_decref(o);
    m.deleted_at = 2000;
    o = api_chat_message_json(NULL, &m);
    assert_true(json_is_null(json_object_get(o, "text")));
    assert_true(json_is_true(json_object_get(o, "deleted")));
    json_decref(o);
    free(m.body);
    memset(&m, 0, sizeof m);
    snprintf(m.kind, sizeof m.kind, "system");
    m.body = xstrdup("{\"event\":\"member_left\",\"user_id\":\"5\"}");
    o = api_chat_message_json(NULL, &m);
    assert_true(json_is_null(json_object_get(o, "text")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "event"), "event")),
                        "member_left");
    json_decref(o);
    free(m.body);
}

static db *d;
static char dir[64];

static int64_t user(const char *handle, bool is_private)
{
    store_user u = {0};
    u.id = id_next();
    snprintf(u.handle, sizeof u.handle, "%s", handle);
    snprintf(u.role, sizeof u.role, "user");
    u.created_at = u.updated_at = now_ms();
    assert_int_equal(store_user_insert(d, &u), 0);
    if (is_private) {
        store_user full;
        assert_int_equal(store_user_by_id(d, u.id, &full), 0);
        full.is_private = true;
        assert_int_equal(store_user_update_profile(d, &full, now_ms()), 0);
    }
    return u.id;
}

static int setup_db(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/sh-chat-unit-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char url[128], err[256];
    snprintf(url, sizeof url, "sqlite:%s/t.db", dir);
    assert_int_equal(db_open(url, &d, err, sizeof err), 0);
    assert_true(store_migrate(d, err, sizeof err) >= 0);
    return 0;
}

static int teardown_db(void **state)
{
    db_close(d);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int64_t send_text(int64_t me, int64_t conv, const char *text, const char *client_id,
                         bool *existing)
{
    chat_draft dr = {.conversation_id = conv, .text = text, .client_id = client_id};
    store_message m;
    domain_error err = {0};
    bool ex;
    int rc = chat_send(d, me, &dr, &m, existing ? existing : &ex, &err);
    if (rc < 0)
        return rc;
    int64_t id = m.id;
    store_message_free(&m);
    return id;
}

static void test_rules(void **state)
{
    int64_t a = user("ua", false), b = user("ub", false), p = user("up", true),
            x = user("ux", false);
    store_conversation c, again;
    domain_error err = {0};
    bool created;
    assert_int_equal(chat_open_direct(d, a, b, &c, &created, &err), 0);
    assert_true(created);
    assert_int_equal(chat_open_direct(d, b, a, &again, &created, &err), 0);
    assert_false(created);
    assert_int_equal(again.id, c.id);
    assert_int_equal(chat_open_direct(d, a, a, &again, &created, &err), ERR_INVALID);

    /* idempotent sends */
    bool existing;
    int64_t m1 = send_text(a, c.id, "one", "k1", &existing);
    assert_true(m1 > 0);
    assert_false(existing);
    assert_int_equal(send_text(a, c.id, "one again", "k1", &existing), m1);
    assert_true(existing);
    int64_t m2 = send_text(b, c.id, "two", NULL, NULL);
    assert_true(m2 > m1);
    assert_int_equal(send_text(x, c.id, "intruder", NULL, NULL), ERR_NOT_FOUND);

    /* catch-up: in id order, from after */
    store_message out[8], changed[8];
    int n_changed;
    int n = chat_sync(d, b, m1, out, 8, changed, 8, &n_changed, &err);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].id, m2);
    store_messages_free(out, n);
    store_messages_free(changed, n_changed);

    /* blocks stop the 1:1 both ways */
    assert_int_equal(store_block_add(d, id_next(), b, a, now_ms()), 0);
    assert_int_equal(send_text(a, c.id, "blocked", NULL, NULL), ERR_FORBIDDEN);
    assert_int_equal(send_text(b, c.id, "blocked", NULL, NULL), ERR_FORBIDDEN);
    store_conversation other;
    assert_int_equal(chat_open_direct(d, x, p, &other, &created, &err), 0);

    /* a private recipient gets a request: nothing in its sync until accepted */
    store_member mine;
    assert_int_equal(chat_get(d, p, other.id, &other, &mine, &err), 0);
    assert_string_equal(mine.state, "request");
    int64_t r1 = send_text(x, other.id, "hello?", NULL, NULL);
    assert_true(r1 > 0);
    n = chat_sync(d, p, 0, out, 8, changed, 8, &n_changed, &err);
    assert_int_equal(n, 0);
    assert_int_equal(chat_accept(d, p, other.id, &err), 0);
    n = chat_sync(d, p, 0, out, 8, changed, 8, &n_changed, &err);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].id, r1);
    store_messages_free(out, n);
    assert_int_equal(chat_accept(d, p, other.id, &err), ERR_NOT_FOUND);
}

static void test_group_limits(void **state)
{
    int64_t owner = user("gowner", false);
    int64_t *members = xcalloc(CHAT_GROUP_MAX + 1, sizeof *members);
    for (int i = 0; i < CHAT_GROUP_MAX; i++) {
        char h[32];
        snprintf(h, sizeof h, "gm%d", i);
        members[i] = user(h, false);
    }
    store_conversation g;
    domain_error err = {0};
    /* 256 in all with the creator: one more does not fit at creation... */
    assert_int_equal(chat_create_group(d, owner, "big", members, CHAT_GROUP_MAX, &g, &err),
                     ERR_INVALID);
    assert_int_equal(chat_create_group(d, owner, "big", members, CHAT_GROUP_MAX - 1, &g, &err), 0);
    assert_int_equal(g.member_count, CHAT_GROUP_MAX);
    /* ...nor later, and nothing changes */
    memset(&err, 0, sizeof err);
    assert_int_equal(chat_add_members(d, owner, g.id, &members[CHAT_GROUP_MAX - 1], 1, &err),
                     ERR_CONFLICT);
    assert_string_equal(err.code, "group_full");
    store_member mine;
    assert_int_equal(chat_get(d, owner, g.id, &g, &mine, &err), 0);
    assert_int_equal(g.member_count, CHAT_GROUP_MAX);
    /* a member leaves: there is room again; a member may not add */
    assert_int_equal(chat_remove_member(d, members[0], g.id, members[0], &err), 0);
    memset(&err, 0, sizeof err);
    assert_int_equal(chat_add_members(d, members[1], g.id, &members[CHAT_GROUP_MAX - 1], 1, &err),
                     ERR_FORBIDDEN);
    assert_int_equal(chat_add_members(d, owner, g.id, &members[CHAT_GROUP_MAX - 1], 1, &err), 0);
    assert_int_equal(chat_get(d, owner, g.id, &g, &mine, &err), 0);
    assert_int_equal(g.member_count, CHAT_GROUP_MAX);
    free(members);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_draft_limits),
        cmocka_unit_test(test_message_json),
        cmocka_unit_test_setup_teardown(test_rules, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(test_group_limits, setup_db, teardown_db),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
