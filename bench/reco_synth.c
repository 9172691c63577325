/* SPDX-License-Identifier: MIT
 *
 * The synthetic interaction generator (bench/reco_synth.h).
 */
#include "reco_synth.h"

#include "core/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t next_u64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *state) /* (0, 1) */
{
    return ((double)(next_u64(state) >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(uint64_t *state)
{
    return sqrt(-2.0 * log(uniform(state))) * cos(2.0 * M_PI * uniform(state));
}

static int poisson(uint64_t *state, double lambda)
{
    double limit = exp(-lambda), p = 1;
    int k = 0;
    do {
        k++;
        p *= uniform(state);
    } while (p > limit && k < 1000);
    return k - 1;
}

void reco_synth_defaults(reco_synth_options *o)
{
    *o = (reco_synth_options){.users = 1500, .items = 4000, .topics = 20, .days = 30,
                              .interactions_per_day = 1.5, .fresh_tau_days = 3, .seed = 7};
}

static double exposure(const reco_synth *s, int item, int day)
{
    if (s->item_day[item] > day)
        return 0;
    return s->item_weight[item] * exp(-(double)(day - s->item_day[item]) / s->o.fresh_tau_days);
}

/* The smallest index whose cumulative weight exceeds x. */
static int pick(const double *cumulative, int n, double x)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cumulative[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

void reco_synth_generate(reco_synth *s, const reco_synth_options *o, reco_dataset *d)
{
    memset(s, 0, sizeof *s);
    s->o = *o;
    uint64_t state = o->seed;
    int T = o->topics, N = o->items, U = o->users;
    s->n_creators = N / 25 > 1 ? N / 25 : 1;
    int32_t *creator_topic = xmalloc((size_t)s->n_creators * sizeof *creator_topic);
    float *creator_pop = xmalloc((size_t)s->n_creators * sizeof *creator_pop);
    for (int c = 0; c < s->n_creators; c++) {
        creator_topic[c] = (int32_t)(next_u64(&state) % (uint64_t)T);
        creator_pop[c] = (float)fmin(pow(uniform(&state), -1.0 / 1.2), 1000.0);
    }
    s->item_topic = xmalloc((size_t)N * sizeof *s->item_topic);
    s->item_creator = xmalloc((size_t)N * sizeof *s->item_creator);
    s->item_day = xmalloc((size_t)N * sizeof *s->item_day);
    s->item_weight = xmalloc((size_t)N * sizeof *s->item_weight);
    char name[32];
    for (int i = 0; i < N; i++) {
        int c = (int)(next_u64(&state) % (uint64_t)s->n_creators);
        s->item_creator[i] = c;
        s->item_topic[i] = creator_topic[c];
        s->item_day[i] = uniform(&state) < 0.2 ? -(int)(next_u64(&state) % 30)
                                               : (int)(next_u64(&state) % (uint64_t)o->days);
        s->item_weight[i] = creator_pop[c] * (float)exp(0.5 * normal(&state));
        int32_t item = reco_dataset_item(d, 1000000 + i);
        d->items[item].created_at = (int64_t)s->item_day[i] * 86400;
        d->items[item].creator = reco_dataset_creator(d, 500000 + c);
        snprintf(name, sizeof name, "t%d", s->item_topic[i]);
        reco_item_add_topic(d, item, reco_dataset_topic(d, name));
        if (uniform(&state) < 0.3) {
            snprintf(name, sizeof name, "t%d", (int)(next_u64(&state) % (uint64_t)T));
            reco_item_add_topic(d, item, reco_dataset_topic(d, name));
        }
    }
    s->mix = xcalloc((size_t)U * T, sizeof *s->mix);
    double *activity = xmalloc((size_t)U * sizeof *activity);
    for (int u = 0; u < U; u++) {
        reco_dataset_user(d, u + 1);
        int n_topics = 1 + (int)(next_u64(&state) % 3);
        double total = 0;
        for (int k = 0; k < n_topics; k++) {
            double w = -log(uniform(&state));
            s->mix[(size_t)u * T + next_u64(&state) % (uint64_t)T] += (float)w;
            total += w;
        }
        for (int t = 0; t < T; t++)
            s->mix[(size_t)u * T + t] /= (float)total;
        activity[u] = o->interactions_per_day * exp(0.8 * normal(&state) - 0.32);
    }
    /* items by topic, and each day's cumulative exposure per topic and overall */
    int32_t *topic_start = xcalloc((size_t)T + 1, sizeof *topic_start);
    for (int i = 0; i < N; i++)
        topic_start[s->item_topic[i] + 1]++;
    for (int t = 0; t < T; t++)
        topic_start[t + 1] += topic_start[t];
    int32_t *by_topic = xmalloc((size_t)N * sizeof *by_topic);
    int32_t *fill = xmalloc((size_t)(T + 1) * sizeof *fill);
    memcpy(fill, topic_start, (size_t)(T + 1) * sizeof *fill);
    for (int i = 0; i < N; i++)
        by_topic[fill[s->item_topic[i]]++] = i;
    free(fill);
    double *topic_cumulative = xmalloc((size_t)N * sizeof *topic_cumulative);
    double *global_cumulative = xmalloc((size_t)N * sizeof *global_cumulative);
    reco_idmap seen = {0};
    for (int day = 0; day < o->days; day++) {
        double sum = 0;
        for (int i = 0; i < N; i++)
            global_cumulative[i] = sum += exposure(s, i, day);
        for (int t = 0; t < T; t++) {
            double ts = 0;
            for (int x = topic_start[t]; x < topic_start[t + 1]; x++)
                topic_cumulative[x] = ts += exposure(s, by_topic[x], day);
        }
        for (int u = 0; u < U; u++) {
            int n = poisson(&state, activity[u]);
            for (int e = 0; e < n; e++) {
                int item = -1;
                for (int attempt = 0; attempt < 4; attempt++) {
                    if (uniform(&state) < 0.8) {
                        double x = uniform(&state), acc = 0;
                        int t = 0;
                        for (; t < T - 1; t++)
                            if ((acc += s->mix[(size_t)u * T + t]) > x)
                                break;
                        int a = topic_start[t], b = topic_start[t + 1];
                        if (b == a || topic_cumulative[b - 1] <= 0)
                            continue;
                        item = by_topic[a + pick(topic_cumulative + a, b - a,
                                                 uniform(&state) * topic_cumulative[b - 1])];
                    } else {
                        item = pick(global_cumulative, N, uniform(&state) * sum);
                    }
                    if (reco_idmap_find(&seen, (int64_t)u * N + item) < 0)
                        break;
                }
                if (item < 0)
                    continue;
                reco_idmap_insert(&seen, (int64_t)u * N + item, 1);
                float affinity = s->mix[(size_t)u * T + s->item_topic[item]];
                int64_t time = (int64_t)day * 86400 + (int64_t)(uniform(&state) * 86399);
                bool completed = uniform(&state) < 0.3 + 0.5 * affinity;
                int64_t watch_ms = completed ? 15000 : 2000 + (int64_t)(uniform(&state) * 10000);
                reco_dataset_add(d, u, item, reco_signal_weight(RECO_VIEW, watch_ms, completed, 0),
                                 time);
                if (uniform(&state) < 0.2 + 0.3 * affinity)
                    reco_dataset_add(d, u, item, reco_signal_weight(RECO_LIKE, 0, false, 0),
                                     time + 20);
            }
        }
    }
    reco_idmap_free(&seen);
    free(topic_cumulative);
    free(global_cumulative);
    free(by_topic);
    free(topic_start);
    free(activity);
    free(creator_pop);
    free(creator_topic);
}

void reco_synth_prepare_oracle(reco_synth *s, int64_t cut)
{
    int N = s->o.items, T = s->o.topics;
    free(s->oracle_topic);
    free(s->oracle_global);
    s->oracle_topic = xcalloc((size_t)N, sizeof *s->oracle_topic);
    s->oracle_global = xcalloc((size_t)N, sizeof *s->oracle_global);
    double *topic_total = xmalloc((size_t)T * sizeof *topic_total);
    for (int day = (int)(cut / 86400); day < s->o.days; day++) {
        double total = 0;
        memset(topic_total, 0, (size_t)T * sizeof *topic_total);
        for (int i = 0; i < N; i++) {
            double e = exposure(s, i, day);
            total += e;
            topic_total[s->item_topic[i]] += e;
        }
        for (int i = 0; i < N; i++) {
            double e = exposure(s, i, day);
            if (e <= 0)
                continue;
            s->oracle_topic[i] += (float)(e / topic_total[s->item_topic[i]]);
            s->oracle_global[i] += (float)(e / total);
        }
    }
    free(topic_total);
}

void reco_synth_oracle(void *synth, int32_t user, float *scores)
{
    const reco_synth *s = synth;
    const float *mix = s->mix + (size_t)user * s->o.topics;
    for (int i = 0; i < s->o.items; i++)
        scores[i] = 0.8f * mix[s->item_topic[i]] * s->oracle_topic[i] +
                    0.2f * s->oracle_global[i];
}

void reco_synth_oracle_metrics(reco_synth *s, const reco_dataset *d, const reco_eval_options *o,
                               reco_metrics *out)
{
    reco_split split;
    reco_split_make(d, o, &split);
    reco_synth_prepare_oracle(s, split.now);
    int32_t *users;
    int n_users = reco_eval_users(&split, o, &users);
    reco_eval_ranker(d, &split, users, n_users, o->top, reco_synth_oracle, s, out);
    free(users);
    reco_split_free(&split);
}

void reco_synth_free(reco_synth *s)
{
    free(s->mix);
    free(s->item_topic);
    free(s->item_creator);
    free(s->item_day);
    free(s->item_weight);
    free(s->oracle_topic);
    free(s->oracle_global);
    memset(s, 0, sizeof *s);
}
