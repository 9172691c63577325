/* SPDX-License-Identifier: MIT
 *
 * Similar posts, suggested accounts and explore (domain/discovery.h). Candidate ids come from
 * the same places For You asks (the model, hashtags, authors, trending) and go through its
 * filter; the lists are short, so each is built afresh per request.
 */
#include "domain/discovery.h"

#include "core/util.h"
#include "domain/feed_cache.h"
#include "domain/foryou.h"
#include "domain/interests.h"
#include "domain/posts.h"
#include "domain/reco.h"
#include "store/graph.h"
#include "store/interests.h"
#include "store/tags.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDS_MAX 200

typedef struct id_list {
    int64_t ids[IDS_MAX];
    const char *kind[IDS_MAX];
    char why[IDS_MAX][64]; /* the reason's detail: a tag or a handle */
    int n;
} id_list;

static void push(id_list *l, const int64_t *ids, int n, const char *kind, const char *why)
{
    for (int i = 0; i < n && l->n < IDS_MAX; i++) {
        bool dup = false;
        for (int j = 0; j < l->n && !dup; j++)
            dup = l->ids[j] == ids[i];
        if (dup)
            continue;
        l->ids[l->n] = ids[i];
        l->kind[l->n] = kind;
        snprintf(l->why[l->n++], sizeof l->why[0], "%s", why ? why : "");
    }
}

static int index_of(const id_list *l, int64_t id)
{
    for (int i = 0; i < l->n; i++)
        if (l->ids[i] == id)
            return i;
    return -1;
}

/* The hashtags of a caption (not its plain terms), at most max. */
static int caption_tags(const char *caption, interests_topic *t, int max)
{
    interests_topic all[INTERESTS_TOPICS_PER_POST];
    int n = interests_caption_topics(caption, all, INTERESTS_TOPICS_PER_POST), k = 0;
    for (int i = 0; i < n && k < max; i++)
        if (all[i].share >= 1.0)
            t[k++] = all[i];
    return k;
}

/* Up to max ids of posts carrying tag, newest first (0 for an unknown tag). */
static int tag_posts(db *d, const char *tag, int64_t *ids, int max)
{
    store_hashtag h;
    int rc = store_hashtag_get(d, tag, &h);
    if (rc == ERR_NOT_FOUND)
        return 0;
    return rc < 0 ? rc : store_hashtag_post_ids(d, h.id, 0, ids, max);
}

int discovery_similar(db *d, int64_t viewer, int64_t post_id, int limit, discovery_post *out,
                      domain_error *err)
{
    store_post *src = xmalloc(sizeof *src);
    store_user *author = xmalloc(sizeof *author);
    id_list *l = xcalloc(1, sizeof *l);
    store_feed_row *rows = NULL;
    foryou_viewer v = {0};
    int rc = posts_get_visible(d, viewer, post_id, src, author, err), n = 0;
    if (rc < 0)
        goto done;
    reco_hit hits[50];
    int64_t ids[50];
    int k = reco_similar_posts(post_id, hits, 50);
    for (int i = 0; i < k; i++)
        ids[i] = hits[i].post_id;
    push(l, ids, k, "similar", NULL);
    interests_topic tags[3];
    int nt = caption_tags(src->caption, tags, 3);
    for (int i = 0; i < nt && rc >= 0; i++)
        if ((rc = k = tag_posts(d, tags[i].name, ids, 30)) > 0)
            push(l, ids, k, "hashtag", tags[i].name);
    if (rc >= 0 && (rc = k = store_author_post_ids(d, src->author_id, 0, ids, 20)) > 0)
        push(l, ids, k, "author", author->handle);
    rows = xmalloc((size_t)(l->n ? l->n : 1) * sizeof *rows);
    if (rc >= 0 && (rc = foryou_viewer_load(d, viewer, &v)) == 0)
        rc = foryou_read_visible(d, &v, l->ids, l->n, NULL, rows);
    for (int i = 0; rc > 0 && i < rc && n < limit; i++) {
        int at = index_of(l, rows[i].post.id);
        if (rows[i].post.id == post_id || at < 0)
            continue;
        discovery_post *p = &out[n++];
        p->row = rows[i];
        p->reason_kind = l->kind[at];
        if (!strcmp(l->kind[at], "hashtag"))
            snprintf(p->reason, sizeof p->reason, "also in #%s", l->why[at]);
        else if (!strcmp(l->kind[at], "author"))
            snprintf(p->reason, sizeof p->reason, "more from @%s", l->why[at]);
        else
            snprintf(p->reason, sizeof p->reason, "people who liked this also liked it");
    }
    if (rc < 0)
        rc = domain_db_failed(err, d, "similar posts");
done:
    foryou_viewer_free(&v);
    free(rows);
    free(l);
    free(src);
    free(author);
    return rc < 0 ? rc : n;
}

