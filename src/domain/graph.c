/* SPDX-License-Identifier: MIT
 *
 * Profile and follow-graph rules. Each change of an edge and its counters is one transaction;
 * a follow that already exists is not an error (follow is idempotent for clients that retry).
 * Each change emits one domain event (events.h) inside it: notifications, the feed caches,
 * presence and the event log are its consumers, wired in app.c.
 */
#include "domain/graph.h"

#include "core/id.h"
#include "core/log.h"
#include "core/util.h"
#include "domain/errors.h"
#include "domain/events.h"
#include "domain/media.h"
#include "domain/validate.h"
#include "store/identity.h"
#include "store/tags.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const graph_visibilities[] = {"public", "followers", "friends", "private", NULL};

const char *graph_display_name(const store_user *u)
{
    return u->display_name[0] ? u->display_name : u->handle;
}

/* Checks that id (> 0) is the caller's own ready image media; 404 or 422 on field otherwise. */
static int check_profile_image(db *d, int64_t me, int64_t id, const char *field, domain_error *err)
{
    store_media m;
    int rc = media_get_own(d, me, id, &m, err);
    if (rc < 0)
        return rc;
    const char *why = strcmp(m.kind, "image") != 0    ? "not_an_image"
                      : strcmp(m.state, "ready") != 0 ? "media_not_ready"
                                                      : NULL;
    store_media_free(&m);
    return why ? domain_invalid(err, field, why) : 0;
}

int graph_find_user(db *d, int64_t viewer, const char *handle, store_user *out, domain_error *err)
{
    char norm[64];
    if (strlen(handle) >= sizeof norm)
        return domain_fail(err, ERR_NOT_FOUND, "user_not_found", "no such user");
    snprintf(norm, sizeof norm, "%s", handle);
    str_lower(norm);
    int rc = store_user_by_handle(d, norm, out);
    if (rc == ERR_NOT_FOUND ||
        (rc == 0 && viewer && viewer != out->id && store_blocks(d, out->id, viewer)))
        return domain_fail(err, ERR_NOT_FOUND, "user_not_found", "no such user");
    return rc < 0 ? domain_db_failed(err, d, "graph") : 0;
}

int graph_find_user_by_id(db *d, int64_t viewer, int64_t id, store_user *out, domain_error *err)
{
    int rc = store_user_by_id(d, id, out);
    if (rc == ERR_NOT_FOUND ||
        (rc == 0 && viewer && viewer != out->id && store_blocks(d, out->id, viewer)))
        return domain_fail(err, ERR_NOT_FOUND, "user_not_found", "no such user");
    return rc < 0 ? domain_db_failed(err, d, "graph") : 0;
}

int graph_users_by_ids(db *d, int64_t viewer, const int64_t *ids, int n, store_user *out)
{
    if (n > GRAPH_USERS_BY_IDS_MAX)
        n = GRAPH_USERS_BY_IDS_MAX;
    store_user *found = xcalloc((size_t)n + 1, sizeof *found);
    int got = store_users_by_ids(d, viewer, ids, n, found), k = 0;
    /* back into the order asked, each user once (the statement answers in no order) */
    for (int i = 0; got > 0 && i < n; i++) {
        bool seen = false;
        for (int j = 0; j < k && !seen; j++)
            seen = out[j].id == ids[i];
        for (int j = 0; j < got && !seen; j++)
            if (found[j].id == ids[i]) {
                out[k++] = found[j];
                seen = true;
            }
    }
    free(found);
    return got < 0 ? got : k;
}

void graph_relationship_of(db *d, int64_t viewer, int64_t other, graph_relationship *out)
{
    memset(out, 0, sizeof *out);
    if (!viewer || viewer == other)
        return;
    out->follows = store_follows(d, viewer, other);
    out->followed_by = store_follows(d, other, viewer);
    out->friends = out->follows && out->followed_by;
    out->requested = !out->follows && store_requested(d, viewer, other);
    out->blocking = store_blocks(d, viewer, other);
    out->muting = store_mutes(d, viewer, other);
}

