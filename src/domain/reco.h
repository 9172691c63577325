/* SPDX-License-Identifier: MIT
 *
 * The recommender's learned models, as For You and similar-posts see them: item-to-item
 * co-engagement neighbours (ItemKNN) and embedding neighbours of a user (matrix factorisation
 * with fold-in for users and items the last training has not seen). Models are trained by a
 * background job and swapped in atomically; until one exists every call answers "no model"
 * (0 hits) and the feeds fall back to their rule-based sources.
 *
 * Thread safety: every function may be called from any request thread at any time, including
 * while a new model is being swapped in.
 */
#ifndef STREAMHUB_DOMAIN_RECO_H
#define STREAMHUB_DOMAIN_RECO_H

#include "jobs/queue.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct reco_hit {
    int64_t post_id;
    float score;    /* higher is better; comparable only within one call */
    int64_t via_id; /* the post of the user's history that led here (0 if none) */
} reco_hit;

/* One interaction of a user's recent history, for fold-in (newest first is fine). */
typedef struct reco_signal {
    int64_t post_id;
    float weight; /* the documented signal weight, already decayed; negative = dislike */
} reco_signal;

/* Whether a trained model is loaded (metrics, /health/detailed, feed reasons). */
bool reco_model_ready(void);

/* Posts most co-engaged with post_id, best first; returns the number written (0 without a
 * model or when the post is unknown to it), at most max. */
int reco_similar_posts(int64_t post_id, reco_hit *out, int max);

/* Posts nearest to the user's taste vector (the trained one, or folded in from history when
 * the user is new to the model), best first, excluding the history's posts; returns the number
 * written (0 without a model). */
int reco_user_candidates(int64_t user_id, const reco_signal *history, int n_history,
                         reco_hit *out, int max);

/* ---- the training side (app.c wires it; nothing on the request path) ---- */

#define RECO_TRAIN_JOB "reco.train"

/* Where models live: the object store spec of --object-store ("" = files under data_dir) and
 * how often a new one is trained (seconds; 0 = only on demand). Loads the newest saved model,
 * if any, so a restarted node serves at once. */
int reco_configure(const char *data_dir, const char *object_store, int64_t retrain_interval_s,
                   char *err, size_t err_size);
void reco_shutdown(void);

/* The job: reads the interactions of the event log (the last 30 days, newest 20M at most),
 * trains ItemKNN and iALS, saves the model (object "reco/model.bin") and swaps it in. */
job_result reco_train_job(job_ctx *ctx, const store_job *job, char *err, size_t err_size);
/* Queues a training now (the admin route). */
int reco_request_training(db *d, int64_t *job_id);
/* Housekeeping round (every node): loads a model newer than the one served (trained by any
 * node), and queues a training when the newest is older than the retrain interval. */
int reco_sweep(db *d, int64_t now_ms);

/* For /health/detailed: when the served model was trained (ms, 0 = none), its items and users,
 * and its bytes in memory. */
void reco_model_info(int64_t *trained_at, int *items, int *users, size_t *bytes);

#endif
