/* SPDX-License-Identifier: MIT
 *
 * SQL for conversations, conversation_members and conversation_messages (see conversations.h).
 * The same statements run on both dialects; only the writer lock differs. Unread counts are a
 * correlated count over the (conversation_id, id) index from the member's read pointer, so
 * nothing has to be updated per recipient when a message arrives.
 */
#include "store/conversations.h"

#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONV_COLS                                                                                  \
    "c.id, c.kind, c.title, c.created_by, c.member_count, c.last_message_id, c.activity_id, "      \
    "c.created_at, c.updated_at"
#define CONV_NCOLS 9
#define MEMBER_COLS                                                                                \
    "m.conversation_id, m.user_id, m.role, m.state, m.joined_id, m.last_read_id, "                 \
    "m.last_delivered_id"
#define MSG_COLS                                                                                   \
    "x.id, x.conversation_id, x.sender_id, x.kind, x.body, x.attachments, x.reply_to, "            \
    "x.client_id, x.created_at, x.edited_at, x.deleted_at, x.updated_at"

static void copy_text(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

static void decode_conv(db_stmt *s, int at, store_conversation *c)
{
    c->id = db_col_int64(s, at);
    copy_text(c->kind, sizeof c->kind, db_col_text(s, at + 1));
    copy_text(c->title, sizeof c->title, db_col_text(s, at + 2));
    c->created_by = db_col_int64(s, at + 3);
    c->member_count = db_col_int64(s, at + 4);
    c->last_message_id = db_col_int64(s, at + 5);
    c->activity_id = db_col_int64(s, at + 6);
    c->created_at = db_col_int64(s, at + 7);
    c->updated_at = db_col_int64(s, at + 8);
}

static void decode_member(db_stmt *s, int at, store_member *m)
{
    m->conversation_id = db_col_int64(s, at);
    m->user_id = db_col_int64(s, at + 1);
    copy_text(m->role, sizeof m->role, db_col_text(s, at + 2));
    copy_text(m->state, sizeof m->state, db_col_text(s, at + 3));
    m->joined_id = db_col_int64(s, at + 4);
    m->last_read_id = db_col_int64(s, at + 5);
    m->last_delivered_id = db_col_int64(s, at + 6);
}

static void decode_message(db_stmt *s, store_message *m)
{
    memset(m, 0, sizeof *m);
    m->id = db_col_int64(s, 0);
    m->conversation_id = db_col_int64(s, 1);
    m->sender_id = db_col_int64(s, 2);
    copy_text(m->kind, sizeof m->kind, db_col_text(s, 3));
    m->body = xstrdup(db_col_text(s, 4) ? db_col_text(s, 4) : "");
    copy_text(m->attachments, sizeof m->attachments, db_col_text(s, 5));
    m->reply_to = db_col_null(s, 6) ? 0 : db_col_int64(s, 6);
    copy_text(m->client_id, sizeof m->client_id, db_col_text(s, 7));
    m->created_at = db_col_int64(s, 8);
    m->edited_at = db_col_null(s, 9) ? 0 : db_col_int64(s, 9);
    m->deleted_at = db_col_null(s, 10) ? 0 : db_col_int64(s, 10);
    m->updated_at = db_col_int64(s, 11);
}

/* Steps a bound message query into out; returns the count or a negative ERR_*. */
static int message_rows(db_stmt *s, store_message *out, int max)
{
    int n = 0, rc = DB_DONE;
    while (n < max && (rc = db_step(s)) == DB_ROW)
        decode_message(s, &out[n++]);
    db_reset(s);
    if (rc < 0) {
        store_messages_free(out, n);
        return rc;
    }
    return n;
}

/* A single-row lookup: 0, ERR_NOT_FOUND or a database error. */
static int one_row(int rc)
{
    return rc == DB_ROW ? 0 : rc == DB_DONE ? ERR_NOT_FOUND : rc;
}

int store_chat_lock(db *d)
{
    /* Without this two PostgreSQL transactions could take ids 1 and 2 and commit 2 first; a
     * client that saw 2 live and reconnects with after=2 would never get 1. */
    if (db_kind_of(d) != DB_POSTGRES)
        return 0;
    return db_exec(d, "SELECT pg_advisory_xact_lock(7353719)");
}

int store_conv_insert(db *d, const store_conversation *c, const char *pair_key)
{
    static const char *sql =
        "INSERT INTO conversations (id, kind, title, pair_key, created_by, member_count, "
        "last_message_id, activity_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, 0, ?, ?, "
        "?)";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, c->id);
    db_bind_text(s, 2, c->kind);
    db_bind_text(s, 3, c->title);
    db_bind_text(s, 4, pair_key);
    db_bind_int64(s, 5, c->created_by);
    db_bind_int64(s, 6, c->activity_id);
    db_bind_int64(s, 7, c->created_at);
    db_bind_int64(s, 8, c->updated_at);
    return db_run(s);
}

