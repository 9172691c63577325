/* SPDX-License-Identifier: MIT
 *
 * Dense renumbering, signal weights, interaction files and the sparse matrix (reco/data.h).
 */
#include "reco/data.h"

#include "core/util.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t idmap_slot(int64_t key, size_t capacity)
{
    uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 20) & (capacity - 1);
}

int32_t reco_idmap_find(const reco_idmap *m, int64_t key)
{
    if (m->capacity == 0)
        return -1;
    for (size_t s = idmap_slot(key, m->capacity);; s = (s + 1) & (m->capacity - 1)) {
        if (m->values[s] < 0)
            return -1;
        if (m->keys[s] == key)
            return m->values[s];
    }
}

static void idmap_grow(reco_idmap *m)
{
    size_t old_capacity = m->capacity;
    int64_t *old_keys = m->keys;
    int32_t *old_values = m->values;
    m->capacity = old_capacity ? old_capacity * 2 : 1024;
    m->keys = xmalloc(m->capacity * sizeof *m->keys);
    m->values = xmalloc(m->capacity * sizeof *m->values);
    memset(m->values, 0xff, m->capacity * sizeof *m->values);
    for (size_t i = 0; i < old_capacity; i++) {
        if (old_values[i] < 0)
            continue;
        size_t s = idmap_slot(old_keys[i], m->capacity);
        while (m->values[s] >= 0)
            s = (s + 1) & (m->capacity - 1);
        m->keys[s] = old_keys[i];
        m->values[s] = old_values[i];
    }
    free(old_keys);
    free(old_values);
}

int32_t reco_idmap_insert(reco_idmap *m, int64_t key, int32_t value_if_new)
{
    if ((m->count + 1) * 2 > m->capacity)
        idmap_grow(m);
    size_t s = idmap_slot(key, m->capacity);
    for (; m->values[s] >= 0; s = (s + 1) & (m->capacity - 1))
        if (m->keys[s] == key)
            return m->values[s];
    m->keys[s] = key;
    m->values[s] = value_if_new;
    m->count++;
    return value_if_new;
}

void reco_idmap_free(reco_idmap *m)
{
    free(m->keys);
    free(m->values);
    memset(m, 0, sizeof *m);
}

static const char *const kind_names[RECO_KIND_COUNT] = {
    [RECO_VIEW] = "view",       [RECO_LIKE] = "like",     [RECO_SAVE] = "save",
    [RECO_COMMENT] = "comment", [RECO_SHARE] = "share",   [RECO_FOLLOW] = "follow",
    [RECO_RATING] = "rating",   [RECO_NOT_INTERESTED] = "not_interested",
};

int reco_kind_parse(const char *name)
{
    for (int k = 0; k < RECO_KIND_COUNT; k++)
        if (!strcmp(name, kind_names[k]))
            return k;
    return -1;
}

float reco_signal_weight(reco_kind kind, int64_t watch_ms, bool completed, float value)
{
    switch (kind) {
    case RECO_VIEW:
        if (watch_ms > 0 && watch_ms < 2000 && !completed)
            return -0.2f; /* a skip */
        if (completed)
            return 1.5f;
        /* partial views: up to 1 at 30 s watched; a view without watch time counts 0.5 */
        return watch_ms > 0 ? 0.5f + 0.5f * fminf(1.0f, (float)watch_ms / 30000.0f) : 0.5f;
    case RECO_LIKE:
        return 2.0f;
    case RECO_SAVE:
        return 3.0f;
    case RECO_COMMENT:
        return 2.5f;
    case RECO_SHARE:
        return 3.0f;
    case RECO_FOLLOW:
        return 2.0f;
    case RECO_RATING:
        return value > 0 ? value / 5.0f * 2.0f : 1.0f;
    case RECO_NOT_INTERESTED:
        return -5.0f;
    case RECO_KIND_COUNT:
        break;
    }
    return 0;
}

void reco_dataset_init(reco_dataset *d)
{
    memset(d, 0, sizeof *d);
}

void reco_dataset_free(reco_dataset *d)
{
    reco_idmap_free(&d->user_index);
    reco_idmap_free(&d->item_index);
    reco_idmap_free(&d->topic_index);
    reco_idmap_free(&d->creator_index);
    free(d->user_ids);
    free(d->item_ids);
    free(d->items);
    free(d->events);
    memset(d, 0, sizeof *d);
}

