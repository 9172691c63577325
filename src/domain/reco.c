/* SPDX-License-Identifier: MIT
 *
 * The served recommender model (domain/reco.h): one immutable reco_model (src/reco/) behind a
 * reference count. A request takes a reference under a mutex held for a pointer copy, queries
 * without any lock, and drops it; a new model is swapped in under the same mutex and the old
 * one is freed by whoever drops the last reference. Training runs in the job queue, never on
 * the request path; every node's housekeeping round loads a newer saved model when one appears
 * in the object store, which is how several API nodes converge on the newest training. The
 * process that trained (a `streamhub worker`, with several nodes) also publishes reco:trained,
 * on which each node's loader thread loads it at once: an admin who queued a training sees it
 * served by whichever node answers as soon as it is done, as on one node.
 */
#include "domain/reco.h"

#include "core/bus.h"
#include "core/log.h"
#include "core/topics.h"
#include "core/util.h"
#include "reco/model.h"
#include "store/events.h"
#include "store/jobs.h"
#include "store/objects.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MODEL_KEY "reco/model.bin"
enum { TRAIN_WINDOW_DAYS = 30, TRAIN_MAX_EVENTS = 20000000, EVENT_PAGE = 5000 };

typedef struct served {
    reco_model *model;
    int refs; /* under lock */
    int64_t file_mtime_ns;
} served;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static served *current;
static objects *store;
static char *local_path; /* where the model file is read from and written to */
static int64_t retrain_interval_ms;
static int64_t last_request_ms; /* this node's last scheduled training */
static bool first_sweep_done;   /* reco_sweep has looked for a missing model since start */
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER; /* one fetch into local_path */

/* The loader: a thread that loads the model another process announced on reco:trained (the
 * bus's reader thread, which hears it, must not block on a fetch, nor must a request). */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool announced, stopping, started;
    pthread_t thread;
    bus_sub *sub;
} loader = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void load_if_newer(void);

static void on_trained(void *ctx, const char *topic, const char *msg, size_t len)
{
    pthread_mutex_lock(&loader.lock);
    loader.announced = true;
    pthread_cond_signal(&loader.cond);
    pthread_mutex_unlock(&loader.lock);
}

static void *loader_main(void *arg)
{
    pthread_mutex_lock(&loader.lock);
    while (!loader.stopping) {
        if (!loader.announced) {
            pthread_cond_wait(&loader.cond, &loader.lock);
            continue;
        }
        loader.announced = false;
        pthread_mutex_unlock(&loader.lock);
        load_if_newer();
        pthread_mutex_lock(&loader.lock);
    }
    pthread_mutex_unlock(&loader.lock);
    return NULL;
}

static served *acquire(void)
{
    pthread_mutex_lock(&lock);
    served *s = current;
    if (s)
        s->refs++;
    pthread_mutex_unlock(&lock);
    return s;
}

static void release(served *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&lock);
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&lock);
    if (last) {
        reco_model_free(s->model);
        free(s);
    }
}

static void swap_in(reco_model *m, int64_t mtime_ns)
{
    served *s = xcalloc(1, sizeof *s);
    s->model = m;
    s->refs = 1; /* current's own reference */
    s->file_mtime_ns = mtime_ns;
    pthread_mutex_lock(&lock);
    served *old = current;
    current = s;
    pthread_mutex_unlock(&lock);
    release(old);
    log_info("reco model loaded", "\"items\":%d,\"users\":%d,\"trained_at\":%lld", m->n_items,
             m->n_users, (long long)m->trained_at);
}

bool reco_model_ready(void)
{
    pthread_mutex_lock(&lock);
    bool ready = current != NULL;
    pthread_mutex_unlock(&lock);
    return ready;
}