int store_conv_get(db *d, int64_t id, store_conversation *out)
{
    static const char *sql = "SELECT " CONV_COLS " FROM conversations c WHERE c.id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, id);
    int rc = db_step(s);
    if (rc == DB_ROW)
        decode_conv(s, 0, out);
    db_reset(s);
    return one_row(rc);
}

int store_conv_by_pair(db *d, const char *pair_key, store_conversation *out)
{
    static const char *sql = "SELECT " CONV_COLS " FROM conversations c WHERE c.pair_key = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_text(s, 1, pair_key);
    int rc = db_step(s);
    if (rc == DB_ROW)
        decode_conv(s, 0, out);
    db_reset(s);
    return one_row(rc);
}

int store_conv_touch(db *d, int64_t id, int64_t activity_id, int64_t message_id, int64_t now)
{
    static const char *sql = "UPDATE conversations SET activity_id = ?, last_message_id = CASE "
                             "WHEN CAST(? AS BIGINT) > 0 "
                             "THEN CAST(? AS BIGINT) "
                             "ELSE last_message_id END, updated_at = ? WHERE id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, activity_id);
    db_bind_int64(s, 2, message_id);
    db_bind_int64(s, 3, message_id);
    db_bind_int64(s, 4, now);
    db_bind_int64(s, 5, id);
    return db_run(s);
}

int store_conv_set_title(db *d, int64_t id, const char *title, int64_t now)
{
    static const char *sql = "UPDATE conversations SET title = ?, updated_at = ? WHERE id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_text(s, 1, title);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, id);
    return db_run(s);
}

int store_conv_add_members(db *d, int64_t id, int64_t delta)
{
    static const char *sql =
        "UPDATE conversations SET member_count = member_count + ? WHERE id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, delta);
    db_bind_int64(s, 2, id);
    return db_run(s);
}

int store_member_add(db *d, const store_member *m)
{
    static const char *sql =
        "INSERT INTO conversation_members (conversation_id, user_id, role, state, joined_id, "
        "last_read_id, last_delivered_id) VALUES (?, ?, ?, ?, ?, ?, ?)";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, m->conversation_id);
    db_bind_int64(s, 2, m->user_id);
    db_bind_text(s, 3, m->role);
    db_bind_text(s, 4, m->state);
    db_bind_int64(s, 5, m->joined_id);
    db_bind_int64(s, 6, m->last_read_id);
    db_bind_int64(s, 7, m->last_delivered_id);
    return db_run(s);
}

int store_member_get(db *d, int64_t conversation_id, int64_t user_id, store_member *out)
{
    static const char *sql = "SELECT " MEMBER_COLS " FROM conversation_members m "
                             "WHERE m.conversation_id = ? AND m.user_id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, conversation_id);
    db_bind_int64(s, 2, user_id);
    int rc = db_step(s);
    if (rc == DB_ROW)
        decode_member(s, 0, out);
    db_reset(s);
    return one_row(rc);
}

static int member_update(db *d, const char *sql, int64_t conversation_id, int64_t user_id,
                         const char *text)
{
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    int i = 1;
    if (text)
        db_bind_text(s, i++, text);
    db_bind_int64(s, i++, conversation_id);
    db_bind_int64(s, i, user_id);
    int rc = db_run(s);
    return rc < 0 ? rc : db_changes(d) == 1 ? 0 : ERR_NOT_FOUND;
}

int store_member_remove(db *d, int64_t conversation_id, int64_t user_id)
{
    static const char *sql =
        "DELETE FROM conversation_members WHERE conversation_id = ? AND user_id = ?";
    return member_update(d, sql, conversation_id, user_id, NULL);
}