int32_t reco_dataset_user(reco_dataset *d, int64_t id)
{
    int32_t u = reco_idmap_insert(&d->user_index, id, d->n_users);
    if (u == d->n_users) {
        if ((size_t)d->n_users == d->users_capacity) {
            d->users_capacity = d->users_capacity ? d->users_capacity * 2 : 1024;
            d->user_ids = xrealloc(d->user_ids, d->users_capacity * sizeof *d->user_ids);
        }
        d->user_ids[d->n_users++] = id;
    }
    return u;
}

int32_t reco_dataset_item(reco_dataset *d, int64_t id)
{
    int32_t i = reco_idmap_insert(&d->item_index, id, d->n_items);
    if (i == d->n_items) {
        if ((size_t)d->n_items == d->items_capacity) {
            d->items_capacity = d->items_capacity ? d->items_capacity * 2 : 1024;
            d->item_ids = xrealloc(d->item_ids, d->items_capacity * sizeof *d->item_ids);
            d->items = xrealloc(d->items, d->items_capacity * sizeof *d->items);
        }
        d->item_ids[d->n_items] = id;
        d->items[d->n_items] = (reco_item_info){.created_at = INT64_MAX, .creator = -1};
        d->n_items++;
    }
    return i;
}

/* FNV-1a: topic names become 64-bit keys of the topic map. */
static int64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (int64_t)h;
}

int32_t reco_dataset_topic(reco_dataset *d, const char *name)
{
    int32_t t = reco_idmap_insert(&d->topic_index, hash_name(name), d->n_topics);
    if (t == d->n_topics)
        d->n_topics++;
    return t;
}

int32_t reco_dataset_creator(reco_dataset *d, int64_t id)
{
    int32_t c = reco_idmap_insert(&d->creator_index, id, d->n_creators);
    if (c == d->n_creators)
        d->n_creators++;
    return c;
}

void reco_item_add_topic(reco_dataset *d, int32_t item, int32_t topic)
{
    reco_item_info *it = &d->items[item];
    for (int i = 0; i < it->n_topics; i++)
        if (it->topics[i] == topic)
            return;
    if (it->n_topics < RECO_ITEM_TOPICS)
        it->topics[it->n_topics++] = topic;
}

void reco_dataset_add(reco_dataset *d, int32_t user, int32_t item, float weight, int64_t time)
{
    if (d->n_events == d->events_capacity) {
        d->events_capacity = d->events_capacity ? d->events_capacity * 2 : 4096;
        d->events = xrealloc(d->events, d->events_capacity * sizeof *d->events);
    }
    d->events[d->n_events++] = (reco_interaction){user, item, weight, time};
    if (time < d->items[item].created_at)
        d->items[item].created_at = time; /* until the file says when it was published */
}

/* One parsed line of an interaction file, whatever its format. */
typedef struct file_row {
    int64_t user, item, time, watch_ms, creator, created_at;
    int kind;
    bool completed, has_creator, has_created_at;
    float rating;
    char topics[512]; /* '|'-separated */
} file_row;

static void add_row(reco_dataset *d, const file_row *r)
{
    int32_t u = reco_dataset_user(d, r->user), i = reco_dataset_item(d, r->item);
    reco_item_info *it = &d->items[i];
    if (r->has_creator && it->creator < 0)
        it->creator = reco_dataset_creator(d, r->creator);
    if (it->n_topics == 0 && r->topics[0]) {
        char copy[sizeof r->topics];
        memcpy(copy, r->topics, sizeof copy);
        char *save = NULL;
        for (char *t = strtok_r(copy, "|", &save); t; t = strtok_r(NULL, "|", &save))
            reco_item_add_topic(d, i, reco_dataset_topic(d, t));
    }
    reco_dataset_add(d, u, i, reco_signal_weight(r->kind, r->watch_ms, r->completed, r->rating),
                     r->time);
    if (r->has_created_at)
        it->created_at = r->created_at; /* the file's publication time wins */
}

static bool parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || (*end && *end != '\r' && *end != '\n'))
        return false;
    *out = v;
    return true;
}

