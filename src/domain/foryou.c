/* SPDX-License-Identifier: MIT
 *
 * For You (domain/foryou.h): gather -> read -> filter -> score -> diversify -> record. Every
 * source is asked afresh for each page, and what earlier pages served is left out, so a page
 * needs no position in any source: the session's served set is the cursor's state, kept in the
 * database so any API node can serve the next page.
 */
#include "domain/foryou.h"

#include "core/util.h"
#include "domain/creator_score.h"
#include "domain/feed_cache.h"
#include "domain/foryou_served.h"
#include "domain/interests.h"
#include "domain/posts.h"
#include "domain/reco.h"
#include "jobs/event_log.h"
#include "store/events.h"
#include "store/graph.h"
#include "store/interests.h"
#include "store/tags.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS ((int64_t)24 * 3600 * 1000)
#define TOPIC_SOURCES 5  /* the viewer's strongest topics asked for fresh posts */
#define PER_TOPIC 30
#define MARKS_MAX 500
#define TRENDING_TAKEN 100 /* candidates from the top of trending */

static const char *const source_names[FORYOU__SOURCES] = {
    [FORYOU_FOLLOWING] = "following", [FORYOU_TOPIC] = "topic",
    [FORYOU_TRENDING] = "trending",   [FORYOU_EXPLORE] = "exploration",
    [FORYOU_SIMILAR] = "similar",     [FORYOU_MODEL] = "model"};

const char *foryou_source_name(foryou_source s)
{
    return s >= 0 && s < FORYOU__SOURCES ? source_names[s] : "other";
}

/* The weights of the formula, docs/discovery.md "Scoring". */
#define W_FRESH 1.0
#define W_ENGAGEMENT 1.0
#define W_RELATION 2.0
#define W_TOPIC 2.0
#define W_CREATOR 0.5
#define W_EXPLORE 0.3
#define FRESH_HALF_LIFE_H 24.0

double foryou_score(const foryou_features *f)
{
    double age_h = f->age_ms > 0 ? f->age_ms / 3600000.0 : 0;
    double fresh = exp2(-age_h / FRESH_HALF_LIFE_H);
    double raw = f->likes + 2.0 * f->comments + 3.0 * f->shares + 2.0 * f->saves + f->views / 10.0;
    double engagement = fmin(1.0, log2(1.0 + raw) / 10.0);
    double relation = (f->follows ? 1.0 : 0.0) + tanh(f->creator_affinity / 5.0);
    double topic = tanh(f->topic_affinity / 5.0);
    double creator = (f->creator_score - 50.0) / 50.0;
    return W_FRESH * fresh + W_ENGAGEMENT * engagement + W_RELATION * relation +
           W_TOPIC * topic + W_CREATOR * creator + (f->exploration ? W_EXPLORE : 0.0);
}

static bool allowed(const foryou_pick *c, const int *order, int k, int i, bool topics, int spread)
{
    if (k > 0 && c[order[k - 1]].creator == c[i].creator)
        return false;
    if (!topics || !c[i].topic)
        return true;
    int same = 0;
    for (int j = 0; j < k; j++)
        same += c[order[j]].topic == c[i].topic;
    return same < spread;
}

int foryou_diversify(const foryou_pick *c, int n, int limit, int *order)
{
    bool *used = xcalloc((size_t)(n ? n : 1), sizeof *used);
    int k = 0, spread = (limit + 1) / 2;
    while (k < limit && k < n) {
        int best = -1;
        /* strict rules, then without the topic spread, then anything left */
        for (int pass = 0; pass < 3 && best < 0; pass++)
            for (int i = 0; i < n; i++) {
                if (used[i] || (pass < 2 && !allowed(c, order, k, i, pass == 0, spread)))
                    continue;
                if (best < 0 || c[i].score > c[best].score)
                    best = i;
            }
        used[best] = true;
        order[k++] = best;
    }
    free(used);
    return k;
}

/* One candidate while a page is built. */
typedef struct candidate {
    int64_t id;
    foryou_source source;
    const char *topic; /* the topic source's topic (points into the loaded weights) */
    /* its row in a shared list (trending, exploration) and that row's topics, NULL if none */
    const store_feed_row *cached;
    const interests_topic *topics;
    int n_topics;
} candidate;

