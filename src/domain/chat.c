/* SPDX-License-Identifier: MIT
 *
 * Chat rules (see chat.h). Every write follows one shape: BEGIN, take the chat writer lock
 * (store_chat_lock, so message ids are handed out in commit order), check membership and rights
 * under it, write, collect the recipients, COMMIT, and only then hand the notifier (chat.h,
 * installed by api/) a chat_notice naming them; it publishes to each recipient's "user:<id>"
 * topic. Recipients are the active members: a member whose 1:1 is still a message request (or
 * was declined) is sent nothing.
 *
 * The JSON left here is storage, never what clients are sent: a system message's event and a
 * message's attachment ids are kept as JSON text in their rows (store/conversations.h).
 *
 * Typing indicators touch no table: a small fixed table of (user, conversation) -> last sent
 * time throttles them per node; a collision merely lets one extra indicator through.
 */
#include "domain/chat.h"

#include "core/id.h"
#include "core/json.h"
#include "core/util.h"
#include "domain/errors.h"
#include "domain/media.h"
#include "domain/validate.h"
#include "store/graph.h"
#include "store/media.h"
#include "store/users.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct recipients {
    int64_t ids[CHAT_GROUP_MAX + 2];
    int n;
} recipients;

static int not_found(domain_error *err)
{
    return domain_fail(err, ERR_NOT_FOUND, "conversation_not_found", "no such conversation");
}

static int begin(db *d, domain_error *err)
{
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    if (store_chat_lock(d) < 0) {
        db_rollback(d);
        return domain_db_failed(err, d, "chat lock");
    }
    return 0;
}

static int commit(db *d, domain_error *err)
{
    if (db_commit(d) < 0) {
        db_rollback(d);
        return domain_db_failed(err, d, "commit");
    }
    return 0;
}

/* Rolls back and passes rc on; a database failure is logged once here. */
static int abort_tx(db *d, int rc, domain_error *err, const char *op)
{
    if (rc == ERR_DB || (rc < 0 && !err->code))
        rc = domain_db_failed(err, d, op);
    db_rollback(d);
    return rc;
}

static void add_recipient(recipients *r, int64_t id)
{
    for (int i = 0; i < r->n; i++)
        if (r->ids[i] == id)
            return;
    if (r->n < (int)(sizeof r->ids / sizeof r->ids[0]))
        r->ids[r->n++] = id;
}

static int collect_active(db *d, int64_t conversation_id, recipients *r)
{
    store_member *ms = xcalloc(CHAT_GROUP_MAX + 1, sizeof *ms);
    int n = store_members_list(d, conversation_id, true, ms, CHAT_GROUP_MAX + 1);
    for (int i = 0; i < n; i++)
        add_recipient(r, ms[i].user_id);
    free(ms);
    return n < 0 ? n : 0;
}

/* A message id above every id handed out so far; called under the writer lock. id_next()
 * alone is monotonic per process, but another node whose clock runs behind could hand out a
 * smaller id after a larger one committed, and a client catching up "after" the larger would
 * never see it. */
static int64_t next_message_id(db *d)
{
    int64_t id = id_next(), max = store_message_max_id(d);
    return max >= id ? max + 1 : id;
}

/* Written at start-up only (chat_set_notifier), read-only once threads run. */
static chat_notify_fn notifier;

void chat_set_notifier(chat_notify_fn fn)
{
    notifier = fn;
}

/* Tells every recipient except skip (0 = nobody) what n says, after the commit. */
static void notify(db *d, const recipients *r, int64_t skip, chat_notice n)
{
    if (!notifier)
        return;
    int64_t ids[sizeof r->ids / sizeof r->ids[0]];
    int k = 0;
    for (int i = 0; i < r->n; i++)
        if (r->ids[i] != skip)
            ids[k++] = r->ids[i];
    n.recipients = ids;
    n.n_recipients = k;
    notifier(d, &n);
}

/* The notice of a message (new, edited, deleted, updated) to every recipient. */
static void notify_message(db *d, const recipients *r, chat_notice_type type,
                           const store_message *m)
{
    notify(d, r, 0, (chat_notice){.type = type, .conversation_id = m->conversation_id,
                                  .message_id = m->id, .message = m});
}

/* The notice that user accepted the message request of conversation_id. */
static void notify_accepted(db *d, const recipients *r, int64_t skip, int64_t conversation_id,
                            int64_t user)
{
    notify(d, r, skip,
           (chat_notice){.type = CHAT_NOTICE_ACCEPTED, .conversation_id = conversation_id,
                         .user_id = user});
}

int chat_attachment_get(db *d, int64_t media_id, chat_attachment *out)
{
    /* media that became a duet's rendering after it was sent is no longer handed out */
    if (store_media_composed(d, media_id))
        return ERR_NOT_FOUND;
    store_media m;
    int rc = store_media_get(d, media_id, &m);
    if (rc < 0)
        return rc;
    snprintf(out->kind, sizeof out->kind, "%s", m.kind);
    snprintf(out->state, sizeof out->state, "%s", m.state);
    store_media_free(&m);
    return 0;
}

