/* SPDX-License-Identifier: MIT
 *
 * Direct messages and group chat: the rules shared by the REST routes (api/conversations.c) and
 * the socket commands (api/conversations_ws.c). Each operation is one function here, so both
 * paths persist the same way and then fan out the same way: the write commits first, and only
 * then are the members' "user:<id>" topics published (core/bus.h), so nobody is ever told about
 * a message that a rollback took back.
 *
 * The rules: a 1:1 is unique per pair and cannot be opened between users who block each other
 * (either way). A private account takes DMs only from its followers; anyone else's first DM
 * opens the conversation in the "request" state for the recipient, who is sent nothing until
 * they accept (declining hides it for good). Groups have a title and up to CHAT_GROUP_MAX
 * members; the creator is admin; admins add, remove and promote; anyone may leave, and when the
 * last admin leaves the oldest member becomes admin. Members see the history from the moment
 * they joined. Membership changes are system messages, delivered and replayed like any other.
 *
 * Nothing here speaks the clients' JSON: requests arrive as plain values (a chat_draft, a text)
 * parsed by api/, results leave as store rows, and what the members are told after a commit is
 * a chat_notice handed to the notifier api/ installs at start-up (chat_set_notifier), which
 * shapes the envelope and publishes it.
 */
#ifndef STREAMHUB_DOMAIN_CHAT_H
#define STREAMHUB_DOMAIN_CHAT_H

#include "domain/errors.h"
#include "domain/events.h"
#include "store/conversations.h"

#include <stdbool.h>
#include <stdint.h>

#define CHAT_TEXT_MAX 4000
#define CHAT_TITLE_MAX 100
#define CHAT_GROUP_MAX 256
#define CHAT_ATTACH_MAX 10
#define CHAT_CLIENT_ID_MAX 64
#define CHAT_SYNC_MAX 200
/* Typing: at most one fan-out per user and conversation per CHAT_TYPING_THROTTLE_MS; receivers
 * drop the indicator after expires_in_ms unless it is renewed. */
#define CHAT_TYPING_THROTTLE_MS 3000
#define CHAT_TYPING_EXPIRES_MS 6000

/* A message to send, its fields already within their bounds (api/ checks each one); the
 * strings are borrowed from the caller. */
typedef struct chat_draft {
    int64_t conversation_id;
    const char *text; /* NULL or "" when the message is attachments only */
    int64_t attachments[CHAT_ATTACH_MAX];
    int n_attachments;
    int64_t reply_to;
    const char *client_id;
} chat_draft;

/* The rules across a draft's fields: text or at least one attachment, no attachment twice;
 * 422 otherwise. chat_send applies them first; exported for callers that check before
 * spending anything on the send. */
int chat_draft_check(const chat_draft *draft, domain_error *err);

/* Opens (or returns, *created false) the 1:1 between me and other. */
int chat_open_direct(db *d, int64_t me, int64_t other, store_conversation *out, bool *created,
                     domain_error *err);
int chat_create_group(db *d, int64_t me, const char *title, const int64_t *members, int n,
                      store_conversation *out, domain_error *err);
/* The conversation and my membership (active or request); 404 for anyone else. */
int chat_get(db *d, int64_t me, int64_t id, store_conversation *out, store_member *mine,
             domain_error *err);
int chat_set_title(db *d, int64_t me, int64_t id, const char *title, domain_error *err);
int chat_add_members(db *d, int64_t me, int64_t id, const int64_t *users, int n, domain_error *err);
/* Removes user (an admin's act), or leaves when user is me. */
int chat_remove_member(db *d, int64_t me, int64_t id, int64_t user, domain_error *err);
int chat_set_role(db *d, int64_t me, int64_t id, int64_t user, const char *role, domain_error *err);
/* Message requests addressed to me. */
int chat_accept(db *d, int64_t me, int64_t id, domain_error *err);
int chat_decline(db *d, int64_t me, int64_t id, domain_error *err);

/* Persists and fans out; *existing when the client_id was already used (nothing sent again). */
int chat_send(db *d, int64_t me, const chat_draft *draft, store_message *out, bool *existing,
              domain_error *err);
/* Replaces the text (NULL: none, allowed when the message has attachments). */
int chat_edit(db *d, int64_t me, int64_t conversation_id, int64_t message_id, const char *text,
              store_message *out, domain_error *err);
int chat_delete(db *d, int64_t me, int64_t conversation_id, int64_t message_id, domain_error *err);
/* A page of history: newest first below before, or oldest first above after (after > 0). */
int chat_history(db *d, int64_t me, int64_t conversation_id, int64_t before, int64_t after,
                 store_message *out, int max, domain_error *err);
