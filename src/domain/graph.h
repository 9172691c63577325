/* SPDX-License-Identifier: MIT
 *
 * Profiles and the follow graph: who may see a profile's lists, follows that become requests on
 * private accounts, accepting and rejecting requests, and the viewer's relationship to a user.
 */
#ifndef STREAMHUB_DOMAIN_GRAPH_H
#define STREAMHUB_DOMAIN_GRAPH_H

#include "core/util.h"
#include "domain/errors.h"
#include "store/users.h"
#include "store/graph.h"

#include <stdbool.h>

typedef struct graph_relationship {
    bool follows;     /* viewer follows them */
    bool followed_by; /* they follow the viewer */
    bool friends;     /* both */
    bool requested;   /* viewer asked to follow (private account) */
    bool blocking;    /* viewer blocks them */
    bool muting;      /* viewer mutes them */
} graph_relationship;

/* The longest bio, in characters. */
#define GRAPH_BIO_MAX_CHARS 150
/* A profile's links: at most this many http(s) URLs of at most this many characters each. */
#define GRAPH_LINKS_MAX 5
#define GRAPH_LINK_MAX_CHARS 300

/* The values of a profile's default_visibility, NULL-terminated. */
extern const char *const graph_visibilities[];

/* A changed handle stays reserved for its previous owner this long. */
#define GRAPH_HANDLE_RESERVATION_MS (30LL * 24 * 3600 * 1000)

typedef struct profile_update {
    const char *handle;        /* NULL = unchanged; the old one is reserved */
    const char *display_name;  /* NULL = unchanged */
    const char *bio;
    const char *const *links;  /* n_links URLs; NULL = unchanged (n_links 0: remove them all) */
    int n_links;
    int is_private;            /* -1 = unchanged */
    int allow_duets, allow_stitches, allow_comments;
    const char *default_visibility;
    /* the caller's own ready image media; -1 = unchanged, 0 = clear */
    int64_t avatar_media_id, cover_media_id;
} profile_update;

/* The image rendition a summary's avatar points at (made for every image media). */
#define GRAPH_AVATAR_SMALL "thumb_160.jpg"

/* display_name as shown: the handle when empty. */
const char *graph_display_name(const store_user *u);

/* Finds a user by handle (any case) as seen by viewer (0 = anonymous): users who block the
 * viewer do not exist for them. ERR_NOT_FOUND with err filled. */
int graph_find_user(db *d, int64_t viewer, const char *handle, store_user *out,
                    domain_error *err);
/* The same by id: 404 user_not_found for an unknown id or a user who blocks the viewer. */
int graph_find_user_by_id(db *d, int64_t viewer, int64_t id, store_user *out, domain_error *err);
/* Users by id, at most GRAPH_USERS_BY_IDS_MAX (a batch lookup for clients holding ids from DMs,
 * presence or admin routes): the users among ids that graph_find_user_by_id would find, in the
 * order asked, each once; the others are left out. Returns how many, or a negative ERR_*. */
#define GRAPH_USERS_BY_IDS_MAX STORE_USERS_BY_IDS_MAX
int graph_users_by_ids(db *d, int64_t viewer, const int64_t *ids, int n, store_user *out);
/* Blocking ends follows and requests both ways and hides the two users from each other;
 * muting only marks them (feeds will drop muted authors). Both idempotent. */
int graph_set_block(db *d, const store_user *me, const store_user *target, bool on,
                    domain_error *err);
int graph_set_mute(db *d, const store_user *me, const store_user *target, bool on,
                   domain_error *err);
void graph_relationship_of(db *d, int64_t viewer, int64_t other, graph_relationship *out);
int graph_update_profile(db *d, store_user *me, const profile_update *u, domain_error *err);
/* Follows, or asks to when the account is private; *state is "following" or "requested". */
int graph_follow(db *d, const store_user *me, const store_user *target, const char **state,
                 domain_error *err);
/* Unfollows or withdraws a request; idempotent. */
int graph_unfollow(db *d, const store_user *me, const store_user *target, domain_error *err);
int graph_answer_request(db *d, const store_user *me, int64_t request_id, bool accept,
                         domain_error *err);
/* The user with this id as stored, no visibility applied (authors of rows the caller already
 * may see); ERR_NOT_FOUND or ERR_DB otherwise. */
int graph_user_get(db *d, int64_t id, store_user *out);
/* Private accounts show their lists to themselves and their followers only. */
bool graph_may_see_lists(db *d, int64_t viewer, const store_user *owner);
/* A page of owner's followers, following, friends (or, for the owner themself, blocks and
 * mutes): newest edge first, edges below before_id, edge ids as the cursor; users blocking the
 * viewer or blocked by them are left out. ERR_FORBIDDEN "private_account" when the viewer
 * (0 = anonymous) may not see owner's lists. Returns the count. */
int graph_list(db *d, graph_list_kind kind, const store_user *owner, int64_t viewer,
               int64_t before_id, int64_t *edge_ids, store_user *out, int max, domain_error *err);
/* A page of the follow requests addressed to me, newest first, request ids as the cursor. */
int graph_request_list(db *d, const store_user *me, int64_t before_id, int64_t *request_ids,
                       store_user *out, int max, domain_error *err);

#endif
