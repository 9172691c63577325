/* SPDX-License-Identifier: MIT
 *
 * Notification rules: see notify.h.
 */
#include "domain/notify.h"

#include "core/id.h"
#include "core/util.h"
#include "domain/errors.h"
#include "domain/posts.h"
#include "store/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const notify_types[] = {
    "follow", "follow_request", "follow_accepted", "like",  "comment",      "reply",
    "mention", "share",         "duet",            "stitch", "comment_like", NULL,
};

bool notify_type_valid(const char *type)
{
    for (const char *const *t = notify_types; *t; t++)
        if (!strcmp(*t, type))
            return true;
    return false;
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
    store_notification n = {.id = id_next(), .user_id = recipient, .actor_id = actor,
                            .post_id = post_id, .comment_id = comment_id,
                            .created_at = now_ms()};
    n.seq = n.id;
    snprintf(n.type, sizeof n.type, "%s", type);
    return store_notification_add(d, &n, group_key);
}

/* Whether a notification may still be shown: its actor exists and is not blocked either way,
 * and its post (if any) is one the viewer can see. */
static bool still_visible(db *d, int64_t viewer, const store_notification *n, store_user *actor)
{
    if (store_user_by_id(d, n->actor_id, actor) < 0 ||
        store_blocked_either(d, viewer, n->actor_id))
        return false;
    if (!n->post_id)
        return true;
    store_post p;
    store_user author;
    auth_error err;
    return posts_get_visible(d, viewer, n->post_id, &p, &author, &err) == 0;
}

#define MAX_BATCHES 4

int notify_list(db *d, int64_t viewer, int64_t cursor, int limit, notify_item *out,
                int64_t *next)
{
    int batch = limit * 2, n = 0, rc = 0;
    store_notification *cand = xcalloc((size_t)batch, sizeof *cand);
    *next = 0;
    for (int round = 0; round < MAX_BATCHES && n < limit; round++) {
        int got = store_notification_list(d, viewer, cursor, cand, batch);
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
        *next = (got == batch || i < got) ? cursor : 0;
        if (got < batch)
            break;
    }
    free(cand);
    return rc < 0 ? rc : n;
}

int notify_mark_read(db *d, int64_t viewer, const int64_t *ids, int n_ids, auth_error *err)
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