/* CSV: user,item,type,time,watch_ms,topics,creator,created_at (the last four may be empty). */
static int parse_csv(char *line, file_row *r, char *err, size_t err_size)
{
    char *field[8] = {0};
    int n = 0;
    for (char *p = line; n < 8; n++) {
        field[n] = p;
        char *comma = strchr(p, ',');
        if (!comma) {
            p[strcspn(p, "\r\n")] = 0;
            n++;
            break;
        }
        *comma = 0;
        p = comma + 1;
    }
    if (n < 4) {
        snprintf(err, err_size, "expected user,item,type,time[,watch_ms,topics,creator,created_at]");
        return -1;
    }
    if (!parse_i64(field[0], &r->user) || !parse_i64(field[1], &r->item) ||
        !parse_i64(field[3], &r->time)) {
        snprintf(err, err_size, "user, item and time must be integers");
        return -1;
    }
    r->kind = reco_kind_parse(field[2]);
    if (r->kind < 0) {
        snprintf(err, err_size, "unknown type '%s'", field[2]);
        return -1;
    }
    if (n > 4 && field[4][0] && !parse_i64(field[4], &r->watch_ms)) {
        snprintf(err, err_size, "watch_ms must be an integer");
        return -1;
    }
    if (n > 5)
        snprintf(r->topics, sizeof r->topics, "%s", field[5]);
    if (n > 6 && field[6][0]) {
        if (!parse_i64(field[6], &r->creator)) {
            snprintf(err, err_size, "creator must be an integer");
            return -1;
        }
        r->has_creator = true;
    }
    if (n > 7 && field[7][0]) {
        if (!parse_i64(field[7], &r->created_at)) {
            snprintf(err, err_size, "created_at must be an integer");
            return -1;
        }
        r->has_created_at = true;
    }
    return 0;
}

static int parse_jsonl(const char *line, file_row *r, char *err, size_t err_size)
{
    json_error_t jerr;
    json_t *o = json_loads(line, 0, &jerr);
    int rc = -1;
    if (!o || !json_is_object(o)) {
        snprintf(err, err_size, "not a JSON object");
        goto done;
    }
    json_t *user = json_object_get(o, "user"), *item = json_object_get(o, "item"),
           *time = json_object_get(o, "time"), *type = json_object_get(o, "type");
    if (!json_is_integer(user) || !json_is_integer(item) || !json_is_integer(time) ||
        !json_is_string(type)) {
        snprintf(err, err_size, "user, item, time (integers) and type (string) are required");
        goto done;
    }
    r->user = json_integer_value(user);
    r->item = json_integer_value(item);
    r->time = json_integer_value(time);
    r->kind = reco_kind_parse(json_string_value(type));
    if (r->kind < 0) {
        snprintf(err, err_size, "unknown type '%s'", json_string_value(type));
        goto done;
    }
    json_t *v;
    if ((v = json_object_get(o, "watch_ms")) && json_is_integer(v))
        r->watch_ms = json_integer_value(v);
    if ((v = json_object_get(o, "completed")))
        r->completed = json_is_true(v);
    if ((v = json_object_get(o, "rating")) && json_is_number(v))
        r->rating = (float)json_number_value(v);
    if ((v = json_object_get(o, "creator")) && json_is_integer(v)) {
        r->creator = json_integer_value(v);
        r->has_creator = true;
    }
    if ((v = json_object_get(o, "created_at")) && json_is_integer(v)) {
        r->created_at = json_integer_value(v);
        r->has_created_at = true;
    }
    if ((v = json_object_get(o, "topics")) && json_is_array(v)) {
        size_t idx, len = 0;
        json_t *t;
        json_array_foreach(v, idx, t)
        {
            if (!json_is_string(t))
                continue;
            int w = snprintf(r->topics + len, sizeof r->topics - len, "%s%s", len ? "|" : "",
                             json_string_value(t));
            if (w < 0 || (size_t)w >= sizeof r->topics - len)
                break;
            len += (size_t)w;
        }
    }
    rc = 0;
done:
    json_decref(o);
    return rc;
}

/* MovieLens-100k's u.data: user item rating timestamp, tab- or space-separated. */
static bool parse_movielens(const char *line, file_row *r)
{
    long long user, item, ts;
    float rating;
    char tail;
    if (sscanf(line, "%lld %lld %f %lld %c", &user, &item, &rating, &ts, &tail) != 4)
        return false;
    r->user = user;
    r->item = item;
    r->rating = rating;
    r->time = ts;
    r->kind = RECO_RATING;
    return true;
}

int reco_dataset_load(reco_dataset *d, const char *path, char *err, size_t err_size)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    int rc = 0;
    enum { UNKNOWN, CSV, JSONL, MOVIELENS } format = UNKNOWN;
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        if (line[strspn(line, " \t\r\n")] == 0)
            continue;
        file_row r = {0};
        char why[160] = "";
        if (format == UNKNOWN) {
            if (line[0] == '{')
                format = JSONL;
            else if (!strncmp(line, "user,item,", 10)) {
                format = CSV;
                continue; /* the header */
            } else if (parse_movielens(line, &r))
                format = MOVIELENS;
            else {
                snprintf(err, err_size,
                         "%s:1: neither a CSV header (user,item,type,time,...), a JSON line "
                         "nor 'user item rating timestamp'",
                         path);
                rc = -1;
                break;
            }
        }
        int ok = format == JSONL       ? parse_jsonl(line, &r, why, sizeof why)
                 : format == CSV       ? parse_csv(line, &r, why, sizeof why)
                 : parse_movielens(line, &r) ? 0
                                             : (snprintf(why, sizeof why,
                                                         "expected 'user item rating timestamp'"),
                                                -1);
        if (ok != 0) {
            snprintf(err, err_size, "%s:%ld: %s", path, lineno, why);
            rc = -1;
            break;
        }
        add_row(d, &r);
    }
    free(line);
    fclose(f);
    if (rc == 0 && d->n_events == 0) {
        snprintf(err, err_size, "%s: no interactions", path);
        rc = -1;
    }
    return rc;
}

