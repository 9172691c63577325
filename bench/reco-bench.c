/* SPDX-License-Identifier: MIT
 *
 * streamhub-reco-bench: the recommender's scale figures (docs/BENCHMARKS.md).
 *   streamhub-reco-bench generate FILE [--users N] [--items N] [--interactions N]
 *       planted-structure interactions (bench/reco_synth.h) as a raw dump
 *   streamhub-reco-bench train FILE [--queries N]
 *       in a fresh process: load the dump, train the served model (ItemKNN + iALS + index) as
 *       the reco.train job does, print wall time per phase and peak RSS; then time
 *       nearest-neighbour queries (exact scan and IVF at several nprobe) with recall@20
 *       against the exact answer, and the model's memory per million items.
 */
#include "reco_synth.h"

#include "reco/ann.h"
#include "reco/model.h"

#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec / 1e6 +
           (double)u.ru_stime.tv_sec + (double)u.ru_stime.tv_usec / 1e6;
}

static long peak_rss_mib(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024;
}

typedef struct dump_header {
    int32_t n_users, n_items;
    uint64_t n_events;
} dump_header;

static int generate(const char *path, int argc, char **argv)
{
    reco_synth_options o;
    reco_synth_defaults(&o);
    o.users = 100000;
    o.items = 1000000;
    long long interactions = 10000000;
    for (int i = 0; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--users"))
            o.users = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--items"))
            o.items = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--interactions"))
            interactions = atoll(argv[i + 1]);
    }
    /* a view and, 20-50% of the time, a like per pick: about 1.3 events per pick */
    o.interactions_per_day = (double)interactions / 1.3 / o.users / o.days;
    double t0 = now_s();
    reco_dataset d;
    reco_dataset_init(&d);
    reco_synth s;
    reco_synth_generate(&s, &o, &d);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return 1;
    }
    dump_header h = {d.n_users, d.n_items, d.n_events};
    fwrite(&h, sizeof h, 1, f);
    fwrite(d.user_ids, sizeof *d.user_ids, (size_t)d.n_users, f);
    fwrite(d.item_ids, sizeof *d.item_ids, (size_t)d.n_items, f);
    fwrite(d.events, sizeof *d.events, d.n_events, f);
    fclose(f);
    printf("generated %zu events (%d users, %d items) in %.1f s\n", d.n_events, d.n_users,
           d.n_items, now_s() - t0);
    reco_synth_free(&s);
    reco_dataset_free(&d);
    return 0;
}

static int train(const char *path, int argc, char **argv)
{
    int queries = 200;
    for (int i = 0; i + 1 < argc; i += 2)
        if (!strcmp(argv[i], "--queries"))
            queries = atoi(argv[i + 1]);
    double t0 = now_s();
    FILE *f = fopen(path, "rb");
    dump_header h;
    if (!f || fread(&h, sizeof h, 1, f) != 1) {
        fprintf(stderr, "%s: not a dump\n", path);
        return 1;
    }
    reco_dataset d;
    reco_dataset_init(&d);
    int64_t *ids = xmalloc(((size_t)h.n_users + h.n_items) * sizeof *ids);
    if (fread(ids, sizeof *ids, (size_t)h.n_users + h.n_items, f) !=
        (size_t)h.n_users + h.n_items)
        return 1;
    for (int u = 0; u < h.n_users; u++)
        reco_dataset_user(&d, ids[u]);
    for (int i = 0; i < h.n_items; i++)
        reco_dataset_item(&d, ids[h.n_users + i]);
    free(ids);
    d.events = xmalloc(h.n_events * sizeof *d.events);
    d.n_events = d.events_capacity = h.n_events;
    if (fread(d.events, sizeof *d.events, h.n_events, f) != h.n_events)
        return 1;
    fclose(f);
    double t_load = now_s();
    printf("loaded %zu events in %.1f s (peak RSS %ld MiB)\n", d.n_events, t_load - t0,
           peak_rss_mib());
    reco_train_options o;
    reco_train_defaults(&o);
    int64_t latest = 0;
    for (size_t e = 0; e < d.n_events; e++)
        latest = d.events[e].time > latest ? d.events[e].time : latest;
    double cpu0 = cpu_s();
    reco_model *m = reco_model_train(&d, &o, latest * 1000);
    double t_train = now_s();
    printf("trained (ItemKNN k=%d, iALS k=%d x %d sweeps, IVF %d lists) in %.1f s wall, "
           "%.1f s CPU; peak RSS %ld MiB\n",
           o.knn.k, o.als.factors, o.als.iterations, m->ann.n_lists, t_train - t_load,
           cpu_s() - cpu0, peak_rss_mib());
    printf("model memory %.1f MiB for %d items and %d users (%.1f MiB per million items, "
           "users included)\n",
           (double)reco_model_bytes(m) / 1048576.0, m->n_items, m->n_users,
           (double)reco_model_bytes(m) / 1048576.0 / (m->n_items / 1e6));
    reco_dataset_free(&d);
    /* queries: the first users' trained vectors */
    int k = m->mf.k, n_queries = queries < m->n_users ? queries : m->n_users;
    reco_top *exact = xmalloc((size_t)n_queries * 20 * sizeof *exact);
    double t = now_s();
    for (int q = 0; q < n_queries; q++)
        reco_exact_search(m->mf.item_factors, m->n_items, k, m->mf.user_factors + (size_t)q * k,
                          exact + (size_t)q * 20, 20);
    printf("exact scan: %.3f ms per query over %d items\n", (now_s() - t) * 1000 / n_queries,
           m->n_items);
    reco_ann ann = m->ann;
    bool own = false;
    if (ann.n == 0) {
        reco_ann_build(&ann, m->mf.item_factors, m->n_items, k, 0, 1);
        own = true;
    }
    int probes[] = {4, 8, 16, 32, 64};
    reco_top got[20];
    for (size_t p = 0; p < sizeof probes / sizeof probes[0]; p++) {
        long hits = 0;
        t = now_s();
        for (int q = 0; q < n_queries; q++) {
            int n = reco_ann_search(&ann, m->mf.user_factors + (size_t)q * k, probes[p], got, 20);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < 20; j++)
                    hits += got[i].item == exact[(size_t)q * 20 + j].item;
        }
        double ms = (now_s() - t) * 1000 / n_queries;
        printf("IVF %d lists, nprobe %2d: %.3f ms per query, recall@20 vs exact %.3f\n",
               ann.n_lists, probes[p], ms, (double)hits / (20.0 * n_queries));
    }
    printf("IVF index memory %.1f MiB\n", (double)reco_ann_bytes(&ann) / 1048576.0);
    if (own)
        reco_ann_free(&ann);
    free(exact);
    reco_model_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "generate"))
        return generate(argv[2], argc - 3, argv + 3);
    if (argc >= 3 && !strcmp(argv[1], "train"))
        return train(argv[2], argc - 3, argv + 3);
    fprintf(stderr, "usage: %s generate FILE [--users N] [--items N] [--interactions N]\n"
                    "       %s train FILE [--queries N]\n",
            argv[0], argv[0]);
    return 2;
}
