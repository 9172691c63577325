/* SPDX-License-Identifier: MIT
 *
 * Post rules. posts_can_view is the single gate for every read that can reveal a post, so the
 * visibility rules cannot drift apart between endpoints.
 *
 * Side effects (notifications, the feed caches, the event log) are not called from here: each
 * change emits one domain event (events.h) inside its transaction, and the consumers app.c
 * subscribed do the rest, in the transaction or after its commit.
 */
#include "domain/posts.h"

#include "core/id.h"
#include "core/util.h"
#include "domain/errors.h"
#include "domain/events.h"
#include "domain/media.h"
#include "domain/tags.h"
#include "store/circles.h"
#include "store/graph.h"
#include "store/media.h"
#include "store/tags.h"
#include "store/users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t story_ttl_ms = 24LL * 3600 * 1000;

void posts_set_story_ttl(int64_t ms)
{
    story_ttl_ms = ms;
}

const char *const posts_types[] = {"text", "story", "image", "video", "reel", NULL};
const char *const posts_visibilities[] = {"public", "followers", "friends", "circle", "private",
                                          NULL};
const char *const posts_reaction_types[] = {"like", "love", "laugh", "wow", "sad", "fire", NULL};
const char *const posts_view_sources[] = {"for_you", "following", "profile", "search", "hashtag",
                                          "share",   "explore",   "other",   NULL};

static bool one_of(const char *const *values, const char *v)
{
    for (const char *const *a = values; *a; a++)
        if (strcmp(*a, v) == 0)
            return true;
    return false;
}

static bool visibility_valid(const char *v)
{
    return one_of(posts_visibilities, v);
}

/* The post's own rules, without its duet/stitch source. */
static bool own_rules_allow(db *d, int64_t viewer, const store_user *author, const store_post *p,
                            const store_relation *rel)
{
    if (p->deleted_at || (p->expires_at && p->expires_at <= now_ms()))
        return false;
    if (viewer == author->id)
        return true;
    if (p->media_id && !p->media_ready)
        return false; /* others see a media post once its media can be played */
    if (viewer && (rel ? rel->blocked : store_blocked_either(d, viewer, author->id)))
        return false;
    /* the author chose the circle's members by hand, so membership is enough even on a private
     * account */
    if (!strcmp(p->visibility, "circle"))
        return viewer && store_circle_has_member(d, p->circle_id, viewer);
    bool follows = viewer && (rel ? rel->follows : store_follows(d, viewer, author->id));
    if (author->is_private && !follows)
        return false;
    if (!strcmp(p->visibility, "public"))
        return true;
    if (!strcmp(p->visibility, "followers"))
        return follows;
    if (!strcmp(p->visibility, "friends"))
        return follows && (rel ? rel->followed_by : store_follows(d, author->id, viewer));
    return false; /* private */
}

/* A duet or stitch shows its source's video, so it is never wider than the source: a viewer
 * other than its creator must also be allowed to see the source (and the source's source, up to
 * POSTS_SOURCE_DEPTH_MAX links). Checked at every read, so a source narrowed, deleted or hidden
 * by a block takes its duets with it at once. The creator keeps seeing their own post so they
 * can still delete it. */
static bool can_view_depth(db *d, int64_t viewer, const store_user *author, const store_post *p,
                           const store_relation *rel, int depth)
{
    if (!own_rules_allow(d, viewer, author, p, rel))
        return false;
    int64_t source = p->duet_of ? p->duet_of : p->stitch_of;
    if (!source || viewer == author->id)
        return true;
    if (depth >= POSTS_SOURCE_DEPTH_MAX)
        return false;
    store_post *src = xmalloc(sizeof *src);
    store_user src_author;
    bool ok = store_post_get(d, source, src) == 0 &&
              store_user_by_id(d, src->author_id, &src_author) == 0 &&
              can_view_depth(d, viewer, &src_author, src, NULL, depth + 1);
    free(src);
    return ok;
}

