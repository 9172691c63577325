/* SPDX-License-Identifier: MIT
 *
 * The served model, its file and its queries (reco/model.h). The file: the magic
 * "SHRECO01", a header of counts, then the arrays as they lie in memory (little-endian, the
 * only byte order the server is built for); the IVF index is rebuilt at load, off the request
 * path, rather than stored.
 */
#include "reco/model.h"

#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char MAGIC[8] = {'S', 'H', 'R', 'E', 'C', 'O', '0', '1'};

typedef struct file_header {
    char magic[8];
    int64_t trained_at;
    int32_t n_items, n_users, k, knn_k;
    float reg, alpha;
} file_header;

void reco_train_defaults(reco_train_options *o)
{
    /* 20 neighbours: what similar-posts and For You ask for, at 160 bytes per item */
    o->knn = (reco_knn_options){.k = 20, .shrink = 10, .max_user_items = 300, .threads = 2};
    reco_als_defaults(&o->als);
    o->als.iterations = 6;
    o->half_life_s = 7 * 86400.0;
}

static void index_ids(reco_model *m)
{
    for (int i = 0; i < m->n_items; i++)
        reco_idmap_insert(&m->item_index, m->item_ids[i], i);
    for (int u = 0; u < m->n_users; u++)
        reco_idmap_insert(&m->user_index, m->user_ids[u], u);
    if (m->n_items >= RECO_ANN_EXACT_BELOW)
        reco_ann_build(&m->ann, m->mf.item_factors, m->n_items, m->mf.k, 0, 1);
}

reco_model *reco_model_train(const reco_dataset *d, const reco_train_options *o, int64_t now_ms)
{
    reco_model *m = xcalloc(1, sizeof *m);
    m->trained_at = now_ms;
    m->n_items = d->n_items;
    m->n_users = d->n_users;
    m->item_ids = xmalloc(((size_t)d->n_items + 1) * sizeof *m->item_ids);
    m->user_ids = xmalloc(((size_t)d->n_users + 1) * sizeof *m->user_ids);
    memcpy(m->item_ids, d->item_ids, (size_t)d->n_items * sizeof *m->item_ids);
    memcpy(m->user_ids, d->user_ids, (size_t)d->n_users * sizeof *m->user_ids);
    reco_csr by_user, by_item;
    reco_csr_from_events(d->events, d->n_events, d->n_users, d->n_items, now_ms / 1000,
                         o->half_life_s, &by_user);
    reco_csr_transpose(&by_user, &by_item);
    reco_knn_train(&by_user, &by_item, &o->knn, &m->knn);
    reco_als_train(&by_user, &by_item, &o->als, &m->mf);
    m->reg = o->als.reg;
    m->alpha = o->als.alpha;
    reco_csr_free(&by_user);
    reco_csr_free(&by_item);
    index_ids(m);
    return m;
}

void reco_model_free(reco_model *m)
{
    if (!m)
        return;
    free(m->item_ids);
    free(m->user_ids);
    reco_idmap_free(&m->item_index);
    reco_idmap_free(&m->user_index);
    reco_knn_free(&m->knn);
    reco_mf_free(&m->mf);
    reco_ann_free(&m->ann);
    free(m);
}

size_t reco_model_bytes(const reco_model *m)
{
    size_t k = (size_t)m->mf.k, nk = (size_t)m->knn.k;
    return ((size_t)m->n_items + m->n_users) * (sizeof(int64_t) + k * sizeof(float)) +
           (m->item_index.capacity + m->user_index.capacity) * (sizeof(int64_t) + 4) +
           (size_t)m->n_items * nk * (sizeof(int32_t) + sizeof(float)) + reco_ann_bytes(&m->ann);
}

static bool write_all(FILE *f, const void *p, size_t n)
{
    return n == 0 || fwrite(p, 1, n, f) == n;
}

int reco_model_save(const reco_model *m, const char *path)
{
    char *tmp = xasprintf("%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        free(tmp);
        return -1;
    }
    file_header h = {.trained_at = m->trained_at, .n_items = m->n_items, .n_users = m->n_users,
                     .k = m->mf.k, .knn_k = m->knn.k, .reg = m->reg, .alpha = m->alpha};
    memcpy(h.magic, MAGIC, sizeof MAGIC);
    size_t ni = (size_t)m->n_items, nu = (size_t)m->n_users, k = (size_t)m->mf.k;
    bool ok = write_all(f, &h, sizeof h) && write_all(f, m->item_ids, ni * sizeof(int64_t)) &&
              write_all(f, m->user_ids, nu * sizeof(int64_t)) &&
              write_all(f, m->knn.neighbour, ni * (size_t)m->knn.k * sizeof(int32_t)) &&
              write_all(f, m->knn.similarity, ni * (size_t)m->knn.k * sizeof(float)) &&
              write_all(f, m->mf.item_factors, ni * k * sizeof(float)) &&
              write_all(f, m->mf.user_factors, nu * k * sizeof(float)) &&
              write_all(f, m->mf.item_gram, k * k * sizeof(float)) && fflush(f) == 0 &&
              fsync(fileno(f)) == 0;
    int saved_errno = errno;
    if (fclose(f) != 0)
        ok = false;
    if (ok && rename(tmp, path) != 0)
        ok = false, saved_errno = errno;
    if (!ok) {
        unlink(tmp);
        errno = saved_errno;
    }
    free(tmp);
    return ok ? 0 : -1;
}

