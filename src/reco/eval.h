/* SPDX-License-Identifier: MIT
 *
 * Offline evaluation (`streamhub reco eval`): split a dataset into train and test, train
 * popularity, ItemKNN, iALS and the hybrid on the train part, rank every item for each test
 * user (their train items excluded) and measure the top 20 against the items they engaged with
 * in the test part: Recall@20 (hits / min(20, relevant)), NDCG@20 (binary relevance),
 * coverage (distinct items recommended / catalogue) and novelty (mean self-information
 * -log2(popularity / users) of recommended items).
 */
#ifndef STREAMHUB_RECO_EVAL_H
#define STREAMHUB_RECO_EVAL_H

#include "reco/data.h"
#include "reco/models.h"

#include <stdio.h>

typedef struct reco_hybrid_weights {
    float mf, knn, popularity, topic, creator;
    double fresh_half_life_s; /* freshness of the topic and creator terms */
} reco_hybrid_weights;

typedef struct reco_eval_options {
    bool random_split;    /* default: by time (the last test_fraction of the time span) */
    double test_fraction; /* default 0.2 */
    int top;              /* 20 */
    int max_users;        /* test users evaluated (a seeded sample beyond this); default 5000 */
    double half_life_s;   /* decay of training signals; 0 = a quarter of the train span */
    uint64_t seed;
    reco_knn_options knn;
    reco_als_options als;
    reco_hybrid_weights hybrid;
} reco_eval_options;

void reco_eval_defaults(reco_eval_options *o);

typedef struct reco_split {
    int64_t now;       /* the cut: train signals decay to here */
    reco_csr by_user;  /* train matrix */
    reco_csr by_item;
    int64_t *test_start; /* n_users + 1 */
    int32_t *test_item;  /* per user: relevant test items, sorted, train items excluded */
    size_t n_train, n_test;
} reco_split;

void reco_split_make(const reco_dataset *d, const reco_eval_options *o, reco_split *s);
void reco_split_free(reco_split *s);

typedef struct reco_metrics {
    double recall, ndcg, coverage, novelty;
    int users;
} reco_metrics;

/* Fills scores[0..n_items) for one user (zeroed before the call); higher ranks first. */
typedef void (*reco_score_fn)(void *ctx, int32_t user, float *scores);

/* The test users evaluated: those with train and test items, a seeded sample of max_users. */
int reco_eval_users(const reco_split *s, const reco_eval_options *o, int32_t **users);
void reco_eval_ranker(const reco_dataset *d, const reco_split *s, const int32_t *users,
                      int n_users, int top, reco_score_fn score, void *ctx, reco_metrics *out);

enum { RECO_METHOD_POPULARITY, RECO_METHOD_ITEMKNN, RECO_METHOD_MF, RECO_METHOD_HYBRID,
       RECO_METHODS };
extern const char *const reco_method_names[RECO_METHODS];

typedef struct reco_eval_result {
    reco_metrics method[RECO_METHODS];
    size_t n_train, n_test;
    int n_users, n_items;
    double train_seconds;
} reco_eval_result;

/* Splits, trains every method and measures them. */
void reco_evaluate(const reco_dataset *d, const reco_eval_options *o, reco_eval_result *out);
void reco_eval_print(FILE *f, const reco_eval_result *r);

#endif