/* Drafts ------------------------------------------------------------------------------------ */

int chat_draft_check(const chat_draft *dr, domain_error *err)
{
    for (int i = 0; i < dr->n_attachments; i++)
        for (int k = 0; k < i; k++)
            if (dr->attachments[k] == dr->attachments[i])
                return domain_invalid(err, "attachments", "duplicate");
    if ((!dr->text || !*dr->text) && dr->n_attachments == 0)
        return domain_invalid(err, "text", "required");
    return 0;
}

/* Membership -------------------------------------------------------------------------------- */

/* My membership, visible when active or a pending request; 404 otherwise. */
static int load(db *d, int64_t me, int64_t id, store_conversation *c, store_member *mine,
                domain_error *err)
{
    int rc = store_member_get(d, id, me, mine);
    if (rc == ERR_NOT_FOUND || (rc == 0 && !strcmp(mine->state, "declined")))
        return not_found(err);
    if (rc < 0 || (rc = store_conv_get(d, id, c)) < 0)
        return rc == ERR_NOT_FOUND ? not_found(err) : domain_db_failed(err, d, "conversation");
    return 0;
}

/* Like load, for acts that need an active membership (a pending request must be accepted). */
static int load_active(db *d, int64_t me, int64_t id, store_conversation *c, store_member *mine,
                       domain_error *err)
{
    int rc = load(d, me, id, c, mine, err);
    if (rc == 0 && strcmp(mine->state, "active"))
        return domain_fail(err, ERR_FORBIDDEN, "message_request_pending",
                           "accept the message request first");
    return rc;
}

static int load_group_admin(db *d, int64_t me, int64_t id, store_conversation *c,
                            store_member *mine, domain_error *err)
{
    int rc = load_active(d, me, id, c, mine, err);
    if (rc < 0)
        return rc;
    if (strcmp(c->kind, "group"))
        return domain_fail(err, ERR_CONFLICT, "not_a_group", "only groups have members to manage");
    if (strcmp(mine->role, "admin"))
        return domain_fail(err, ERR_FORBIDDEN, "not_admin", "only group admins may do this");
    return 0;
}

int chat_get(db *d, int64_t me, int64_t id, store_conversation *out, store_member *mine,
             domain_error *err)
{
    return load(d, me, id, out, mine, err);
}

int64_t chat_unread(db *d, const store_member *mine)
{
    int64_t n = store_unread_count(d, mine);
    return n < 0 ? 0 : n;
}

/* Inserts a system message (membership and title changes) and moves the conversation's
 * activity; caller's transaction. */
static int system_message(db *d, int64_t conversation_id, int64_t actor, json_t *event,
                          store_message *out)
{
    memset(out, 0, sizeof *out);
    out->id = next_message_id(d);
    out->conversation_id = conversation_id;
    out->sender_id = actor;
    snprintf(out->kind, sizeof out->kind, "system");
    out->body = json_dumps(event, JSON_COMPACT);
    json_decref(event);
    out->created_at = out->updated_at = now_ms();
    int rc = store_message_insert(d, out);
    if (rc == 0)
        rc = store_conv_touch(d, conversation_id, out->id, out->id, out->created_at);
    return rc;
}

static int join(db *d, int64_t conversation_id, int64_t user, const char *role, const char *state)
{
    store_member m = {.conversation_id = conversation_id, .user_id = user};
    snprintf(m.role, sizeof m.role, "%s", role);
    snprintf(m.state, sizeof m.state, "%s", state);
    m.joined_id = next_message_id(d); /* history is visible from here on */
    int rc = store_member_add(d, &m);
    return rc < 0 ? rc : store_conv_add_members(d, conversation_id, 1);
}

/* Whether me may DM other directly, or only through a message request. */
static bool needs_request(db *d, int64_t me, const store_user *other)
{
    return other->is_private && !store_follows(d, me, other->id);
}