static bool read_all(FILE *f, void *p, size_t n)
{
    return n == 0 || fread(p, 1, n, f) == n;
}

reco_model *reco_model_load(const char *path, char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return NULL;
    }
    file_header h;
    if (!read_all(f, &h, sizeof h) || memcmp(h.magic, MAGIC, sizeof MAGIC) != 0 ||
        h.n_items < 0 || h.n_users < 0 || h.k <= 0 || h.k > 1024 || h.knn_k <= 0 ||
        h.knn_k > 1024) {
        snprintf(err, err_size, "%s: not a recommender model", path);
        fclose(f);
        return NULL;
    }
    reco_model *m = xcalloc(1, sizeof *m);
    size_t ni = (size_t)h.n_items, nu = (size_t)h.n_users, k = (size_t)h.k, nk = (size_t)h.knn_k;
    m->trained_at = h.trained_at;
    m->n_items = h.n_items;
    m->n_users = h.n_users;
    m->reg = h.reg;
    m->alpha = h.alpha;
    m->item_ids = xmalloc((ni + 1) * sizeof(int64_t));
    m->user_ids = xmalloc((nu + 1) * sizeof(int64_t));
    m->knn = (reco_knn){.n_items = h.n_items, .k = h.knn_k,
                        .neighbour = xmalloc((ni * nk + 1) * sizeof(int32_t)),
                        .similarity = xmalloc((ni * nk + 1) * sizeof(float))};
    m->mf = (reco_mf){.n_users = h.n_users, .n_items = h.n_items, .k = h.k,
                      .item_factors = xmalloc((ni * k + 1) * sizeof(float)),
                      .user_factors = xmalloc((nu * k + 1) * sizeof(float)),
                      .item_gram = xmalloc(k * k * sizeof(float))};
    char extra;
    bool ok = read_all(f, m->item_ids, ni * sizeof(int64_t)) &&
              read_all(f, m->user_ids, nu * sizeof(int64_t)) &&
              read_all(f, m->knn.neighbour, ni * nk * sizeof(int32_t)) &&
              read_all(f, m->knn.similarity, ni * nk * sizeof(float)) &&
              read_all(f, m->mf.item_factors, ni * k * sizeof(float)) &&
              read_all(f, m->mf.user_factors, nu * k * sizeof(float)) &&
              read_all(f, m->mf.item_gram, k * k * sizeof(float)) && fread(&extra, 1, 1, f) == 0;
    fclose(f);
    for (size_t e = 0; ok && e < ni * nk; e++)
        ok = m->knn.neighbour[e] >= -1 && m->knn.neighbour[e] < h.n_items;
    if (!ok) {
        snprintf(err, err_size, "%s: truncated or corrupt model", path);
        reco_model_free(m);
        return NULL;
    }
    index_ids(m);
    return m;
}

int reco_model_similar(const reco_model *m, int64_t item_id, reco_top *out, int max)
{
    int32_t i = reco_idmap_find(&m->item_index, item_id);
    if (i < 0)
        return 0;
    int n = 0;
    const int32_t *nb = m->knn.neighbour + (size_t)i * m->knn.k;
    const float *sim = m->knn.similarity + (size_t)i * m->knn.k;
    for (int j = 0; j < m->knn.k && nb[j] >= 0 && n < max; j++)
        out[n++] = (reco_top){nb[j], sim[j]};
    return n;
}

bool reco_model_user_vector(const reco_model *m, int64_t user_id, const int64_t *items,
                            const float *weights, int n, float *x)
{
    int k = m->mf.k;
    int32_t u = reco_idmap_find(&m->user_index, user_id);
    if (u >= 0) {
        memcpy(x, m->mf.user_factors + (size_t)u * k, (size_t)k * sizeof *x);
        for (int d = 0; d < k; d++)
            if (x[d] != 0)
                return true;
    }
    int32_t *cols = xmalloc(((size_t)n + 1) * sizeof *cols);
    float *values = xmalloc(((size_t)n + 1) * sizeof *values);
    int known = 0;
    for (int h = 0; h < n; h++) {
        int32_t i = reco_idmap_find(&m->item_index, items[h]);
        if (i >= 0 && weights[h] > 0) {
            cols[known] = i;
            values[known++] = weights[h];
        }
    }
    bool ok = known > 0 && reco_als_solve_exact(m->mf.item_factors, m->mf.item_gram, k, cols,
                                                values, known, m->reg, m->alpha, x) == 0;
    free(cols);
    free(values);
    return ok;
}

int reco_model_nearest(const reco_model *m, const float *x, reco_top *out, int max)
{
    if (m->ann.n > 0)
        return reco_ann_search(&m->ann, x, 16, out, max);
    return reco_exact_search(m->mf.item_factors, m->n_items, m->mf.k, x, out, max);
}