bool graph_may_see_lists(db *d, int64_t viewer, const store_user *owner)
{
    return !owner->is_private || viewer == owner->id ||
           (viewer && store_follows(d, viewer, owner->id));
}

static const char *check_link(const char *url)
{
    if (utf8_length(url) > GRAPH_LINK_MAX_CHARS)
        return "too_long";
    if (!str_has_prefix(url, "https://") && !str_has_prefix(url, "http://"))
        return "invalid_format";
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= ' ' || *p == 0x7f)
            return "invalid_format";
    return NULL;
}

/* The links as the users row keeps them: a compact JSON array of strings. */
static void set_links(store_user *me, const char *const *links, int n)
{
    json_t *list = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(list, json_string(links[i]));
    char *text = json_dumps(list, JSON_COMPACT);
    snprintf(me->links, sizeof me->links, "%s", text ? text : "[]");
    free(text);
    json_decref(list);
}

int graph_update_profile(db *d, store_user *me, const profile_update *u, domain_error *err)
{
    const char *why;
    char display_name[sizeof me->display_name];
    if (u->display_name &&
        (why = validate_display_name(u->display_name, display_name, sizeof display_name)))
        return domain_invalid(err, "display_name", why);
    if (u->bio) {
        if (utf8_length(u->bio) > GRAPH_BIO_MAX_CHARS)
            return domain_invalid_bounds(err, "bio", "too_long", -1, GRAPH_BIO_MAX_CHARS);
        snprintf(me->bio, sizeof me->bio, "%s", u->bio);
    }
    if (u->links) {
        if (u->n_links > GRAPH_LINKS_MAX)
            return domain_invalid_bounds(err, "links", "too_many", -1, GRAPH_LINKS_MAX);
        for (int i = 0; i < u->n_links; i++)
            if ((why = check_link(u->links[i])))
                return strcmp(why, "too_long")
                           ? domain_invalid(err, "links", why)
                           : domain_invalid_bounds(err, "links", why, -1, GRAPH_LINK_MAX_CHARS);
        set_links(me, u->links, u->n_links);
    }
    if (u->default_visibility) {
        bool ok = false;
        for (const char *const *a = graph_visibilities; *a; a++)
            ok = ok || strcmp(*a, u->default_visibility) == 0;
        if (!ok)
            return domain_invalid(err, "default_visibility", "not_allowed");
        snprintf(me->default_visibility, sizeof me->default_visibility, "%s",
                 u->default_visibility);
    }
    int rc;
    if ((u->avatar_media_id > 0 &&
         (rc = check_profile_image(d, me->id, u->avatar_media_id, "avatar_media_id", err)) < 0) ||
        (u->cover_media_id > 0 &&
         (rc = check_profile_image(d, me->id, u->cover_media_id, "cover_media_id", err)) < 0))
        return rc;
    bool images = u->avatar_media_id >= 0 || u->cover_media_id >= 0;
    if (u->avatar_media_id >= 0)
        me->avatar_media_id = u->avatar_media_id;
    if (u->cover_media_id >= 0)
        me->cover_media_id = u->cover_media_id;
    char old_norm[32] = "", new_norm[32] = "";
    if (u->handle) {
        if ((why = validate_handle(u->handle)))
            return domain_invalid(err, "handle", why);
        snprintf(old_norm, sizeof old_norm, "%s", me->handle);
        snprintf(new_norm, sizeof new_norm, "%s", u->handle);
        str_lower(old_norm);
        str_lower(new_norm);
        if (!store_handle_available(d, new_norm, me->id, now_ms()))
            return domain_fail(err, ERR_CONFLICT, "handle_taken", "that handle is taken");
    }
    if (u->display_name)
        snprintf(me->display_name, sizeof me->display_name, "%s", display_name);
    bool privacy_flips = u->is_private >= 0 && (u->is_private != 0) != me->is_private;
    if (u->is_private >= 0)
        me->is_private = u->is_private;
    if (u->allow_duets >= 0)
        me->allow_duets = u->allow_duets;
    if (u->allow_stitches >= 0)
        me->allow_stitches = u->allow_stitches;
    if (u->allow_comments >= 0)
        me->allow_comments = u->allow_comments;
    int64_t now = now_ms();
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    rc = u->handle ? store_handle_change(d, me->id, old_norm, u->handle, new_norm, now,
                                         now + GRAPH_HANDLE_RESERVATION_MS)
                   : 0;
    if (rc == 0)
        rc = store_user_update_profile(d, me, now);
    if (rc == 0 && images)
        rc = store_user_set_images(d, me->id, me->avatar_media_id, me->cover_media_id, now);
    /* hashtag counts show public posts of public accounts only */
    if (rc == 0 && privacy_flips)
        rc = store_hashtags_author_privacy(d, me->id, me->is_private);
    if (rc == 0 && u->is_private >= 0) {
        /* the setting was given (changed or not): an account gone private leaves trending */
        domain_event ev = {.type = EV_PRIVACY_CHANGED,
                           .actor = me->id,
                           .user_id = me->id,
                           .value = u->is_private,
                           .changed = privacy_flips};
        rc = events_emit(d, &ev);
    }
    if (rc < 0 || db_commit(d) < 0) {
        db_rollback(d);
        if (rc == ERR_CONFLICT)
            return domain_fail(err, ERR_CONFLICT, "handle_taken", "that handle is taken");
        return domain_db_failed(err, d, "profile");
    }
    if (u->handle)
        snprintf(me->handle, sizeof me->handle, "%s", u->handle);
    return 0;
}