int chat_open_direct(db *d, int64_t me, int64_t other, store_conversation *out, bool *created,
                     domain_error *err)
{
    *created = false;
    if (other == me)
        return domain_invalid(err, "member_ids", "is_self");
    store_user u;
    int rc = store_user_by_id(d, other, &u);
    if (rc == ERR_NOT_FOUND || (rc == 0 && store_blocked_either(d, me, other)))
        return domain_fail(err, ERR_NOT_FOUND, "user_not_found", "no such user");
    if (rc < 0)
        return domain_db_failed(err, d, "user");
    char key[48];
    snprintf(key, sizeof key, "%lld:%lld", (long long)(me < other ? me : other),
             (long long)(me < other ? other : me));
    if ((rc = begin(d, err)) < 0)
        return rc;
    recipients r = {.n = 0};
    rc = store_conv_by_pair(d, key, out);
    if (rc == 0) {
        /* Opening a 1:1 that was a request to me (pending or declined) accepts it. */
        store_member mine;
        bool accepted = false;
        if ((rc = store_member_get(d, out->id, me, &mine)) < 0)
            return abort_tx(d, rc, err, "member");
        if (strcmp(mine.state, "active")) {
            if ((rc = store_member_set_state(d, out->id, me, "active")) < 0)
                return abort_tx(d, rc, err, "accept");
            add_recipient(&r, other);
            accepted = true;
        }
        if ((rc = commit(d, err)) < 0)
            return rc;
        if (accepted)
            notify_accepted(d, &r, 0, out->id, me);
        return 0;
    }
    if (rc != ERR_NOT_FOUND)
        return abort_tx(d, rc, err, "find direct");
    memset(out, 0, sizeof *out);
    out->id = out->activity_id = id_next();
    snprintf(out->kind, sizeof out->kind, "direct");
    out->created_by = me;
    out->created_at = out->updated_at = now_ms();
    if ((rc = store_conv_insert(d, out, key)) < 0 ||
        (rc = join(d, out->id, me, "member", "active")) < 0 ||
        (rc = join(d, out->id, other, "member", needs_request(d, me, &u) ? "request" : "active")) <
            0)
        return abort_tx(d, rc, err, "create direct");
    if ((rc = commit(d, err)) < 0)
        return rc;
    out->member_count = 2;
    *created = true;
    return 0;
}

/* Checks that every user exists, is not me and neither blocks me nor is blocked by me. */
static int check_invitees(db *d, int64_t me, const int64_t *users, int n, domain_error *err)
{
    for (int i = 0; i < n; i++) {
        if (users[i] == me)
            return domain_invalid(err, "member_ids", "is_self");
        for (int k = 0; k < i; k++)
            if (users[k] == users[i])
                return domain_invalid(err, "member_ids", "duplicate");
        store_user u;
        int rc = store_user_by_id(d, users[i], &u);
        if (rc == ERR_NOT_FOUND || (rc == 0 && store_blocked_either(d, me, users[i])))
            return domain_fail(err, ERR_NOT_FOUND, "user_not_found", "no such user");
        if (rc < 0)
            return domain_db_failed(err, d, "user");
    }
    return 0;
}

static json_t *ids_json(const int64_t *ids, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_id(ids[i]));
    return a;
}

/* A group's title, checked and trimmed by the one rule for names (validate.h) into out. */
#define TITLE_BYTES (CHAT_TITLE_MAX * 4 + 1)
static int check_title(const char *title, char out[TITLE_BYTES], domain_error *err)
{
    const char *why = validate_name(title ? title : "", CHAT_TITLE_MAX, false, out, TITLE_BYTES);
    if (why && !strcmp(why, "too_long"))
        return domain_invalid_bounds(err, "title", why, -1, CHAT_TITLE_MAX);
    return why ? domain_invalid(err, "title", why) : 0;
}

int chat_create_group(db *d, int64_t me, const char *title, const int64_t *members, int n,
                      store_conversation *out, domain_error *err)
{
    char trimmed[TITLE_BYTES];
    int rc = check_title(title, trimmed, err);
    if (rc < 0)
        return rc;
    title = trimmed;
    if (n + 1 > CHAT_GROUP_MAX)
        return domain_invalid(err, "member_ids", "too_many");
    if ((rc = check_invitees(d, me, members, n, err)) < 0)
        return rc;
    if ((rc = begin(d, err)) < 0)
        return rc;
    memset(out, 0, sizeof *out);
    out->id = out->activity_id = id_next();
    snprintf(out->kind, sizeof out->kind, "group");
    snprintf(out->title, sizeof out->title, "%s", title);
    out->created_by = me;
    out->created_at = out->updated_at = now_ms();
    if ((rc = store_conv_insert(d, out, NULL)) < 0 ||
        (rc = join(d, out->id, me, "admin", "active")) < 0)
        return abort_tx(d, rc, err, "create group");
    for (int i = 0; i < n; i++)
        if ((rc = join(d, out->id, members[i], "member", "active")) < 0)
            return abort_tx(d, rc, err, "create group");
    store_message sys;
    rc = system_message(d, out->id, me,
                        json_pack("{s:s, s:s, s:o}", "event", "created", "title", title, "user_ids",
                                  ids_json(members, n)),
                        &sys);
    recipients r = {.n = 0};
    if (rc < 0 || (rc = collect_active(d, out->id, &r)) < 0) {
        store_message_free(&sys);
        return abort_tx(d, rc, err, "create group");
    }
    if ((rc = commit(d, err)) < 0) {
        store_message_free(&sys);
        return rc;
    }
    out->member_count = n + 1;
    out->last_message_id = out->activity_id = sys.id;
    notify_message(d, &r, CHAT_NOTICE_MESSAGE_NEW, &sys);
    store_message_free(&sys);
    return 0;
}

/* Commits a membership change whose system message is sys, and fans it out to the active
 * members plus extra (a removed member, who is no longer one). */
