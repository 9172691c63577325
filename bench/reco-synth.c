/* SPDX-License-Identifier: MIT
 *
 * streamhub-reco-synth: generates planted-structure interactions (bench/reco_synth.h), prints
 * the offline evaluation of every method beside the oracle's ceiling, and optionally writes the
 * interactions as the CSV `streamhub reco eval --events` reads.
 *   streamhub-reco-synth [--users N] [--items N] [--days N] [--rate PER_DAY] [--seed S]
 *                        [--csv FILE]
 */
#include "reco_synth.h"

#include "reco/eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int write_csv(const reco_dataset *d, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return -1;
    }
    fprintf(f, "user,item,type,time,watch_ms,topics,creator,created_at\n");
    for (size_t e = 0; e < d->n_events; e++) {
        const reco_interaction *ev = &d->events[e];
        const reco_item_info *it = &d->items[ev->item];
        /* the generator's weights map back to their kinds: a like is 2, views are below */
        bool like = ev->weight == reco_signal_weight(RECO_LIKE, 0, false, 0);
        bool completed = ev->weight == reco_signal_weight(RECO_VIEW, 15000, true, 0);
        long long watch = completed ? 15000 : (long long)((ev->weight - 0.5f) * 2 * 30000);
        fprintf(f, "%lld,%lld,%s,%lld,", (long long)d->user_ids[ev->user],
                (long long)d->item_ids[ev->item], like ? "like" : "view", (long long)ev->time);
        if (!like)
            fprintf(f, "%lld", watch);
        fputc(',', f);
        for (int t = 0; t < it->n_topics; t++)
            fprintf(f, "%st%d", t ? "|" : "", it->topics[t]);
        fprintf(f, ",%d,%lld\n", it->creator, (long long)it->created_at);
    }
    return fclose(f);
}

int main(int argc, char **argv)
{
    reco_synth_options so;
    reco_synth_defaults(&so);
    const char *csv = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--users") && v)
            so.users = atoi(v), i++;
        else if (!strcmp(argv[i], "--items") && v)
            so.items = atoi(v), i++;
        else if (!strcmp(argv[i], "--days") && v)
            so.days = atoi(v), i++;
        else if (!strcmp(argv[i], "--rate") && v)
            so.interactions_per_day = atof(v), i++;
        else if (!strcmp(argv[i], "--seed") && v)
            so.seed = strtoull(v, NULL, 10), i++;
        else if (!strcmp(argv[i], "--csv") && v)
            csv = v, i++;
        else {
            fprintf(stderr, "usage: %s [--users N] [--items N] [--days N] [--rate R] "
                            "[--seed S] [--csv FILE]\n", argv[0]);
            return 2;
        }
    }
    reco_dataset d;
    reco_dataset_init(&d);
    reco_synth s;
    reco_synth_generate(&s, &so, &d);
    printf("generated %zu interactions: %d users, %d items, %d topics, %d days\n", d.n_events,
           so.users, so.items, so.topics, so.days);
    if (csv && write_csv(&d, csv) != 0)
        return 1;
    reco_eval_options eo;
    reco_eval_defaults(&eo);
    reco_eval_result r;
    reco_evaluate(&d, &eo, &r);
    reco_eval_print(stdout, &r);
    reco_metrics oracle;
    reco_synth_oracle_metrics(&s, &d, &eo, &oracle);
    printf("%-12s %10.4f %10.4f %10.4f %10.2f\n", "oracle", oracle.recall, oracle.ndcg,
           oracle.coverage, oracle.novelty);
    reco_synth_free(&s);
    reco_dataset_free(&d);
    return 0;
}