bool posts_can_view_known(db *d, int64_t viewer, const store_user *author, const store_post *p,
                          const store_relation *rel)
{
    return can_view_depth(d, viewer, author, p, rel, 0);
}

bool posts_can_view(db *d, int64_t viewer, const store_user *author, const store_post *p)
{
    return posts_can_view_known(d, viewer, author, p, NULL);
}

bool posts_edit_shown(int64_t viewer, const store_user *author, const store_post *p,
                      const char *old_visibility)
{
    if (viewer == author->id)
        return true;
    /* on a private account "public" reaches its followers only */
    const char *now = p->visibility;
    if (author->is_private && !strcmp(old_visibility, "public"))
        old_visibility = "followers";
    if (author->is_private && !strcmp(now, "public"))
        now = "followers";
    if (!strcmp(old_visibility, "public"))
        return true;
    /* followers contain friends (mutual follows); a circle's or a private version's audience
     * contains no other (the history does not keep which circle it was) */
    if (!strcmp(old_visibility, "followers"))
        return !strcmp(now, "followers") || !strcmp(now, "friends");
    if (!strcmp(old_visibility, "friends"))
        return !strcmp(now, "friends");
    return false;
}

static int check_fields(const char *caption, const char *visibility, domain_error *err)
{
    if (caption && utf8_length(caption) > POST_CAPTION_MAX_CHARS)
        return domain_invalid_bounds(err, "caption", "too_long", -1, POST_CAPTION_MAX_CHARS);
    if (visibility && !visibility_valid(visibility))
        return domain_invalid(err, "visibility", "not_allowed");
    return 0;
}

/* Circle visibility needs one of the author's circles, and a circle id needs that visibility. */
static int check_circle(db *d, const store_user *me, const char *visibility, int64_t circle_id,
                        domain_error *err)
{
    bool circle = !strcmp(visibility, "circle");
    if (circle && !circle_id)
        return domain_invalid(err, "circle_id", "required");
    if (!circle && circle_id)
        return domain_invalid(err, "circle_id", "needs_circle_visibility");
    store_circle c;
    if (circle && store_circle_get(d, circle_id, me->id, &c) < 0)
        return domain_invalid(err, "circle_id", "not_found");
    return 0;
}

/* Emits an event with no rows attached (the consumers need ids only); caller's transaction,
 * or none. */
static int emit(db *d, domain_event_type type, int64_t actor, int64_t post_id, int64_t user_id)
{
    domain_event ev = {.type = type, .actor = actor, .post_id = post_id, .user_id = user_id};
    return events_emit(d, &ev);
}

/* Links the caption's hashtags (not for stories, which expire) and records its mentions; the
 * ids of the users mentioned for the first time go to mentioned (the event's consumers decide
 * who hears of it). Caller's transaction. */
static int link_caption(db *d, const store_post *p, int64_t *mentioned, int *n_mentioned)
{
    tags_parsed *t = xmalloc(sizeof *t);
    tags_parse(p->caption, t);
    int rc = 0;
    *n_mentioned = 0;
    for (int i = 0; rc == 0 && !p->expires_at && i < t->n_hashtags; i++)
        rc = store_hashtag_link(d, id_next(), p->id, t->hashtags[i], p->updated_at);
    for (int i = 0; rc == 0 && i < t->n_mentions; i++) {
        store_user u;
        bool added;
        if (store_user_by_handle(d, t->mentions[i], &u) < 0)
            continue;
        if ((rc = store_mention_add(d, p->id, u.id, &added)) == 0 && added)
            mentioned[(*n_mentioned)++] = u.id;
    }
    free(t);
    return rc;
}

/* Loads the source of a duet, stitch or share the creator may see, and applies its author's
 * switches. */
