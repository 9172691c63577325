/* SPDX-License-Identifier: MIT
 *
 * Popularity, ItemKNN and iALS (reco/models.h). Rows are handed to worker threads in chunks
 * from one atomic counter, so heavy rows do not leave a thread idle; OpenBLAS is asked for one
 * thread per call (the rows are the parallelism, and k x k calls are too small to split).
 */
#include "reco/models.h"

#include "core/util.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

void reco_popularity(const reco_csr *by_user, float *out)
{
    memset(out, 0, (size_t)by_user->n_cols * sizeof *out);
    size_t nnz = reco_csr_nnz(by_user);
    for (size_t k = 0; k < nnz; k++)
        out[by_user->col[k]] += by_user->value[k];
}

/* Runs fn(arg, row) for rows 0..n-1 on `threads` threads, 64 rows per claim. */
typedef void (*row_fn)(void *arg, void *scratch, int row);
typedef struct row_pool {
    row_fn fn;
    void *arg;
    int n;
    atomic_int next;
    size_t scratch_size;
} row_pool;

static void *row_worker(void *p)
{
    row_pool *pool = p;
    void *scratch = pool->scratch_size ? xcalloc(1, pool->scratch_size) : NULL;
    for (;;) {
        int first = atomic_fetch_add(&pool->next, 64);
        if (first >= pool->n)
            break;
        int last = first + 64 < pool->n ? first + 64 : pool->n;
        for (int r = first; r < last; r++)
            pool->fn(pool->arg, scratch, r);
    }
    free(scratch);
    return NULL;
}

static void for_each_row(int n, int threads, size_t scratch_size, row_fn fn, void *arg)
{
    row_pool pool = {.fn = fn, .arg = arg, .n = n, .scratch_size = scratch_size};
    atomic_init(&pool.next, 0);
    if (threads < 1)
        threads = 1;
    pthread_t *t = xmalloc((size_t)threads * sizeof *t);
    int started = 0;
    for (int i = 1; i < threads; i++)
        if (pthread_create(&t[started], NULL, row_worker, &pool) == 0)
            started++;
    row_worker(&pool);
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    free(t);
}

/* ---- ItemKNN ---- */

typedef struct knn_job {
    const reco_csr *by_user, *by_item;
    const reco_knn_options *opts;
    const float *norm;
    reco_knn *out;
} knn_job;

/* scratch: n_items accumulators, then n_items touched indices */
static void knn_row(void *arg, void *scratch, int i)
{
    knn_job *j = arg;
    int n_items = j->by_item->n_rows, k = j->opts->k;
    float *acc = scratch;
    int32_t *touched = (int32_t *)(acc + n_items);
    int n_touched = 0;
    const reco_csr *bi = j->by_item, *bu = j->by_user;
    for (int64_t a = bi->row_start[i]; a < bi->row_start[i + 1]; a++) {
        int u = bi->col[a];
        float r_ui = bi->value[a];
        int64_t first = bu->row_start[u], end = bu->row_start[u + 1];
        if (j->opts->max_user_items > 0 && end - first > j->opts->max_user_items)
            first = end - j->opts->max_user_items;
        for (int64_t b = first; b < end; b++) {
            int other = bu->col[b];
            if (other == i)
                continue;
            if (acc[other] == 0)
                touched[n_touched++] = other;
            acc[other] += r_ui * bu->value[b];
        }
    }
    int32_t *nb = j->out->neighbour + (size_t)i * k;
    float *sim = j->out->similarity + (size_t)i * k;
    int have = 0;
    for (int t = 0; t < n_touched; t++) {
        int other = touched[t];
        float s = acc[other] / (j->norm[i] * j->norm[other] + j->opts->shrink);
        acc[other] = 0;
        if (have == k && s <= sim[k - 1])
            continue;
        int at = have < k ? have++ : k - 1; /* insertion into the sorted top k */
        while (at > 0 && (sim[at - 1] < s || (sim[at - 1] == s && nb[at - 1] > other))) {
            sim[at] = sim[at - 1];
            nb[at] = nb[at - 1];
            at--;
        }
        sim[at] = s;
        nb[at] = other;
    }
}

