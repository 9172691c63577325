/* SPDX-License-Identifier: MIT
 *
 * Creator scores (0-100, from the last 28 days; docs/analytics.md once written) as other modules
 * read them: For You uses the score as a ranking feature. A creator without a score (new, or
 * before the first daily snapshot) reads as CREATOR_SCORE_NEUTRAL, so rankers need no special
 * case.
 */
#ifndef STREAMHUB_DOMAIN_CREATOR_SCORE_H
#define STREAMHUB_DOMAIN_CREATOR_SCORE_H

#include "store/db.h"

#include <stdint.h>

#define CREATOR_SCORE_NEUTRAL 50.0

/* Fills scores[i] for creator_ids[i] (n of them, any n); 0 or a negative ERR_* (database). */
int creator_scores_get(db *d, const int64_t *creator_ids, int n, double *scores);

#endif
