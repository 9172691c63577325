/* SPDX-License-Identifier: MIT
 *
 * The recommender's math (src/reco/) on small matrices whose answers are known by hand: the
 * decayed sparse matrix, popularity, ItemKNN's shrunk cosine, the iALS row solves (Cholesky and
 * conjugate gradient against the explicit system), training on a planted two-block matrix and
 * fold-in of a new user, exact and IVF search, the metrics, and the interaction file formats.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reco/ann.h"
#include "reco/data.h"
#include "reco/eval.h"
#include "reco/model.h"

#include "blocks.h"
#include "reco/models.h"

static void csr_of(const reco_interaction *ev, size_t n, int users, int items, reco_csr *by_user,
                   reco_csr *by_item)
{
    reco_csr_from_events(ev, n, users, items, 0, 0, by_user);
    reco_csr_transpose(by_user, by_item);
}

static void test_csr_sums_decays_and_cancels(void **state)
{
    (void)state;
    const reco_interaction ev[] = {
        {1, 2, 1.0f, 100}, {0, 1, 2.0f, 100}, {1, 2, 3.0f, 200}, /* duplicate pair */
        {1, 0, 1.0f, 200}, {1, 0, -5.0f, 200},                   /* cancelled: not kept */
    };
    reco_csr m;
    /* now = 200, half-life 100 s: the event at t=100 counts half */
    reco_csr_from_events(ev, 5, 2, 3, 200, 100, &m);
    assert_int_equal(reco_csr_nnz(&m), 2);
    assert_int_equal(m.row_start[1], 1);
    assert_int_equal(m.col[0], 1);
    assert_float_equal(m.value[0], 1.0f, 1e-5);
    assert_int_equal(m.col[1], 2);
    assert_float_equal(m.value[1], 0.5f + 3.0f, 1e-5);
    reco_csr t;
    reco_csr_transpose(&m, &t);
    assert_int_equal(t.n_rows, 3);
    assert_int_equal(t.row_start[1] - t.row_start[0], 0);
    assert_int_equal(t.col[t.row_start[2]], 1);
    float pop[3];
    reco_popularity(&m, pop);
    assert_float_equal(pop[0], 0, 1e-6);
    assert_float_equal(pop[1], 1.0f, 1e-6);
    assert_float_equal(pop[2], 3.5f, 1e-5);
    reco_csr_free(&m);
    reco_csr_free(&t);
}

/* u0 {0,1}, u1 {0,1,2}, u2 {2}: |i|=sqrt 2 each; dots 0.1=2, 0.2=1, 1.2=1 */
static const reco_interaction knn_events[] = {
    {0, 0, 1, 0}, {0, 1, 1, 0}, {1, 0, 1, 0}, {1, 1, 1, 0}, {1, 2, 1, 0}, {2, 2, 1, 0},
};

static void test_itemknn_cosine_with_shrinkage(void **state)
{
    (void)state;
    reco_csr bu, bi;
    csr_of(knn_events, 6, 3, 3, &bu, &bi);
    reco_knn m;
    reco_knn_train(&bu, &bi, &(reco_knn_options){.k = 2, .shrink = 0, .threads = 2}, &m);
    assert_int_equal(m.neighbour[0], 1);
    assert_float_equal(m.similarity[0], 1.0f, 1e-5); /* 2 / (sqrt2 sqrt2) */
    assert_int_equal(m.neighbour[1], 2);
    assert_float_equal(m.similarity[1], 0.5f, 1e-5);
    assert_int_equal(m.neighbour[2 * 2], 0); /* item 2: ties broken by index */
    assert_float_equal(m.similarity[2 * 2], 0.5f, 1e-5);
    reco_knn_free(&m);
    reco_knn_train(&bu, &bi, &(reco_knn_options){.k = 1, .shrink = 1, .threads = 1}, &m);
    assert_float_equal(m.similarity[0], 2.0f / 3.0f, 1e-5);
    /* scoring a history {item 0 with weight 2}: item 1 gets 2 * 2/3 */
    float scores[3] = {0};
    reco_knn_score(&m, (int32_t[]){0}, (float[]){2}, 1, scores);
    assert_float_equal(scores[1], 4.0f / 3.0f, 1e-5);
    assert_float_equal(scores[2], 0, 1e-6);
    reco_knn_free(&m);
    reco_csr_free(&bu);
    reco_csr_free(&bi);
}

