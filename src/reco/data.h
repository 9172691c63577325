/* SPDX-License-Identifier: MIT
 *
 * The recommender's data, as the models see it: users and items renumbered densely (0..n-1), a
 * list of weighted interactions, what is known of each item (topics, creator, publication
 * time), and the sparse user x item matrix built from them (CSR, duplicates summed with a time
 * decay). Pure code: no database, no server; the online job and `streamhub reco eval` fill the
 * same dataset.
 */
#ifndef STREAMHUB_RECO_DATA_H
#define STREAMHUB_RECO_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* int64 ids -> dense int32 indices (open addressing, grows at 1/2 load). */
typedef struct reco_idmap {
    int64_t *keys;
    int32_t *values; /* -1: empty slot */
    size_t capacity, count;
} reco_idmap;

int32_t reco_idmap_find(const reco_idmap *m, int64_t key); /* -1 when absent */
/* The index of key, inserting value_if_new when absent. */
int32_t reco_idmap_insert(reco_idmap *m, int64_t key, int32_t value_if_new);
void reco_idmap_free(reco_idmap *m);

/* The interaction kinds of the event log and of evaluation files. */
typedef enum {
    RECO_VIEW,
    RECO_LIKE,
    RECO_SAVE,
    RECO_COMMENT,
    RECO_SHARE,
    RECO_FOLLOW,
    RECO_RATING,         /* MovieLens-style explicit rating */
    RECO_NOT_INTERESTED, /* negative */
    RECO_KIND_COUNT
} reco_kind;

/* Parses "view", "like"...; -1 when unknown. */
int reco_kind_parse(const char *name);

/* The documented signal weight of one interaction (docs/discovery.md, "Models"): a view counts
 * by how much of it was watched (a skip under 2 s counts slightly negative), likes, saves,
 * comments and shares more, "not interested" strongly negative. value is the rating for
 * RECO_RATING and ignored otherwise. */
float reco_signal_weight(reco_kind kind, int64_t watch_ms, bool completed, float value);

enum { RECO_ITEM_TOPICS = 4 };

typedef struct reco_item_info {
    int64_t created_at; /* seconds; the first interaction's time when unknown */
    int32_t creator;    /* dense creator index, -1 unknown */
    uint8_t n_topics;
    int32_t topics[RECO_ITEM_TOPICS]; /* dense topic indices */
} reco_item_info;

typedef struct reco_interaction {
    int32_t user, item;
    float weight;
    int64_t time; /* seconds */
} reco_interaction;

typedef struct reco_dataset {
    reco_idmap user_index, item_index, topic_index, creator_index;
    int64_t *user_ids, *item_ids; /* dense index -> external id */
    reco_item_info *items;
    int n_users, n_items, n_topics, n_creators;
    size_t users_capacity, items_capacity;
    reco_interaction *events;
    size_t n_events, events_capacity;
} reco_dataset;

void reco_dataset_init(reco_dataset *d);
void reco_dataset_free(reco_dataset *d);
int32_t reco_dataset_user(reco_dataset *d, int64_t id); /* dense index, added when new */
int32_t reco_dataset_item(reco_dataset *d, int64_t id);
int32_t reco_dataset_topic(reco_dataset *d, const char *name); /* by name (hashed) */
int32_t reco_dataset_creator(reco_dataset *d, int64_t id);
/* Adds a topic to an item (up to RECO_ITEM_TOPICS; repeats ignored). */
void reco_item_add_topic(reco_dataset *d, int32_t item, int32_t topic);
void reco_dataset_add(reco_dataset *d, int32_t user, int32_t item, float weight, int64_t time);

/* Reads an interaction file into d: CSV with the header
 *   user,item,type,time,watch_ms,topics,creator,created_at   (topics separated by '|')
 * JSON lines with the same field names (topics an array of strings), or MovieLens-100k
 * (user item rating timestamp, whitespace-separated, no header). Returns 0, or -1 with a
 * message naming the line in err. */
int reco_dataset_load(reco_dataset *d, const char *path, char *err, size_t err_size);

/* A sparse matrix in compressed rows: row r's columns are col[row_start[r]..row_start[r+1]),
 * sorted, with their values. */
typedef struct reco_csr {
    int n_rows, n_cols;
    int64_t *row_start;
    int32_t *col;
    float *value;
} reco_csr;

/* The user x item matrix of events (n of them): weights of one (user, item) summed after
 * decaying each by its age at `now` (half_life_s; 0 = no decay); pairs whose sum is not
 * positive are left out (negative feedback cancels the interest). */
void reco_csr_from_events(const reco_interaction *events, size_t n, int n_users, int n_items,
                          int64_t now, double half_life_s, reco_csr *out);
void reco_csr_transpose(const reco_csr *m, reco_csr *out);
void reco_csr_free(reco_csr *m);
size_t reco_csr_nnz(const reco_csr *m);

#endif