void reco_knn_train(const reco_csr *by_user, const reco_csr *by_item,
                    const reco_knn_options *opts, reco_knn *out)
{
    reco_knn_options o = *opts;
    if (o.k <= 0)
        o.k = 20;
    if (o.threads <= 0)
        o.threads = 2;
    int n_items = by_item->n_rows;
    out->n_items = n_items;
    out->k = o.k;
    out->neighbour = xmalloc((size_t)n_items * o.k * sizeof *out->neighbour);
    out->similarity = xcalloc((size_t)n_items * o.k, sizeof *out->similarity);
    memset(out->neighbour, 0xff, (size_t)n_items * o.k * sizeof *out->neighbour);
    float *norm = xmalloc(((size_t)n_items + 1) * sizeof *norm);
    for (int i = 0; i < n_items; i++) {
        double s = 0;
        for (int64_t a = by_item->row_start[i]; a < by_item->row_start[i + 1]; a++)
            s += (double)by_item->value[a] * by_item->value[a];
        norm[i] = (float)sqrt(s);
    }
    knn_job job = {by_user, by_item, &o, norm, out};
    for_each_row(n_items, o.threads, (size_t)n_items * (sizeof(float) + sizeof(int32_t)),
                 knn_row, &job);
    free(norm);
}

void reco_knn_score(const reco_knn *m, const int32_t *items, const float *weights, int n,
                    float *scores)
{
    for (int h = 0; h < n; h++) {
        if (items[h] < 0 || items[h] >= m->n_items)
            continue;
        const int32_t *nb = m->neighbour + (size_t)items[h] * m->k;
        const float *sim = m->similarity + (size_t)items[h] * m->k;
        for (int j = 0; j < m->k && nb[j] >= 0; j++)
            scores[nb[j]] += weights[h] * sim[j];
    }
}

void reco_knn_free(reco_knn *m)
{
    free(m->neighbour);
    free(m->similarity);
    memset(m, 0, sizeof *m);
}

/* ---- iALS ---- */

void reco_als_defaults(reco_als_options *o)
{
    *o = (reco_als_options){.factors = 32, .iterations = 8, .cg_steps = 3, .reg = 0.05f,
                            .alpha = 2.0f, .threads = 2, .seed = 42};
}

void reco_gram(const float *F, int n, int k, float *G)
{
    memset(G, 0, (size_t)k * k * sizeof *G);
    if (n > 0)
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, k, n, 1.0f, F, k, 0.0f, G, k);
    for (int r = 0; r < k; r++)
        for (int c = 0; c < r; c++)
            G[r * k + c] = G[c * k + r];
}

int reco_als_solve_exact(const float *Y, const float *gram, int k, const int32_t *cols,
                         const float *values, int n, float reg, float alpha, float *x)
{
    float *A = xmalloc((size_t)k * k * sizeof *A);
    memcpy(A, gram, (size_t)k * k * sizeof *A);
    for (int d = 0; d < k; d++)
        A[d * k + d] += reg;
    memset(x, 0, (size_t)k * sizeof *x);
    for (int i = 0; i < n; i++) {
        const float *y = Y + (size_t)cols[i] * k;
        cblas_ssyr(CblasRowMajor, CblasUpper, k, alpha * values[i], y, 1, A, k);
        cblas_saxpy(k, 1.0f + alpha * values[i], y, 1, x, 1);
    }
    int info = LAPACKE_sposv(LAPACK_ROW_MAJOR, 'U', k, 1, A, k, x, 1);
    free(A);
    return info == 0 ? 0 : -1;
}

/* A v for the row's system, without forming A: gram v + reg v + sum_i alpha r_i (y_i . v) y_i.
 * Plain loops: at k = 32 a BLAS call's dispatch costs as much as its arithmetic, and this runs
 * millions of times per sweep; BLAS does the Gram matrices (ssyrk), the exact solves (LAPACKE
 * sposv) and the scans (sgemv/sgemm). */
static void als_apply(const float *Y, const float *gram, int k, const int32_t *cols,
                      const float *values, int n, float reg, float alpha, const float *v,
                      float *out)
{
    for (int r = 0; r < k; r++) { /* gram is stored full (reco_gram mirrors it) */
        const float *g = gram + (size_t)r * k;
        float sum = reg * v[r];
        for (int d = 0; d < k; d++)
            sum += g[d] * v[d];
        out[r] = sum;
    }
    for (int i = 0; i < n; i++) {
        const float *y = Y + (size_t)cols[i] * k;
        float dot = 0;
        for (int d = 0; d < k; d++)
            dot += y[d] * v[d];
        float scale = alpha * values[i] * dot;
        for (int d = 0; d < k; d++)
            out[d] += scale * y[d];
    }
}