static int finish_change(db *d, int64_t conversation_id, store_message *sys, int64_t extra,
                         domain_error *err)
{
    recipients r = {.n = 0};
    int rc = collect_active(d, conversation_id, &r);
    if (rc < 0) {
        store_message_free(sys);
        return abort_tx(d, rc, err, "members");
    }
    if (extra)
        add_recipient(&r, extra);
    if ((rc = commit(d, err)) < 0) {
        store_message_free(sys);
        return rc;
    }
    notify_message(d, &r, CHAT_NOTICE_MESSAGE_NEW, sys);
    store_message_free(sys);
    return 0;
}

int chat_set_title(db *d, int64_t me, int64_t id, const char *title, domain_error *err)
{
    store_conversation c;
    store_member mine;
    char trimmed[TITLE_BYTES];
    int rc = check_title(title, trimmed, err);
    if (rc < 0 || (rc = begin(d, err)) < 0)
        return rc;
    title = trimmed;
    if ((rc = load_group_admin(d, me, id, &c, &mine, err)) < 0)
        return abort_tx(d, rc, err, "load");
    store_message sys;
    if ((rc = store_conv_set_title(d, id, title, now_ms())) < 0 ||
        (rc = system_message(d, id, me,
                             json_pack("{s:s, s:s}", "event", "title_changed", "title", title),
                             &sys)) < 0)
        return abort_tx(d, rc, err, "title");
    return finish_change(d, id, &sys, 0, err);
}

int chat_add_members(db *d, int64_t me, int64_t id, const int64_t *users, int n, domain_error *err)
{
    store_conversation c;
    store_member mine;
    int rc = check_invitees(d, me, users, n, err);
    if (rc < 0 || (rc = begin(d, err)) < 0)
        return rc;
    if ((rc = load_group_admin(d, me, id, &c, &mine, err)) < 0)
        return abort_tx(d, rc, err, "load");
    int64_t added[CHAT_GROUP_MAX];
    int n_added = 0;
    for (int i = 0; i < n; i++) {
        store_member m;
        rc = store_member_get(d, id, users[i], &m);
        if (rc == 0)
            continue; /* already a member: adding is idempotent */
        if (rc != ERR_NOT_FOUND)
            return abort_tx(d, rc, err, "member");
        if (c.member_count + n_added + 1 > CHAT_GROUP_MAX)
            return abort_tx(d, domain_fail(err, ERR_CONFLICT, "group_full", "the group is full"),
                            err, "add");
        if ((rc = join(d, id, users[i], "member", "active")) < 0)
            return abort_tx(d, rc, err, "add member");
        added[n_added++] = users[i];
    }
    if (n_added == 0) {
        db_rollback(d);
        return 0;
    }
    store_message sys;
    rc = system_message(
        d, id, me,
        json_pack("{s:s, s:o}", "event", "members_added", "user_ids", ids_json(added, n_added)),
        &sys);
    if (rc < 0)
        return abort_tx(d, rc, err, "add member");
    return finish_change(d, id, &sys, 0, err);
}

int chat_remove_member(db *d, int64_t me, int64_t id, int64_t user, domain_error *err)
{
    store_conversation c;
    store_member mine, target;
    int rc = begin(d, err);
    if (rc < 0)
        return rc;
    bool leaving = user == me;
    if ((rc = leaving ? load_active(d, me, id, &c, &mine, err)
                      : load_group_admin(d, me, id, &c, &mine, err)) < 0)
        return abort_tx(d, rc, err, "load");
    if (leaving && strcmp(c.kind, "group"))
        return abort_tx(d, domain_fail(err, ERR_CONFLICT, "not_a_group", "only groups can be left"),
                        err, "leave");
    rc = store_member_get(d, id, user, &target);
    if (rc == ERR_NOT_FOUND)
        return abort_tx(d, domain_fail(err, ERR_NOT_FOUND, "member_not_found", "no such member"),
                        err, "remove");
    if (rc < 0 || (rc = store_member_remove(d, id, user)) < 0 ||
        (rc = store_conv_add_members(d, id, -1)) < 0)
        return abort_tx(d, rc, err, "remove member");
    /* A group is never left without an admin while it has members: the oldest one takes over. */
    int64_t promoted = 0;
    int64_t admins = store_members_admins(d, id);
    if (admins < 0)
        return abort_tx(d, ERR_DB, err, "admins");
    if (admins == 0) {
        store_member oldest;
        if ((rc = store_members_list(d, id, true, &oldest, 1)) < 0)
            return abort_tx(d, rc, err, "oldest member");
        if (rc == 1) {
            if ((rc = store_member_set_role(d, id, oldest.user_id, "admin")) < 0)
                return abort_tx(d, rc, err, "promote");
            promoted = oldest.user_id;
        }
    }
    json_t *event = json_pack("{s:s, s:o}", "event", leaving ? "member_left" : "member_removed",
                              "user_id", json_id(user));
    if (promoted)
        json_object_set_new(event, "promoted", json_id(promoted));
    store_message sys;
    if ((rc = system_message(d, id, me, event, &sys)) < 0)
        return abort_tx(d, rc, err, "remove member");
    return finish_change(d, id, &sys, user, err);
}