typedef struct gather {
    candidate *c;
    int n;
    const int64_t *served;
    int n_served;
    /* the shared lists, held while the page's items point into them */
    const feed_shared_list *list, *explore;
} gather;

static bool contains(const int64_t *ids, int n, int64_t id)
{
    for (int i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

static bool fresh_candidate(const gather *g, int64_t id)
{
    if (contains(g->served, g->n_served, id))
        return false;
    for (int j = 0; j < g->n; j++)
        if (g->c[j].id == id)
            return false;
    return true;
}

static void add(gather *g, const int64_t *ids, int n, foryou_source s, const char *topic)
{
    for (int i = 0; i < n && g->n < FORYOU_CANDIDATES_MAX; i++)
        if (fresh_candidate(g, ids[i]))
            g->c[g->n++] = (candidate){ids[i], s, topic, NULL, NULL, 0};
}

/* The first n of a shared list, with the rows and topics it holds */
static void add_list(gather *g, const feed_shared_list *l, int n, foryou_source s)
{
    for (int i = 0; i < n && g->n < FORYOU_CANDIDATES_MAX; i++)
        if (fresh_candidate(g, l->ids[i]))
            g->c[g->n++] = (candidate){l->ids[i], s, NULL, &l->rows[i], l->topics[i],
                                       l->n_topics[i]};
}

void foryou_viewer_free(foryou_viewer *v)
{
    free(v->topics);
    free(v->creators);
    free(v->marked_posts);
    free(v->marked_creators);
    free(v->marked_tags);
}

int foryou_viewer_load(db *d, int64_t viewer, foryou_viewer *v)
{
    memset(v, 0, sizeof *v);
    v->id = viewer;
    v->topics = xmalloc(INTERESTS_TOPICS_KEPT * sizeof *v->topics);
    v->creators = xmalloc(INTERESTS_CREATORS_KEPT * sizeof *v->creators);
    v->marked_posts = xmalloc(MARKS_MAX * sizeof *v->marked_posts);
    v->marked_creators = xmalloc(MARKS_MAX * sizeof *v->marked_creators);
    v->marked_tags = xmalloc(MARKS_MAX * sizeof *v->marked_tags);
    if (!viewer)
        return 0;
    if ((v->n_topics = interests_load(d, viewer, "topic", v->topics, INTERESTS_TOPICS_KEPT)) < 0 ||
        (v->n_creators = interests_load(d, viewer, "creator", v->creators,
                                        INTERESTS_CREATORS_KEPT)) < 0 ||
        (v->n_marked_posts = store_not_interested_list(d, viewer, "post", v->marked_posts,
                                                       MARKS_MAX)) < 0 ||
        (v->n_marked_creators = store_not_interested_list(d, viewer, "creator",
                                                          v->marked_creators, MARKS_MAX)) < 0 ||
        (v->n_marked_tags = store_not_interested_tags(d, viewer, v->marked_tags, MARKS_MAX)) < 0)
        return ERR_DB;
    return 0;
}

static double weight_of(const interests_weight *w, int n, const char *item)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(w[i].item, item))
            return w[i].weight;
    return 0;
}

#define HISTORY_MAX 10 /* recent likes folded into the model's taste vector */
#define SIMILAR_OF 3   /* of which the newest are asked for their neighbours */

/* The learned model's sources (domain/reco.h): neighbours of the viewer's recent likes, and the
 * posts nearest to their taste, folded in from those likes when the model has not seen them. */
static int model_candidates(db *d, int64_t viewer, gather *g)
{
    store_event *likes = xmalloc(HISTORY_MAX * sizeof *likes);
    reco_signal history[HISTORY_MAX];
    reco_hit hits[50];
    int64_t ids[50], now = now_ms();
    int n = store_events_list(d, viewer, "like", 0, likes, HISTORY_MAX);
    for (int i = 0; i < n; i++)
        history[i] = (reco_signal){likes[i].object_id,
                                   (float)interests_decay(interests_signal_weight(SIGNAL_LIKE),
                                                          now - likes[i].created_at,
                                                          INTERESTS_HALF_LIFE_MS)};
    for (int i = 0; i < n && i < SIMILAR_OF; i++) {
        int k = reco_similar_posts(likes[i].object_id, hits, 20);
        for (int j = 0; j < k; j++)
            ids[j] = hits[j].post_id;
        add(g, ids, k, FORYOU_SIMILAR, NULL);
    }
    int k = reco_user_candidates(viewer, history, n > 0 ? n : 0, hits, 50);
    for (int j = 0; j < k; j++)
        ids[j] = hits[j].post_id;
    add(g, ids, k, FORYOU_MODEL, NULL);
    free(likes);
    return n < 0 ? n : 0;
}

