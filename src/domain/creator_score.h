/* SPDX-License-Identifier: MIT
 *
 * Creator scores (0-100, from the last 28 days; docs/analytics.md) as other modules read them:
 * For You uses the score as a ranking feature. A creator without a score (new, or before the
 * first daily snapshot) reads as CREATOR_SCORE_NEUTRAL, so rankers need no special case.
 *
 * The math lives here too, pure and unit-tested: each component is percentile-ranked among the
 * creators active in the window (mid-rank for ties), weighted, and scaled to 0-100; the tier
 * follows the score with hysteresis.
 */
#ifndef STREAMHUB_DOMAIN_CREATOR_SCORE_H
#define STREAMHUB_DOMAIN_CREATOR_SCORE_H

#include "store/analytics.h"
#include "store/db.h"

#include <stdbool.h>
#include <stdint.h>

#define CREATOR_SCORE_NEUTRAL 50.0
#define CREATOR_SCORE_WINDOW_DAYS 28
#define CREATOR_TIERS 5

/* Fills scores[i] for creator_ids[i] (n of them, any n); 0 or a negative ERR_* (database).
 * A score read is kept a minute per node (it moves once a day). */
int creator_scores_get(db *d, const int64_t *creator_ids, int n, double *scores);
/* Drops the kept scores (the snapshot job has written new ones). */
void creator_scores_forget(void);

/* What a creator did in the window (the snapshot's inputs; store/analytics.h). */
typedef store_creator_inputs creator_inputs;

/* The components and their weights (sum 1): reach (views), engagement (likes, comments, shares
 * and saves per play), completion (completions per play), growth (followers gained minus
 * lost), consistency (posting days). Monetization (tips) joins once the wallet exists; the
 * trust factor (moderation) is 1 until then. */
enum {
    SCORE_REACH,
    SCORE_ENGAGEMENT,
    SCORE_COMPLETION,
    SCORE_GROWTH,
    SCORE_CONSISTENCY,
    SCORE__COMPONENTS
};
extern const double creator_score_weights[SCORE__COMPONENTS];
extern const char *const creator_score_components[SCORE__COMPONENTS];

/* The component values of one creator. */
void creator_score_values(const creator_inputs *in, double out[SCORE__COMPONENTS]);
/* Percentile-normalised scores of n active creators, 0..100 rounded to tenths; pcts (may be
 * NULL) gets each creator's percentiles, n * SCORE__COMPONENTS. One creator alone is 50. */
void creator_score_compute(const creator_inputs *in, int n, double *scores, double *pcts);

/* The tier names, bronze to diamond. */
extern const char *const creator_tiers[CREATOR_TIERS];
/* Thresholds of silver, gold, platinum and diamond, and the hysteresis margin: a creator moves
 * up only at threshold + margin and down only below threshold - margin. */
typedef struct creator_tier_rules {
    double thresholds[CREATOR_TIERS - 1];
    double margin;
} creator_tier_rules;
/* "40,60,75,90" into rules (ascending, within 0..100); false if malformed. */
bool creator_tier_rules_parse(const char *text, double margin, creator_tier_rules *out);
/* The tier index for score, from previous (-1: none yet, no hysteresis). */
int creator_tier_of(const creator_tier_rules *rules, double score, int previous);
int creator_tier_index(const char *name); /* -1 if unknown */

#endif
