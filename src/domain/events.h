/* SPDX-License-Identifier: MIT
 *
 * Domain events: how an operation tells the rest of the system what happened without knowing
 * who cares (in the spirit of Mosquitto's plugin callbacks). posts, comments, reactions and the
 * follow graph emit one event per change; notify.c, feed_cache.c, live.c and the event log
 * (activity.c) are consumers that app.c subscribes at start-up ("who listens to what" is one
 * block there). A new module subscribes; it does not edit the module that emits.
 *
 * Two phases. An IN_TRANSACTION consumer runs inside events_emit, inside the emitter's
 * transaction, and sees the borrowed rows; a negative return aborts the operation (the emitter
 * rolls back and reports the error), so what it writes commits or rolls back with the action
 * (notifications, counters). An AFTER_COMMIT consumer runs once the transaction committed (never
 * after a rollback) through db_on_commit, on a copy of the event's scalar fields: the borrowed
 * pointers are NULL by then because the rows they pointed to are gone (feed caches, the bus, the
 * event log, search, and later recommendations, analytics, scanners). Emitted outside a
 * transaction, both phases run at once.
 *
 * The table of consumers is written at start-up only, before any thread that emits starts, and
 * is read-only afterwards: events_emit takes no lock. events_reset is for tests (and for app.c,
 * so wiring twice in one process does not subscribe twice).
 */
#ifndef STREAMHUB_DOMAIN_EVENTS_H
#define STREAMHUB_DOMAIN_EVENTS_H

#include "store/db.h"
#include "store/posts.h"
#include "store/users.h"

#include <stdbool.h>
#include <stdint.h>

/* docs/architecture.md lists each with its payload and its listeners. */
typedef enum domain_event_type {
    EV_POST_CREATED,     /* post, post_author; source_id/source_kind/user_id for derived posts */
    EV_POST_EDITED,      /* post, post_author */
    EV_POST_DELETED,     /* post_id */
    EV_POST_VIEWED,      /* post_id, user_id = author, value = watch_ms, changed = counted,
                            completed, view_source, post_type */
    EV_POST_SAVED,       /* post_id */
    EV_POST_UNSAVED,     /* post_id */
    EV_REACTION_ADDED,   /* post_id, user_id = post's author, reaction */
    EV_REACTION_REMOVED, /* post_id, user_id = post's author */
    EV_COMMENT_CREATED,  /* post, post_author, comment, parent */
    EV_COMMENT_DELETED,  /* post_id, comment_id */
    EV_COMMENT_LIKED,    /* post_id, comment_id, user_id = comment's author */
    EV_FOLLOWED,         /* user_id = followee; changed = the edge is new */
    EV_FOLLOW_REQUESTED, /* user_id = the private account; changed = the request is new */
    EV_FOLLOW_ACCEPTED,  /* actor = who accepted, user_id = requester; changed = edge is new */
    EV_UNFOLLOWED,       /* user_id (also withdraws a pending request) */
    EV_BLOCKED,          /* user_id */
    EV_UNBLOCKED,        /* user_id */
    EV_MUTED,            /* user_id */
    EV_UNMUTED,          /* user_id */
    EV_PRIVACY_CHANGED,  /* the actor set is_private (value = the new setting) */
    EV_MEDIA_SETTLED,    /* media_id: processing ended (ready or failed) */
    EV_MESSAGE_SENT,     /* value = conversation id, source_kind = "direct" or "group" */
    EV__COUNT
} domain_event_type;

typedef enum events_phase { EVENTS_IN_TRANSACTION, EVENTS_AFTER_COMMIT } events_phase;

typedef struct domain_event {
    domain_event_type type;
    int64_t actor;      /* who acted (0 for the system, e.g. a media job) */
    int64_t user_id;    /* the other user the event is about, 0 if none */
    int64_t post_id;    /* 0 if none */
    int64_t comment_id; /* 0 if none */
    int64_t source_id;  /* the duet's, stitch's or share's source post */
    int64_t media_id;
    int64_t value; /* per type: watch_ms for a view, the new is_private */
    bool changed;  /* the edge or row was created by this call (false: it already existed) */
    /* string literals (or NULL), so they outlive the call */
    const char *source_kind; /* "duet", "stitch", "share" or NULL */
    const char *view_source; /* a view: where the post was shown (posts_view_sources) */
    const char *post_type;   /* a view: the viewed post's type (posts_types) */
    bool completed;          /* a view: watched to the end */
    /* Borrowed, valid during in-transaction consumers only (NULL after commit). */
    const store_post *post;
    const store_user *post_author;
    const store_comment *comment, *parent; /* parent->id 0 = top level */
    const int64_t *mentioned;              /* users newly mentioned by the caption or body */
    int n_mentioned;
} domain_event;

/* Return 0, or a negative ERR_* (in-transaction consumers only: the operation fails). d is the
 * emitter's connection; after commit it is outside any transaction. */
typedef int (*events_fn)(db *d, const domain_event *ev, void *arg);

/* The most subscriptions the table holds (all types together). */
#define EVENTS_MAX_CONSUMERS 96

/* Subscribes fn to type; consumers of one type and phase run in subscription order. Start-up
 * only. ERR_INVALID for an unknown type or phase or a full table. */
int events_on(domain_event_type type, events_phase phase, events_fn fn, void *arg);
/* Runs the in-transaction consumers of ev->type now, stopping at the first error (returned),
 * then queues the after-commit ones on d with db_on_commit. */
int events_emit(db *d, const domain_event *ev);
/* Forgets every subscription (tests; app.c before wiring). Not while events are emitted. */
void events_reset(void);
/* The event's name in logs and docs ("post_created"). */
const char *events_name(domain_event_type type);

#endif