void reco_als_solve_cg(const float *Y, const float *gram, int k, const int32_t *cols,
                       const float *values, int n, float reg, float alpha, int steps, float *x)
{
    float buffer[3 * 256];
    float *r = k <= 256 ? buffer : xmalloc(3 * (size_t)k * sizeof *r);
    float *p = r + k, *Ap = p + k;
    /* r = b - A x */
    als_apply(Y, gram, k, cols, values, n, reg, alpha, x, Ap);
    for (int d = 0; d < k; d++)
        r[d] = -Ap[d];
    for (int i = 0; i < n; i++) {
        const float *y = Y + (size_t)cols[i] * k;
        float c = 1.0f + alpha * values[i];
        for (int d = 0; d < k; d++)
            r[d] += c * y[d];
    }
    memcpy(p, r, (size_t)k * sizeof *p);
    float rr = cblas_sdot(k, r, 1, r, 1);
    for (int s = 0; s < steps && rr > 1e-12f; s++) {
        als_apply(Y, gram, k, cols, values, n, reg, alpha, p, Ap);
        float pAp = cblas_sdot(k, p, 1, Ap, 1);
        if (pAp <= 0)
            break;
        float step = rr / pAp;
        cblas_saxpy(k, step, p, 1, x, 1);
        cblas_saxpy(k, -step, Ap, 1, r, 1);
        float rr_next = cblas_sdot(k, r, 1, r, 1);
        float beta = rr_next / rr;
        for (int d = 0; d < k; d++)
            p[d] = r[d] + beta * p[d];
        rr = rr_next;
    }
    if (r != buffer)
        free(r);
}

typedef struct als_job {
    const reco_csr *rows;
    const float *other; /* the fixed side's factors */
    const float *gram;
    float *mine; /* the side being solved */
    const reco_als_options *opts;
} als_job;

static void als_row(void *arg, void *scratch, int row)
{
    (void)scratch;
    als_job *j = arg;
    int64_t a = j->rows->row_start[row], b = j->rows->row_start[row + 1];
    int k = j->opts->factors;
    float *x = j->mine + (size_t)row * k;
    if (a == b) {
        memset(x, 0, (size_t)k * sizeof *x); /* no data: no taste */
        return;
    }
    reco_als_solve_cg(j->other, j->gram, k, j->rows->col + a, j->rows->value + a, (int)(b - a),
                      j->opts->reg, j->opts->alpha, j->opts->cg_steps, x);
}

/* splitmix64 -> uniform in [-0.5, 0.5) */
static float seeded_uniform(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (float)((double)(z >> 11) / 9007199254740992.0) - 0.5f;
}

void reco_als_train(const reco_csr *by_user, const reco_csr *by_item,
                    const reco_als_options *opts, reco_mf *out)
{
    reco_als_options o = *opts;
    int k = o.factors;
    openblas_set_num_threads(1);
    out->n_users = by_user->n_rows;
    out->n_items = by_item->n_rows;
    out->k = k;
    out->user_factors = xcalloc((size_t)out->n_users * k, sizeof(float));
    out->item_factors = xmalloc((size_t)out->n_items * k * sizeof(float));
    out->item_gram = xmalloc((size_t)k * k * sizeof(float));
    uint64_t state = o.seed;
    float scale = 0.1f / sqrtf((float)k);
    for (size_t e = 0; e < (size_t)out->n_items * k; e++)
        out->item_factors[e] = scale * seeded_uniform(&state);
    float *gram = xmalloc((size_t)k * k * sizeof *gram);
    for (int it = 0; it < o.iterations; it++) {
        reco_gram(out->item_factors, out->n_items, k, gram);
        als_job users = {by_user, out->item_factors, gram, out->user_factors, &o};
        for_each_row(out->n_users, o.threads, 0, als_row, &users);
        reco_gram(out->user_factors, out->n_users, k, gram);
        als_job items = {by_item, out->user_factors, gram, out->item_factors, &o};
        for_each_row(out->n_items, o.threads, 0, als_row, &items);
    }
    reco_gram(out->item_factors, out->n_items, k, out->item_gram);
    free(gram);
}

void reco_mf_free(reco_mf *m)
{
    free(m->user_factors);
    free(m->item_factors);
    free(m->item_gram);
    memset(m, 0, sizeof *m);
}
