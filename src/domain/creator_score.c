/* SPDX-License-Identifier: MIT
 *
 * Until creator scores are computed every creator is neutral; the analytics module replaces
 * this with the latest daily snapshot.
 */
#include "domain/creator_score.h"

int creator_scores_get(db *d, const int64_t *creator_ids, int n, double *scores)
{
    (void)d, (void)creator_ids;
    for (int i = 0; i < n; i++)
        scores[i] = CREATOR_SCORE_NEUTRAL;
    return 0;
}
