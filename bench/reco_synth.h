/* SPDX-License-Identifier: MIT
 *
 * Synthetic interactions with planted structure, for the recommender's offline evaluation
 * (bench/reco-synth.c writes them as CSV; tests/unit/reco/test_reco_quality.c runs a small
 * instance in memory). The model:
 *   - topics t1..tT; creators, each with one topic and a heavy-tailed (Pareto) popularity;
 *   - items published over the days (a fifth as back catalogue before day 0), each by a
 *     uniformly chosen creator, in its creator's topic (plus a random second tag 30% of the
 *     time), with a log-normal quality;
 *   - an item's exposure on day d: creator popularity x quality x exp(-(d - published)/tau);
 *   - users with a mixture of 1-3 topics and a log-normal activity (interactions per day,
 *     Poisson); each interaction picks a topic from the mixture (80%) or the whole catalogue
 *     (20%), then an item by exposure, re-drawing items already seen;
 *   - a view per interaction (completion and watch time grow with the user's share of the
 *     topic), a like 20-50% of the time.
 * Since the generator knows every exposure, it can rank by the true expected interactions in
 * the test window: the oracle, the ceiling any recommender could reach.
 */
#ifndef STREAMHUB_BENCH_RECO_SYNTH_H
#define STREAMHUB_BENCH_RECO_SYNTH_H

#include "reco/data.h"
#include "reco/eval.h"

typedef struct reco_synth_options {
    int users, items, topics, days;
    double interactions_per_day; /* a median user's */
    double fresh_tau_days;
    uint64_t seed;
} reco_synth_options;

typedef struct reco_synth {
    reco_synth_options o;
    int n_creators;
    float *mix;           /* users x topics */
    int32_t *item_topic;  /* main topic */
    int32_t *item_creator;
    int32_t *item_day;    /* publication day (negative: back catalogue) */
    float *item_weight;   /* creator popularity x quality */
    float *oracle_topic;  /* sum over test days of exposure / topic's total exposure */
    float *oracle_global; /* sum over test days of exposure / total exposure */
} reco_synth;

void reco_synth_defaults(reco_synth_options *o);
/* Fills d (users and items numbered in generation order). */
void reco_synth_generate(reco_synth *s, const reco_synth_options *o, reco_dataset *d);
/* Prepares the oracle for a test window starting at `cut` (seconds). */
void reco_synth_prepare_oracle(reco_synth *s, int64_t cut);
/* reco_score_fn: the oracle's expected test interactions of user with every item. */
void reco_synth_oracle(void *synth, int32_t user, float *scores);
/* The oracle measured like the methods of reco_evaluate (same split, same users). */
void reco_synth_oracle_metrics(reco_synth *s, const reco_dataset *d, const reco_eval_options *o,
                               reco_metrics *out);
void reco_synth_free(reco_synth *s);

#endif
