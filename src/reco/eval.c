/* SPDX-License-Identifier: MIT
 *
 * Offline evaluation (reco/eval.h).
 */
#include "reco/eval.h"

#include "reco/ann.h"

#include "core/util.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const reco_method_names[RECO_METHODS] = {"popularity", "itemknn", "mf", "hybrid"};

void reco_eval_defaults(reco_eval_options *o)
{
    memset(o, 0, sizeof *o);
    o->test_fraction = 0.2;
    o->top = 20;
    o->max_users = 5000;
    o->seed = 42;
    o->knn = (reco_knn_options){.k = 50, .shrink = 10, .max_user_items = 500, .threads = 2};
    reco_als_defaults(&o->als);
    o->hybrid = (reco_hybrid_weights){.mf = 1.0f, .knn = 0.5f, .popularity = 0.2f,
                                      .topic = 1.0f, .creator = 1.0f,
                                      .fresh_half_life_s = 2 * 86400.0};
}

static int by_time(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int by_int32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static bool in_row(const reco_csr *m, int row, int32_t col)
{
    const int32_t *c = m->col + m->row_start[row];
    size_t n = (size_t)(m->row_start[row + 1] - m->row_start[row]);
    return bsearch(&col, c, n, sizeof *c, by_int32) != NULL;
}

void reco_split_make(const reco_dataset *d, const reco_eval_options *o, reco_split *s)
{
    memset(s, 0, sizeof *s);
    size_t n = d->n_events;
    bool *is_test = xcalloc(n ? n : 1, sizeof *is_test);
    int64_t first = INT64_MAX, last = INT64_MIN;
    for (size_t e = 0; e < n; e++) {
        first = d->events[e].time < first ? d->events[e].time : first;
        last = d->events[e].time > last ? d->events[e].time : last;
    }
    if (o->random_split) {
        for (size_t e = 0; e < n; e++)
            is_test[e] = (double)(mix64(o->seed ^ (e * 0x9E3779B97F4A7C15ull)) >> 11) /
                             9007199254740992.0 <
                         o->test_fraction;
        s->now = last;
    } else {
        int64_t *times = xmalloc((n ? n : 1) * sizeof *times);
        for (size_t e = 0; e < n; e++)
            times[e] = d->events[e].time;
        qsort(times, n, sizeof *times, by_time);
        s->now = n ? times[(size_t)((double)n * (1.0 - o->test_fraction))] : 0;
        free(times);
        for (size_t e = 0; e < n; e++)
            is_test[e] = d->events[e].time >= s->now;
    }
    reco_interaction *train = xmalloc((n ? n : 1) * sizeof *train);
    for (size_t e = 0; e < n; e++)
        if (!is_test[e])
            train[s->n_train++] = d->events[e];
    double half_life = o->half_life_s > 0 ? o->half_life_s : (double)(s->now - first) / 4.0;
    reco_csr_from_events(train, s->n_train, d->n_users, d->n_items, s->now, half_life,
                         &s->by_user);
    free(train);
    reco_csr_transpose(&s->by_user, &s->by_item);
    /* relevant test items: positive test interactions with items not in the user's train row */
    s->test_start = xcalloc((size_t)d->n_users + 1, sizeof *s->test_start);
    for (size_t e = 0; e < n; e++)
        if (is_test[e] && d->events[e].weight > 0)
            s->test_start[d->events[e].user + 1]++;
    for (int u = 0; u < d->n_users; u++)
        s->test_start[u + 1] += s->test_start[u];
    size_t n_candidates = (size_t)s->test_start[d->n_users];
    s->test_item = xmalloc((n_candidates ? n_candidates : 1) * sizeof *s->test_item);
    int64_t *fill = xmalloc(((size_t)d->n_users + 1) * sizeof *fill);
    memcpy(fill, s->test_start, ((size_t)d->n_users + 1) * sizeof *fill);
    for (size_t e = 0; e < n; e++)
        if (is_test[e] && d->events[e].weight > 0)
            s->test_item[fill[d->events[e].user]++] = d->events[e].item;
    free(fill);
    free(is_test);
    int64_t kept = 0;
    for (int u = 0; u < d->n_users; u++) {
        int64_t a = s->test_start[u], b = s->test_start[u + 1];
        qsort(s->test_item + a, (size_t)(b - a), sizeof *s->test_item, by_int32);
        s->test_start[u] = kept;
        for (int64_t k = a; k < b; k++) {
            if ((k > a && s->test_item[k] == s->test_item[k - 1]) ||
                in_row(&s->by_user, u, s->test_item[k]))
                continue;
            s->test_item[kept++] = s->test_item[k];
        }
    }
    s->test_start[d->n_users] = kept;
    s->n_test = (size_t)kept;
}

void reco_split_free(reco_split *s)
{
    reco_csr_free(&s->by_user);
    reco_csr_free(&s->by_item);
    free(s->test_start);
    free(s->test_item);
    memset(s, 0, sizeof *s);
}

int reco_eval_users(const reco_split *s, const reco_eval_options *o, int32_t **users)
{
    int n_users = s->by_user.n_rows, n = 0;
    int32_t *all = xmalloc(((size_t)n_users + 1) * sizeof *all);
    for (int u = 0; u < n_users; u++)
        if (s->test_start[u + 1] > s->test_start[u] &&
            s->by_user.row_start[u + 1] > s->by_user.row_start[u])
            all[n++] = u;
    if (o->max_users > 0 && n > o->max_users) { /* seeded partial Fisher-Yates */
        uint64_t state = o->seed;
        for (int i = 0; i < o->max_users; i++) {
            state += 0x9E3779B97F4A7C15ull;
            int j = i + (int)(mix64(state) % (uint64_t)(n - i));
            int32_t t = all[i];
            all[i] = all[j];
            all[j] = t;
        }
        n = o->max_users;
        qsort(all, (size_t)n, sizeof *all, by_int32);
    }
    *users = all;
    return n;
}

void reco_eval_ranker(const reco_dataset *d, const reco_split *s, const int32_t *users,
                      int n_users, int top, reco_score_fn score, void *ctx, reco_metrics *out)
{
    int n_items = d->n_items;
    float *scores = xmalloc(((size_t)n_items + 1) * sizeof *scores);
    float *self_info = xmalloc(((size_t)n_items + 1) * sizeof *self_info);
    int train_users = 0;
    for (int u = 0; u < s->by_user.n_rows; u++)
        train_users += s->by_user.row_start[u + 1] > s->by_user.row_start[u];
    for (int i = 0; i < n_items; i++) {
        int64_t engaged = s->by_item.row_start[i + 1] - s->by_item.row_start[i];
        self_info[i] = (float)-log2((double)(engaged > 0 ? engaged : 1) /
                                    (double)(train_users > 0 ? train_users : 1));
    }
    bool *recommended = xcalloc((size_t)n_items + 1, sizeof *recommended);
    reco_top *best = xmalloc(((size_t)top + 1) * sizeof *best);
    double recall = 0, ndcg = 0, novelty = 0;
    long n_recommended = 0;
    for (int x = 0; x < n_users; x++) {
        int32_t u = users[x];
        memset(scores, 0, (size_t)n_items * sizeof *scores);
        score(ctx, u, scores);
        for (int64_t k = s->by_user.row_start[u]; k < s->by_user.row_start[u + 1]; k++)
            scores[s->by_user.col[k]] = -FLT_MAX; /* already seen in training */
        int have = 0;
        for (int i = 0; i < n_items; i++)
            if (scores[i] > -FLT_MAX)
                reco_top_push(best, &have, top, i, scores[i]);
        reco_top_sort(best, have);
        const int32_t *relevant = s->test_item + s->test_start[u];
        int n_relevant = (int)(s->test_start[u + 1] - s->test_start[u]);
        double dcg = 0, idcg = 0;
        int hits = 0;
        for (int r = 0; r < have; r++) {
            recommended[best[r].item] = true;
            novelty += self_info[best[r].item];
            n_recommended++;
            if (bsearch(&best[r].item, relevant, (size_t)n_relevant, sizeof *relevant, by_int32)) {
                hits++;
                dcg += 1.0 / log2(r + 2.0);
            }
        }
        for (int r = 0; r < top && r < n_relevant; r++)
            idcg += 1.0 / log2(r + 2.0);
        recall += (double)hits / (double)(n_relevant < top ? n_relevant : top);
        ndcg += idcg > 0 ? dcg / idcg : 0;
    }
    int covered = 0;
    for (int i = 0; i < n_items; i++)
        covered += recommended[i];
    *out = (reco_metrics){
        .recall = n_users ? recall / n_users : 0,
        .ndcg = n_users ? ndcg / n_users : 0,
        .coverage = n_items ? (double)covered / n_items : 0,
        .novelty = n_recommended ? novelty / (double)n_recommended : 0,
        .users = n_users,
    };
    free(best);
    free(recommended);
    free(self_info);
    free(scores);
}

/* ---- the four rankers ---- */

typedef struct trained {
    const reco_dataset *d;
    const reco_split *s;
    const reco_eval_options *o;
    float *popularity;      /* normalised to max 1 */
    float *freshness;       /* exp(-ln2 age / fresh half-life) at the cut, 1 for later items */
    float *topic_profile;   /* scratch: n_topics */
    float *creator_profile; /* scratch: n_creators */
    float *part;            /* scratch: n_items */
    reco_knn knn;
    reco_mf mf;
} trained;

static void score_popularity(void *ctx, int32_t user, float *scores)
{
    trained *t = ctx;
    (void)user;
    memcpy(scores, t->popularity, (size_t)t->d->n_items * sizeof *scores);
}

static void score_knn(void *ctx, int32_t user, float *scores)
{
    trained *t = ctx;
    const reco_csr *m = &t->s->by_user;
    int64_t a = m->row_start[user];
    reco_knn_score(&t->knn, m->col + a, m->value + a, (int)(m->row_start[user + 1] - a), scores);
}

static void score_mf(void *ctx, int32_t user, float *scores)
{
    trained *t = ctx;
    cblas_sgemv(CblasRowMajor, CblasNoTrans, t->mf.n_items, t->mf.k, 1.0f, t->mf.item_factors,
                t->mf.k, t->mf.user_factors + (size_t)user * t->mf.k, 1, 0.0f, scores, 1);
}

/* Adds weight * part / max(part) to scores (a component scaled to at most `weight`). */
static void add_scaled(float *scores, const float *part, int n, float weight)
{
    float max = 0;
    for (int i = 0; i < n; i++)
        max = part[i] > max ? part[i] : max;
    if (max <= 0 || weight == 0)
        return;
    float scale = weight / max;
    for (int i = 0; i < n; i++)
        if (part[i] > 0)
            scores[i] += scale * part[i];
}

static void score_hybrid(void *ctx, int32_t user, float *scores)
{
    trained *t = ctx;
    const reco_hybrid_weights *w = &t->o->hybrid;
    const reco_dataset *d = t->d;
    int n = d->n_items;
    memset(t->part, 0, (size_t)n * sizeof *t->part);
    score_mf(ctx, user, t->part);
    add_scaled(scores, t->part, n, w->mf);
    memset(t->part, 0, (size_t)n * sizeof *t->part);
    score_knn(ctx, user, t->part);
    add_scaled(scores, t->part, n, w->knn);
    add_scaled(scores, t->popularity, n, w->popularity);
    /* the user's shares of engagement per topic and per creator, from the train row */
    const reco_csr *m = &t->s->by_user;
    memset(t->topic_profile, 0, (size_t)d->n_topics * sizeof *t->topic_profile);
    memset(t->creator_profile, 0, (size_t)d->n_creators * sizeof *t->creator_profile);
    double total = 0;
    for (int64_t k = m->row_start[user]; k < m->row_start[user + 1]; k++) {
        const reco_item_info *it = &d->items[m->col[k]];
        for (int x = 0; x < it->n_topics; x++)
            t->topic_profile[it->topics[x]] += m->value[k] / it->n_topics;
        if (it->creator >= 0)
            t->creator_profile[it->creator] += m->value[k];
        total += m->value[k];
    }
    if (total <= 0)
        return;
    float inv = (float)(1.0 / total);
    for (int i = 0; i < n; i++) {
        const reco_item_info *it = &d->items[i];
        float topic = 0;
        for (int x = 0; x < it->n_topics; x++)
            topic += t->topic_profile[it->topics[x]];
        float creator = it->creator >= 0 ? t->creator_profile[it->creator] : 0;
        scores[i] += (w->topic * topic + w->creator * creator) * inv * t->freshness[i];
    }
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

void reco_evaluate(const reco_dataset *d, const reco_eval_options *o, reco_eval_result *out)
{
    memset(out, 0, sizeof *out);
    reco_split s;
    reco_split_make(d, o, &s);
    trained t = {.d = d, .s = &s, .o = o};
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int n = d->n_items;
    t.popularity = xmalloc(((size_t)n + 1) * sizeof *t.popularity);
    reco_popularity(&s.by_user, t.popularity);
    float max = 0;
    for (int i = 0; i < n; i++)
        max = t.popularity[i] > max ? t.popularity[i] : max;
    for (int i = 0; i < n && max > 0; i++)
        t.popularity[i] /= max;
    t.freshness = xmalloc(((size_t)n + 1) * sizeof *t.freshness);
    for (int i = 0; i < n; i++) {
        double age = (double)(s.now - d->items[i].created_at);
        t.freshness[i] = age <= 0 ? 1.0f
                                  : (float)exp(-log(2.0) * age / o->hybrid.fresh_half_life_s);
    }
    reco_knn_train(&s.by_user, &s.by_item, &o->knn, &t.knn);
    reco_als_train(&s.by_user, &s.by_item, &o->als, &t.mf);
    out->train_seconds = seconds_since(&start);
    t.topic_profile = xmalloc(((size_t)d->n_topics + 1) * sizeof *t.topic_profile);
    t.creator_profile = xmalloc(((size_t)d->n_creators + 1) * sizeof *t.creator_profile);
    t.part = xmalloc(((size_t)n + 1) * sizeof *t.part);
    int32_t *users;
    int n_users = reco_eval_users(&s, o, &users);
    reco_score_fn fns[RECO_METHODS] = {score_popularity, score_knn, score_mf, score_hybrid};
    for (int m = 0; m < RECO_METHODS; m++)
        reco_eval_ranker(d, &s, users, n_users, o->top, fns[m], &t, &out->method[m]);
    out->n_train = s.n_train;
    out->n_test = s.n_test;
    out->n_users = n_users;
    out->n_items = n;
    free(users);
    free(t.part);
    free(t.creator_profile);
    free(t.topic_profile);
    reco_mf_free(&t.mf);
    reco_knn_free(&t.knn);
    free(t.freshness);
    free(t.popularity);
    reco_split_free(&s);
}

void reco_eval_print(FILE *f, const reco_eval_result *r)
{
    fprintf(f, "train events %zu, relevant test pairs %zu, test users %d, items %d, "
               "training %.1f s\n",
            r->n_train, r->n_test, r->n_users, r->n_items, r->train_seconds);
    fprintf(f, "%-12s %10s %10s %10s %10s\n", "method", "recall@20", "ndcg@20", "coverage",
            "novelty");
    for (int m = 0; m < RECO_METHODS; m++)
        fprintf(f, "%-12s %10.4f %10.4f %10.4f %10.2f\n", reco_method_names[m],
                r->method[m].recall, r->method[m].ndcg, r->method[m].coverage,
                r->method[m].novelty);
}