int store_member_set_role(db *d, int64_t conversation_id, int64_t user_id, const char *role)
{
    static const char *sql =
        "UPDATE conversation_members SET role = ? WHERE conversation_id = ? AND user_id = ?";
    return member_update(d, sql, conversation_id, user_id, role);
}

int store_member_set_state(db *d, int64_t conversation_id, int64_t user_id, const char *state)
{
    static const char *sql =
        "UPDATE conversation_members SET state = ? WHERE conversation_id = ? AND user_id = ?";
    return member_update(d, sql, conversation_id, user_id, state);
}

static int move_pointer(db *d, const char *sql, int64_t conversation_id, int64_t user_id,
                        int64_t message_id, bool *moved)
{
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, message_id);
    db_bind_int64(s, 2, conversation_id);
    db_bind_int64(s, 3, user_id);
    db_bind_int64(s, 4, message_id);
    int rc = db_run(s);
    *moved = rc == 0 && db_changes(d) == 1;
    return rc;
}

int store_member_set_read(db *d, int64_t conversation_id, int64_t user_id, int64_t message_id,
                          bool *moved)
{
    static const char *sql = "UPDATE conversation_members SET last_read_id = ? WHERE "
                             "conversation_id = ? AND user_id = ? AND last_read_id < ?";
    return move_pointer(d, sql, conversation_id, user_id, message_id, moved);
}

int store_member_set_delivered(db *d, int64_t conversation_id, int64_t user_id, int64_t message_id,
                               bool *moved)
{
    static const char *sql = "UPDATE conversation_members SET last_delivered_id = ? WHERE "
                             "conversation_id = ? AND user_id = ? AND last_delivered_id < ?";
    return move_pointer(d, sql, conversation_id, user_id, message_id, moved);
}

int store_members_list(db *d, int64_t conversation_id, bool active_only, store_member *out, int max)
{
    static const char *all = "SELECT " MEMBER_COLS " FROM conversation_members m "
                             "WHERE m.conversation_id = ? ORDER BY m.joined_id LIMIT ?";
    static const char *active =
        "SELECT " MEMBER_COLS " FROM conversation_members m WHERE m.conversation_id = ? AND "
        "m.state = 'active' ORDER BY m.joined_id LIMIT ?";
    db_stmt *s = db_prepare(d, active_only ? active : all);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, conversation_id);
    db_bind_int64(s, 2, max);
    int n = 0, rc = DB_DONE;
    while (n < max && (rc = db_step(s)) == DB_ROW)
        decode_member(s, 0, &out[n++]);
    db_reset(s);
    return rc < 0 ? rc : n;
}

int store_members_with_users(db *d, int64_t conversation_id, store_member *out, store_user *users,
                             int max)
{
    static const char *sql =
        "SELECT " MEMBER_COLS ", " STORE_USER_COLUMNS " FROM conversation_members m JOIN users u "
        "ON u.id = m.user_id WHERE m.conversation_id = ? ORDER BY m.joined_id LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, conversation_id);
    db_bind_int64(s, 2, max);
    int n = 0, rc = DB_DONE;
    while (n < max && (rc = db_step(s)) == DB_ROW) {
        decode_member(s, 0, &out[n]);
        store_user_decode_at(s, 7, &users[n]);
        n++;
    }
    db_reset(s);
    return rc < 0 ? rc : n;
}

int64_t store_members_admins(db *d, int64_t conversation_id)
{
    static const char *sql = "SELECT COUNT(*) FROM conversation_members WHERE conversation_id = ? "
                             "AND role = 'admin' AND state = 'active'";
    db_stmt *s = db_prepare(d, sql);
    int64_t n = 0;
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, conversation_id);
    int rc = db_query_int64(s, &n);
    return rc < 0 ? rc : n;
}

