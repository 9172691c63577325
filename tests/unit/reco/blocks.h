/* SPDX-License-Identifier: MIT
 *
 * The served-model fixture of the reco tests: users 100-109 engage posts 1000-1005 and users
 * 110-119 posts 2000-2005, each missing one post of its block (user u misses post u % 6).
 */
#ifndef STREAMHUB_TESTS_RECO_BLOCKS_H
#define STREAMHUB_TESTS_RECO_BLOCKS_H

#include "reco/model.h"

/* The model of the two blocks (4 factors, 10 sweeps), trained at trained_at_ms. */
static inline reco_model *block_model(int64_t trained_at_ms)
{
    reco_dataset d;
    reco_dataset_init(&d);
    for (int u = 0; u < 20; u++)
        for (int i = 0; i < 6; i++)
            if (i != u % 6)
                reco_dataset_add(&d, reco_dataset_user(&d, 100 + u),
                                 reco_dataset_item(&d, (u < 10 ? 1000 : 2000) + i), 1.0f, 0);
    reco_train_options o;
    reco_train_defaults(&o);
    o.als.factors = 4;
    o.als.iterations = 10;
    reco_model *m = reco_model_train(&d, &o, trained_at_ms);
    reco_dataset_free(&d);
    return m;
}

#endif
