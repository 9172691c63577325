/* SPDX-License-Identifier: MIT
 *
 * Conversations (1:1 and groups), their members and their messages: the SQL behind DMs and
 * group chat. Writes happen in the caller's transaction; store_chat_lock serializes message
 * writers so that message ids are handed out in commit order on both dialects (SQLite already
 * serializes writers at BEGIN IMMEDIATE), which is what lets a reconnecting client catch up
 * with "everything after id X" without losing a message that committed late.
 */
#ifndef STREAMHUB_STORE_CONVERSATIONS_H
#define STREAMHUB_STORE_CONVERSATIONS_H

#include "store/db.h"
#include "store/users.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct store_conversation {
    int64_t id;
    char kind[8]; /* direct | group */
    char title[404];
    int64_t created_by;
    int64_t member_count; /* active and requested members */
    int64_t last_message_id;
    int64_t activity_id; /* the inbox order and cursor */
    int64_t created_at, updated_at;
} store_conversation;

typedef struct store_member {
    int64_t conversation_id, user_id;
    char role[8];   /* admin | member */
    char state[12]; /* active | request | declined */
    int64_t joined_id;
    int64_t last_read_id, last_delivered_id;
} store_member;

typedef struct store_message {
    int64_t id, conversation_id, sender_id;
    char kind[8];          /* text | system */
    char *body;            /* owned; text, or for system messages a JSON object */
    char attachments[512]; /* JSON array of media id strings */
    int64_t reply_to;
    char client_id[260]; /* up to CHAT_CLIENT_ID_MAX code points */
    int64_t created_at, edited_at, deleted_at, updated_at;
} store_message;

/* One inbox row: the conversation, the caller's membership and unread count. */
typedef struct store_inbox_row {
    store_conversation c;
    store_member me;
    int64_t unread;
} store_inbox_row;

/* Takes the message-writer lock for the current transaction (PostgreSQL advisory lock). */
int store_chat_lock(db *d);

int store_conv_insert(db *d, const store_conversation *c, const char *pair_key);
int store_conv_get(db *d, int64_t id, store_conversation *out);
int store_conv_by_pair(db *d, const char *pair_key, store_conversation *out);
/* Moves activity (and last_message_id when message_id > 0). */
int store_conv_touch(db *d, int64_t id, int64_t activity_id, int64_t message_id, int64_t now);
int store_conv_set_title(db *d, int64_t id, const char *title, int64_t now);
int store_conv_add_members(db *d, int64_t id, int64_t delta);

int store_member_add(db *d, const store_member *m);
int store_member_get(db *d, int64_t conversation_id, int64_t user_id, store_member *out);
int store_member_remove(db *d, int64_t conversation_id, int64_t user_id);
int store_member_set_role(db *d, int64_t conversation_id, int64_t user_id, const char *role);
int store_member_set_state(db *d, int64_t conversation_id, int64_t user_id, const char *state);
/* Moves a receipt pointer forward only; *moved tells whether it changed. */
int store_member_set_read(db *d, int64_t conversation_id, int64_t user_id, int64_t message_id,
                          bool *moved);
int store_member_set_delivered(db *d, int64_t conversation_id, int64_t user_id, int64_t message_id,
                               bool *moved);
/* Members in join order (oldest first); with active_only, requested/declined ones are left out. */
int store_members_list(db *d, int64_t conversation_id, bool active_only, store_member *out,
                       int max);
/* The same in one query with each member's user (users[i] belongs to out[i]). */
int store_members_with_users(db *d, int64_t conversation_id, store_member *out, store_user *users,
                             int max);
int64_t store_members_admins(db *d, int64_t conversation_id);
/* The inbox of user_id: conversations where the caller's state is state, latest activity
 * first, activity below before (0 = newest). */
int store_inbox(db *d, int64_t user_id, const char *state, int64_t before, store_inbox_row *out,
                int max);

/* Text messages from others above the member's read pointer (and from their joined_id). */
int64_t store_unread_count(db *d, const store_member *m);

int store_message_insert(db *d, const store_message *m);
/* Records that a message carries a media record (message_attachments). */
int store_message_attach(db *d, int64_t media_id, int64_t message_id);
/* Ids of up to max messages carrying the media, oldest first. */
int store_messages_with_media(db *d, int64_t media_id, int64_t *ids, int max);
/* The highest message id so far (0 when none); under the writer lock, for monotonic ids. */
int64_t store_message_max_id(db *d);
int store_message_get(db *d, int64_t id, store_message *out);
int store_message_by_client(db *d, int64_t conversation_id, int64_t sender_id,
                            const char *client_id, store_message *out);
int store_message_edit(db *d, int64_t id, const char *body, int64_t now);
int store_message_delete(db *d, int64_t id, int64_t now);
/* History from min_id on: newest first below before (0 = newest). */
int store_messages_before(db *d, int64_t conversation_id, int64_t min_id, int64_t before,
                          store_message *out, int max);
/* Oldest first above after. */
int store_messages_after(db *d, int64_t conversation_id, int64_t min_id, int64_t after,
                         store_message *out, int max);
/* Every message above after in the active conversations of user_id (from each one's
 * joined_id), oldest first. */
int store_messages_sync(db *d, int64_t user_id, int64_t after, store_message *out, int max);
/* Messages of those conversations with ids up to upto changed (edited or deleted) since
 * since_ms, oldest change first. */
int store_messages_changed(db *d, int64_t user_id, int64_t upto, int64_t since_ms,
                           store_message *out, int max);
/* Distinct senders other than except of messages in (lo, hi]. */
int store_message_senders(db *d, int64_t conversation_id, int64_t lo, int64_t hi, int64_t except,
                          int64_t *out, int max);
void store_message_free(store_message *m);
void store_messages_free(store_message *m, int n);

#endif
