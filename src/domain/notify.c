/* SPDX-License-Identifier: MIT
 *
 * Notification rules: see notify.h.
 *
 * Live delivery: notify() runs inside the action's transaction, so it cannot publish itself (a
 * rolled-back like must push nothing, and a socket must never show a row the list cannot). It
 * reads what the push carries while the transaction still sees the row as it will commit (grouped
 * count, newest actor, unread total) and hands it to db_on_commit, which gives it to the API's
 * publisher after a successful COMMIT and drops it on rollback. The hook lives on the connection, not in each
 * caller, so the ten actions that notify need no change and a new one cannot forget it.
 *
 * Which action notifies whom is notify_on_event, an in-transaction consumer of the domain events
 * (app.c subscribes it), so posts.c and graph.c do not call notify() themselves.
 */
#include "domain/notify.h"

#include "core/bus.h"
#include "core/id.h"
#include "core/util.h"
#include "domain/errors.h"
#include "domain/graph.h"
#include "domain/posts.h"
#include "domain/tags.h"
#include "store/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TYPE_NAME(type) #type,
const char *const notify_types[] = {NOTIFY_TYPES(TYPE_NAME) NULL};
#undef TYPE_NAME

static notify_publish_fn publisher;

void notify_set_publisher(notify_publish_fn fn)
{
    publisher = fn;
}

bool notify_type_valid(const char *type)
{
    for (const char *const *t = notify_types; *t; t++)
        if (!strcmp(*t, type))
            return true;
    return false;
}

void notify_summary(const notify_item *it, char *out, size_t n)
{
    static const struct {
        const char *type, *text;
    } texts[] = {
        {"follow", "started following you"},
        {"follow_request", "asked to follow you"},
        {"follow_accepted", "accepted your follow request"},
        {"like", "liked your post"},
        {"comment", "commented on your post"},
        {"reply", "replied to your comment"},
        {"mention", "mentioned you"},
        {"share", "shared your post"},
        {"duet", "made a duet with your post"},
        {"stitch", "stitched your post"},
        {"comment_like", "liked your comment"},
        {"creator_tier", "moved to a new creator tier"},
    };
    const char *text = it->n.type;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (!strcmp(texts[i].type, it->n.type))
            text = texts[i].text;
    int64_t others = it->n.actor_count - 1;
    if (others > 0)
        snprintf(out, n, "%s and %lld other%s %s", it->actor.handle, (long long)others,
                 others == 1 ? "" : "s", text);
    else
        snprintf(out, n, "%s %s", it->actor.handle, text);
}

static bool still_visible(db *d, int64_t viewer, const store_notification *n, store_user *actor);

static void publish_live(void *arg, bool committed)
{
    notify_live *live = arg;
    if (committed)
        publisher(live);
    free(live);
}

/* Best effort: a read that fails here costs the live push only, never the action (the row is
 * still listed by GET /notifications). */
static void queue_live(db *d, int64_t recipient, int64_t id, const char *group_key)
{
    notify_live *live = xcalloc(1, sizeof *live);
    /* the same re-check as the list: a reply on a post the recipient can no longer see is
     * stored (the post may widen again) but neither pushed nor counted */
    if (store_notification_current(d, recipient, id, group_key, &live->item.n) < 0 ||
        !still_visible(d, recipient, &live->item.n, &live->item.actor)) {
        free(live);
        return;
    }
    live->recipient = recipient;
    live->unread = notify_unread(d, recipient);
    db_on_commit(d, publish_live, live);
}

/* Stores the notification and queues its live push. */
static int record(db *d, int64_t recipient, const char *type, int64_t actor, int64_t post_id,
                  int64_t comment_id, const char *group_key)
{
    store_notification n = {.id = id_next(),
                            .user_id = recipient,
                            .actor_id = actor,
                            .post_id = post_id,
                            .comment_id = comment_id,
                            .created_at = now_ms()};
    n.seq = n.id;
    snprintf(n.type, sizeof n.type, "%s", type);
    int rc = store_notification_add(d, &n, group_key);
    if (rc == 0 && publisher && bus_user_listened(recipient))
        queue_live(d, recipient, n.id, group_key);
    return rc;
}

