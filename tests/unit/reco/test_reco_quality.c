/* SPDX-License-Identifier: MIT
 *
 * The recommender's quality gate: a small planted-structure dataset (bench/reco_synth.h, fixed
 * seed), the four methods of `streamhub reco eval` on a time split, and the hybrid must reach at
 * least 1.1x the best single baseline's Recall@20 and stay under the oracle's ceiling.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "reco_synth.h"

#include "reco/eval.h"

static void test_hybrid_beats_baselines(void **state)
{
    (void)state;
    reco_synth_options so;
    reco_synth_defaults(&so);
    reco_dataset d;
    reco_dataset_init(&d);
    reco_synth s;
    reco_synth_generate(&s, &so, &d);
    reco_eval_options eo;
    reco_eval_defaults(&eo);
    reco_eval_result r;
    reco_evaluate(&d, &eo, &r);
    reco_eval_print(stdout, &r);
    reco_metrics oracle;
    reco_synth_oracle_metrics(&s, &d, &eo, &oracle);
    printf("oracle recall@20 %.4f\n", oracle.recall);
    assert_true(r.n_users > 1000);
    double best = 0;
    for (int m = 0; m < RECO_METHOD_HYBRID; m++)
        best = r.method[m].recall > best ? r.method[m].recall : best;
    assert_true(best > 0);
    assert_true(r.method[RECO_METHOD_HYBRID].recall >= 1.1 * best);
    assert_true(oracle.recall > r.method[RECO_METHOD_HYBRID].recall);
    reco_synth_free(&s);
    reco_dataset_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_hybrid_beats_baselines)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