static int check_source(db *d, const store_user *me, int64_t source_id, const char *kind,
                        store_post *src, store_user *src_author, domain_error *err)
{
    int rc = posts_get_visible(d, me->id, source_id, src, src_author, err);
    if (rc == ERR_NOT_FOUND)
        return domain_invalid(err, kind, "not_found");
    if (rc < 0)
        return rc;
    if (src->expires_at || src->share_of)
        return domain_invalid(err, kind, "not_allowed");
    if (!strcmp(kind, "duet_of") && !src_author->allow_duets)
        return domain_fail(err, ERR_FORBIDDEN, "duets_not_allowed",
                           "the author does not allow duets of this post");
    if (!strcmp(kind, "stitch_of") && !src_author->allow_stitches)
        return domain_fail(err, ERR_FORBIDDEN, "stitches_not_allowed",
                           "the author does not allow stitches of this post");
    if (!strcmp(kind, "share_of") &&
        (strcmp(src->visibility, "public") != 0 || src_author->is_private))
        return domain_fail(err, ERR_FORBIDDEN, "not_shareable",
                           "only public posts of public accounts can be shared");
    return 0;
}

/* A duet or stitch may be at most as visible as its source: public only when the source is a
 * public post of a public account (the gate intersects the audiences at every read anyway; this
 * refuses a post that would claim an audience it can never have). */
static int check_derived(const char *visibility, const store_post *src,
                         const store_user *src_author, domain_error *err)
{
    bool source_public = !strcmp(src->visibility, "public") && !src_author->is_private;
    if (!strcmp(visibility, "public") && !source_public)
        return domain_invalid(err, "visibility", "wider_than_source");
    return 0;
}