static int gather_candidates(db *d, const store_user *viewer, const foryou_viewer *v, gather *g)
{
    int64_t ids[FORYOU_CANDIDATES_MAX], keys[FORYOU_CANDIDATES_MAX];
    bool excludes;
    int n;
    if (viewer) {
        n = feed_cache_home_ids(d, viewer->id, viewer->following_count > 64, 0, ids, 60,
                                &excludes);
        if (n < 0)
            return n;
        add(g, ids, n, FORYOU_FOLLOWING, NULL);
    }
    for (int t = 0, asked = 0; t < v->n_topics && asked < TOPIC_SOURCES; t++) {
        if (v->topics[t].weight <= 0)
            break;
        store_hashtag h;
        int rc = store_hashtag_get(d, v->topics[t].item, &h);
        if (rc == ERR_NOT_FOUND)
            continue;
        if (rc < 0 || (n = store_hashtag_post_ids(d, h.id, 0, ids, PER_TOPIC)) < 0)
            return ERR_DB;
        add(g, ids, n, FORYOU_TOPIC, v->topics[t].item);
        asked++;
    }
    /* the shared lists' rows come with the ids, so the page need not read them again */
    feed_cache_for_you(d, &g->list, &g->explore);
    if (g->list &&
        (g->list->n >= TRENDING_TAKEN || g->list->n < FEED_CACHE_TRENDING_IDS))
        add_list(g, g->list, g->list->n < TRENDING_TAKEN ? g->list->n : TRENDING_TAKEN,
                 FORYOU_TRENDING);
    else if ((n = feed_cache_trending_ids(d, 0, 0, keys, ids, TRENDING_TAKEN)) < 0)
        return n;
    else
        add(g, ids, n, FORYOU_TRENDING, NULL);
    if (g->explore)
        add_list(g, g->explore, g->explore->n, FORYOU_EXPLORE);
    else if ((n = store_posts_fresh_unseen(d, FEED_CACHE_EXPLORE_MAX_VIEWS, ids,
                                           FEED_CACHE_EXPLORE_IDS)) < 0)
        return n;
    else
        add(g, ids, n, FORYOU_EXPLORE, NULL);
    if (viewer && reco_model_ready())
        return model_candidates(d, viewer->id, g);
    return 0;
}

static bool tag_marked(const foryou_viewer *v, const interests_topic *t, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < v->n_marked_tags; j++)
            if (t[i].share >= 1.0 && !strcmp(t[i].name, v->marked_tags[j]))
                return true;
    return false;
}

static uint64_t topic_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h ? h : 1;
}

/* The reason shown with an item. */
static void explain(foryou_item *it, const candidate *c, const char *best_topic,
                    const char *first_tag)
{
    const store_user *a = &it->row->author;
    if (c->source == FORYOU_FOLLOWING) {
        it->reason_kind = "following";
        snprintf(it->reason, sizeof it->reason, "you follow @%s", a->handle);
    } else if (best_topic) {
        it->reason_kind = "topic";
        snprintf(it->reason, sizeof it->reason, "because you liked videos in #%s", best_topic);
    } else if (c->source == FORYOU_TRENDING) {
        it->reason_kind = "trending";
        if (first_tag)
            snprintf(it->reason, sizeof it->reason, "popular in #%s", first_tag);
        else
            snprintf(it->reason, sizeof it->reason, "popular right now");
    } else if (c->source == FORYOU_EXPLORE) {
        it->reason_kind = "new_creator";
        snprintf(it->reason, sizeof it->reason, "new from @%s", a->handle);
    } else if (c->source == FORYOU_SIMILAR) {
        it->reason_kind = "similar";
        snprintf(it->reason, sizeof it->reason, "similar to videos you liked");
    } else {
        it->reason_kind = "model";
        snprintf(it->reason, sizeof it->reason, "picked for you");
    }
}

