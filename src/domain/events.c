/* SPDX-License-Identifier: MIT
 *
 * The domain event registry (see events.h). One flat table of subscriptions, scanned in order
 * for each event: with a few dozen entries a scan is cheaper than any index, and it keeps the
 * order of consumers the order app.c subscribed them in. After-commit consumers of one event
 * share one db_on_commit hook, holding a copy of the event with its borrowed pointers cleared.
 */
#include "domain/events.h"

#include "core/util.h"

#include <stdlib.h>

typedef struct subscription {
    domain_event_type type;
    events_phase phase;
    events_fn fn;
    void *arg;
} subscription;

/* Written at start-up only, read-only once threads run (events.h). */
static subscription table[EVENTS_MAX_CONSUMERS];
static int n_table;

static const char *const names[EV__COUNT] = {
    [EV_POST_CREATED] = "post_created",
    [EV_POST_EDITED] = "post_edited",
    [EV_POST_DELETED] = "post_deleted",
    [EV_POST_VIEWED] = "post_viewed",
    [EV_POST_SAVED] = "post_saved",
    [EV_POST_UNSAVED] = "post_unsaved",
    [EV_REACTION_ADDED] = "reaction_added",
    [EV_REACTION_REMOVED] = "reaction_removed",
    [EV_COMMENT_CREATED] = "comment_created",
    [EV_COMMENT_DELETED] = "comment_deleted",
    [EV_COMMENT_LIKED] = "comment_liked",
    [EV_FOLLOWED] = "followed",
    [EV_FOLLOW_REQUESTED] = "follow_requested",
    [EV_FOLLOW_ACCEPTED] = "follow_accepted",
    [EV_UNFOLLOWED] = "unfollowed",
    [EV_BLOCKED] = "blocked",
    [EV_UNBLOCKED] = "unblocked",
    [EV_MUTED] = "muted",
    [EV_UNMUTED] = "unmuted",
    [EV_PRIVACY_CHANGED] = "privacy_changed",
    [EV_MEDIA_SETTLED] = "media_settled",
    [EV_MESSAGE_SENT] = "message_sent",
};

const char *events_name(domain_event_type type)
{
    return type >= 0 && type < EV__COUNT && names[type] ? names[type] : "unknown";
}

int events_on(domain_event_type type, events_phase phase, events_fn fn, void *arg)
{
    if (type < 0 || type >= EV__COUNT || !fn ||
        (phase != EVENTS_IN_TRANSACTION && phase != EVENTS_AFTER_COMMIT) ||
        n_table == EVENTS_MAX_CONSUMERS)
        return ERR_INVALID;
    table[n_table++] = (subscription){.type = type, .phase = phase, .fn = fn, .arg = arg};
    return 0;
}

void events_reset(void)
{
    n_table = 0;
}

typedef struct pending {
    db *d;
    domain_event ev;
} pending;

static void run_after_commit(void *arg, bool committed)
{
    pending *p = arg;
    for (int i = 0; committed && i < n_table; i++)
        if (table[i].type == p->ev.type && table[i].phase == EVENTS_AFTER_COMMIT)
            table[i].fn(p->d, &p->ev, table[i].arg); /* the action stands: nothing to undo */
    free(p);
}

int events_emit(db *d, const domain_event *ev)
{
    bool after = false;
    for (int i = 0; i < n_table; i++) {
        if (table[i].type != ev->type)
            continue;
        if (table[i].phase == EVENTS_AFTER_COMMIT) {
            after = true;
            continue;
        }
        int rc = table[i].fn(d, ev, table[i].arg);
        if (rc < 0)
            return rc;
    }
    if (!after)
        return 0;
    pending *p = xcalloc(1, sizeof *p);
    p->d = d;
    p->ev = *ev;
    p->ev.post = NULL;
    p->ev.post_author = NULL;
    p->ev.comment = p->ev.parent = NULL;
    p->ev.mentioned = NULL;
    p->ev.n_mentioned = 0;
    db_on_commit(d, run_after_commit, p);
    return 0;
}
