/* SPDX-License-Identifier: MIT
 *
 * No model yet: the contract of reco.h with the answer every caller must handle anyway (the
 * server serves before the first training). The trained models replace this file.
 */
#include "domain/reco.h"

bool reco_model_ready(void)
{
    return false;
}

int reco_similar_posts(int64_t post_id, reco_hit *out, int max)
{
    (void)post_id, (void)out, (void)max;
    return 0;
}

int reco_user_candidates(int64_t user_id, const reco_signal *history, int n_history,
                         reco_hit *out, int max)
{
    (void)user_id, (void)history, (void)n_history, (void)out, (void)max;
    return 0;
}