int posts_create(db *d, const store_user *me, const post_input *in, store_post *out,
                 domain_error *err)
{
    const char *type = in->type ? in->type : "text";
    bool story = !strcmp(type, "story"), share = in->share_of != 0;
    bool media_type = !strcmp(type, "image") || !strcmp(type, "video") || !strcmp(type, "reel");
    if (!share && !one_of(posts_types, type))
        return domain_invalid(err, "type", "not_allowed");
    if (media_type && !in->media_id)
        return domain_invalid(err, "media_id", "required");
    if (in->media_id && !media_type && !story)
        return domain_invalid(err, "media_id", "not_allowed");
    if (!share && !in->media_id && (!in->caption || !*in->caption))
        return domain_invalid(err, "caption", "required");
    bool media_ready = false;
    if (in->media_id) {
        /* a post references media its author owns, of the kind its type needs */
        store_media m;
        int mrc = store_media_get(d, in->media_id, &m);
        if (mrc == ERR_NOT_FOUND || (mrc == 0 && m.owner_id != me->id)) {
            if (mrc == 0)
                store_media_free(&m);
            return domain_invalid(err, "media_id", "not_found");
        }
        if (mrc < 0)
            return domain_db_failed(err, d, "media");
        const char *want = !strcmp(type, "image")   ? "image"
                           : !strcmp(type, "story") ? m.kind
                                                    : "video";
        bool kind_ok = !strcmp(m.kind, want), failed = !strcmp(m.state, "failed");
        media_ready = media_playable(&m); /* others see the post from then on */
        store_media_free(&m);
        if (!kind_ok)
            return domain_invalid(err, "media_id", "wrong_kind");
        if (failed)
            return domain_invalid(err, "media_id", "processing_failed");
    }
    if ((in->duet_of != 0) + (in->stitch_of != 0) + share > 1)
        return domain_invalid(err, in->stitch_of ? "stitch_of" : "duet_of", "only_one_source");
    int rc = check_fields(in->caption, in->visibility, err);
    const char *visibility = in->visibility ? in->visibility : me->default_visibility;
    if (rc < 0 || (rc = check_circle(d, me, visibility, in->circle_id, err)) < 0)
        return rc;
    store_post src;
    store_user src_author;
    int64_t source = in->duet_of ? in->duet_of : in->stitch_of ? in->stitch_of : in->share_of;
    const char *kind = in->duet_of ? "duet_of" : in->stitch_of ? "stitch_of" : "share_of";
    if (source && (rc = check_source(d, me, source, kind, &src, &src_author, err)) < 0)
        return rc;
    if (source && !share && (rc = check_derived(visibility, &src, &src_author, err)) < 0)
        return rc;
    /* A video duet or stitch of a video is rendered server-side into a new media record, which
     * holds the source's video and is shown only through its post: a rendering cannot be reused
     * by another post (the clip that was sent stays its owner's and may be). */
    bool composes =
        in->media_id && !share && source && src.media_id && strcmp(src.type, "image") != 0;
    if (in->media_id && store_media_composed(d, in->media_id))
        return domain_invalid(err, "media_id", "in_use");
    memset(out, 0, sizeof *out);
    out->id = id_next();
    out->author_id = me->id;
    snprintf(out->type, sizeof out->type, "%s", share ? "share" : type);
    snprintf(out->caption, sizeof out->caption, "%s", in->caption ? in->caption : "");
    snprintf(out->visibility, sizeof out->visibility, "%s", visibility);
    out->circle_id = in->circle_id;
    out->duet_of = in->duet_of;
    out->stitch_of = in->stitch_of;
    out->share_of = in->share_of;
    out->media_id = in->media_id;
    out->media_ready = media_ready;
    out->comments_enabled = me->allow_comments;
    out->created_at = out->updated_at = out->hot_at = now_ms();
    if (story)
        out->expires_at = out->created_at + story_ttl_ms;
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    rc = store_post_insert(d, out);
    int64_t mentioned[TAGS_MAX_MENTIONS];
    int n_mentioned = 0;
    if (rc == 0)
        rc = link_caption(d, out, mentioned, &n_mentioned);
    if (rc == 0) {
        domain_event ev = {.type = EV_POST_CREATED,
                           .actor = me->id,
                           .post_id = out->id,
                           .post = out,
                           .post_author = me,
                           .mentioned = mentioned,
                           .n_mentioned = n_mentioned};
        if (source) {
            ev.source_id = source;
            ev.user_id = src.author_id;
            ev.source_kind = in->duet_of ? "duet" : in->stitch_of ? "stitch" : "share";
        }
        rc = events_emit(d, &ev);
    }
    /* ... before anyone else sees it, into a media record of its own, so the clip's state never
     * goes backwards and the clip never holds the source's video. A direct call, not an event
     * consumer: the rendering is part of the post being created (it gives the post its media id
     * and shares the transaction and its error), not a reaction to it. */
    if (rc == 0 && composes) {
        rc = media_queue_compose(d, &out->media_id, src.media_id, in->stitch_of != 0);
        out->media_ready = false;
        if (rc == 0)
            rc = store_post_set_media(d, out->id, out->media_id);
    }
    if (rc == 0 && out->media_ready)
        rc = media_posts_ready(d, out); /* its shape, for players */
    if (rc < 0 || db_commit(d) < 0) {
        db_rollback(d);
        return domain_db_failed(err, d, "create post");
    }
    return 0;
}

int posts_get_visible(db *d, int64_t viewer, int64_t id, store_post *out, store_user *author,
                      domain_error *err)
{
    int rc = store_post_get(d, id, out);
    if (rc == 0)
        rc = store_user_by_id(d, out->author_id, author);
    if (rc == ERR_NOT_FOUND || (rc == 0 && !posts_can_view(d, viewer, author, out)))
        return domain_fail(err, ERR_NOT_FOUND, "post_not_found", "no such post");
    return rc < 0 ? domain_db_failed(err, d, "get post") : 0;
}

