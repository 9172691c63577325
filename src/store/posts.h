/* SPDX-License-Identifier: MIT
 *
 * Posts and their edit history. Deletion is soft (deleted_at), so a deleted post disappears from
 * every read at once and is purged later; the author's posts_count changes in the same
 * transaction.
 */
#ifndef STREAMHUB_STORE_POSTS_H
#define STREAMHUB_STORE_POSTS_H

#include "store/db.h"
#include "store/users.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest caption (a share's comment is its caption), in characters (Unicode code points);
 * the buffers hold that many characters of up to 4 UTF-8 bytes. The one place the limit is
 * written: a comment's body has the same bound, under its own name. */
#define POST_CAPTION_MAX_CHARS 2200
#define COMMENT_BODY_MAX_CHARS POST_CAPTION_MAX_CHARS
#define POST_CAPTION_BYTES (POST_CAPTION_MAX_CHARS * 4 + 1)

typedef struct store_post {
    int64_t id;
    int64_t author_id;
    char type[16];
    char caption[POST_CAPTION_BYTES];
    char visibility[16];
    int64_t created_at;
    int64_t updated_at;
    int64_t deleted_at;
    int64_t reaction_count;
    int64_t comment_count;
    bool comments_enabled;
    int64_t save_count;
    int64_t circle_id;  /* visibility "circle": the author's circle; 0 otherwise */
    int64_t expires_at; /* stories: created_at + 24 h; 0 = never */
    int64_t share_of, duet_of, stitch_of; /* source post or 0 */
    int64_t share_count, duet_count, stitch_count, view_count;
    int64_t hot_at; /* trending key, see store_post_hot_at */
    int64_t media_id;  /* video, reel, image (and media stories): the author's media; 0 = none */
    bool media_ready;  /* the media has been processed; others see the post only then */
    /* the ready media's shape (upright), for players to size themselves; 0 until ready */
    int64_t media_duration_ms, media_width, media_height;
} store_post;

/* Trending: a post ranks as if it had been posted HALF_LIFE * log2(1 + engagement) later, so one
 * doubling of engagement is worth six hours of freshness. The key is computed when a counter
 * moves and never needs recomputing as time passes. */
#define STORE_TREND_HALF_LIFE_MS (6.0 * 3600 * 1000)
int64_t store_post_hot_at(int64_t created_at, int64_t reactions, int64_t comments,
                          int64_t shares, int64_t saves, int64_t views);

/* The post column list for other store/ modules joining posts (alias p), and the decoder of a
 * row that starts with it (STORE_POST_NCOLS columns). */
#define STORE_POST_COLUMNS                                                                        \
    "p.id, p.author_id, p.type, p.caption, p.visibility, p.created_at, p.updated_at, "           \
    "p.deleted_at, p.reaction_count, p.comment_count, p.comments_enabled, p.save_count, "        \
    "p.circle_id, p.expires_at, p.share_of, p.duet_of, p.stitch_of, p.share_count, "             \
    "p.duet_count, p.stitch_count, p.view_count, p.hot_at, p.media_id, p.media_ready, "           \
    "p.media_duration_ms, p.media_width, p.media_height"
#define STORE_POST_NCOLS 27
void store_post_decode(db_stmt *s, store_post *p);

/* Inserts the post and moves the author's posts_count and the source's share/duet/stitch count
 * (caller's transaction). */
int store_post_insert(db *d, const store_post *p);
/* Live (not deleted) post. */
int store_post_get(db *d, int64_t id, store_post *out);
/* Saves the previous caption/visibility to the history and writes the new ones. */
int store_post_update(db *d, const store_post *before, const char *caption,
                      const char *visibility, int64_t circle_id, int64_t edit_id, int64_t now);
/* Soft delete, moving the same counters back and unlinking hashtags (caller's transaction). */
int store_post_soft_delete(db *d, const store_post *p, int64_t now);
/* Live posts (not stories) of an author below before_id, newest first. */
int store_post_list_by_author(db *d, int64_t author_id, int64_t before_id, store_post *out,
                              int max);