int chat_set_role(db *d, int64_t me, int64_t id, int64_t user, const char *role, domain_error *err)
{
    if (!role || (strcmp(role, "admin") && strcmp(role, "member")))
        return domain_invalid(err, "role", "invalid_format");
    store_conversation c;
    store_member mine, target;
    int rc = begin(d, err);
    if (rc < 0)
        return rc;
    if ((rc = load_group_admin(d, me, id, &c, &mine, err)) < 0)
        return abort_tx(d, rc, err, "load");
    rc = store_member_get(d, id, user, &target);
    if (rc == ERR_NOT_FOUND)
        return abort_tx(d, domain_fail(err, ERR_NOT_FOUND, "member_not_found", "no such member"),
                        err, "role");
    if (rc < 0)
        return abort_tx(d, rc, err, "role");
    if (!strcmp(target.role, role)) {
        db_rollback(d);
        return 0;
    }
    if (!strcmp(role, "member") && store_members_admins(d, id) <= 1)
        return abort_tx(
            d, domain_fail(err, ERR_CONFLICT, "last_admin", "a group needs at least one admin"),
            err, "role");
    store_message sys;
    if ((rc = store_member_set_role(d, id, user, role)) < 0 ||
        (rc = system_message(d, id, me,
                             json_pack("{s:s, s:o, s:s}", "event", "role_changed", "user_id",
                                       json_id(user), "role", role),
                             &sys)) < 0)
        return abort_tx(d, rc, err, "role");
    return finish_change(d, id, &sys, 0, err);
}

static int answer_request(db *d, int64_t me, int64_t id, bool accept, domain_error *err)
{
    store_member mine;
    int rc = begin(d, err);
    if (rc < 0)
        return rc;
    rc = store_member_get(d, id, me, &mine);
    if (rc == ERR_NOT_FOUND || (rc == 0 && strcmp(mine.state, "request")))
        return abort_tx(
            d, domain_fail(err, ERR_NOT_FOUND, "request_not_found", "no such message request"), err,
            "request");
    recipients r = {.n = 0};
    if (rc < 0 || (rc = store_member_set_state(d, id, me, accept ? "active" : "declined")) < 0 ||
        (accept && (rc = collect_active(d, id, &r)) < 0))
        return abort_tx(d, rc, err, "request");
    if ((rc = commit(d, err)) < 0)
        return rc;
    /* The requester learns of an accept (their messages are now delivered), never of a decline. */
    if (accept)
        notify_accepted(d, &r, 0, id, me);
    return 0;
}

int chat_accept(db *d, int64_t me, int64_t id, domain_error *err)
{
    return answer_request(d, me, id, true, err);
}

int chat_decline(db *d, int64_t me, int64_t id, domain_error *err)
{
    return answer_request(d, me, id, false, err);
}

/* Messages ---------------------------------------------------------------------------------- */

/* The other member of a 1:1 (0 if gone). */
static int64_t peer_of(db *d, int64_t conversation_id, int64_t me)
{
    store_member ms[2];
    int n = store_members_list(d, conversation_id, false, ms, 2);
    for (int i = 0; i < n; i++)
        if (ms[i].user_id != me)
            return ms[i].user_id;
    return 0;
}

static int check_draft_refs(db *d, int64_t me, const chat_draft *dr, domain_error *err)
{
    for (int i = 0; i < dr->n_attachments; i++) {
        store_media m;
        int rc = store_media_get(d, dr->attachments[i], &m);
        /* a duet's rendering holds someone else's video: it is shown only through its post */
        bool mine = rc == 0 && m.owner_id == me && !store_media_composed(d, m.id);
        if (rc == 0)
            store_media_free(&m);
        if (rc < 0 && rc != ERR_NOT_FOUND)
            return domain_db_failed(err, d, "media");
        if (!mine)
            return domain_invalid(err, "attachments", "not_found");
    }
    if (dr->reply_to) {
        store_message m;
        int rc = store_message_get(d, dr->reply_to, &m);
        bool same = rc == 0 && m.conversation_id == dr->conversation_id;
        if (rc == 0)
            store_message_free(&m);
        if (rc < 0 && rc != ERR_NOT_FOUND)
            return domain_db_failed(err, d, "reply_to");
        if (!same)
            return domain_invalid(err, "reply_to", "not_found");
    }
    return 0;
}