typedef struct scored {
    const store_feed_row *row;
    const candidate *c;
    const char *best_topic; /* the viewer's liked topic the post carries */
    const char *first_tag;
} scored;

/* A row of the shared trending list (read as anonymous: no relation) is this viewer's row as
 * well when the relation cannot change what is read: the viewer blocks, mutes and is blocked by
 * no one (store_has_exclusions), and the post is public on a public account, for which the
 * row's follows columns are not read either (store/posts.c, FEED_ROW_HEAD). Any other row is
 * read again with the viewer's relation. */
static bool row_as_is(const store_feed_row *r, int64_t id, bool excludes)
{
    return r && !excludes && r->post.id == id && !r->author.is_private &&
           !strcmp(r->post.visibility, "public");
}

/* The filter of foryou_read_visible without copying rows: vis[k] points at the k-th row kept,
 * either into *readp (allocated here, the caller frees it) or at known[i].cached (known, the
 * candidates of ids, may be NULL); from[k] is its index in ids, and topics[k] (when topics is
 * not NULL) its caption's n_topics[k] topics. */
static int read_visible(db *d, const foryou_viewer *v, const int64_t *ids, const candidate *known,
                        int n, const char *type,
                        store_feed_row **readp, const store_feed_row **vis, int *from,
                        interests_topic (*topics)[INTERESTS_TOPICS_PER_POST], int *n_topics)
{
    bool excludes = v->id && store_has_exclusions(d, v->id);
    const store_feed_row **at = xcalloc((size_t)(n ? n : 1), sizeof *at);
    int64_t *need = xmalloc((size_t)(n ? n : 1) * sizeof *need);
    int *need_at = xmalloc((size_t)(n ? n : 1) * sizeof *need_at);
    int n_need = 0, got = 0, kept = 0, rc = 0;
    for (int i = 0; i < n; i++) {
        if (known && row_as_is(known[i].cached, ids[i], excludes))
            at[i] = known[i].cached;
        else {
            need_at[n_need] = i;
            need[n_need++] = ids[i];
        }
    }
    *readp = xmalloc((size_t)(n_need ? n_need : 1) * sizeof **readp);
    for (int off = 0; off < n_need && rc >= 0; off += STORE_POSTS_BY_IDS_MAX) {
        int chunk = n_need - off < STORE_POSTS_BY_IDS_MAX ? n_need - off : STORE_POSTS_BY_IDS_MAX;
        store_feed_row *read = *readp + got;
        rc = store_posts_by_ids(d, v->id, excludes, need + off, chunk, read);
        /* rows come in any order: each found where its id was asked for */
        for (int r = 0; r < rc; r++)
            for (int k = 0; k < chunk; k++)
                if (need[off + k] == read[r].post.id) {
                    at[need_at[off + k]] = &read[r];
                    break;
                }
        got += rc > 0 ? rc : 0;
    }
    interests_topic own[INTERESTS_TOPICS_PER_POST];
    /* in the order of ids, each at most once */
    for (int i = 0; rc >= 0 && i < n; i++) {
        const store_feed_row *r = at[i];
        if (!r || r->post.author_id == v->id || (type && strcmp(r->post.type, type)) ||
            (v->id && r->rel.muted) || contains(v->marked_posts, v->n_marked_posts, r->post.id) ||
            contains(v->marked_creators, v->n_marked_creators, r->post.author_id) ||
            !posts_can_view_known(d, v->id, &r->author, &r->post, &r->rel))
            continue;
        bool dup = false;
        for (int j = 0; j < kept && !dup; j++)
            dup = vis[j]->post.id == r->post.id;
        if (dup)
            continue;
        /* the topics are only parsed when something needs them, and a shared list's row comes
         * with its own */
        interests_topic *t = topics ? topics[kept] : own;
        int nt = 0;
        if (known && r == known[i].cached && known[i].topics) {
            nt = known[i].n_topics;
            memcpy(t, known[i].topics, (size_t)nt * sizeof *t);
        } else if (topics || v->n_marked_tags)
            nt = interests_caption_topics(r->post.caption, t, INTERESTS_TOPICS_PER_POST);
        if (tag_marked(v, t, nt))
            continue;
        if (n_topics)
            n_topics[kept] = nt;
        from[kept] = i;
        vis[kept++] = r;
    }
    free(at);
    free(need);
    free(need_at);
    return rc < 0 ? rc : kept;
}