int notify(db *d, int64_t recipient, const char *type, int64_t actor, int64_t post_id,
           int64_t comment_id)
{
    if (!recipient || recipient == actor)
        return 0;
    if (store_blocked_either(d, recipient, actor) || store_mutes(d, recipient, actor) ||
        !store_notification_wanted(d, recipient, type))
        return 0;
    char group[64];
    const char *group_key = NULL;
    if (!strcmp(type, "like") || !strcmp(type, "comment_like")) {
        snprintf(group, sizeof group, "%s:%lld", type,
                 (long long)(comment_id ? comment_id : post_id));
        group_key = group;
    } else if (!strcmp(type, "follow")) {
        group_key = "follow";
    }
    return record(d, recipient, type, actor, post_id, comment_id, group_key);
}

int notify_self(db *d, int64_t recipient, const char *type)
{
    if (!store_notification_wanted(d, recipient, type))
        return 0;
    return record(d, recipient, type, recipient, 0, 0, NULL);
}

/* Mentions in a caption tell the newly mentioned who can see the post. */
static int notify_mentions(db *d, const domain_event *ev)
{
    int rc = 0;
    for (int i = 0; rc == 0 && i < ev->n_mentioned; i++)
        if (posts_can_view(d, ev->mentioned[i], ev->post_author, ev->post))
            rc = notify(d, ev->mentioned[i], "mention", ev->actor, ev->post_id, 0);
    return rc;
}

/* A comment tells the post's author; a reply tells the parent comment's author (the post's
 * author still hears of it as a comment); mentions tell the mentioned who can see the post. */
static int notify_comment(db *d, const domain_event *ev)
{
    const store_post *p = ev->post;
    const store_comment *parent = ev->parent, *c = ev->comment;
    int rc = 0;
    if (parent->id && parent->author_id != p->author_id)
        rc = notify(d, parent->author_id, "reply", ev->actor, p->id, c->id);
    if (rc == 0)
        rc = notify(d, p->author_id,
                    parent->id && parent->author_id == p->author_id ? "reply" : "comment",
                    ev->actor, p->id, c->id);
    tags_parsed *t = xmalloc(sizeof *t);
    tags_parse(c->body, t);
    for (int i = 0; rc == 0 && i < t->n_mentions; i++) {
        store_user u;
        if (store_user_by_handle(d, t->mentions[i], &u) == 0 && u.id != p->author_id &&
            u.id != parent->author_id && posts_can_view(d, u.id, ev->post_author, p))
            rc = notify(d, u.id, "mention", ev->actor, p->id, c->id);
    }
    free(t);
    return rc;
}

int notify_on_event(db *d, const domain_event *ev, void *arg)
{
    (void)arg;
    switch (ev->type) {
    case EV_POST_CREATED: {
        int rc = notify_mentions(d, ev);
        if (rc == 0 && ev->source_kind) /* "duet", "stitch" or "share" */
            rc = notify(d, ev->user_id, ev->source_kind, ev->actor, ev->post_id, 0);
        return rc;
    }
    case EV_POST_EDITED:
        return notify_mentions(d, ev);
    case EV_REACTION_ADDED:
        return notify(d, ev->user_id, "like", ev->actor, ev->post_id, 0);
    case EV_COMMENT_CREATED:
        return notify_comment(d, ev);
    case EV_COMMENT_LIKED:
        return notify(d, ev->user_id, "comment_like", ev->actor, ev->post_id, ev->comment_id);
    case EV_FOLLOWED:
        return ev->changed ? notify(d, ev->user_id, "follow", ev->actor, 0, 0) : 0;
    case EV_FOLLOW_REQUESTED:
        return ev->changed ? notify(d, ev->user_id, "follow_request", ev->actor, 0, 0) : 0;
    case EV_FOLLOW_ACCEPTED:
        return ev->changed ? notify(d, ev->user_id, "follow_accepted", ev->actor, 0, 0) : 0;
    default:
        return 0;
    }
}

