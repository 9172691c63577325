/* SPDX-License-Identifier: MIT
 *
 * domain/reco.h as For You calls it: "no model" before one exists; a model saved in the data
 * dir is loaded by reco_configure; similar posts stay in their block; a known user gets
 * candidates from their trained vector, an unknown one from fold-in of the history passed in,
 * never the history's own posts, each with the history post that explains it; after shutdown,
 * "no model" again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "domain/reco.h"
#include "reco/model.h"

#include "blocks.h"

/* The block model (blocks.h), saved where reco_configure looks. */
static void save_block_model(const char *data_dir)
{
    reco_model *m = block_model(5000);
    char *dir = xasprintf("%s/reco", data_dir), *path = xasprintf("%s/model.bin", dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(reco_model_save(m, path), 0);
    free(path);
    free(dir);
    reco_model_free(m);
}

static void test_served_model(void **state)
{
    (void)state;
    reco_hit hits[8];
    assert_false(reco_model_ready());
    assert_int_equal(reco_similar_posts(1000, hits, 8), 0);
    assert_int_equal(reco_user_candidates(100, NULL, 0, hits, 8), 0);

    char data_dir[] = "/tmp/reco-served-XXXXXX";
    assert_non_null(mkdtemp(data_dir));
    save_block_model(data_dir);
    char err[256] = "";
    assert_int_equal(reco_configure(data_dir, "", 0, err, sizeof err), 0);
    assert_true(reco_model_ready());
    int64_t trained_at;
    int items, users;
    size_t bytes;
    reco_model_info(&trained_at, &items, &users, &bytes);
    assert_int_equal(trained_at, 5000);
    assert_int_equal(items, 12);
    assert_int_equal(users, 20);

    int n = reco_similar_posts(2003, hits, 4);
    assert_int_equal(n, 4);
    for (int i = 0; i < n; i++) {
        assert_true(hits[i].post_id >= 2000 && hits[i].post_id < 2006);
        assert_true(hits[i].post_id != 2003);
        assert_int_equal(hits[i].via_id, 2003);
        assert_true(i == 0 || hits[i - 1].score >= hits[i].score);
    }
    assert_int_equal(reco_similar_posts(999, hits, 4), 0);

    /* user 101 missed post 1001: it ranks first among their block's posts */
    const reco_signal seen101[] = {{1000, 1}, {1002, 1}, {1003, 1}, {1004, 1}, {1005, 1}};
    n = reco_user_candidates(101, seen101, 5, hits, 3);
    assert_int_equal(n, 3);
    assert_int_equal(hits[0].post_id, 1001);
    assert_true(hits[0].via_id >= 1000 && hits[0].via_id <= 1005);

    /* an unknown user folded in from two posts of the second block */
    const reco_signal fresh[] = {{2000, 1.5f}, {2001, 1.0f}, {999999, 2.0f}};
    n = reco_user_candidates(777, fresh, 3, hits, 3);
    assert_int_equal(n, 3);
    for (int i = 0; i < n; i++) {
        assert_true(hits[i].post_id > 2001 && hits[i].post_id < 2006); /* not the history's */
        assert_true(hits[i].via_id == 2000 || hits[i].via_id == 2001);
    }
    /* nothing the model knows, and only dislikes: no candidates */
    const reco_signal unknown[] = {{999999, 1}, {2002, -5}};
    assert_int_equal(reco_user_candidates(778, unknown, 2, hits, 4), 0);

    reco_shutdown();
    assert_false(reco_model_ready());
    assert_int_equal(reco_similar_posts(2003, hits, 4), 0);
    char *cmd = xasprintf("rm -rf '%s'", data_dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_served_model)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