int foryou_read_visible(db *d, const foryou_viewer *v, const int64_t *ids, int n,
                        const char *type, store_feed_row *rows)
{
    store_feed_row *read;
    const store_feed_row **vis = xmalloc((size_t)(n ? n : 1) * sizeof *vis);
    int *from = xmalloc((size_t)(n ? n : 1) * sizeof *from);
    int kept = read_visible(d, v, ids, NULL, n, type, &read, vis, from, NULL, NULL);
    for (int k = 0; k < kept; k++)
        rows[k] = *vis[k];
    free(read);
    free(vis);
    free(from);
    return kept;
}

/* Scores the visible rows (from read_visible: rows, the index in g of each, their topics) into
 * s and picks. */
static int score(db *d, const foryou_viewer *v, const gather *g, const store_feed_row **rows,
                 const int *from, int n, scored *s, foryou_pick *picks,
                 interests_topic (*topics)[INTERESTS_TOPICS_PER_POST], const int *n_topics)
{
    int64_t *creators = xmalloc((size_t)(n ? n : 1) * sizeof *creators);
    double *cscores = xmalloc((size_t)(n ? n : 1) * sizeof *cscores);
    for (int i = 0; i < n; i++)
        creators[i] = rows[i]->post.author_id;
    if (creator_scores_get(d, creators, n, cscores) < 0)
        for (int i = 0; i < n; i++)
            cscores[i] = CREATOR_SCORE_NEUTRAL;
    int64_t now = now_ms();
    for (int i = 0; i < n; i++) {
        const store_feed_row *r = rows[i];
        const candidate *c = &g->c[from[i]];
        int nt = n_topics[i];
        char item[24];
        snprintf(item, sizeof item, "%" PRId64, r->post.author_id);
        foryou_features f = {.age_ms = now - r->post.created_at,
                             .likes = r->post.reaction_count,
                             .comments = r->post.comment_count,
                             .shares = r->post.share_count,
                             .saves = r->post.save_count,
                             .views = r->post.view_count,
                             .follows = r->rel.follows,
                             .creator_affinity = weight_of(v->creators, v->n_creators, item),
                             .creator_score = cscores[i],
                             .exploration = c->source == FORYOU_EXPLORE};
        double best = 0;
        s[i] = (scored){r, c, NULL, NULL};
        for (int t = 0; t < nt; t++) {
            double w = weight_of(v->topics, v->n_topics, topics[i][t].name);
            f.topic_affinity += w * topics[i][t].share;
            if (w > best && topics[i][t].share >= 1.0) {
                best = w;
                s[i].best_topic = topics[i][t].name;
            }
            if (!s[i].first_tag && topics[i][t].share >= 1.0)
                s[i].first_tag = topics[i][t].name;
        }
        picks[i] = (foryou_pick){foryou_score(&f), r->post.author_id,
                                 nt ? topic_hash(topics[i][0].name) : 0};
    }
    free(creators);
    free(cscores);
    return n;
}

/* Records what the page served: the session's set, and the impression log. */
static int record(db *d, int64_t viewer, const foryou_page *p, int page_no, bool fresh)
{
    int64_t ids[FORYOU_PAGE_MAX];
    char props[128];
    for (int i = 0; i < p->n; i++) {
        ids[i] = p->items[i].row->post.id;
        snprintf(props, sizeof props,
                 "{\"position\":%d,\"source\":\"%s\",\"session\":\"%" PRId64 "\"}",
                 page_no * FORYOU_PAGE_MAX + i, foryou_source_name(p->items[i].source),
                 p->session);
        event_log_emit(viewer, "impression", "post", ids[i], props);
    }
    return p->n ? foryou_served_record(d, viewer, p->session, fresh, ids, p->n, now_ms()) : 0;
}

static int64_t new_session(void)
{
    int64_t session;
    random_bytes(&session, sizeof session);
    return (session & INT64_MAX) | 1;
}