/* Adds user id to the list when it is one to suggest to viewer. */
static int suggest(db *d, int64_t viewer, const foryou_viewer *v, int64_t id, const char *kind,
                   const char *reason, discovery_user *out, int *n, int limit)
{
    if (*n >= limit || id == viewer)
        return 0;
    for (int i = 0; i < *n; i++)
        if (out[i].user.id == id)
            return 0;
    for (int i = 0; i < v->n_marked_creators; i++)
        if (v->marked_creators[i] == id)
            return 0;
    if (viewer && (store_follows(d, viewer, id) || store_blocked_either(d, viewer, id)))
        return 0;
    int rc = store_user_by_id(d, id, &out[*n].user);
    if (rc == ERR_NOT_FOUND)
        return 0;
    if (rc < 0)
        return rc;
    out[*n].reason_kind = kind;
    snprintf(out[*n].reason, sizeof out[*n].reason, "%s", reason);
    (*n)++;
    return 0;
}

static int friends_of_friends(db *d, int64_t viewer, const foryou_viewer *v, discovery_user *out,
                              int *n, int limit)
{
    int64_t ids[DISCOVERY_SUGGESTED_MAX], counts[DISCOVERY_SUGGESTED_MAX],
        via[DISCOVERY_SUGGESTED_MAX];
    int k = store_friends_of_friends(d, viewer, ids, counts, via, DISCOVERY_SUGGESTED_MAX);
    for (int i = 0; i < k; i++) {
        store_user through;
        if (store_user_by_id(d, via[i], &through) < 0)
            continue;
        char reason[160];
        if (counts[i] > 1)
            snprintf(reason, sizeof reason, "followed by @%s and %" PRId64 " more you follow",
                     through.handle, counts[i] - 1);
        else
            snprintf(reason, sizeof reason, "followed by @%s", through.handle);
        int rc = suggest(d, viewer, v, ids[i], "friends_of_friends", reason, out, n, limit);
        if (rc < 0)
            return rc;
    }
    return k < 0 ? k : 0;
}

/* Creators of the posts of ids that the viewer may see, each with reason. */
static int creators_of(db *d, const foryou_viewer *v, const int64_t *ids, int k,
                       const char *topic, discovery_user *out, int *n, int limit)
{
    store_feed_row *rows = xmalloc((size_t)(k ? k : 1) * sizeof *rows);
    int got = foryou_read_visible(d, v, ids, k, NULL, rows), rc = got < 0 ? got : 0;
    for (int i = 0; i < got && rc == 0; i++) {
        char reason[160];
        if (topic)
            snprintf(reason, sizeof reason, "posts in #%s, which you like", topic);
        else
            snprintf(reason, sizeof reason, "popular right now");
        rc = suggest(d, v->id, v, rows[i].author.id, topic ? "topic" : "popular", reason, out, n,
                     limit);
    }
    free(rows);
    return rc;
}

int discovery_suggested(db *d, int64_t viewer, int limit, discovery_user *out, domain_error *err)
{
    foryou_viewer v;
    int n = 0, rc = foryou_viewer_load(d, viewer, &v);
    int64_t ids[IDS_MAX], keys[IDS_MAX];
    if (rc == 0 && viewer)
        rc = friends_of_friends(d, viewer, &v, out, &n, limit);
    /* creators the viewer watches and likes without following them */
    for (int i = 0; rc == 0 && i < v.n_creators && v.creators[i].weight > 0; i++) {
        int64_t id = strtoll(v.creators[i].item, NULL, 10);
        rc = suggest(d, viewer, &v, id, "watched", "you often watch their videos", out, &n,
                     limit);
    }
    for (int t = 0; rc == 0 && t < v.n_topics && t < 5 && v.topics[t].weight > 0; t++) {
        int k = tag_posts(d, v.topics[t].item, ids, 30);
        rc = k < 0 ? k
                   : creators_of(d, &v, ids, k, v.topics[t].item, out, &n, limit);
    }
    if (rc == 0 && n < limit) {
        int k = feed_cache_trending_ids(d, 0, 0, keys, ids, IDS_MAX);
        rc = k < 0 ? k
                   : creators_of(d, &v, ids, k, NULL, out, &n, limit);
    }
    foryou_viewer_free(&v);
    return rc < 0 ? domain_db_failed(err, d, "suggested accounts") : n;
}

