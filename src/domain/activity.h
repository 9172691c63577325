/* SPDX-License-Identifier: MIT
 *
 * The activity record: which domain events are written to the event log (jobs/event_log.h) and
 * under which name. The log sits below domain/ and knows nothing of domain events, so this small
 * after-commit consumer translates: "post" or "share", "like"/"unlike", "save"/"unsave",
 * "comment", "view" (with {"watch_ms":N}), "follow", "follow_request", "unfollow",
 * "block"/"unblock", each with its actor and the post or user it is about. Events not listed are
 * not logged (as before events existed).
 */
#ifndef STREAMHUB_DOMAIN_ACTIVITY_H
#define STREAMHUB_DOMAIN_ACTIVITY_H

#include "domain/errors.h"
#include "domain/events.h"
#include "store/events.h"
#include "store/users.h"

/* After-commit consumer; app.c subscribes it to the types above. */
int activity_on_event(db *d, const domain_event *ev, void *arg);
/* Records that viewer looked at user_id's profile ("profile_view"); nothing for anonymous
 * viewers (0) or for one's own profile. */
void activity_profile_view(int64_t viewer, int64_t user_id);
/* GET /admin/events: up to max rows of the event log, newest first, ids below before_id;
 * actor_id 0 and type "" mean any. Admins only (ERR_FORBIDDEN otherwise). Returns the count. */
int activity_events_list(db *d, const store_user *actor, int64_t actor_id, const char *type,
                         int64_t before_id, store_event *out, int max, domain_error *err);

#endif