int chat_send(db *d, int64_t me, const chat_draft *dr, store_message *out, bool *existing,
              domain_error *err)
{
    store_conversation c;
    store_member mine;
    *existing = false;
    memset(out, 0, sizeof *out);
    int rc = chat_draft_check(dr, err);
    if (rc < 0 || (rc = load(d, me, dr->conversation_id, &c, &mine, err)) < 0)
        return rc;
    if (!strcmp(c.kind, "direct")) {
        int64_t peer = peer_of(d, c.id, me);
        if (peer && store_blocked_either(d, me, peer))
            return domain_fail(err, ERR_FORBIDDEN, "cannot_message",
                               "you cannot message this user");
    }
    if ((rc = check_draft_refs(d, me, dr, err)) < 0)
        return rc;
    /* A retry is answered from what is stored; a retry racing its original is caught by the
     * unique (conversation, sender, client_id) index below. */
    if (dr->client_id) {
        rc = store_message_by_client(d, c.id, me, dr->client_id, out);
        if (rc == 0) {
            *existing = true;
            return 0;
        }
        if (rc != ERR_NOT_FOUND)
            return domain_db_failed(err, d, "client id");
    }
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    /* Everything that needs no id happens before the writer lock, which is held to the commit:
     * the less done under it, the more messages per second PostgreSQL takes. */
    recipients r = {.n = 0};
    if ((rc = collect_active(d, c.id, &r)) < 0)
        return abort_tx(d, rc, err, "members");
    bool accepted = strcmp(mine.state, "active") != 0; /* answering a request accepts it */
    if (accepted)
        add_recipient(&r, me);
    if ((rc = store_chat_lock(d)) < 0)
        return abort_tx(d, ERR_DB, err, "chat lock");
    out->id = next_message_id(d);
    out->conversation_id = c.id;
    out->sender_id = me;
    snprintf(out->kind, sizeof out->kind, "text");
    out->body = xstrdup(dr->text ? dr->text : "");
    json_t *att = ids_json(dr->attachments, dr->n_attachments);
    char *att_text = json_dumps(att, JSON_COMPACT);
    json_decref(att);
    snprintf(out->attachments, sizeof out->attachments, "%s", att_text ? att_text : "[]");
    free(att_text);
    out->reply_to = dr->reply_to;
    snprintf(out->client_id, sizeof out->client_id, "%s", dr->client_id ? dr->client_id : "");
    out->created_at = out->updated_at = now_ms();
    rc = store_message_insert(d, out);
    for (int i = 0; rc == 0 && i < dr->n_attachments; i++)
        rc = store_message_attach(d, dr->attachments[i], out->id);
    if (rc == ERR_CONFLICT && dr->client_id) {
        db_rollback(d);
        store_message_free(out);
        rc = store_message_by_client(d, c.id, me, dr->client_id, out);
        if (rc < 0)
            return domain_db_failed(err, d, "client id");
        *existing = true;
        return 0;
    }
    if (rc < 0 || (rc = store_conv_touch(d, c.id, out->id, out->id, out->created_at)) < 0 ||
        (rc = store_member_set_read(d, c.id, me, out->id, &(bool){false})) < 0 ||
        (accepted && (rc = store_member_set_state(d, c.id, me, "active")) < 0)) {
        store_message_free(out);
        return abort_tx(d, rc, err, "send");
    }
    if ((rc = commit(d, err)) < 0) {
        store_message_free(out);
        return rc;
    }
    if (accepted)
        notify_accepted(d, &r, me, c.id, me);
    notify_message(d, &r, CHAT_NOTICE_MESSAGE_NEW, out);
    /* after the commit, for listeners outside the conversation (the event log); the delivery
     * to members above stays the send itself */
    events_emit(d, &(domain_event){.type = EV_MESSAGE_SENT, .actor = me,
                                   .value = c.id, .source_kind = c.kind[0] == 'd' ? "direct"
                                                                                  : "group"});
    return 0;
}

/* A message's attachment finished processing: its conversation's active members get the message
 * again as "message.updated", now with the media's state (and signed URLs once ready). */
void chat_media_settled(db *d, int64_t media_id)
{
    int64_t ids[CHAT_MEDIA_ANNOUNCE_MAX];
    int n = store_messages_with_media(d, media_id, ids, CHAT_MEDIA_ANNOUNCE_MAX);
    for (int i = 0; i < n; i++) {
        store_message m;
        if (store_message_get(d, ids[i], &m) < 0)
            continue;
        recipients r = {.n = 0};
        if (!m.deleted_at && collect_active(d, m.conversation_id, &r) == 0)
            notify_message(d, &r, CHAT_NOTICE_MESSAGE_UPDATED, &m);
        store_message_free(&m);
    }
}

int chat_on_event(db *d, const domain_event *ev, void *arg)
{
    (void)arg;
    if (ev->type == EV_MEDIA_SETTLED)
        chat_media_settled(d, ev->media_id);
    return 0;
}

/* Loads a message of a conversation I am an active member of (404 otherwise). */
static int load_message(db *d, int64_t me, int64_t conversation_id, int64_t message_id,
                        store_conversation *c, store_member *mine, store_message *m,
                        domain_error *err)
{
    int rc = load_active(d, me, conversation_id, c, mine, err);
    if (rc < 0)
        return rc;
    rc = store_message_get(d, message_id, m);
    if (rc == 0 && (m->conversation_id != conversation_id || m->id < mine->joined_id)) {
        store_message_free(m);
        rc = ERR_NOT_FOUND;
    }
    if (rc == ERR_NOT_FOUND)
        return domain_fail(err, rc, "message_not_found", "no such message");
    return rc < 0 ? domain_db_failed(err, d, "message") : 0;
}