/* A follow's or unfollow's writes (db_write: they may share a transaction with other
 * writers'). */
typedef struct follow_change {
    int64_t me, target;
    bool target_private;
    const char *state; /* out, for a follow: "following" or "requested" */
} follow_change;

static int write_follow(db *w, void *arg)
{
    follow_change *c = arg;
    int rc = 0;
    domain_event ev = {.type = EV_FOLLOWED, .actor = c->me, .user_id = c->target};
    if (store_follows(w, c->me, c->target)) {
        c->state = "following";
    } else if (c->target_private) {
        c->state = "requested";
        ev.type = EV_FOLLOW_REQUESTED;
        rc = store_request_add(w, id_next(), c->me, c->target, now_ms());
        ev.changed = rc == 0;
    } else {
        c->state = "following";
        rc = store_follow_add(w, id_next(), c->me, c->target, now_ms());
        ev.changed = rc == 0;
    }
    if (rc < 0 && rc != ERR_CONFLICT)
        return rc;
    /* emitted for a follow that already stood too (the log records the attempt); changed tells
     * consumers whether the edge or request is new */
    return events_emit(w, &ev);
}

int graph_follow(db *d, const store_user *me, const store_user *target, const char **state,
                 domain_error *err)
{
    if (me->id == target->id)
        return domain_fail(err, ERR_INVALID, "cannot_follow_self", "you cannot follow yourself");
    if (store_blocked_either(d, me->id, target->id))
        return domain_fail(err, ERR_FORBIDDEN, "blocked", "you cannot follow this user");
    follow_change c = {.me = me->id, .target = target->id, .target_private = target->is_private};
    if (db_write(d, write_follow, &c) < 0)
        return domain_db_failed(err, d, "graph");
    *state = c.state;
    return 0;
}

static int write_unfollow(db *w, void *arg)
{
    const follow_change *c = arg;
    int rc = store_follow_remove(w, c->me, c->target);
    if (rc < 0 && rc != ERR_NOT_FOUND)
        return rc;
    rc = store_request_remove(w, c->me, c->target);
    if (rc < 0 && rc != ERR_NOT_FOUND)
        return rc;
    domain_event ev = {.type = EV_UNFOLLOWED, .actor = c->me, .user_id = c->target};
    return events_emit(w, &ev);
}

int graph_unfollow(db *d, const store_user *me, const store_user *target, domain_error *err)
{
    follow_change c = {.me = me->id, .target = target->id};
    if (db_write(d, write_unfollow, &c) < 0)
        return domain_db_failed(err, d, "graph");
    return 0;
}

