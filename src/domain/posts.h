/* SPDX-License-Identifier: MIT
 *
 * Post rules: who may see a post (one function every read goes through), creating (text posts,
 * 24-hour stories, shares, duets and stitches), editing with history, soft deletion, reactions,
 * comments, saves and views. Image, video and reel posts arrive with the video pipeline.
 */
#ifndef STREAMHUB_DOMAIN_POSTS_H
#define STREAMHUB_DOMAIN_POSTS_H

#include "domain/errors.h"
#include "store/users.h"
#include "store/posts.h"

#include <stdbool.h>

/* How long stories stay visible (default 24 h, --story-ttl); set once at start-up. */
void posts_set_story_ttl(int64_t ms);
/* A viewer's views of a post count once per window (fixed UTC day buckets). */
#define POSTS_VIEW_WINDOW_MS (24LL * 3600 * 1000)
#define POSTS_MAX_WATCH_MS (24LL * 3600 * 1000)

/* Visibility: nobody once deleted or (stories) expired; the author always; nobody when either
 * blocks the other; circle = the circle's members; a private account's other posts only to its
 * followers; then public = anyone, followers = followers, friends = mutual follows, private = the
 * author alone. A duet or stitch additionally needs its source (and the source's source...) to
 * pass the same gate for the viewer, except for its own author. viewer 0 is anonymous. */
#define POSTS_SOURCE_DEPTH_MAX 16
bool posts_can_view(db *d, int64_t viewer, const store_user *author, const store_post *p);
/* The same gate when the viewer's relation to the author was read with the post (feeds); rel
 * NULL means "ask the database". */
bool posts_can_view_known(db *d, int64_t viewer, const store_user *author, const store_post *p,
                          const store_relation *rel);

/* The values clients may send, each list NULL-terminated: the rules below check against them and
 * the API declares them, so the two cannot differ. */
extern const char *const posts_types[];          /* text (default), story, image, video, reel */
extern const char *const posts_visibilities[];   /* public, followers, friends, circle, private */
extern const char *const posts_reaction_types[]; /* like (default), love, laugh, wow, sad, fire */
/* Where a viewed post was shown: for_you, following, profile, search, hashtag, share, explore,
 * other (the default). Ranking and analytics split views by it. */
extern const char *const posts_view_sources[];

typedef struct post_input {
    const char *type;       /* text (default) or story; image/video/reel need media */
    const char *caption;    /* required except for shares */
    const char *visibility; /* NULL = the author's default */
    int64_t circle_id;      /* with visibility "circle" */
    int64_t duet_of, stitch_of, share_of; /* at most one source */
    int64_t media_id; /* required for image/video/reel, optional for stories */
} post_input;
/* Creates a post. Hashtags are linked and mentioned users who can see the post notified in the
 * same transaction. A duet/stitch source must be visible to the creator and allowed by its
 * author; only public posts of public accounts can be shared (a share is a post of type
 * "share" whose caption is the optional comment). */
int posts_create(db *d, const store_user *me, const post_input *in, store_post *out,
                 domain_error *err);
/* Loads a post the viewer may see (404 otherwise) and its author. */
int posts_get_visible(db *d, int64_t viewer, int64_t id, store_post *out, store_user *author,
                      domain_error *err);
/* Whether an earlier version (written for old_visibility) of a post the viewer may see is
 * shown to them: the author sees every version, anyone else only versions whose audience held
 * the post's current audience (public > followers > friends; circle and private versions never),
 * so widening a post does not publish what was written for fewer people. */
bool posts_edit_shown(int64_t viewer, const store_user *author, const store_post *p,
                      const char *old_visibility);
/* circle_id is needed when visibility becomes "circle"; NULL fields are left as they are. */
int posts_edit(db *d, const store_user *me, int64_t id, const char *caption,
               const char *visibility, int64_t circle_id, store_post *out, domain_error *err);
int posts_delete(db *d, const store_user *me, int64_t id, domain_error *err);

/* Reaction types: like, love, laugh, wow, sad, fire. Setting is idempotent and replaces an
 * earlier type; the viewer must be able to see the post. */
int posts_react(db *d, const store_user *me, int64_t id, const char *type, domain_error *err);
int posts_unreact(db *d, const store_user *me, int64_t id, domain_error *err);

/* Turns comments on or off for one post (author only). */
int posts_set_comments(db *d, const store_user *me, int64_t id, bool on, store_post *out,
                       domain_error *err);
/* Comments need a post the viewer may see with comments on; a reply names its parent, and a
 * reply to a reply joins the parent's thread (one level deep). Edits: the comment's author.
 * Deletion: the comment's author or the post's author. */
int comments_create(db *d, const store_user *me, int64_t post_id, const char *body,
                    int64_t parent_id, store_comment *out, domain_error *err);
int comments_edit(db *d, const store_user *me, int64_t id, const char *body, store_comment *out,
                  domain_error *err);
int comments_delete(db *d, const store_user *me, int64_t id, domain_error *err);
/* For a page of one post's comments: whether the viewer likes each (liked NULL for an anonymous
 * viewer) and each one's count of live replies, one statement per STORE_POSTS_BY_IDS_MAX
 * comments. */
int comments_states(db *d, int64_t viewer, int64_t post_id, const store_comment *list, int n,
                    bool *liked, int64_t *reply_count);
/* Pages of a post the caller was shown (posts_get's gate already passed): earlier versions
 * (newest first), reactions and comments under parent_id (0 = top level, oldest first), each
 * leaving out users who block the viewer or whom the viewer blocks. For reactions, users[i] is
 * the reacting user, or zeroed (id 0) when they are gone. Each returns the count. */
int posts_edit_list(db *d, int64_t post_id, int64_t before_id, store_post_edit *out, int max,
                    domain_error *err);
int posts_reaction_list(db *d, int64_t post_id, int64_t viewer, int64_t before_id,
                        store_reaction *out, store_user *users, int max, domain_error *err);
int comments_list(db *d, int64_t post_id, int64_t parent_id, int64_t viewer, int64_t after_id,
                  store_comment *out, int max, domain_error *err);
/* Saves are private bookmarks of posts the viewer may see; idempotent both ways. */
int posts_save(db *d, const store_user *me, int64_t id, bool on, domain_error *err);
/* Likes or unlikes a comment on a post the viewer may see; idempotent. out gets the comment. */
int comments_like(db *d, const store_user *me, int64_t id, bool on, store_comment *out,
                  domain_error *err);
/* What a client reports of one view: the signal For You learns from and analytics counts. */
typedef struct posts_view_signal {
    int64_t watch_ms; /* 0..POSTS_MAX_WATCH_MS */
    bool completed;   /* watched to the end (a replay is a second view) */
    const char *source; /* one of posts_view_sources, or NULL for "other" */
} posts_view_signal;

/* Records a view with its watch time; *counted tells whether it raised view_count (the first
 * view of this viewer in the window, never the author's own). Viewing a story marks it seen.
 * Every view by someone else emits EV_POST_VIEWED with the signal, counted or not. */
int posts_view(db *d, const store_user *me, int64_t id, const posts_view_signal *signal,
               bool *counted, store_post *out, domain_error *err);

#endif