int chat_edit(db *d, int64_t me, int64_t conversation_id, int64_t message_id, const char *text,
              store_message *out, domain_error *err)
{
    memset(out, 0, sizeof *out);
    store_conversation c;
    store_member mine;
    int rc = begin(d, err);
    if (rc < 0)
        return rc;
    if ((rc = load_message(d, me, conversation_id, message_id, &c, &mine, out, err)) < 0)
        return abort_tx(d, rc, err, "edit");
    if (out->sender_id != me || strcmp(out->kind, "text"))
        rc = domain_fail(err, ERR_FORBIDDEN, "not_sender", "only the sender may edit a message");
    else if (out->deleted_at)
        rc = domain_fail(err, ERR_CONFLICT, "message_deleted", "the message was deleted");
    else if ((!text || !*text) && !strcmp(out->attachments, "[]"))
        rc = domain_invalid(err, "text", "required");
    if (rc < 0) {
        store_message_free(out);
        return abort_tx(d, rc, err, "edit");
    }
    int64_t now = now_ms();
    recipients r = {.n = 0};
    if ((rc = store_message_edit(d, message_id, text ? text : "", now)) < 0 ||
        (rc = collect_active(d, conversation_id, &r)) < 0) {
        store_message_free(out);
        return abort_tx(d, rc, err, "edit");
    }
    if ((rc = commit(d, err)) < 0) {
        store_message_free(out);
        return rc;
    }
    free(out->body);
    out->body = xstrdup(text ? text : "");
    out->edited_at = out->updated_at = now;
    notify_message(d, &r, CHAT_NOTICE_MESSAGE_EDITED, out);
    return 0;
}

int chat_delete(db *d, int64_t me, int64_t conversation_id, int64_t message_id, domain_error *err)
{
    store_conversation c;
    store_member mine;
    store_message m;
    int rc = begin(d, err);
    if (rc < 0)
        return rc;
    if ((rc = load_message(d, me, conversation_id, message_id, &c, &mine, &m, err)) < 0)
        return abort_tx(d, rc, err, "delete");
    bool admin = !strcmp(c.kind, "group") && !strcmp(mine.role, "admin");
    if (strcmp(m.kind, "text") || (m.sender_id != me && !admin))
        rc = domain_fail(err, ERR_FORBIDDEN, "not_sender",
                         "only the sender or a group admin may delete a message");
    if (rc < 0 || m.deleted_at) {
        store_message_free(&m);
        if (rc < 0)
            return abort_tx(d, rc, err, "delete");
        db_rollback(d); /* already deleted: nothing to do, nothing to tell */
        return 0;
    }
    int64_t now = now_ms();
    recipients r = {.n = 0};
    if ((rc = store_message_delete(d, message_id, now)) < 0 ||
        (rc = collect_active(d, conversation_id, &r)) < 0) {
        store_message_free(&m);
        return abort_tx(d, rc, err, "delete");
    }
    if ((rc = commit(d, err)) < 0) {
        store_message_free(&m);
        return rc;
    }
    m.body[0] = '\0';
    snprintf(m.attachments, sizeof m.attachments, "[]");
    m.deleted_at = m.updated_at = now;
    notify_message(d, &r, CHAT_NOTICE_MESSAGE_DELETED, &m);
    store_message_free(&m);
    return 0;
}

int chat_history(db *d, int64_t me, int64_t conversation_id, int64_t before, int64_t after,
                 store_message *out, int max, domain_error *err)
{
    store_conversation c;
    store_member mine;
    int rc = load(d, me, conversation_id, &c, &mine, err);
    if (rc < 0)
        return rc;
    int n = after > 0 ? store_messages_after(d, conversation_id, mine.joined_id, after, out, max)
                      : store_messages_before(d, conversation_id, mine.joined_id, before, out, max);
    return n < 0 ? domain_db_failed(err, d, "history") : n;
}

/* Receipts ---------------------------------------------------------------------------------- */