int chat_mark_read(db *d, int64_t me, int64_t conversation_id, int64_t message_id,
                   domain_error *err);
int chat_mark_delivered(db *d, int64_t me, int64_t conversation_id, int64_t message_id,
                        domain_error *err);
/* Tells the other members; *throttled when it was sent too recently to send again. */
int chat_typing(db *d, int64_t me, int64_t conversation_id, bool *throttled, domain_error *err);
/* Catch-up: the messages above after across my conversations (oldest first, up to max), and
 * the messages at or below after edited or deleted since after was sent (*n_changed). */
int chat_sync(db *d, int64_t me, int64_t after, store_message *out, int max, store_message *changed,
              int max_changed, int *n_changed, domain_error *err);
/* Unread messages of mine in a conversation (from my read pointer). */
int64_t chat_unread(db *d, const store_member *mine);

/* What a recipient of a message may know of one of its attachments (media records are their
 * owner's only; the message's recipients see its kind and state, and signed URLs once ready). */
typedef struct chat_attachment {
    char kind[16];  /* video | image | audio | other */
    char state[16]; /* uploaded | composing | processing | ready | failed */
} chat_attachment;
/* 0 with out filled; ERR_NOT_FOUND when the media is gone or became a duet's rendering after it
 * was sent (that is shown only through its post), or another negative ERR_*. */
int chat_attachment_get(db *d, int64_t media_id, chat_attachment *out);
/* The conversation's last message if its member mine may see it (sent since they joined): 0
 * with out filled (free it with chat_message_free), ERR_NOT_FOUND otherwise. */
int chat_last_message(db *d, const store_conversation *c, const store_member *mine,
                      store_message *out);
/* Every member of a conversation with their user (users[i] belongs to out[i]), join order. */
int chat_members_with_users(db *d, int64_t conversation_id, store_member *out, store_user *users,
                            int max);
/* The inbox of me: conversations where my state is state ("active", "requested"...), latest
 * activity first, activity below before (0 = newest); returns the count. */
int chat_inbox(db *d, int64_t me, const char *state, int64_t before, store_inbox_row *out, int max,
               domain_error *err);
/* Frees what chat functions filled into messages. */
void chat_message_free(store_message *m);
void chat_messages_free(store_message *m, int n);

/* The most messages one media record's settling is announced in (the same upload forwarded
 * further is rare; past this, clients see the state when they next load the messages). */
#define CHAT_MEDIA_ANNOUNCE_MAX 20
/* Called when a media record reaches ready or failed: every message carrying it is sent again
 * to its conversation as "message.updated". */
void chat_media_settled(db *d, int64_t media_id);
/* The after-commit consumer of EV_MEDIA_SETTLED (chat_media_settled); app.c subscribes it. */
int chat_on_event(db *d, const domain_event *ev, void *arg);

/* What the members are told once a change committed (never before: nobody hears of a message
 * a rollback took back). */
typedef enum chat_notice_type {
    CHAT_NOTICE_MESSAGE_NEW,     /* message: sent, or a system message of a membership change */
    CHAT_NOTICE_MESSAGE_EDITED,  /* message */
    CHAT_NOTICE_MESSAGE_DELETED, /* message, its text and attachments cleared */
    CHAT_NOTICE_MESSAGE_UPDATED, /* message: one of its attachments settled (ready or failed) */
    CHAT_NOTICE_ACCEPTED,        /* conversation_id, user_id: who accepted a message request */
    CHAT_NOTICE_READ,            /* conversation_id, user_id, message_id: a read receipt */
    CHAT_NOTICE_DELIVERED,       /* conversation_id, user_id, message_id: a delivery receipt */
    CHAT_NOTICE_TYPING,          /* conversation_id, user_id; lasts CHAT_TYPING_EXPIRES_MS */
} chat_notice_type;

typedef struct chat_notice {
    chat_notice_type type;
    int64_t conversation_id, user_id, message_id;
    const store_message *message; /* the message notices; borrowed for the call */
    const int64_t *recipients;    /* the users to tell (each once); borrowed for the call */
    int n_recipients;
} chat_notice;

/* Tells the recipients; d is the caller's connection, outside any transaction. */
typedef void (*chat_notify_fn)(db *d, const chat_notice *notice);
/* Installs the notifier (start-up only, before any thread runs; app.c). Without one, nobody is
 * told (unit tests). */
void chat_set_notifier(chat_notify_fn fn);

#endif
