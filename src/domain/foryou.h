/* SPDX-License-Identifier: MIT
 *
 * For You (docs/discovery.md): candidates from a small registry of sources (followed creators,
 * fresh posts in the viewer's topics, trending, exploration of new posts with few views, the
 * learned model of domain/reco.h when one is loaded), the same visibility gate as every feed
 * plus the viewer's mutes and "not interested" marks, a documented score, diversity rules, and
 * a reason per item. A session's pages never repeat a post: what was served is recorded per
 * session (and per signed-in user for FORYOU_SERVED_DAYS) and left out of later pages. Each
 * served item is also written to the event log as an impression (position, source), batched
 * and bounded like every event.
 *
 * The score and the diversity pass are pure functions, unit tested with known inputs.
 */
#ifndef STREAMHUB_DOMAIN_FORYOU_H
#define STREAMHUB_DOMAIN_FORYOU_H

#include "domain/errors.h"
#include "domain/interests.h"
#include "store/posts.h"
#include "store/users.h"

#include <stdbool.h>
#include <stdint.h>

#define FORYOU_PAGE_MIN 10
#define FORYOU_PAGE_MAX 20
#define FORYOU_PAGE_DEFAULT 15
#define FORYOU_SESSION_PAGES 50 /* a session ends after this many pages */
#define FORYOU_SERVED_DAYS 2    /* a signed-in user is not served a post again for this long */
#define FORYOU_CANDIDATES_MAX 400
#define FORYOU_SERVED_MAX (FORYOU_SESSION_PAGES * FORYOU_PAGE_MAX + 1000) /* read per page */

typedef enum foryou_source {
    FORYOU_FOLLOWING,
    FORYOU_TOPIC,
    FORYOU_TRENDING,
    FORYOU_EXPLORE,
    FORYOU_SIMILAR,
    FORYOU_MODEL,
    FORYOU__SOURCES
} foryou_source;
const char *foryou_source_name(foryou_source s);

/* What the score is computed from (docs/discovery.md, "Scoring"). */
typedef struct foryou_features {
    int64_t age_ms;
    int64_t likes, comments, shares, saves, views;
    bool follows;            /* the viewer follows the creator */
    double creator_affinity; /* the viewer's decayed creator weight */
    double topic_affinity;   /* sum over the post's topics of the viewer's weight x share */
    double creator_score;    /* 0..100, CREATOR_SCORE_NEUTRAL when unknown */
    bool exploration;        /* came from the exploration source */
} foryou_features;
double foryou_score(const foryou_features *f);

/* Diversity: picks up to limit of n candidates into order[] (indexes), best score first, such
 * that no creator appears twice in a row and no topic fills more than half the page,
 * relaxing the rules (topics first) only when nothing else is left. Returns how many. */
typedef struct foryou_pick {
    double score;
    int64_t creator;
    uint64_t topic; /* a hash of the post's main topic, 0 for none */
} foryou_pick;
int foryou_diversify(const foryou_pick *c, int n, int limit, int *order);

typedef struct foryou_item {
    const store_feed_row *row;
    foryou_source source;
    double score;
    const char *reason_kind; /* following, topic, trending, new_creator, similar, model */
    char reason[160];
} foryou_item;

struct feed_shared_list;
typedef struct foryou_page {
    store_feed_row *rows;                 /* the rows read for the page */
    const struct feed_shared_list *list;    /* the shared trending rows, held for the items */
    const struct feed_shared_list *explore; /* and the shared exploration rows */
    foryou_item *items;
    int n;
    int64_t session;
    int next_page; /* 0 when the session has no more */
} foryou_page;

/* A page of For You for viewer (NULL = anonymous) in session (0 = start one) at page page_no.
 * type narrows to one post type (NULL = any). */
int foryou_get(db *d, const store_user *viewer, int64_t session, int page_no, int limit,
               const char *type, foryou_page *out, domain_error *err);
void foryou_page_free(foryou_page *page);
/* Starts a session whose pages never serve the posts in shown (n of them), e.g. what the
 * layered home showed above its recommended fill; *session gets its id for foryou_get. */
int foryou_start_session(db *d, int64_t viewer, const int64_t *shown, int n, int64_t *session,
                         domain_error *err);
/* POST /feed/refresh: forgets what was served to the viewer, so the next session starts over. */
int foryou_refresh(db *d, int64_t viewer, domain_error *err);

/* Internal to the discovery modules (foryou.c, discovery.c): what a page needs to know of its
 * viewer (0 = anonymous: all empty), and the filter every discovery list applies. */
typedef struct foryou_viewer {
    int64_t id;
    interests_weight *topics, *creators; /* decayed, strongest first */
    int n_topics, n_creators;
    int64_t *marked_posts, *marked_creators;
    int n_marked_posts, n_marked_creators;
    char (*marked_tags)[STORE_INTEREST_ITEM_BYTES];
    int n_marked_tags;
} foryou_viewer;
int foryou_viewer_load(db *d, int64_t viewer, foryou_viewer *v);
void foryou_viewer_free(foryou_viewer *v);
/* Reads the posts of ids[0..n) and copies into rows, in the order of ids and each once, those
 * the viewer may be shown: the visibility gate, then (signed in) not their own, not muted, not
 * marked not interested (post, creator or hashtag); type NULL = any. Returns how many. */
int foryou_read_visible(db *d, const foryou_viewer *v, const int64_t *ids, int n,
                        const char *type, store_feed_row *rows);

#endif