int store_inbox(db *d, int64_t user_id, const char *state, int64_t before, store_inbox_row *out,
                int max)
{
    static const char *sql =
        "SELECT " CONV_COLS ", " MEMBER_COLS ", (SELECT COUNT(*) FROM conversation_messages x "
        "WHERE x.conversation_id = c.id AND x.id > m.last_read_id AND x.id >= m.joined_id AND "
        "x.sender_id <> m.user_id AND x.kind = 'text' AND x.deleted_at IS NULL) "
        "FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id "
        "WHERE m.user_id = ? AND m.state = ? AND c.activity_id < ? "
        "ORDER BY c.activity_id DESC LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    db_bind_text(s, 2, state);
    db_bind_int64(s, 3, before > 0 ? before : INT64_MAX);
    db_bind_int64(s, 4, max);
    int n = 0, rc = DB_DONE;
    while (n < max && (rc = db_step(s)) == DB_ROW) {
        decode_conv(s, 0, &out[n].c);
        decode_member(s, CONV_NCOLS, &out[n].me);
        out[n].unread = db_col_int64(s, CONV_NCOLS + 7);
        n++;
    }
    db_reset(s);
    return rc < 0 ? rc : n;
}

int64_t store_unread_count(db *d, const store_member *m)
{
    static const char *sql =
        "SELECT COUNT(*) FROM conversation_messages x WHERE x.conversation_id = ? AND x.id > ? "
        "AND x.id >= ? AND x.sender_id <> ? AND x.kind = 'text' AND x.deleted_at IS NULL";
    db_stmt *s = db_prepare(d, sql);
    int64_t n = 0;
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, m->conversation_id);
    db_bind_int64(s, 2, m->last_read_id);
    db_bind_int64(s, 3, m->joined_id);
    db_bind_int64(s, 4, m->user_id);
    int rc = db_query_int64(s, &n);
    return rc < 0 ? rc : n;
}

int store_message_insert(db *d, const store_message *m)
{
    static const char *sql =
        "INSERT INTO conversation_messages (id, conversation_id, sender_id, kind, body, "
        "attachments, reply_to, client_id, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, m->id);
    db_bind_int64(s, 2, m->conversation_id);
    db_bind_int64(s, 3, m->sender_id);
    db_bind_text(s, 4, m->kind);
    db_bind_text(s, 5, m->body ? m->body : "");
    db_bind_text(s, 6, m->attachments[0] ? m->attachments : "[]");
    if (m->reply_to)
        db_bind_int64(s, 7, m->reply_to);
    else
        db_bind_null(s, 7);
    db_bind_text(s, 8, m->client_id[0] ? m->client_id : NULL);
    db_bind_int64(s, 9, m->created_at);
    db_bind_int64(s, 10, m->created_at);
    return db_run(s);
}

int64_t store_message_max_id(db *d)
{
    static const char *sql = "SELECT COALESCE(MAX(id), 0) FROM conversation_messages";
    db_stmt *s = db_prepare(d, sql);
    int64_t n = 0;
    if (!s)
        return ERR_DB;
    int rc = db_query_int64(s, &n);
    return rc < 0 ? rc : n;
}

int store_message_attach(db *d, int64_t media_id, int64_t message_id)
{
    static const char *sql = "INSERT INTO message_attachments (media_id, message_id) VALUES (?, ?)";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, media_id);
    db_bind_int64(s, 2, message_id);
    return db_run(s);
}

int store_messages_with_media(db *d, int64_t media_id, int64_t *ids, int max)
{
    static const char *sql = "SELECT message_id FROM message_attachments WHERE media_id = ? "
                             "ORDER BY message_id LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, media_id);
    db_bind_int64(s, 2, max);
    int n = 0, rc;
    while (n < max && (rc = db_step(s)) == DB_ROW)
        ids[n++] = db_col_int64(s, 0);
    db_reset(s);
    return rc < 0 ? rc : n;
}

int store_message_get(db *d, int64_t id, store_message *out)
{
    static const char *sql = "SELECT " MSG_COLS " FROM conversation_messages x WHERE x.id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, id);
    int rc = message_rows(s, out, 1);
    return rc < 0 ? rc : rc == 1 ? 0 : ERR_NOT_FOUND;
}

int store_message_by_client(db *d, int64_t conversation_id, int64_t sender_id,
                            const char *client_id, store_message *out)
{
    static const char *sql = "SELECT " MSG_COLS " FROM conversation_messages x WHERE "
                             "x.conversation_id = ? AND x.sender_id = ? AND x.client_id = ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, conversation_id);
    db_bind_int64(s, 2, sender_id);
    db_bind_text(s, 3, client_id);
    int rc = message_rows(s, out, 1);
    return rc < 0 ? rc : rc == 1 ? 0 : ERR_NOT_FOUND;
}

