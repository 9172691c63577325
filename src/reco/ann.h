/* SPDX-License-Identifier: MIT
 *
 * Nearest neighbours by inner product (a user's taste vector against item vectors): the exact
 * scan (one cblas_sgemv over all items) and an inverted-file index (IVF: k-means lists, a query
 * scans the lists of its nprobe best centroids). Which one serves is decided by size
 * (docs/BENCHMARKS.md has the measurements behind RECO_ANN_EXACT_BELOW).
 */
#ifndef STREAMHUB_RECO_ANN_H
#define STREAMHUB_RECO_ANN_H

#include <stddef.h>
#include <stdint.h>

/* Below this many items the exact scan is used (it is as fast and has recall 1). */
enum { RECO_ANN_EXACT_BELOW = 50000 };

typedef struct reco_top {
    int32_t item;
    float score;
} reco_top;

/* A bounded min-heap of the best `cap` (item, score) pairs. */
void reco_top_push(reco_top *heap, int *n, int cap, int32_t item, float score);
/* Sorts the heap's n entries best first (ties by item, ascending). */
void reco_top_sort(reco_top *heap, int n);

/* The max best items of n k-dimensional vectors for query q; returns how many were written. */
int reco_exact_search(const float *vectors, int n, int k, const float *q, reco_top *out, int max);

typedef struct reco_ann {
    int n, k, n_lists;
    float *centroids;    /* n_lists * k */
    int64_t *list_start; /* n_lists + 1 */
    int32_t *list_item;  /* n: item index, list by list */
    float *list_vector;  /* n * k: the vectors in list order (one scan reads contiguously) */
} reco_ann;

/* Builds lists over n vectors (copied); n_lists 0 picks about sqrt(n). */
void reco_ann_build(reco_ann *a, const float *vectors, int n, int k, int n_lists, uint64_t seed);
int reco_ann_search(const reco_ann *a, const float *q, int nprobe, reco_top *out, int max);
void reco_ann_free(reco_ann *a);
/* Bytes held by the index. */
size_t reco_ann_bytes(const reco_ann *a);

#endif