int graph_answer_request(db *d, const store_user *me, int64_t request_id, bool accept,
                         domain_error *err)
{
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "graph");
    int64_t requester = 0;
    int rc = store_request_get(d, request_id, me->id, &requester);
    if (rc == ERR_NOT_FOUND) {
        db_rollback(d);
        return domain_fail(err, ERR_NOT_FOUND, "request_not_found", "no such follow request");
    }
    if (rc < 0 || store_request_remove(d, requester, me->id) < 0)
        goto fail;
    if (accept) {
        rc = store_follow_add(d, id_next(), requester, me->id, now_ms());
        if (rc < 0 && rc != ERR_CONFLICT)
            goto fail;
        domain_event ev = {
            .type = EV_FOLLOW_ACCEPTED, .actor = me->id, .user_id = requester, .changed = rc == 0};
        if (events_emit(d, &ev) < 0)
            goto fail;
    }
    if (db_commit(d) < 0)
        goto fail;
    return 0;
fail:
    db_rollback(d);
    return domain_db_failed(err, d, "graph");
}

int graph_set_block(db *d, const store_user *me, const store_user *target, bool on,
                    domain_error *err)
{
    if (me->id == target->id)
        return domain_fail(err, ERR_INVALID, "cannot_block_self", "you cannot block yourself");
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "block");
    int rc = on ? store_block_add(d, id_next(), me->id, target->id, now_ms())
                : store_block_remove(d, me->id, target->id);
    /* a block ends follows both ways (both home timelines change) and presence subscriptions:
     * the event's consumers see to that after the commit */
    domain_event ev = {.type = on ? EV_BLOCKED : EV_UNBLOCKED,
                       .actor = me->id,
                       .user_id = target->id,
                       .changed = rc == 0};
    if ((rc < 0 && rc != ERR_CONFLICT && rc != ERR_NOT_FOUND) || events_emit(d, &ev) < 0 ||
        db_commit(d) < 0) {
        db_rollback(d);
        return domain_db_failed(err, d, "block");
    }
    return 0;
}

int graph_set_mute(db *d, const store_user *me, const store_user *target, bool on,
                   domain_error *err)
{
    if (me->id == target->id)
        return domain_fail(err, ERR_INVALID, "cannot_mute_self", "you cannot mute yourself");
    int rc = on ? store_mute_add(d, id_next(), me->id, target->id, now_ms())
                : store_mute_remove(d, me->id, target->id);
    if (rc < 0 && rc != ERR_CONFLICT && rc != ERR_NOT_FOUND)
        return domain_db_failed(err, d, "mute");
    /* one statement, no transaction: the consumers run at once */
    domain_event ev = {.type = on ? EV_MUTED : EV_UNMUTED,
                       .actor = me->id,
                       .user_id = target->id,
                       .changed = rc == 0};
    if (events_emit(d, &ev) < 0)
        return domain_db_failed(err, d, "mute");
    return 0;
}

int graph_list(db *d, graph_list_kind kind, const store_user *owner, int64_t viewer,
               int64_t before_id, int64_t *edge_ids, store_user *out, int max, domain_error *err)
{
    if (!graph_may_see_lists(d, viewer, owner))
        return domain_fail(err, ERR_FORBIDDEN, "private_account",
                           "only followers can see this list");
    int n = store_follow_list(d, kind, owner->id, viewer, before_id, edge_ids, out, max);
    return n < 0 ? domain_db_failed(err, d, "follow list") : n;
}

int graph_request_list(db *d, const store_user *me, int64_t before_id, int64_t *request_ids,
                       store_user *out, int max, domain_error *err)
{
    int n = store_request_list(d, me->id, before_id, request_ids, out, max);
    return n < 0 ? domain_db_failed(err, d, "follow requests") : n;
}

int graph_user_get(db *d, int64_t id, store_user *out)
{
    return store_user_by_id(d, id, out);
}
