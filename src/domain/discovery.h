/* SPDX-License-Identifier: MIT
 *
 * Discovery beyond For You (docs/discovery.md): similar posts, suggested accounts and the explore
 * page. Every post passes the filter of For You (foryou_read_visible: the visibility gate, mutes,
 * "not interested"); every suggested account is one the viewer does not follow, is not blocked
 * by or blocking, and did not mark. Each item carries a reason.
 */
#ifndef STREAMHUB_DOMAIN_DISCOVERY_H
#define STREAMHUB_DOMAIN_DISCOVERY_H

#include "domain/errors.h"
#include "store/interests.h"
#include "store/posts.h"
#include "store/users.h"

#define DISCOVERY_SIMILAR_MAX 30
#define DISCOVERY_SUGGESTED_MAX 30
#define DISCOVERY_TRENDING_TAGS 5   /* explore: trending hashtags shown */
#define DISCOVERY_TOPIC_SHELVES 3   /* explore: shelves of the viewer's own topics */
#define DISCOVERY_SHELF_POSTS 6     /* posts per hashtag or shelf */
#define DISCOVERY_EXPLORE_CREATORS 6

typedef struct discovery_post {
    store_feed_row row;
    const char *reason_kind;
    char reason[160];
} discovery_post;

typedef struct discovery_user {
    store_user user;
    const char *reason_kind; /* friends_of_friends, topic, watched, popular */
    char reason[160];
} discovery_user;

/* Posts like post_id (which the viewer must be able to see: else 404 post_not_found): the
 * model's neighbours when one is loaded, then posts sharing its hashtags, then its author's. */
int discovery_similar(db *d, int64_t viewer, int64_t post_id, int limit, discovery_post *out,
                      domain_error *err);
/* Accounts to follow: friends of friends, creators of the viewer's topics and of what they watch,
 * then popular creators (the only kind for an anonymous viewer). */
int discovery_suggested(db *d, int64_t viewer, int limit, discovery_user *out, domain_error *err);

typedef struct discovery_shelf {
    char tag[STORE_INTEREST_ITEM_BYTES];
    const char *kind; /* "trending" or "topic" */
    int n;
    discovery_post posts[DISCOVERY_SHELF_POSTS];
} discovery_shelf;

typedef struct discovery_explore {
    int n_shelves; /* the trending hashtags first, then the viewer's topics */
    discovery_shelf shelves[DISCOVERY_TRENDING_TAGS + DISCOVERY_TOPIC_SHELVES];
    int n_creators;
    discovery_user creators[DISCOVERY_EXPLORE_CREATORS];
} discovery_explore;
int discovery_explore_page(db *d, int64_t viewer, discovery_explore *out, domain_error *err);

#endif
