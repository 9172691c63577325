/* SPDX-License-Identifier: MIT
 *
 * Exact and IVF inner-product search (reco/ann.h).
 */
#include "reco/ann.h"

#include "core/util.h"

#include <cblas.h>
#include <float.h>
#include <stdbool.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool worse(reco_top a, reco_top b) /* a ranks below b */
{
    return a.score < b.score || (a.score == b.score && a.item > b.item);
}

void reco_top_push(reco_top *heap, int *n, int cap, int32_t item, float score)
{
    reco_top e = {item, score};
    if (cap <= 0)
        return;
    if (*n < cap) {
        int at = (*n)++;
        while (at > 0 && worse(e, heap[(at - 1) / 2])) {
            heap[at] = heap[(at - 1) / 2];
            at = (at - 1) / 2;
        }
        heap[at] = e;
        return;
    }
    if (!worse(heap[0], e))
        return;
    int at = 0;
    for (;;) { /* sift the new root down */
        int child = 2 * at + 1;
        if (child >= *n)
            break;
        if (child + 1 < *n && worse(heap[child + 1], heap[child]))
            child++;
        if (!worse(heap[child], e))
            break;
        heap[at] = heap[child];
        at = child;
    }
    heap[at] = e;
}

static int best_first(const void *a, const void *b)
{
    const reco_top *x = a, *y = b;
    return worse(*x, *y) ? 1 : worse(*y, *x) ? -1 : 0;
}

void reco_top_sort(reco_top *heap, int n)
{
    qsort(heap, (size_t)n, sizeof *heap, best_first);
}

int reco_exact_search(const float *vectors, int n, int k, const float *q, reco_top *out, int max)
{
    enum { BLOCK = 8192 };
    float *scores = xmalloc(BLOCK * sizeof *scores);
    int have = 0;
    for (int first = 0; first < n; first += BLOCK) {
        int rows = n - first < BLOCK ? n - first : BLOCK;
        cblas_sgemv(CblasRowMajor, CblasNoTrans, rows, k, 1.0f, vectors + (size_t)first * k, k,
                    q, 1, 0.0f, scores, 1);
        for (int r = 0; r < rows; r++)
            reco_top_push(out, &have, max, first + r, scores[r]);
    }
    free(scores);
    reco_top_sort(out, have);
    return have;
}

static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* For each of n vectors, the centroid nearest in L2 (argmax x.c - |c|^2/2), by sgemm blocks. */
static void assign(const float *x, int n, int k, const float *centroids, int n_lists,
                   int32_t *nearest)
{
    enum { BLOCK = 1024 };
    float *half_norm = xmalloc((size_t)n_lists * sizeof *half_norm);
    for (int c = 0; c < n_lists; c++)
        half_norm[c] = 0.5f * cblas_sdot(k, centroids + (size_t)c * k, 1,
                                         centroids + (size_t)c * k, 1);
    float *s = xmalloc((size_t)BLOCK * n_lists * sizeof *s);
    for (int first = 0; first < n; first += BLOCK) {
        int rows = n - first < BLOCK ? n - first : BLOCK;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, n_lists, k, 1.0f,
                    x + (size_t)first * k, k, centroids, k, 0.0f, s, n_lists);
        for (int r = 0; r < rows; r++) {
            const float *row = s + (size_t)r * n_lists;
            int best = 0;
            float best_score = -FLT_MAX;
            for (int c = 0; c < n_lists; c++)
                if (row[c] - half_norm[c] > best_score) {
                    best_score = row[c] - half_norm[c];
                    best = c;
                }
            nearest[first + r] = best;
        }
    }
    free(s);
    free(half_norm);
}