/* A = Y'Y + reg I + sum alpha r_i y_i y_i', b = sum (1 + alpha r_i) y_i, built by hand. */
static void test_als_row_solves(void **state)
{
    (void)state;
    enum { N = 6, K = 3 };
    const float Y[N * K] = {0.3f, -0.1f, 0.2f, 0.5f, 0.4f, -0.3f, -0.2f, 0.1f, 0.6f,
                            0.1f, 0.7f, 0.0f, 0.4f, -0.5f, 0.1f, 0.0f, 0.2f, 0.3f};
    float gram[K * K];
    reco_gram(Y, N, K, gram);
    assert_float_equal(gram[0 * K + 1], gram[1 * K + 0], 1e-7);
    float g01 = 0;
    for (int i = 0; i < N; i++)
        g01 += Y[i * K] * Y[i * K + 1];
    assert_float_equal(gram[1], g01, 1e-6);
    const int32_t cols[] = {1, 3, 4};
    const float values[] = {1.0f, 3.0f, 0.5f};
    float reg = 0.1f, alpha = 2.0f, x[K], x_cg[K] = {0};
    assert_int_equal(reco_als_solve_exact(Y, gram, K, cols, values, 3, reg, alpha, x), 0);
    double A[K][K], b[K] = {0};
    for (int r = 0; r < K; r++)
        for (int c = 0; c < K; c++)
            A[r][c] = gram[r * K + c] + (r == c ? reg : 0);
    for (int n = 0; n < 3; n++) {
        const float *y = Y + cols[n] * K;
        for (int r = 0; r < K; r++) {
            b[r] += (1 + alpha * values[n]) * y[r];
            for (int c = 0; c < K; c++)
                A[r][c] += alpha * values[n] * y[r] * y[c];
        }
    }
    for (int r = 0; r < K; r++) { /* A x = b */
        double ax = 0;
        for (int c = 0; c < K; c++)
            ax += A[r][c] * x[c];
        assert_float_equal(ax, b[r], 1e-4);
    }
    /* K conjugate-gradient steps solve a K x K system (up to rounding) */
    reco_als_solve_cg(Y, gram, K, cols, values, 3, reg, alpha, K, x_cg);
    for (int r = 0; r < K; r++)
        assert_float_equal(x_cg[r], x[r], 1e-3);
    /* one step from the answer stays there */
    reco_als_solve_cg(Y, gram, K, cols, values, 3, reg, alpha, 1, x_cg);
    for (int r = 0; r < K; r++)
        assert_float_equal(x_cg[r], x[r], 1e-3);
}

/* Users 0-9 engage items 0-5, users 10-19 items 6-11, each missing one item of its block. */
static void planted_blocks(reco_csr *bu, reco_csr *bi)
{
    reco_interaction ev[20 * 6];
    size_t n = 0;
    for (int u = 0; u < 20; u++) {
        int base = u < 10 ? 0 : 6;
        for (int i = 0; i < 6; i++)
            if (i != u % 6)
                ev[n++] = (reco_interaction){u, base + i, 1.0f, 0};
    }
    csr_of(ev, n, 20, 12, bu, bi);
}

static float dot(const float *a, const float *b, int k)
{
    float s = 0;
    for (int d = 0; d < k; d++)
        s += a[d] * b[d];
    return s;
}

static void test_als_learns_blocks_and_folds_in(void **state)
{
    (void)state;
    reco_csr bu, bi;
    planted_blocks(&bu, &bi);
    reco_als_options o;
    reco_als_defaults(&o);
    o.factors = 4;
    o.iterations = 10;
    reco_mf m;
    reco_als_train(&bu, &bi, &o, &m);
    int k = m.k;
    for (int u = 0; u < 20; u++) {
        int own = (u < 10 ? 0 : 6) + u % 6, other = (u < 10 ? 6 : 0) + u % 6;
        /* the held-out item of its own block beats the same item of the other block */
        assert_true(dot(m.user_factors + u * k, m.item_factors + own * k, k) >
                    dot(m.user_factors + u * k, m.item_factors + other * k, k) + 0.05f);
    }
    /* fold-in: a new user who engaged items 6 and 7 is nearest to the second block */
    float x[4];
    assert_int_equal(reco_als_solve_exact(m.item_factors, m.item_gram, k, (int32_t[]){6, 7},
                                          (float[]){1, 1}, 2, o.reg, o.alpha, x), 0);
    reco_top top[4];
    int n = reco_exact_search(m.item_factors, m.n_items, k, x, top, 4);
    assert_int_equal(n, 4);
    for (int i = 0; i < n; i++)
        assert_true(top[i].item >= 6);
    reco_mf_free(&m);
    reco_csr_free(&bu);
    reco_csr_free(&bi);
}