void reco_model_info(int64_t *trained_at, int *items, int *users, size_t *bytes)
{
    served *s = acquire();
    *trained_at = s ? s->model->trained_at : 0;
    *items = s ? s->model->n_items : 0;
    *users = s ? s->model->n_users : 0;
    *bytes = s ? reco_model_bytes(s->model) : 0;
    release(s);
}

int reco_similar_posts(int64_t post_id, reco_hit *out, int max)
{
    served *s = acquire();
    if (!s || max <= 0) {
        release(s);
        return 0;
    }
    reco_top *top = xmalloc((size_t)max * sizeof *top);
    int n = reco_model_similar(s->model, post_id, top, max);
    for (int i = 0; i < n; i++)
        out[i] = (reco_hit){.post_id = s->model->item_ids[top[i].item], .score = top[i].score,
                            .via_id = post_id};
    free(top);
    release(s);
    return n;
}

/* The history post that best explains a candidate: the largest weight x (y_h . y_c). */
static int64_t explained_by(const reco_model *m, int32_t candidate, const reco_signal *history,
                            int n_history)
{
    int k = m->mf.k;
    const float *y = m->mf.item_factors + (size_t)candidate * k;
    int64_t best = 0;
    float best_score = 0;
    for (int h = 0; h < n_history; h++) {
        int32_t i = reco_idmap_find(&m->item_index, history[h].post_id);
        if (i < 0 || history[h].weight <= 0)
            continue;
        const float *yh = m->mf.item_factors + (size_t)i * k;
        float dot = 0;
        for (int d = 0; d < k; d++)
            dot += y[d] * yh[d];
        if (history[h].weight * dot > best_score) {
            best_score = history[h].weight * dot;
            best = history[h].post_id;
        }
    }
    return best;
}

int reco_user_candidates(int64_t user_id, const reco_signal *history, int n_history,
                         reco_hit *out, int max)
{
    served *s = acquire();
    if (!s || max <= 0) {
        release(s);
        return 0;
    }
    const reco_model *m = s->model;
    int n_history_used = n_history > 0 ? n_history : 0;
    int64_t *items = xmalloc(((size_t)n_history_used + 1) * sizeof *items);
    float *weights = xmalloc(((size_t)n_history_used + 1) * sizeof *weights);
    for (int h = 0; h < n_history_used; h++) {
        items[h] = history[h].post_id;
        weights[h] = history[h].weight;
    }
    float *x = xmalloc((size_t)m->mf.k * sizeof *x);
    int n = 0;
    if (reco_model_user_vector(m, user_id, items, weights, n_history_used, x)) {
        int want = max + n_history_used; /* the history's own posts are dropped below */
        reco_top *top = xmalloc((size_t)want * sizeof *top);
        int got = reco_model_nearest(m, x, top, want);
        for (int t = 0; t < got && n < max; t++) {
            int64_t post = m->item_ids[top[t].item];
            bool seen = false;
            for (int h = 0; h < n_history_used && !seen; h++)
                seen = items[h] == post;
            if (!seen)
                out[n++] = (reco_hit){.post_id = post, .score = top[t].score,
                                      .via_id = explained_by(m, top[t].item, history,
                                                             n_history_used)};
        }
        free(top);
    }
    free(x);
    free(weights);
    free(items);
    release(s);
    return n;
}

/* ---- training and loading ---- */

/* Loads the stored model when it differs from the one served (by modification time). */
static void load_if_newer(void)
{
    if (!store)
        return;
    pthread_mutex_lock(&load_lock); /* housekeeping and the loader may meet here */
    object_info info;
    if (objects_stat(store, MODEL_KEY, &info) != 0) {
        pthread_mutex_unlock(&load_lock);
        return;
    }
    served *s = acquire();
    bool same = s && s->file_mtime_ns == info.mtime_ns;
    release(s);
    reco_model *m = NULL;
    char err[256];
    if (!same && objects_fetch(store, MODEL_KEY, local_path) == 0 &&
        !(m = reco_model_load(local_path, err, sizeof err)))
        log_warn("reco model not loaded", "\"error\":\"%s\"", err);
    if (m)
        swap_in(m, info.mtime_ns);
    pthread_mutex_unlock(&load_lock);
}