typedef struct store_post_edit {
    int64_t id;
    char caption[POST_CAPTION_BYTES];
    char visibility[16];
    int64_t edited_at;
} store_post_edit;
/* Earlier versions of a post, newest first, ids below before_id (0 = newest). */
int store_post_edits(db *d, int64_t post_id, int64_t before_id, store_post_edit *out, int max);

/* Sets the user's reaction on a post (insert, or change its type); *added tells whether the
 * count went up. Run inside a transaction. */
int store_reaction_set(db *d, int64_t id, int64_t post_id, int64_t user_id, const char *type,
                       int64_t now, bool *added);
/* Removes it; *removed tells whether there was one. Run inside a transaction. */
int store_reaction_clear(db *d, int64_t post_id, int64_t user_id, bool *removed);
/* The user's reaction type into out (empty when none). */
int store_reaction_of(db *d, int64_t post_id, int64_t user_id, char *out, size_t n);
typedef struct store_reaction {
    int64_t id;
    int64_t user_id;
    char type[16];
    int64_t created_at;
} store_reaction;
/* Reactions of a post, newest first, leaving out users who block the viewer or whom the viewer
 * blocks (viewer 0: nobody is left out). */
int store_reaction_list(db *d, int64_t post_id, int64_t viewer, int64_t before_id,
                        store_reaction *out, int max);

int store_post_set_comments_enabled(db *d, int64_t id, bool on);
/* What the store knows of a viewer's relation to a post's author, read in the same statement as
 * the post so the visibility gate needs no query of its own for it. In feed rows follows and
 * followed_by are read only where the gate looks at them (see FEED_ROW_SELECT in posts.c) and are
 * false elsewhere. */
typedef struct store_relation {
    bool follows;     /* viewer follows author */
    bool followed_by; /* author follows viewer */
    bool blocked;     /* either blocks the other */
    bool muted;       /* viewer mutes author */
} store_relation;

/* A feed candidate: the post, its author and the relation. Of the author only id, handle,
 * display_name and is_private are read (what the visibility gate and a post's JSON use); the
 * other fields are zero. */
typedef struct store_feed_row {
    store_post post;
    store_user author;
    store_relation rel;
} store_feed_row;

/* Home-feed candidates: ids of the live non-story posts by the viewer and the accounts they
 * follow, minus authors they mute, strictly between after_id and before_id (0 = no bound),
 * newest first. many_followees picks the plan: walking posts newest first and checking the
 * author (cheap when the followees post often, as for anyone following many accounts) or
 * reading each followee's posts through the author index (cheap for someone following a few). */
int store_post_home_ids(db *d, int64_t viewer, bool many_followees, int64_t before_id,
                        int64_t after_id, int64_t *out, int max);
/* Trending candidates (public posts of public accounts) after the cursor (before_hot,
 * before_id; before_id 0 = the top) with their keys, in trending order. */
int store_post_trending_ids(db *d, int64_t before_hot, int64_t before_id, int64_t *hot_out,
                            int64_t *id_out, int max);
/* Ids of the live posts tagged with hashtag_id below before_id, newest first. */
int store_hashtag_post_ids(db *d, int64_t hashtag_id, int64_t before_id, int64_t *out, int max);
/* Ids of an author's live posts (not stories) below before_id, newest first. */
int store_author_post_ids(db *d, int64_t author_id, int64_t before_id, int64_t *out, int max);
/* Ids of the live posts (not stories) by the members of a circle below before_id, newest
 * first. */
int store_circle_post_ids(db *d, int64_t circle_id, int64_t before_id, int64_t *out, int max);
/* Feed rows (post, author, the viewer's relation to the author) of the live, non-story posts
 * among ids (at most STORE_POSTS_BY_IDS_MAX), in no particular order; missing or deleted ones
 * are left out. Returns how many were read. excludes false skips the block and mute probes,
 * for a viewer store_has_exclusions says has none. */
#define STORE_POSTS_BY_IDS_MAX 32
int store_posts_by_ids(db *d, int64_t viewer, bool excludes, const int64_t *ids, int n,
                       store_feed_row *out);

/* What one viewer did to some posts, for lists that show it beside each post. */
typedef struct store_viewer_state {
    char reaction[16]; /* the reaction type, "" for none */
    bool saved;
} store_viewer_state;
/* The viewer's reaction and save of each of ids[0..n) into out[i], read for the whole list at
 * once (two range scans of the viewer's own rows, never a statement per post). */