static void test_search_exact_and_ivf(void **state)
{
    (void)state;
    enum { N = 2000, K = 8 };
    float *v = malloc(N * K * sizeof *v);
    uint64_t s = 1;
    for (int i = 0; i < N * K; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        v[i] = (float)((s >> 40) % 1000) / 1000.0f - 0.5f;
    }
    float q[K] = {1, -1, 0.5f, 0, 0, 0.25f, -0.5f, 1};
    reco_top exact[10], ivf[10];
    int n = reco_exact_search(v, N, K, q, exact, 10);
    assert_int_equal(n, 10);
    for (int i = 0; i < N; i++) /* nothing outside the top beats the 10th */
        if (dot(v + i * K, q, K) > exact[9].score + 1e-6f) {
            bool listed = false;
            for (int j = 0; j < 10; j++)
                listed |= exact[j].item == i;
            assert_true(listed);
        }
    for (int j = 1; j < 10; j++)
        assert_true(exact[j - 1].score >= exact[j].score);
    reco_ann a;
    reco_ann_build(&a, v, N, K, 16, 3);
    assert_int_equal(a.list_start[a.n_lists], N);
    /* probing every list is exact */
    assert_int_equal(reco_ann_search(&a, q, a.n_lists, ivf, 10), 10);
    for (int j = 0; j < 10; j++)
        assert_int_equal(ivf[j].item, exact[j].item);
    /* fewer lists: a subset, still ordered */
    n = reco_ann_search(&a, q, 2, ivf, 10);
    for (int j = 1; j < n; j++)
        assert_true(ivf[j - 1].score >= ivf[j].score);
    reco_ann_free(&a);
    free(v);
}

static void score_by_index(void *ctx, int32_t user, float *scores)
{
    (void)ctx, (void)user;
    for (int i = 0; i < 4; i++)
        scores[i] = (float)i;
}

/* user 0: train {0}, relevant {1, 2}; user 1: train {0, 3}. Top 2 of user 0 is [3, 2]. */
static void test_metrics(void **state)
{
    (void)state;
    reco_dataset d;
    reco_dataset_init(&d);
    for (int i = 0; i < 4; i++)
        reco_dataset_item(&d, i);
    const reco_interaction ev[] = {{0, 0, 1, 0}, {1, 0, 1, 0}, {1, 3, 1, 0}};
    reco_split s = {0};
    csr_of(ev, 3, 2, 4, &s.by_user, &s.by_item);
    int64_t start[] = {0, 2, 2};
    int32_t items[] = {1, 2};
    s.test_start = start;
    s.test_item = items;
    reco_metrics m;
    reco_eval_ranker(&d, &s, (int32_t[]){0}, 1, 2, score_by_index, NULL, &m);
    assert_int_equal(m.users, 1);
    assert_float_equal(m.recall, 0.5, 1e-9);
    double dcg = 1 / log2(3.0), idcg = 1 + 1 / log2(3.0);
    assert_float_equal(m.ndcg, dcg / idcg, 1e-6);
    assert_float_equal(m.coverage, 0.5, 1e-9);
    /* self-information: item 3 engaged by 1 of 2 users, item 2 by none (counted as 1): 1 bit */
    assert_float_equal(m.novelty, 1.0, 1e-6);
    reco_csr_free(&s.by_user);
    reco_csr_free(&s.by_item);
    reco_dataset_free(&d);
}