/* Fills a shelf with the visible posts of tag. */
static int shelf(db *d, const foryou_viewer *v, const char *tag, const char *kind,
                 discovery_shelf *s)
{
    int64_t ids[60];
    store_feed_row *rows = xmalloc(60 * sizeof *rows);
    int k = tag_posts(d, tag, ids, 60);
    int got = k < 0 ? k : foryou_read_visible(d, v, ids, k, NULL, rows);
    snprintf(s->tag, sizeof s->tag, "%s", tag);
    s->kind = kind;
    s->n = 0;
    for (int i = 0; i < got && s->n < DISCOVERY_SHELF_POSTS; i++) {
        discovery_post *p = &s->posts[s->n++];
        p->row = rows[i];
        p->reason_kind = kind;
        snprintf(p->reason, sizeof p->reason, "%s #%s",
                 strcmp(kind, "topic") ? "popular in" : "because you like", tag);
    }
    free(rows);
    return got < 0 ? got : s->n;
}

/* The hashtags most frequent among the trending posts the viewer may see. */
static int trending_tags(db *d, const foryou_viewer *v, char (*tags)[STORE_INTEREST_ITEM_BYTES], int max)
{
    int64_t ids[IDS_MAX], keys[IDS_MAX];
    int k = feed_cache_trending_ids(d, 0, 0, keys, ids, IDS_MAX);
    if (k < 0)
        return k;
    store_feed_row *rows = xmalloc((size_t)(k ? k : 1) * sizeof *rows);
    int got = foryou_read_visible(d, v, ids, k, NULL, rows);
    struct tally { char tag[STORE_INTEREST_ITEM_BYTES]; int count; } *t = xcalloc(IDS_MAX, sizeof *t);
    int nt = 0;
    for (int i = 0; i < got; i++) {
        interests_topic own[3];
        int n = caption_tags(rows[i].post.caption, own, 3);
        for (int j = 0; j < n; j++) {
            int at = 0;
            while (at < nt && strcmp(t[at].tag, own[j].name))
                at++;
            if (at == nt && nt < IDS_MAX)
                memcpy(t[nt++].tag, own[j].name, sizeof t[0].tag);
            if (at < nt)
                t[at].count++;
        }
    }
    int n = 0;
    for (; n < max && n < nt; n++) { /* the max most counted, in order */
        int best = n;
        for (int j = n + 1; j < nt; j++)
            if (t[j].count > t[best].count)
                best = j;
        struct tally tmp = t[n];
        t[n] = t[best];
        t[best] = tmp;
        memcpy(tags[n], t[n].tag, STORE_INTEREST_ITEM_BYTES);
    }
    free(t);
    free(rows);
    return got < 0 ? got : n;
}

int discovery_explore_page(db *d, int64_t viewer, discovery_explore *out, domain_error *err)
{
    foryou_viewer v;
    char tags[DISCOVERY_TRENDING_TAGS][STORE_INTEREST_ITEM_BYTES];
    memset(out, 0, sizeof *out);
    int rc = foryou_viewer_load(d, viewer, &v);
    int nt = rc < 0 ? rc : trending_tags(d, &v, tags, DISCOVERY_TRENDING_TAGS);
    rc = nt < 0 ? nt : 0;
    for (int i = 0; rc >= 0 && i < nt; i++)
        if ((rc = shelf(d, &v, tags[i], "trending", &out->shelves[out->n_shelves])) > 0)
            out->n_shelves++;
    for (int i = 0, made = 0; rc >= 0 && i < v.n_topics && made < DISCOVERY_TOPIC_SHELVES &&
                              v.topics[i].weight > 0;
         i++) {
        bool shown = false;
        for (int j = 0; j < out->n_shelves; j++)
            shown |= !strcmp(out->shelves[j].tag, v.topics[i].item);
        if (!shown && (rc = shelf(d, &v, v.topics[i].item, "topic",
                                  &out->shelves[out->n_shelves])) > 0) {
            out->n_shelves++;
            made++;
        }
    }
    foryou_viewer_free(&v);
    if (rc < 0)
        return domain_db_failed(err, d, "explore");
    rc = discovery_suggested(d, viewer, DISCOVERY_EXPLORE_CREATORS, out->creators, err);
    if (rc < 0)
        return rc;
    out->n_creators = rc;
    return 0;
}