int store_viewer_states(db *d, int64_t viewer, const int64_t *ids, int n, store_viewer_state *out);

#define COMMENT_BODY_BYTES (COMMENT_BODY_MAX_CHARS * 4 + 1)
typedef struct store_comment {
    int64_t id;
    int64_t post_id;
    int64_t author_id;
    int64_t parent_id; /* 0 = top level */
    char body[COMMENT_BODY_BYTES];
    int64_t created_at;
    int64_t updated_at;
    int64_t like_count;
} store_comment;

/* Inserts and bumps the post's comment_count (caller's transaction). */
int store_comment_insert(db *d, const store_comment *c);
/* A live comment. */
int store_comment_get(db *d, int64_t id, store_comment *out);
int store_comment_update(db *d, int64_t id, const char *body, int64_t now);
/* Soft delete and lower the count (caller's transaction); ERR_NOT_FOUND if already gone. */
int store_comment_delete(db *d, const store_comment *c, int64_t now);
/* Live comments of a post under parent_id (0 = top level), oldest first after after_id, leaving
 * out authors who block the viewer or whom the viewer blocks. */
int store_comment_list(db *d, int64_t post_id, int64_t parent_id, int64_t viewer,
                       int64_t after_id, store_comment *out, int max);

/* For each of the comments ids[0..n) (at most STORE_POSTS_BY_IDS_MAX) of one post: whether the
 * viewer likes it (liked may be NULL) and how many live replies it has, in one statement. */
int store_comment_states(db *d, int64_t post_id, int64_t viewer, const int64_t *ids, int n,
                         bool *liked, int64_t *reply_count);

/* Saves (caller's transaction); *changed tells whether the count moved. */
int store_save_add(db *d, int64_t id, int64_t user_id, int64_t post_id, int64_t now,
                   bool *changed);
int store_save_remove(db *d, int64_t user_id, int64_t post_id, bool *changed);
/* The user's saved live posts, newest save first; save ids are the cursor. */
int store_save_list(db *d, int64_t user_id, int64_t before_id, int64_t *save_ids,
                    store_post *out, int max);

/* Comment likes (caller's transaction); *changed tells whether the count moved. */
int store_comment_like_set(db *d, int64_t id, int64_t comment_id, int64_t user_id, int64_t now,
                           bool *changed);
int store_comment_like_clear(db *d, int64_t comment_id, int64_t user_id, bool *changed);
bool store_comment_liked(db *d, int64_t comment_id, int64_t user_id);

/* Records a view in its window (caller's transaction): the first view of a viewer in a window
 * counts (*counted), later ones only add watch time. */
int store_view_record(db *d, int64_t id, int64_t post_id, int64_t viewer, int64_t window_start,
                      int64_t watch_ms, int64_t now, bool *counted);
bool store_viewed(db *d, int64_t post_id, int64_t viewer);

/* Story groups: authors among the viewer and the accounts they follow (minus muted) with stories
 * live at now, newest story first, strictly below before_latest (0 = from the top). Fills
 * author ids and their newest story id. */
int store_story_authors(db *d, int64_t viewer, int64_t now, int64_t before_latest,
                        int64_t *authors, int64_t *latest, int max);
/* One author's stories live at now, oldest first. */
int store_stories_of(db *d, int64_t author_id, int64_t now, store_post *out, int max);

/* Hides a post until its media is (again) ready. */
int store_posts_media_unready(db *d, int64_t post_id);
/* Points a post at another media record (a duet's rendering), hidden until that is ready. */
int store_post_set_media(db *d, int64_t post_id, int64_t media_id);
/* Marks the posts using a media record as ready to show (the media job, when it finishes). */
int store_posts_media_ready(db *d, int64_t media_id, int64_t duration_ms, int64_t width,
                            int64_t height);

/* Deletes for good up to max posts soft-deleted before deleted_before or (stories) expired before
 * expired_before; returns how many. */
int store_posts_purge(db *d, int64_t deleted_before, int64_t expired_before, int max);

#endif
