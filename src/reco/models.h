/* SPDX-License-Identifier: MIT
 *
 * The learned models over a user x item matrix (reco/data.h): popularity, ItemKNN (cosine
 * similarity of items' engagement columns with shrinkage, top k neighbours per item) and
 * implicit-feedback matrix factorisation (iALS, Hu/Koren/Volinsky: confidence 1 + alpha * r,
 * preference 1 on observed pairs, 0 elsewhere), with the linear algebra in OpenBLAS/LAPACKE.
 * Every function is pure: the same input gives the same model (seeded initialisation).
 */
#ifndef STREAMHUB_RECO_MODELS_H
#define STREAMHUB_RECO_MODELS_H

#include "reco/data.h"

/* Popularity: each item's column sum (its decayed engagement). out has n_cols floats. */
void reco_popularity(const reco_csr *by_user, float *out);

typedef struct reco_knn {
    int n_items, k;
    int32_t *neighbour; /* n_items * k, -1 past the last neighbour */
    float *similarity;  /* n_items * k, best first */
} reco_knn;

typedef struct reco_knn_options {
    int k;                /* neighbours kept per item (default 20) */
    float shrink;         /* added to the cosine's denominator (default 10) */
    int max_user_items;   /* a user's last items (highest index) counted, bounding heavy users */
    int threads;          /* default 2 */
} reco_knn_options;

/* sim(i,j) = sum_u r_ui r_uj / (|r_i| |r_j| + shrink), over users' rows of by_user; by_item is
 * its transpose. */
void reco_knn_train(const reco_csr *by_user, const reco_csr *by_item,
                    const reco_knn_options *opts, reco_knn *out);
/* Adds sum_h weight_h * sim(h, j) to scores[j] for the history items h. */
void reco_knn_score(const reco_knn *m, const int32_t *items, const float *weights, int n,
                    float *scores);
void reco_knn_free(reco_knn *m);

typedef struct reco_mf {
    int n_users, n_items, k;
    float *user_factors; /* n_users * k, row-major */
    float *item_factors; /* n_items * k */
    float *item_gram;    /* k * k: item_factors' item_factors (for fold-in), full symmetric */
} reco_mf;

typedef struct reco_als_options {
    int factors;    /* k (default 32) */
    int iterations; /* alternating sweeps (default 8) */
    int cg_steps;   /* conjugate-gradient steps per row and sweep (default 3) */
    float reg;      /* lambda (default 0.05) */
    float alpha;    /* confidence slope (default 2) */
    int threads;    /* default 2 */
    uint64_t seed;
} reco_als_options;

void reco_als_defaults(reco_als_options *o);
void reco_als_train(const reco_csr *by_user, const reco_csr *by_item,
                    const reco_als_options *opts, reco_mf *out);
void reco_mf_free(reco_mf *m);

/* One row's least-squares system of iALS given the other side's factors Y (k columns) and
 * gram = Y'Y (k x k): A = gram + reg I + sum_i alpha r_i y_i y_i', b = sum_i (1 + alpha r_i) y_i.
 * reco_als_solve_exact solves A x = b by Cholesky (LAPACKE_sposv); reco_als_solve_cg runs
 * `steps` conjugate-gradient steps from the x given (warm start). Returns 0, -1 when A is not
 * positive definite. */
int reco_als_solve_exact(const float *Y, const float *gram, int k, const int32_t *cols,
                         const float *values, int n, float reg, float alpha, float *x);
void reco_als_solve_cg(const float *Y, const float *gram, int k, const int32_t *cols,
                       const float *values, int n, float reg, float alpha, int steps, float *x);

/* Gram matrix G = F'F of an n x k row-major matrix (cblas_ssyrk, then mirrored). */
void reco_gram(const float *F, int n, int k, float *G);

#endif