static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/reco-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_file_formats(void **state)
{
    (void)state;
    char err[256];
    struct {
        const char *text;
        int events, users, items, topics;
    } ok[] = {
        {"user,item,type,time,watch_ms,topics,creator,created_at\n"
         "1,10,view,100,15000,cats|pets,7,50\n2,10,like,120,,cats,7,50\n1,11,share,130,,,,\n",
         3, 2, 2, 2},
        {"{\"user\":1,\"item\":10,\"type\":\"view\",\"time\":5,\"watch_ms\":900,"
         "\"topics\":[\"dogs\"],\"creator\":3,\"created_at\":1}\n",
         1, 1, 1, 1},
        {"196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t302\t5\t881250950\n", 3, 2, 2, 0},
    };
    for (size_t c = 0; c < sizeof ok / sizeof ok[0]; c++) {
        char *path = write_temp(ok[c].text);
        reco_dataset d;
        reco_dataset_init(&d);
        assert_int_equal(reco_dataset_load(&d, path, err, sizeof err), 0);
        assert_int_equal(d.n_events, ok[c].events);
        assert_int_equal(d.n_users, ok[c].users);
        assert_int_equal(d.n_items, ok[c].items);
        assert_int_equal(d.n_topics, ok[c].topics);
        if (c == 0) {
            assert_int_equal(d.items[0].created_at, 50);
            assert_int_equal(d.items[0].n_topics, 2);
            assert_int_equal(d.items[1].creator, -1);
            assert_float_equal(d.events[0].weight, reco_signal_weight(RECO_VIEW, 15000, false, 0),
                               1e-6);
        }
        if (c == 1) /* a skip counts against */
            assert_true(d.events[0].weight < 0);
        reco_dataset_free(&d);
        unlink(path);
        free(path);
    }
    const char *bad[] = {
        "user,item,type,time\n1,2,view,3\n1,2,teleport,4\n", /* unknown type, line 3 */
        "user,item,type,time\n1,x,view,3\n",
        "{\"user\":1}\n",
        "hello\n",
        "",
    };
    for (size_t c = 0; c < sizeof bad / sizeof bad[0]; c++) {
        char *path = write_temp(bad[c]);
        reco_dataset d;
        reco_dataset_init(&d);
        assert_int_equal(reco_dataset_load(&d, path, err, sizeof err), -1);
        assert_non_null(strstr(err, path));
        if (c == 0)
            assert_non_null(strstr(err, ":3: unknown type"));
        reco_dataset_free(&d);
        unlink(path);
        free(path);
    }
}

/* A served model: trained on two blocks, saved, loaded back identical; fold-in of a new user;
 * a truncated file is refused. */
static void test_model_file_and_queries(void **state)
{
    (void)state;
    reco_model *m = block_model(1000);
    char path[] = "/tmp/reco-model-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    assert_int_equal(reco_model_save(m, path), 0);
    char err[256];
    reco_model *loaded = reco_model_load(path, err, sizeof err);
    assert_non_null(loaded);
    assert_int_equal(loaded->n_items, 12);
    assert_int_equal(loaded->trained_at, 1000);
    reco_top a[5], b[5];
    int na = reco_model_similar(m, 1000, a, 5), nb = reco_model_similar(loaded, 1000, b, 5);
    assert_int_equal(na, 5);
    assert_int_equal(nb, na);
    for (int i = 0; i < na; i++) {
        assert_int_equal(a[i].item, b[i].item);
        assert_true(m->item_ids[a[i].item] >= 1000 && m->item_ids[a[i].item] < 2000);
    }
    assert_int_equal(reco_model_similar(loaded, 999, a, 5), 0);
    /* a known user, and a new one folded in from block 2 */
    float x[4];
    assert_true(reco_model_user_vector(loaded, 100, NULL, NULL, 0, x));
    assert_false(reco_model_user_vector(loaded, 7, (int64_t[]){999}, (float[]){1}, 1, x));
    assert_true(reco_model_user_vector(loaded, 7, (int64_t[]){2000, 2001}, (float[]){1, 1}, 2, x));
    int n = reco_model_nearest(loaded, x, a, 3);
    assert_int_equal(n, 3);
    for (int i = 0; i < n; i++)
        assert_true(loaded->item_ids[a[i].item] >= 2000);
    /* a truncated file is not a model */
    assert_int_equal(truncate(path, 100), 0);
    assert_null(reco_model_load(path, err, sizeof err));
    assert_non_null(strstr(err, "truncated"));
    unlink(path);
    reco_model_free(loaded);
    reco_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csr_sums_decays_and_cancels),
        cmocka_unit_test(test_itemknn_cosine_with_shrinkage),
        cmocka_unit_test(test_als_row_solves),
        cmocka_unit_test(test_als_learns_blocks_and_folds_in),
        cmocka_unit_test(test_search_exact_and_ivf),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_file_formats),
        cmocka_unit_test(test_model_file_and_queries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