/* Whether a notification may still be shown: its actor exists, is not blocked either way and
 * is not muted by the viewer (a mute removes their notifications, older ones included), and its
 * post (if any) is one the viewer can see. */
static bool still_visible(db *d, int64_t viewer, const store_notification *n, store_user *actor)
{
    if (store_user_by_id(d, n->actor_id, actor) < 0 ||
        store_blocked_either(d, viewer, n->actor_id) || store_mutes(d, viewer, n->actor_id))
        return false;
    if (!n->post_id)
        return true;
    store_post p;
    store_user author;
    domain_error err;
    return posts_get_visible(d, viewer, n->post_id, &p, &author, &err) == 0;
}

/* Batches follow until the page is full, so a page is short only at the end; this many
 * candidates a page at most bound the work when most are no longer visible (the short page then
 * carries a cursor). */
#define SCAN_MAX 1000

int notify_list(db *d, int64_t viewer, int64_t cursor, int limit, notify_item *out, int64_t *next)
{
    int batch = limit * 2, n = 0, rc = 0;
    store_notification *cand = xcalloc((size_t)batch, sizeof *cand);
    *next = 0;
    for (int examined = 0; examined < SCAN_MAX && n < limit;) {
        int got = store_notification_list(d, viewer, false, cursor, cand, batch);
        if (got < 0) {
            rc = got;
            break;
        }
        int i = 0;
        for (; i < got && n < limit; i++) {
            cursor = cand[i].seq;
            if (!still_visible(d, viewer, &cand[i], &out[n].actor))
                continue;
            out[n++].n = cand[i];
        }
        examined += i;
        *next = (got == batch || i < got) ? cursor : 0;
        if (got < batch)
            break;
    }
    free(cand);
    return rc < 0 ? rc : n;
}

int64_t notify_unread(db *d, int64_t viewer)
{
    int64_t total = store_notification_unread(d, viewer);
    if (total <= 0)
        return total; /* the common case: nothing unread, one index probe */
    enum { BATCH = 100 };
    store_notification *rows = xcalloc(BATCH, sizeof *rows);
    int64_t count = 0, cursor = 0, rc = 0;
    for (int scanned = 0; scanned < NOTIFY_UNREAD_SCAN_MAX && count < NOTIFY_UNREAD_MAX;) {
        int got = store_notification_list(d, viewer, true, cursor, rows, BATCH);
        if (got < 0) {
            rc = got;
            break;
        }
        for (int i = 0; i < got && count < NOTIFY_UNREAD_MAX; i++) {
            store_user actor;
            cursor = rows[i].seq;
            if (still_visible(d, viewer, &rows[i], &actor))
                count++;
        }
        scanned += got;
        if (got < BATCH)
            break;
    }
    free(rows);
    return rc < 0 ? rc : count;
}

int notify_mark_read(db *d, int64_t viewer, const int64_t *ids, int n_ids, domain_error *err)
{
    int64_t now = now_ms();
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    int rc = 0;
    if (n_ids < 0)
        rc = store_notification_mark_all_read(d, viewer, now);
    for (int i = 0; rc == 0 && i < n_ids; i++)
        rc = store_notification_mark_read(d, viewer, ids[i], now);
    if (rc < 0 || db_commit(d) < 0) {
        db_rollback(d);
        return domain_db_failed(err, d, "mark read");
    }
    return 0;
}

bool notify_pref_wanted(db *d, int64_t user_id, const char *type)
{
    return store_notification_wanted(d, user_id, type);
}

int notify_pref_set(db *d, int64_t user_id, const char *type, bool enabled, domain_error *err)
{
    if (!notify_type_valid(type))
        return domain_invalid(err, type, "not_allowed");
    if (store_notification_set_pref(d, user_id, type, enabled) < 0)
        return domain_db_failed(err, d, "notification preference");
    return 0;
}
