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

#include "domain/events.h"

/* After-commit consumer; app.c subscribes it to the types above. */
int activity_on_event(db *d, const domain_event *ev, void *arg);

#endif