static int receipt(db *d, int64_t me, int64_t conversation_id, int64_t message_id, bool read,
                   domain_error *err)
{
    store_conversation c;
    store_member mine;
    store_message m;
    int rc = begin(d, err);
    if (rc < 0)
        return rc;
    if ((rc = load_message(d, me, conversation_id, message_id, &c, &mine, &m, err)) < 0)
        return abort_tx(d, rc, err, "receipt");
    store_message_free(&m);
    bool moved;
    int64_t from = read ? mine.last_read_id : mine.last_delivered_id;
    rc = read ? store_member_set_read(d, conversation_id, me, message_id, &moved)
              : store_member_set_delivered(d, conversation_id, me, message_id, &moved);
    if (rc < 0)
        return abort_tx(d, rc, err, "receipt");
    if (read && moved) /* what was read was delivered too */
        rc = store_member_set_delivered(d, conversation_id, me, message_id, &(bool){false});
    recipients r = {.n = 0};
    if (rc == 0 && moved) {
        if (read) {
            rc = collect_active(d, conversation_id, &r);
        } else {
            /* A delivery receipt goes to the senders of the messages it covers only: in a big
             * group, telling everyone of everyone's deliveries would be n^2 traffic. */
            int64_t senders[CHAT_GROUP_MAX];
            int n = store_message_senders(d, conversation_id, from, message_id, me, senders,
                                          CHAT_GROUP_MAX);
            rc = n < 0 ? n : 0;
            for (int i = 0; i < n; i++)
                add_recipient(&r, senders[i]);
        }
    }
    if (rc < 0)
        return abort_tx(d, rc, err, "receipt");
    if ((rc = commit(d, err)) < 0)
        return rc;
    if (moved)
        notify(d, &r, 0,
               (chat_notice){.type = read ? CHAT_NOTICE_READ : CHAT_NOTICE_DELIVERED,
                             .conversation_id = conversation_id,
                             .user_id = me,
                             .message_id = message_id});
    return 0;
}

int chat_mark_read(db *d, int64_t me, int64_t conversation_id, int64_t message_id, domain_error *err)
{
    return receipt(d, me, conversation_id, message_id, true, err);
}

int chat_mark_delivered(db *d, int64_t me, int64_t conversation_id, int64_t message_id,
                        domain_error *err)
{
    return receipt(d, me, conversation_id, message_id, false, err);
}

/* Typing ------------------------------------------------------------------------------------ */

#define TYPING_SLOTS 4096

static struct {
    int64_t user, conversation, at_ms;
} typing_slots[TYPING_SLOTS];
static pthread_mutex_t typing_lock = PTHREAD_MUTEX_INITIALIZER;

/* True when the indicator may go out now (and records it). */
static bool typing_allowed(int64_t user, int64_t conversation, int64_t now)
{
    uint64_t h = ((uint64_t)user * 0x9E3779B97F4A7C15ull) ^ (uint64_t)conversation;
    h ^= h >> 29;
    unsigned slot = (unsigned)(h % TYPING_SLOTS);
    bool ok = true;
    pthread_mutex_lock(&typing_lock);
    if (typing_slots[slot].user == user && typing_slots[slot].conversation == conversation &&
        now - typing_slots[slot].at_ms < CHAT_TYPING_THROTTLE_MS)
        ok = false;
    else {
        typing_slots[slot].user = user;
        typing_slots[slot].conversation = conversation;
        typing_slots[slot].at_ms = now;
    }
    pthread_mutex_unlock(&typing_lock);
    return ok;
}

int chat_typing(db *d, int64_t me, int64_t conversation_id, bool *throttled, domain_error *err)
{
    store_conversation c;
    store_member mine;
    *throttled = false;
    int rc = load_active(d, me, conversation_id, &c, &mine, err);
    if (rc < 0)
        return rc;
    if (!typing_allowed(me, conversation_id, now_ms())) {
        *throttled = true;
        return 0;
    }
    recipients r = {.n = 0};
    if (collect_active(d, conversation_id, &r) < 0)
        return domain_db_failed(err, d, "typing");
    notify(d, &r, me,
           (chat_notice){.type = CHAT_NOTICE_TYPING, .conversation_id = conversation_id,
                         .user_id = me});
    return 0;
}

/* Catch-up ---------------------------------------------------------------------------------- */

int chat_sync(db *d, int64_t me, int64_t after, store_message *out, int max, store_message *changed,
              int max_changed, int *n_changed, domain_error *err)
{
    *n_changed = 0;
    int n = store_messages_sync(d, me, after, out, max);
    if (n < 0)
        return domain_db_failed(err, d, "sync");
    if (after > 0 && max_changed > 0) {
        /* Edits and deletions of messages the client already has, made since it last heard
         * (the time inside the last id it saw). */
        int k = store_messages_changed(d, me, after, id_time_ms(after), changed, max_changed);
        if (k < 0) {
            store_messages_free(out, n);
            return domain_db_failed(err, d, "sync changes");
        }
        *n_changed = k;
    }
    return n;
}

int chat_last_message(db *d, const store_conversation *c, const store_member *mine,
                      store_message *out)
{
    if (!c->last_message_id || c->last_message_id < mine->joined_id)
        return ERR_NOT_FOUND;
    return store_message_get(d, c->last_message_id, out);
}

int chat_members_with_users(db *d, int64_t conversation_id, store_member *out, store_user *users,
                            int max)
{
    return store_members_with_users(d, conversation_id, out, users, max);
}

int chat_inbox(db *d, int64_t me, const char *state, int64_t before, store_inbox_row *out, int max,
               domain_error *err)
{
    int n = store_inbox(d, me, state, before, out, max);
    return n < 0 ? domain_db_failed(err, d, "inbox") : n;
}

void chat_message_free(store_message *m)
{
    store_message_free(m);
}
void chat_messages_free(store_message *m, int n)
{
    store_messages_free(m, n);
}