int reco_configure(const char *data_dir, const char *object_store, int64_t retrain_interval_s,
                   char *err, size_t err_size)
{
    char *dir = xasprintf("%s/reco", data_dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, err_size, "cannot create %s: %s", dir, strerror(errno));
        free(dir);
        return ERR_IO;
    }
    free(dir);
    int rc = objects_open(object_store ? object_store : "", data_dir, &store, err, err_size);
    if (rc < 0)
        return rc;
    local_path = xasprintf("%s/%s", data_dir, MODEL_KEY);
    retrain_interval_ms = retrain_interval_s * 1000;
    /* the next scheduled training comes one interval after start: a fleet restarting at once
     * does not queue one training per node (reco_sweep trains at once only while there is no
     * model at all) */
    last_request_ms = now_ms();
    first_sweep_done = false;
    load_if_newer();
    if (!loader.started) {
        loader.stopping = loader.announced = false;
        if (pthread_create(&loader.thread, NULL, loader_main, NULL) == 0) {
            loader.started = true;
            loader.sub = bus_subscribe(TOPIC_RECO_TRAINED, on_trained, NULL);
        }
    }
    return 0;
}

void reco_shutdown(void)
{
    if (loader.started) {
        bus_unsubscribe(loader.sub); /* before bus_close (app_close's order) */
        loader.sub = NULL;
        pthread_mutex_lock(&loader.lock);
        loader.stopping = true;
        pthread_cond_signal(&loader.cond);
        pthread_mutex_unlock(&loader.lock);
        pthread_join(loader.thread, NULL);
        loader.started = false;
    }
    pthread_mutex_lock(&lock);
    served *s = current;
    current = NULL;
    pthread_mutex_unlock(&lock);
    release(s);
    if (store)
        objects_close(store);
    store = NULL;
    free(local_path);
    local_path = NULL;
}

/* One event-log row as an interaction weight; false for rows that are not about posts. */
static bool event_weight(const store_event *e, float *weight)
{
    if (strcmp(e->object_type, "post") != 0)
        return false;
    int sign = 1;
    const char *type = e->type;
    if (!strcmp(type, "unlike"))
        type = "like", sign = -1;
    else if (!strcmp(type, "unsave"))
        type = "save", sign = -1;
    int kind = reco_kind_parse(type);
    if (kind < 0)
        return false;
    int64_t watch_ms = 0;
    bool completed = false;
    if (kind == RECO_VIEW) {
        json_t *props = json_loads(e->props, 0, NULL);
        json_t *w = json_object_get(props, "watch_ms");
        watch_ms = json_is_integer(w) ? json_integer_value(w) : 0;
        completed = json_is_true(json_object_get(props, "completed"));
        json_decref(props);
    }
    *weight = (float)sign * reco_signal_weight(kind, watch_ms, completed, 0);
    return true;
}