int posts_edit(db *d, const store_user *me, int64_t id, const char *caption, const char *visibility,
               int64_t circle_id, store_post *out, domain_error *err)
{
    if (caption && !*caption)
        return domain_invalid(err, "caption", "required");
    int rc = check_fields(caption, visibility, err);
    if (rc < 0)
        return rc;
    store_user author;
    if ((rc = posts_get_visible(d, me->id, id, out, &author, err)) < 0)
        return rc;
    if (out->author_id != me->id)
        return domain_fail(err, ERR_FORBIDDEN, "not_author", "only the author can edit a post");
    const char *new_visibility = visibility ? visibility : out->visibility;
    if (!visibility && !circle_id)
        circle_id = out->circle_id; /* unchanged */
    if ((rc = check_circle(d, me, new_visibility, circle_id, err)) < 0)
        return rc;
    int64_t now = now_ms();
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    bool was_public = !strcmp(out->visibility, "public"),
         now_public = !strcmp(new_visibility, "public");
    rc = store_post_update(d, out, caption ? caption : out->caption, new_visibility, circle_id,
                           id_next(), now);
    /* the tags' public counts follow the post across "public" (links still the old ones) */
    if (rc == 0 && !me->is_private && was_public != now_public)
        rc = store_hashtags_public_adjust(d, id, now_public ? 1 : -1);
    if (caption)
        snprintf(out->caption, sizeof out->caption, "%s", caption);
    snprintf(out->visibility, sizeof out->visibility, "%s", new_visibility);
    out->circle_id = circle_id;
    out->updated_at = now;
    /* re-link hashtags from the new caption; mentions already made are kept, so only people
     * newly mentioned are in the event */
    int64_t mentioned[TAGS_MAX_MENTIONS];
    int n_mentioned = 0;
    if (rc == 0 && caption && (rc = store_hashtags_unlink(d, id)) == 0)
        rc = link_caption(d, out, mentioned, &n_mentioned);
    if (rc == 0) {
        domain_event ev = {.type = EV_POST_EDITED,
                           .actor = me->id,
                           .post_id = id,
                           .post = out,
                           .post_author = me,
                           .mentioned = mentioned,
                           .n_mentioned = n_mentioned};
        rc = events_emit(d, &ev);
    }
    if (rc < 0 || db_commit(d) < 0) {
        db_rollback(d);
        return domain_db_failed(err, d, "edit post");
    }
    return 0;
}

int posts_delete(db *d, const store_user *me, int64_t id, domain_error *err)
{
    store_post p;
    store_user author;
    int rc = posts_get_visible(d, me->id, id, &p, &author, err);
    if (rc < 0)
        return rc;
    if (p.author_id != me->id)
        return domain_fail(err, ERR_FORBIDDEN, "not_author", "only the author can delete a post");
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    rc = store_post_soft_delete(d, &p, now_ms());
    /* the post's media goes with it unless another live post shows it too: its jobs stop and
     * its files are removed after the commit */
    bool drop_media = rc == 0 && p.media_id && !store_media_in_use(d, p.media_id);
    if (drop_media) {
        char payload[64];
        snprintf(payload, sizeof payload, "{\"media_id\":%lld}", (long long)p.media_id);
        rc = store_job_cancel_matching(d, MEDIA_PROCESS_JOB, payload, now_ms());
        if (rc >= 0)
            rc = store_media_delete(d, p.media_id);
        if (rc == ERR_NOT_FOUND || rc > 0)
            rc = 0;
    }
    if (rc == ERR_NOT_FOUND) {
        db_rollback(d);
        return domain_fail(err, ERR_NOT_FOUND, "post_not_found", "no such post");
    }
    if (rc == 0)
        rc = emit(d, EV_POST_DELETED, me->id, id, 0);
    if (rc < 0 || db_commit(d) < 0) {
        db_rollback(d);
        return domain_db_failed(err, d, "delete post");
    }
    /* part of the deletion itself (the media record went with the post), not a consumer */
    if (drop_media)
        media_remove_files(p.media_id);
    return 0;
}

/* A reaction change's writes (db_write: they may share a transaction with other writers'). */
typedef struct reaction_change {
    int64_t user_id, post_id, author_id;
    const char *type; /* NULL clears */
} reaction_change;

static int write_reaction(db *w, void *arg)
{
    const reaction_change *c = arg;
    bool changed;
    int rc = c->type ? store_reaction_set(w, id_next(), c->post_id, c->user_id, c->type, now_ms(),
                                          &changed)
                     : store_reaction_clear(w, c->post_id, c->user_id, &changed);
    if (rc == 0 && changed)
        rc = emit(w, c->type ? EV_REACTION_ADDED : EV_REACTION_REMOVED, c->user_id, c->post_id,
                  c->author_id);
    return rc;
}