int foryou_start_session(db *d, int64_t viewer, const int64_t *shown, int n, int64_t *session,
                         domain_error *err)
{
    *session = new_session();
    if (n > 0 && foryou_served_record(d, viewer, *session, true, shown, n, now_ms()) < 0)
        return domain_db_failed(err, d, "for you");
    return 0;
}

int foryou_get(db *d, const store_user *viewer, int64_t session, int page_no, int limit,
               const char *type, foryou_page *out, domain_error *err)
{
    int64_t vid = viewer ? viewer->id : 0, now = now_ms();
    memset(out, 0, sizeof *out);
    bool fresh = !session; /* nothing was served in it yet */
    if (fresh)
        session = new_session();
    out->session = session;
    foryou_viewer v;
    gather g = {.c = xmalloc(FORYOU_CANDIDATES_MAX * sizeof *g.c)};
    int64_t *served = xmalloc(FORYOU_SERVED_MAX * sizeof *served);
    store_feed_row *rows = NULL;
    const store_feed_row **vis = xmalloc(FORYOU_CANDIDATES_MAX * sizeof *vis);
    int *from = xmalloc(FORYOU_CANDIDATES_MAX * sizeof *from);
    int *n_topics = xmalloc(FORYOU_CANDIDATES_MAX * sizeof *n_topics);
    scored *s = xmalloc(FORYOU_CANDIDATES_MAX * sizeof *s);
    foryou_pick *picks = xmalloc(FORYOU_CANDIDATES_MAX * sizeof *picks);
    interests_topic(*topics)[INTERESTS_TOPICS_PER_POST] =
        xmalloc(FORYOU_CANDIDATES_MAX * sizeof *topics);
    int order[FORYOU_PAGE_MAX];
    int rc = foryou_viewer_load(d, vid, &v);
    if (rc == 0)
        rc = g.n_served = foryou_served_get(d, vid, session, fresh,
                                            now - FORYOU_SERVED_DAYS * DAY_MS, served,
                                            FORYOU_SERVED_MAX);
    g.served = served;
    if (rc >= 0)
        rc = gather_candidates(d, viewer, &v, &g);
    int64_t *ids = xmalloc(FORYOU_CANDIDATES_MAX * sizeof *ids);
    for (int i = 0; i < g.n; i++)
        ids[i] = g.c[i].id;
    int kept = rc < 0 ? rc
                      : read_visible(d, &v, ids, g.c, g.n, type, &rows, vis, from, topics,
                                     n_topics);
    free(ids);
    if (kept > 0)
        score(d, &v, &g, vis, from, kept, s, picks, topics, n_topics);
    if (kept >= 0) {
        int n = foryou_diversify(picks, kept, limit, order);
        /* the items point into both: the page keeps them */
        out->rows = rows;
        rows = NULL;
        out->list = g.list;
        out->explore = g.explore;
        g.list = g.explore = NULL;
        out->items = xcalloc((size_t)(n ? n : 1), sizeof *out->items);
        for (int i = 0; i < n; i++) {
            foryou_item *it = &out->items[i];
            const scored *sc = &s[order[i]];
            it->row = sc->row;
            it->source = sc->c->source;
            it->score = picks[order[i]].score;
            explain(it, sc->c, sc->best_topic, sc->first_tag);
        }
        out->n = n;
        out->next_page = n == limit && kept > n && page_no + 1 < FORYOU_SESSION_PAGES
                             ? page_no + 1 : 0;
        rc = record(d, vid, out, page_no, fresh);
    }
    feed_cache_list_release(g.list);
    feed_cache_list_release(g.explore);
    free(g.c);
    free(served);
    free(rows);
    free(vis);
    free(from);
    free(n_topics);
    free(s);
    free(picks);
    free(topics);
    foryou_viewer_free(&v);
    if (rc < 0 || kept < 0) {
        foryou_page_free(out);
        return domain_db_failed(err, d, "for you");
    }
    return out->n;
}

void foryou_page_free(foryou_page *page)
{
    free(page->rows);
    feed_cache_list_release(page->list);
    feed_cache_list_release(page->explore);
    free(page->items);
    memset(page, 0, sizeof *page);
}

int foryou_refresh(db *d, int64_t viewer, domain_error *err)
{
    return foryou_served_forget(d, viewer) < 0 ? domain_db_failed(err, d, "refresh") : 0;
}