typedef struct col_value {
    int32_t col;
    float value;
} col_value;

static int by_col(const void *a, const void *b)
{
    const col_value *x = a, *y = b;
    return (x->col > y->col) - (x->col < y->col);
}

void reco_csr_from_events(const reco_interaction *events, size_t n, int n_users, int n_items,
                          int64_t now, double half_life_s, reco_csr *out)
{
    int64_t *start = xcalloc((size_t)n_users + 1, sizeof *start);
    for (size_t e = 0; e < n; e++)
        start[events[e].user + 1]++;
    for (int u = 0; u < n_users; u++)
        start[u + 1] += start[u];
    col_value *cells = xmalloc((n ? n : 1) * sizeof *cells);
    int64_t *fill = xmalloc(((size_t)n_users + 1) * sizeof *fill);
    memcpy(fill, start, ((size_t)n_users + 1) * sizeof *fill);
    double decay = half_life_s > 0 ? log(2.0) / half_life_s : 0;
    for (size_t e = 0; e < n; e++) {
        const reco_interaction *ev = &events[e];
        double age = now > ev->time ? (double)(now - ev->time) : 0;
        cells[fill[ev->user]++] = (col_value){ev->item, ev->weight * (float)exp(-decay * age)};
    }
    free(fill);
    /* sort each row, sum duplicates, keep positive sums; compacted in place */
    int64_t kept = 0;
    out->row_start = xmalloc(((size_t)n_users + 1) * sizeof *out->row_start);
    for (int u = 0; u < n_users; u++) {
        int64_t a = start[u], b = start[u + 1];
        qsort(cells + a, (size_t)(b - a), sizeof *cells, by_col);
        out->row_start[u] = kept;
        for (int64_t k = a; k < b;) {
            col_value sum = cells[k++];
            while (k < b && cells[k].col == sum.col)
                sum.value += cells[k++].value;
            if (sum.value > 0)
                cells[kept++] = sum;
        }
    }
    out->row_start[n_users] = kept;
    free(start);
    out->n_rows = n_users;
    out->n_cols = n_items;
    out->col = xmalloc((kept ? (size_t)kept : 1) * sizeof *out->col);
    out->value = xmalloc((kept ? (size_t)kept : 1) * sizeof *out->value);
    for (int64_t k = 0; k < kept; k++) {
        out->col[k] = cells[k].col;
        out->value[k] = cells[k].value;
    }
    free(cells);
}

void reco_csr_transpose(const reco_csr *m, reco_csr *out)
{
    size_t nnz = reco_csr_nnz(m);
    out->n_rows = m->n_cols;
    out->n_cols = m->n_rows;
    out->row_start = xcalloc((size_t)m->n_cols + 1, sizeof *out->row_start);
    out->col = xmalloc((nnz ? nnz : 1) * sizeof *out->col);
    out->value = xmalloc((nnz ? nnz : 1) * sizeof *out->value);
    for (size_t k = 0; k < nnz; k++)
        out->row_start[m->col[k] + 1]++;
    for (int c = 0; c < m->n_cols; c++)
        out->row_start[c + 1] += out->row_start[c];
    int64_t *fill = xmalloc(((size_t)m->n_cols + 1) * sizeof *fill);
    memcpy(fill, out->row_start, ((size_t)m->n_cols + 1) * sizeof *fill);
    for (int r = 0; r < m->n_rows; r++)
        for (int64_t k = m->row_start[r]; k < m->row_start[r + 1]; k++) {
            int64_t at = fill[m->col[k]]++;
            out->col[at] = r; /* rows visited in order: columns come out sorted */
            out->value[at] = m->value[k];
        }
    free(fill);
}

void reco_csr_free(reco_csr *m)
{
    free(m->row_start);
    free(m->col);
    free(m->value);
    memset(m, 0, sizeof *m);
}

size_t reco_csr_nnz(const reco_csr *m)
{
    return m->row_start ? (size_t)m->row_start[m->n_rows] : 0;
}