int store_message_edit(db *d, int64_t id, const char *body, int64_t now)
{
    static const char *sql = "UPDATE conversation_messages SET body = ?, edited_at = ?, "
                             "updated_at = ? WHERE id = ? AND deleted_at IS NULL";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_text(s, 1, body);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, now);
    db_bind_int64(s, 4, id);
    return db_run(s);
}

int store_message_delete(db *d, int64_t id, int64_t now)
{
    /* The text and attachments go at once; the row stays so replies, receipts and catch-up
     * still line up. */
    static const char *sql =
        "UPDATE conversation_messages SET body = '', attachments = '[]', deleted_at = ?, "
        "updated_at = ? WHERE id = ? AND deleted_at IS NULL";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, id);
    return db_run(s);
}

int store_messages_before(db *d, int64_t conversation_id, int64_t min_id, int64_t before,
                          store_message *out, int max)
{
    static const char *sql =
        "SELECT " MSG_COLS " FROM conversation_messages x WHERE x.conversation_id = ? AND "
        "x.id >= ? AND x.id < ? ORDER BY x.id DESC LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, conversation_id);
    db_bind_int64(s, 2, min_id);
    db_bind_int64(s, 3, before > 0 ? before : INT64_MAX);
    db_bind_int64(s, 4, max);
    return message_rows(s, out, max);
}

int store_messages_after(db *d, int64_t conversation_id, int64_t min_id, int64_t after,
                         store_message *out, int max)
{
    static const char *sql =
        "SELECT " MSG_COLS " FROM conversation_messages x WHERE x.conversation_id = ? AND "
        "x.id >= ? AND x.id > ? ORDER BY x.id LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, conversation_id);
    db_bind_int64(s, 2, min_id);
    db_bind_int64(s, 3, after);
    db_bind_int64(s, 4, max);
    return message_rows(s, out, max);
}

int store_messages_sync(db *d, int64_t user_id, int64_t after, store_message *out, int max)
{
    static const char *sql =
        "SELECT " MSG_COLS " FROM conversation_messages x JOIN conversation_members m ON "
        "m.conversation_id = x.conversation_id WHERE m.user_id = ? AND m.state = 'active' AND "
        "x.id >= m.joined_id AND x.id > ? ORDER BY x.id LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    db_bind_int64(s, 2, after);
    db_bind_int64(s, 3, max);
    return message_rows(s, out, max);
}

int store_messages_changed(db *d, int64_t user_id, int64_t upto, int64_t since_ms,
                           store_message *out, int max)
{
    static const char *sql =
        "SELECT " MSG_COLS " FROM conversation_messages x JOIN conversation_members m ON "
        "m.conversation_id = x.conversation_id WHERE m.user_id = ? AND m.state = 'active' AND "
        "x.updated_at > ? AND (x.edited_at IS NOT NULL OR x.deleted_at IS NOT NULL) AND "
        "x.id >= m.joined_id AND x.id <= ? "
        "ORDER BY x.updated_at, x.id LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, user_id);
    db_bind_int64(s, 2, since_ms);
    db_bind_int64(s, 3, upto);
    db_bind_int64(s, 4, max);
    return message_rows(s, out, max);
}

int store_message_senders(db *d, int64_t conversation_id, int64_t lo, int64_t hi, int64_t except,
                          int64_t *out, int max)
{
    static const char *sql =
        "SELECT DISTINCT sender_id FROM conversation_messages WHERE conversation_id = ? AND "
        "id > ? AND id <= ? AND sender_id <> ? AND kind = 'text' LIMIT ?";
    db_stmt *s = db_prepare(d, sql);
    if (!s)
        return ERR_DB;
    db_bind_int64(s, 1, conversation_id);
    db_bind_int64(s, 2, lo);
    db_bind_int64(s, 3, hi);
    db_bind_int64(s, 4, except);
    db_bind_int64(s, 5, max);
    int n = 0, rc = DB_DONE;
    while (n < max && (rc = db_step(s)) == DB_ROW)
        out[n++] = db_col_int64(s, 0);
    db_reset(s);
    return rc < 0 ? rc : n;
}

void store_message_free(store_message *m)
{
    if (!m)
        return;
    free(m->body);
    m->body = NULL;
}

void store_messages_free(store_message *m, int n)
{
    for (int i = 0; i < n; i++)
        store_message_free(&m[i]);
}
