/* SPDX-License-Identifier: MIT
 *
 * The model the server serves: ItemKNN neighbours and iALS factors of one training, with the
 * external ids of their rows, the nearest-neighbour index over the item factors, and its file
 * (written to a temporary name and renamed, so a reader never sees half a model). Immutable
 * once built or loaded: any number of threads may query it at once.
 */
#ifndef STREAMHUB_RECO_MODEL_H
#define STREAMHUB_RECO_MODEL_H

#include "reco/ann.h"
#include "reco/data.h"
#include "reco/models.h"

typedef struct reco_model {
    int64_t trained_at; /* ms */
    int n_items, n_users;
    int64_t *item_ids, *user_ids;
    reco_idmap item_index, user_index;
    reco_knn knn;
    reco_mf mf;
    reco_ann ann; /* n == 0: the exact scan serves (fewer than RECO_ANN_EXACT_BELOW items) */
    float reg, alpha;
} reco_model;

typedef struct reco_train_options {
    reco_knn_options knn;
    reco_als_options als;
    double half_life_s; /* decay of signals at the training time */
} reco_train_options;

void reco_train_defaults(reco_train_options *o);
/* Trains on every interaction of d, as of now_ms. */
reco_model *reco_model_train(const reco_dataset *d, const reco_train_options *o, int64_t now_ms);
void reco_model_free(reco_model *m);
/* Bytes the model holds in memory. */
size_t reco_model_bytes(const reco_model *m);

/* Writes path.tmp, fsyncs it and renames it to path. Returns 0 or -1 (errno set). */
int reco_model_save(const reco_model *m, const char *path);
/* NULL with a reason in err when the file is missing, truncated or not a model. */
reco_model *reco_model_load(const char *path, char *err, size_t err_size);

/* The item's neighbours (dense indices), best first; 0 when the id is unknown. */
int reco_model_similar(const reco_model *m, int64_t item_id, reco_top *out, int max);
/* The user's taste vector (k floats): the trained one, else folded in from the history's items
 * the model knows (positive weights). false when neither gives one. */
bool reco_model_user_vector(const reco_model *m, int64_t user_id, const int64_t *items,
                            const float *weights, int n, float *x);
/* Items nearest to x (dense indices), best first. */
int reco_model_nearest(const reco_model *m, const float *x, reco_top *out, int max);

#endif
