/* SPDX-License-Identifier: MIT
 *
 * Pinned posts (domain/pins.h).
 */
#include "domain/pins.h"

#include "core/util.h"
#include "domain/graph.h"
#include "domain/posts.h"
#include "store/pins.h"

#include <string.h>

int pins_set(db *d, const store_user *me, int64_t post_id, bool on, domain_error *err)
{
    if (!on)
        return store_pin_remove(d, me->id, post_id) < 0 ? domain_db_failed(err, d, "unpin") : 0;
    store_post post;
    store_user author;
    int rc = posts_get_visible(d, me->id, post_id, &post, &author, err);
    if (rc < 0)
        return rc;
    if (post.author_id != me->id)
        return domain_fail(err, ERR_FORBIDDEN, "not_author", "only the author can pin a post");
    if (!strcmp(post.type, "story"))
        return domain_fail(err, ERR_CONFLICT, "not_pinnable", "stories expire: pin a post");
    /* the count and the insert in one transaction, so two pins at once cannot pass the cap */
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    bool added = false;
    int64_t n = store_pin_count(d, me->id);
    rc = n < 0 ? (int)n : store_pin_add(d, me->id, post_id, now_ms(), &added);
    if (rc == 0 && added && n >= PINS_MAX) {
        db_rollback(d);
        return domain_fail(err, ERR_CONFLICT, "too_many_pins",
                           "at most 3 posts can be pinned: unpin one first");
    }
    if (rc < 0 || db_commit(d) < 0) {
        db_rollback(d);
        return domain_db_failed(err, d, "pin");
    }
    return 0;
}

int pins_list(db *d, int64_t viewer, const char *handle, pinned_post *out, domain_error *err)
{
    store_user owner;
    int rc = graph_find_user(d, viewer, handle, &owner, err);
    if (rc < 0)
        return rc;
    int64_t ids[PINS_MAX], at[PINS_MAX];
    int n = store_pin_list(d, owner.id, ids, at, PINS_MAX);
    if (n < 0)
        return domain_db_failed(err, d, "list pins");
    int shown = 0;
    for (int i = 0; i < n; i++) {
        domain_error hidden = {0};
        rc = posts_get_visible(d, viewer, ids[i], &out[shown].post, &out[shown].author, &hidden);
        if (rc == ERR_NOT_FOUND)
            continue; /* not for this viewer */
        if (rc < 0)
            return domain_db_failed(err, d, "read a pinned post");
        out[shown++].pinned_at = at[i];
    }
    return shown;
}
