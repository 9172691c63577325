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

#include <stdbool.h>
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

#endif