/* Runs a reaction change on a post the viewer may see, in one transaction. */
static int change_reaction(db *d, const store_user *me, int64_t id, const char *type,
                           domain_error *err)
{
    store_post p;
    store_user author;
    int rc = posts_get_visible(d, me->id, id, &p, &author, err);
    if (rc < 0)
        return rc;
    reaction_change c = {.user_id = me->id, .post_id = id, .author_id = p.author_id, .type = type};
    if (db_write(d, write_reaction, &c) < 0)
        return domain_db_failed(err, d, "reaction");
    return 0;
}

int posts_react(db *d, const store_user *me, int64_t id, const char *type, domain_error *err)
{
    if (!one_of(posts_reaction_types, type))
        return domain_invalid(err, "type", "not_allowed");
    return change_reaction(d, me, id, type, err);
}

int posts_unreact(db *d, const store_user *me, int64_t id, domain_error *err)
{
    return change_reaction(d, me, id, NULL, err);
}

int posts_set_comments(db *d, const store_user *me, int64_t id, bool on, store_post *out,
                       domain_error *err)
{
    store_user author;
    int rc = posts_get_visible(d, me->id, id, out, &author, err);
    if (rc < 0)
        return rc;
    if (out->author_id != me->id)
        return domain_fail(err, ERR_FORBIDDEN, "not_author", "only the author can edit a post");
    if (store_post_set_comments_enabled(d, id, on) < 0)
        return domain_db_failed(err, d, "comments switch");
    out->comments_enabled = on;
    return 0;
}

static int check_body(const char *body, domain_error *err)
{
    if (!body || !*body)
        return domain_invalid(err, "body", "required");
    if (utf8_length(body) > COMMENT_BODY_MAX_CHARS)
        return domain_invalid_bounds(err, "body", "too_long", -1, COMMENT_BODY_MAX_CHARS);
    return 0;
}

int comments_create(db *d, const store_user *me, int64_t post_id, const char *body,
                    int64_t parent_id, store_comment *out, domain_error *err)
{
    int rc = check_body(body, err);
    if (rc < 0)
        return rc;
    store_post p;
    store_user author;
    if ((rc = posts_get_visible(d, me->id, post_id, &p, &author, err)) < 0)
        return rc;
    if (!p.comments_enabled)
        return domain_fail(err, ERR_FORBIDDEN, "comments_disabled",
                           "comments are turned off for this post");
    store_comment parent = {0};
    if (parent_id) {
        rc = store_comment_get(d, parent_id, &parent);
        if (rc == ERR_NOT_FOUND || (rc == 0 && parent.post_id != post_id))
            return domain_invalid(err, "parent_id", "not_found");
        if (rc < 0)
            return domain_db_failed(err, d, "parent");
        /* replies stay one level deep, as on the big apps: a reply to a reply joins the thread */
        if (parent.parent_id)
            parent_id = parent.parent_id;
    }
    memset(out, 0, sizeof *out);
    out->id = id_next();
    out->post_id = post_id;
    out->author_id = me->id;
    out->parent_id = parent_id;
    snprintf(out->body, sizeof out->body, "%s", body);
    out->created_at = out->updated_at = now_ms();
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    rc = store_comment_insert(d, out);
    if (rc == 0) {
        domain_event ev = {.type = EV_COMMENT_CREATED,
                           .actor = me->id,
                           .post_id = post_id,
                           .comment_id = out->id,
                           .user_id = p.author_id,
                           .post = &p,
                           .post_author = &author,
                           .comment = out,
                           .parent = &parent};
        rc = events_emit(d, &ev);
    }
    if (rc < 0 || db_commit(d) < 0) {
        db_rollback(d);
        return domain_db_failed(err, d, "comment");
    }
    return 0;
}