job_result reco_train_job(job_ctx *ctx, const store_job *job, char *err, size_t err_size)
{
    (void)job;
    if (!store) {
        snprintf(err, err_size, "recommender not configured");
        return JOB_FAIL;
    }
    db *d = job_db(ctx);
    int64_t now = now_ms(), since = now - (int64_t)TRAIN_WINDOW_DAYS * 86400 * 1000;
    reco_dataset data;
    reco_dataset_init(&data);
    store_event *page = xmalloc(EVENT_PAGE * sizeof *page);
    int64_t before = INT64_MAX;
    for (;;) {
        int n = store_events_on_posts(d, "impression", before, page, EVENT_PAGE);
        if (n < 0) {
            free(page);
            reco_dataset_free(&data);
            snprintf(err, err_size, "reading the event log failed");
            return JOB_RETRY;
        }
        bool done = n < EVENT_PAGE;
        for (int i = 0; i < n; i++) {
            if (page[i].created_at < since) {
                done = true;
                break;
            }
            float w;
            if (!event_weight(&page[i], &w))
                continue;
            reco_dataset_add(&data, reco_dataset_user(&data, page[i].actor_id),
                             reco_dataset_item(&data, page[i].object_id), w,
                             page[i].created_at / 1000);
        }
        if (n > 0)
            before = page[n - 1].id;
        if (done || data.n_events >= TRAIN_MAX_EVENTS)
            break;
        if ((data.n_events / EVENT_PAGE) % 200 == 0 && !job_progress(ctx, 10)) {
            free(page);
            reco_dataset_free(&data);
            snprintf(err, err_size, "stopped");
            return JOB_RETRY;
        }
    }
    free(page);
    if (data.n_events == 0) { /* nothing to learn from yet: stay on the rule-based sources */
        reco_dataset_free(&data);
        return JOB_OK;
    }
    if (!job_progress(ctx, 30)) {
        reco_dataset_free(&data);
        snprintf(err, err_size, "stopped");
        return JOB_RETRY;
    }
    reco_train_options o;
    reco_train_defaults(&o);
    reco_model *m = reco_model_train(&data, &o, now);
    size_t n_events = data.n_events;
    reco_dataset_free(&data);
    job_progress(ctx, 90);
    char *tmp = xasprintf("%s.new", local_path);
    if (reco_model_save(m, tmp) != 0 || objects_put_file(store, MODEL_KEY, tmp) != 0) {
        snprintf(err, err_size, "saving the model failed: %s", strerror(errno));
        unlink(tmp);
        free(tmp);
        reco_model_free(m);
        return JOB_RETRY;
    }
    free(tmp);
    log_info("reco model trained", "\"events\":%zu,\"items\":%d,\"users\":%d,\"ms\":%lld",
             n_events, m->n_items, m->n_users, (long long)(now_ms() - now));
    object_info info = {0};
    objects_stat(store, MODEL_KEY, &info);
    swap_in(m, info.mtime_ns);
    bus_publish(TOPIC_RECO_TRAINED, "1", 1); /* the other nodes load it at their next read */
    return JOB_OK;
}

int reco_request_training(db *d, int64_t *job_id)
{
    job_options o = {.max_attempts = 3};
    return job_enqueue(d, RECO_TRAIN_JOB, "{}", &o, job_id);
}

/* A server started on an event log but without any model (none saved by any node: a first
 * start after an upgrade, a restored database) would serve only the rule-based sources for a
 * whole interval: its first sweep queues a training at once, unless one is already queued or
 * running (another node starting beside it). Two nodes checking at the same moment may both
 * queue one; the second training only replaces the model with an equal one. */
static int train_if_no_model(db *d)
{
    first_sweep_done = true;
    served *s = acquire();
    bool have = s != NULL;
    release(s);
    if (have)
        return 0;
    int active = store_job_active(d, RECO_TRAIN_JOB);
    if (active != 0)
        return active < 0 ? -1 : 0;
    int64_t id;
    if (reco_request_training(d, &id) < 0)
        return -1;
    log_info("reco first training queued", "\"job_id\":%lld", (long long)id);
    return 0;
}

int reco_sweep(db *d, int64_t now)
{
    if (!store)
        return 0;
    load_if_newer();
    if (retrain_interval_ms <= 0)
        return 0; /* on demand only */
    if (!first_sweep_done)
        return train_if_no_model(d);
    if (now - last_request_ms < retrain_interval_ms)
        return 0;
    served *s = acquire();
    int64_t trained_at = s ? s->model->trained_at : 0;
    release(s);
    if (now - trained_at < retrain_interval_ms)
        return 0;
    last_request_ms = now;
    int64_t id;
    return reco_request_training(d, &id) < 0 ? -1 : 0;
}