void reco_ann_build(reco_ann *a, const float *vectors, int n, int k, int n_lists, uint64_t seed)
{
    memset(a, 0, sizeof *a);
    if (n_lists <= 0)
        n_lists = (int)sqrt((double)n);
    if (n_lists < 1)
        n_lists = 1;
    if (n_lists > n)
        n_lists = n > 0 ? n : 1;
    a->n = n;
    a->k = k;
    a->n_lists = n_lists;
    a->centroids = xcalloc((size_t)n_lists * k, sizeof(float));
    /* k-means on a sample of up to 64 points per list, 10 rounds */
    uint64_t state = seed;
    int n_sample = n < 64 * n_lists ? n : 64 * n_lists;
    float *sample = xmalloc(((size_t)n_sample * k + 1) * sizeof *sample);
    for (int s = 0; s < n_sample; s++) {
        int from = n_sample == n ? s : (int)(next_random(&state) % (uint64_t)n);
        memcpy(sample + (size_t)s * k, vectors + (size_t)from * k, (size_t)k * sizeof(float));
    }
    for (int c = 0; c < n_lists && n_sample > 0; c++)
        memcpy(a->centroids + (size_t)c * k,
               sample + (size_t)(next_random(&state) % (uint64_t)n_sample) * k,
               (size_t)k * sizeof(float));
    int32_t *nearest = xmalloc(((size_t)(n > n_sample ? n : n_sample) + 1) * sizeof *nearest);
    int *count = xmalloc((size_t)n_lists * sizeof *count);
    for (int round = 0; round < 10 && n_sample > 0; round++) {
        assign(sample, n_sample, k, a->centroids, n_lists, nearest);
        memset(count, 0, (size_t)n_lists * sizeof *count);
        float *sum = xcalloc((size_t)n_lists * k, sizeof *sum);
        for (int s = 0; s < n_sample; s++) {
            count[nearest[s]]++;
            cblas_saxpy(k, 1.0f, sample + (size_t)s * k, 1, sum + (size_t)nearest[s] * k, 1);
        }
        for (int c = 0; c < n_lists; c++) {
            if (count[c] == 0) /* an empty list restarts at a random point */
                memcpy(sum + (size_t)c * k,
                       sample + (size_t)(next_random(&state) % (uint64_t)n_sample) * k,
                       (size_t)k * sizeof(float));
            else
                cblas_sscal(k, 1.0f / (float)count[c], sum + (size_t)c * k, 1);
        }
        free(a->centroids);
        a->centroids = sum;
    }
    free(sample);
    assign(vectors, n, k, a->centroids, n_lists, nearest);
    a->list_start = xcalloc((size_t)n_lists + 1, sizeof *a->list_start);
    for (int i = 0; i < n; i++)
        a->list_start[nearest[i] + 1]++;
    for (int c = 0; c < n_lists; c++)
        a->list_start[c + 1] += a->list_start[c];
    a->list_item = xmalloc(((size_t)n + 1) * sizeof *a->list_item);
    a->list_vector = xmalloc(((size_t)n * k + 1) * sizeof *a->list_vector);
    int64_t *fill = xmalloc(((size_t)n_lists + 1) * sizeof *fill);
    memcpy(fill, a->list_start, ((size_t)n_lists + 1) * sizeof *fill);
    for (int i = 0; i < n; i++) {
        int64_t at = fill[nearest[i]]++;
        a->list_item[at] = i;
        memcpy(a->list_vector + (size_t)at * k, vectors + (size_t)i * k, (size_t)k * sizeof(float));
    }
    free(fill);
    free(count);
    free(nearest);
}

int reco_ann_search(const reco_ann *a, const float *q, int nprobe, reco_top *out, int max)
{
    if (a->n == 0)
        return 0;
    if (nprobe > a->n_lists)
        nprobe = a->n_lists;
    if (nprobe < 1)
        nprobe = 1;
    float *cs = xmalloc((size_t)a->n_lists * sizeof *cs);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, a->n_lists, a->k, 1.0f, a->centroids, a->k, q, 1,
                0.0f, cs, 1);
    reco_top *lists = xmalloc((size_t)nprobe * sizeof *lists);
    int n_lists = 0;
    for (int c = 0; c < a->n_lists; c++)
        reco_top_push(lists, &n_lists, nprobe, c, cs[c]);
    free(cs);
    int have = 0;
    float scores[4096];
    for (int l = 0; l < n_lists; l++) {
        int c = lists[l].item;
        for (int64_t first = a->list_start[c]; first < a->list_start[c + 1]; first += 4096) {
            int rows = (int)(a->list_start[c + 1] - first < 4096 ? a->list_start[c + 1] - first
                                                                 : 4096);
            cblas_sgemv(CblasRowMajor, CblasNoTrans, rows, a->k, 1.0f,
                        a->list_vector + (size_t)first * a->k, a->k, q, 1, 0.0f, scores, 1);
            for (int r = 0; r < rows; r++)
                reco_top_push(out, &have, max, a->list_item[first + r], scores[r]);
        }
    }
    free(lists);
    reco_top_sort(out, have);
    return have;
}

void reco_ann_free(reco_ann *a)
{
    free(a->centroids);
    free(a->list_start);
    free(a->list_item);
    free(a->list_vector);
    memset(a, 0, sizeof *a);
}

size_t reco_ann_bytes(const reco_ann *a)
{
    return ((size_t)a->n_lists * a->k + (size_t)a->n * a->k) * sizeof(float) +
           ((size_t)a->n_lists + 1) * sizeof(int64_t) + (size_t)a->n * sizeof(int32_t);
}