/* Loads a live comment whose post the viewer may see. */
static int visible_comment(db *d, int64_t viewer, int64_t id, store_comment *c, store_post *p,
                           domain_error *err)
{
    store_user author;
    int rc = store_comment_get(d, id, c);
    if (rc == 0)
        rc = posts_get_visible(d, viewer, c->post_id, p, &author, err);
    else if (rc == ERR_NOT_FOUND)
        return domain_fail(err, ERR_NOT_FOUND, "comment_not_found", "no such comment");
    if (rc == ERR_NOT_FOUND)
        return domain_fail(err, ERR_NOT_FOUND, "comment_not_found", "no such comment");
    return rc < 0 ? rc : 0;
}

int comments_edit(db *d, const store_user *me, int64_t id, const char *body, store_comment *out,
                  domain_error *err)
{
    int rc = check_body(body, err);
    store_post p;
    if (rc < 0 || (rc = visible_comment(d, me->id, id, out, &p, err)) < 0)
        return rc;
    if (out->author_id != me->id)
        return domain_fail(err, ERR_FORBIDDEN, "not_author", "only the author can edit a comment");
    int64_t now = now_ms();
    if (store_comment_update(d, id, body, now) < 0)
        return domain_db_failed(err, d, "edit comment");
    snprintf(out->body, sizeof out->body, "%s", body);
    out->updated_at = now;
    return 0;
}

int comments_delete(db *d, const store_user *me, int64_t id, domain_error *err)
{
    store_comment c;
    store_post p;
    int rc = visible_comment(d, me->id, id, &c, &p, err);
    if (rc < 0)
        return rc;
    if (c.author_id != me->id && p.author_id != me->id)
        return domain_fail(err, ERR_FORBIDDEN, "not_allowed",
                           "only the comment's author or the post's author can delete it");
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    rc = store_comment_delete(d, &c, now_ms());
    if (rc == 0) {
        domain_event ev = {.type = EV_COMMENT_DELETED,
                           .actor = me->id,
                           .post_id = p.id,
                           .comment_id = id,
                           .user_id = c.author_id};
        rc = events_emit(d, &ev);
    }
    if (rc < 0 || db_commit(d) < 0) {
        db_rollback(d);
        return rc == ERR_NOT_FOUND
                   ? domain_fail(err, ERR_NOT_FOUND, "comment_not_found", "no such comment")
                   : domain_db_failed(err, d, "delete comment");
    }
    return 0;
}

int posts_save(db *d, const store_user *me, int64_t id, bool on, domain_error *err)
{
    store_post p;
    store_user author;
    int rc = posts_get_visible(d, me->id, id, &p, &author, err);
    if (rc < 0)
        return rc;
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    bool changed;
    rc = on ? store_save_add(d, id_next(), me->id, id, now_ms(), &changed)
            : store_save_remove(d, me->id, id, &changed);
    if (rc == 0 && changed)
        rc = emit(d, on ? EV_POST_SAVED : EV_POST_UNSAVED, me->id, id, p.author_id);
    if (rc < 0 || db_commit(d) < 0) {
        db_rollback(d);
        return domain_db_failed(err, d, "save");
    }
    return 0;
}

int comments_like(db *d, const store_user *me, int64_t id, bool on, store_comment *out,
                  domain_error *err)
{
    store_post p;
    int rc = visible_comment(d, me->id, id, out, &p, err);
    if (rc < 0)
        return rc;
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    bool changed;
    rc = on ? store_comment_like_set(d, id_next(), id, me->id, now_ms(), &changed)
            : store_comment_like_clear(d, id, me->id, &changed);
    if (rc == 0 && on && changed) {
        domain_event ev = {.type = EV_COMMENT_LIKED,
                           .actor = me->id,
                           .post_id = p.id,
                           .comment_id = id,
                           .user_id = out->author_id};
        rc = events_emit(d, &ev);
    }
    if (rc < 0 || db_commit(d) < 0) {
        db_rollback(d);
        return domain_db_failed(err, d, "comment like");
    }
    if (changed)
        out->like_count += on ? 1 : -1;
    return 0;
}

