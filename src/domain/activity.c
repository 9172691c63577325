/* SPDX-License-Identifier: MIT
 *
 * Domain events to event-log rows: see activity.h. The names are the ones the log has always
 * used, so analytics reading it see no change.
 */
#include "domain/activity.h"
#include "domain/auth.h"

#include "jobs/event_log.h"

#include <stdio.h>
#include <string.h>

int activity_on_event(db *d, const domain_event *ev, void *arg)
{
    (void)d;
    (void)arg;
    const char *type = NULL, *object = "user";
    int64_t id = ev->user_id;
    char props[160], *with = NULL;
    switch (ev->type) {
    case EV_POST_CREATED: {
        /* a share is logged against the post shared */
        bool share = ev->source_kind && !strcmp(ev->source_kind, "share");
        type = share ? "share" : "post";
        object = "post";
        id = share ? ev->source_id : ev->post_id;
        break;
    }
    case EV_REACTION_ADDED:
    case EV_REACTION_REMOVED:
    case EV_POST_SAVED:
    case EV_POST_UNSAVED:
    case EV_COMMENT_CREATED:
    case EV_POST_VIEWED:
        type = ev->type == EV_REACTION_ADDED     ? "like"
               : ev->type == EV_REACTION_REMOVED ? "unlike"
               : ev->type == EV_POST_SAVED       ? "save"
               : ev->type == EV_POST_UNSAVED     ? "unsave"
               : ev->type == EV_COMMENT_CREATED  ? "comment"
                                                 : "view";
        object = "post";
        id = ev->post_id;
        if (ev->type == EV_POST_VIEWED) {
            /* the sources and types are fixed literals: nothing here needs escaping */
            snprintf(props, sizeof props,
                     "{\"watch_ms\":%lld,\"completed\":%s,\"source\":\"%s\",\"post_type\":\"%s\","
                     "\"counted\":%s}",
                     (long long)ev->value, ev->completed ? "true" : "false",
                     ev->view_source ? ev->view_source : "other",
                     ev->post_type ? ev->post_type : "text", ev->changed ? "true" : "false");
            with = props;
        }
        break;
    case EV_FOLLOWED:
        type = "follow";
        break;
    case EV_FOLLOW_REQUESTED:
        type = "follow_request";
        break;
    case EV_UNFOLLOWED:
        type = "unfollow";
        break;
    case EV_MESSAGE_SENT:
        /* the conversation, not the recipients: who talks to whom stays out of the log */
        type = "message";
        object = "conversation";
        id = ev->value;
        snprintf(props, sizeof props, "{\"kind\":\"%s\"}",
                 ev->source_kind ? ev->source_kind : "direct");
        with = props;
        break;
    case EV_BLOCKED:
        type = "block";
        break;
    case EV_UNBLOCKED:
        type = "unblock";
        break;
    default:
        return 0;
    }
    event_log_emit(ev->actor, type, object, id, with);
    return 0;
}

int activity_events_list(db *d, const store_user *actor, int64_t actor_id, const char *type,
                         int64_t before_id, store_event *out, int max, domain_error *err)
{
    int rc = auth_require_role(actor, "admin", err);
    if (rc < 0)
        return rc;
    int n = store_events_list(d, actor_id, type, before_id, out, max);
    return n < 0 ? domain_db_failed(err, d, "list events") : n;
}

void activity_profile_view(int64_t viewer, int64_t user_id)
{
    if (viewer && viewer != user_id)
        event_log_emit(viewer, "profile_view", "user", user_id, NULL);
}