/* The literal of posts_view_sources matching source (the event outlives the request's
 * strings), or NULL when it is not one of them. */
static const char *view_source_literal(const char *source)
{
    if (!source)
        return "other";
    for (int i = 0; posts_view_sources[i]; i++)
        if (!strcmp(source, posts_view_sources[i]))
            return posts_view_sources[i];
    return NULL;
}

/* The literal of posts_types for a stored type (post types are a closed list). */
static const char *post_type_literal(const char *type)
{
    for (int i = 0; posts_types[i]; i++)
        if (!strcmp(type, posts_types[i]))
            return posts_types[i];
    return "text";
}

int posts_view(db *d, const store_user *me, int64_t id, const posts_view_signal *signal,
               bool *counted, store_post *out, domain_error *err)
{
    int64_t watch_ms = signal->watch_ms;
    if (watch_ms < 0 || watch_ms > POSTS_MAX_WATCH_MS)
        return domain_invalid_bounds(err, "watch_ms", "out_of_range", 0, POSTS_MAX_WATCH_MS);
    const char *source = view_source_literal(signal->source);
    if (!source)
        return domain_invalid(err, "source", "not_allowed");
    store_user author;
    int rc = posts_get_visible(d, me->id, id, out, &author, err);
    *counted = false;
    if (rc < 0)
        return rc;
    if (out->author_id == me->id)
        return 0; /* authors watching their own posts do not count */
    int64_t now = now_ms();
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    rc = store_view_record(d, id_next(), id, me->id, now - now % POSTS_VIEW_WINDOW_MS, watch_ms,
                           now, counted);
    if (rc == 0) {
        domain_event ev = {.type = EV_POST_VIEWED,
                           .actor = me->id,
                           .post_id = id,
                           .user_id = out->author_id,
                           .value = watch_ms,
                           .changed = *counted,
                           .completed = signal->completed,
                           .view_source = source,
                           .post_type = post_type_literal(out->type)};
        rc = events_emit(d, &ev);
    }
    if (rc < 0 || db_commit(d) < 0) {
        db_rollback(d);
        return domain_db_failed(err, d, "view");
    }
    if (*counted)
        out->view_count++;
    return 0;
}

int comments_states(db *d, int64_t viewer, int64_t post_id, const store_comment *list, int n,
                    bool *liked, int64_t *reply_count)
{
    int64_t ids[STORE_POSTS_BY_IDS_MAX];
    for (int off = 0; off < n; off += STORE_POSTS_BY_IDS_MAX) {
        int chunk = n - off < STORE_POSTS_BY_IDS_MAX ? n - off : STORE_POSTS_BY_IDS_MAX;
        for (int i = 0; i < chunk; i++)
            ids[i] = list[off + i].id;
        int rc = store_comment_states(d, post_id, viewer, ids, chunk, liked ? liked + off : NULL,
                                      reply_count + off);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int posts_edit_list(db *d, int64_t post_id, int64_t before_id, store_post_edit *out, int max,
                    domain_error *err)
{
    int n = store_post_edits(d, post_id, before_id, out, max);
    return n < 0 ? domain_db_failed(err, d, "post edits") : n;
}

int posts_reaction_list(db *d, int64_t post_id, int64_t viewer, int64_t before_id,
                        store_reaction *out, store_user *users, int max, domain_error *err)
{
    int n = store_reaction_list(d, post_id, viewer, before_id, out, max);
    if (n < 0)
        return domain_db_failed(err, d, "reactions");
    for (int i = 0; i < n; i++)
        if (store_user_by_id(d, out[i].user_id, &users[i]) < 0)
            memset(&users[i], 0, sizeof users[i]);
    return n;
}

int comments_list(db *d, int64_t post_id, int64_t parent_id, int64_t viewer, int64_t after_id,
                  store_comment *out, int max, domain_error *err)
{
    int n = store_comment_list(d, post_id, parent_id, viewer, after_id, out, max);
    return n < 0 ? domain_db_failed(err, d, "comments") : n;
}
