/* SPDX-License-Identifier: MIT
 *
 * The interest graph (domain/interests.h). A signal reads each row it touches, decays the stored
 * weight to now and writes back the sum: a read and a write per row, a handful of rows per
 * signal. Signals are queued by the after-commit consumer and written by one batching thread,
 * folded per row within each of its transactions.
 */
#include "domain/interests.h"

#include "core/log.h"
#include "core/util.h"
#include "domain/feed.h"
#include "domain/graph.h"
#include "domain/posts.h"
#include "domain/tags.h"
#include "jobs/batch_writer.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const double signal_weights[SIGNAL__COUNT] = {
    [SIGNAL_SKIP] = -0.5,
    [SIGNAL_VIEW] = 0.2,
    [SIGNAL_COMPLETED] = 1.0,
    [SIGNAL_REPLAY] = 1.5,
    [SIGNAL_LIKE] = 2.0,
    [SIGNAL_COMMENT] = 3.0,
    [SIGNAL_SAVE] = 3.0,
    [SIGNAL_SHARE] = 4.0,
    [SIGNAL_FOLLOW] = 5.0,
    [SIGNAL_NOT_INTERESTED] = -5.0,
    [SIGNAL_NOT_INTERESTED_CREATOR] = -10.0,
    [SIGNAL_NOT_INTERESTED_TOPIC] = -10.0,
};

double interests_signal_weight(interests_signal s)
{
    return s >= 0 && s < SIGNAL__COUNT ? signal_weights[s] : 0;
}

interests_signal interests_view_signal(int64_t watch_ms, bool completed, bool counted)
{
    if (completed)
        return counted ? SIGNAL_COMPLETED : SIGNAL_REPLAY;
    return watch_ms < INTERESTS_SKIP_MS ? SIGNAL_SKIP : SIGNAL_VIEW;
}

double interests_decay(double weight, int64_t age_ms, int64_t half_life_ms)
{
    if (age_ms <= 0 || half_life_ms <= 0)
        return weight;
    return weight * exp2(-(double)age_ms / (double)half_life_ms);
}

/* Words too common to say anything about a post, sorted for bsearch: this runs for every word
 * of every caption a page's candidates or a signal carry (a linear strcmp walk was 8% of an
 * anonymous For You page). */
static const char *const common_words[] = {
    "about", "also", "been", "from",  "have", "here", "into", "just",  "like", "made", "make",
    "more",  "much", "only", "over",  "some", "than", "that", "their", "them", "then", "there",
    "they",  "this", "very", "were",  "what", "when", "will", "with",  "your"};
#define COMMON_WORD_MAX 5 /* the longest of them */

static int word_cmp(const void *key, const void *item)
{
    return strcmp(key, *(const char *const *)item);
}

static bool common_word(const char *w, size_t len)
{
    return len <= COMMON_WORD_MAX &&
           bsearch(w, common_words, sizeof common_words / sizeof common_words[0],
                   sizeof common_words[0], word_cmp);
}

static bool has_topic(const interests_topic *t, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(t[i].name, name))
            return true;
    return false;
}

/* snprintf's "%s" without the format machinery: this runs for every candidate of every page */
static void set_name(interests_topic *t, const char *name, double share)
{
    str_copy(t->name, sizeof t->name, name);
    t->share = share;
}

int interests_caption_topics(const char *caption, interests_topic *out, int max)
{
    tags_parsed *tags = xmalloc(sizeof *tags);
    tags_parse(caption, tags);
    int n = 0;
    for (int i = 0; i < tags->n_hashtags && n < max; i++)
        set_name(&out[n++], tags->hashtags[i], 1.0);
    free(tags);
    int terms = 0;
    for (const char *p = caption; *p && n < max && terms < INTERESTS_TERMS_PER_POST;) {
        bool tagged = *p == '#' || *p == '@';
        while (*p && !isalnum((unsigned char)*p))
            tagged = *p == '#' || *p == '@', p++;
        char word[32];
        size_t len = 0;
        while (isalnum((unsigned char)*p)) {
            if (len < sizeof word - 1)
                word[len++] = (char)tolower((unsigned char)*p);
            p++;
        }
        word[len] = 0;
        if (tagged || len < 4 || len >= sizeof word - 1 || common_word(word, len) ||
            has_topic(out, n, word))
            continue;
        set_name(&out[n++], word, 0.5);
        terms++;
    }
    return n;
}

/* ---- applying signals -------------------------------------------------------------------------
 *
 * A signal touches about ten rows (a post's topics, its type, its creator, the engagement style
 * and the hour). The rows a transaction's signals touch are first gathered as contributions and
 * folded, so a row several signals move is read and written once (a user's burst of views and
 * likes shares its style, hour, type and often topics and creator). */

typedef struct contribution {
    int64_t user;
    const char *kind; /* one of the static kind names below */
    char item[STORE_INTEREST_ITEM_BYTES];
    double delta;
} contribution;

#define CONTRIBUTIONS_PER_SIGNAL (INTERESTS_TOPICS_PER_POST + 4) /* type, creator, style, hour */

typedef struct contributions {
    contribution *v;
    int n;
} contributions;

static void contribute(contributions *c, int64_t user, const char *kind, const char *item,
                       double delta)
{
    contribution *x = &c->v[c->n++];
    x->user = user;
    x->kind = kind;
    str_copy(x->item, sizeof x->item, item);
    x->delta = delta;
}

static void contribute_creator(contributions *c, int64_t user, int64_t creator, double delta)
{
    char item[24];
    snprintf(item, sizeof item, "%" PRId64, creator);
    contribute(c, user, "creator", item, delta);
}

/* The activity half of a signal: the engagement style it shows and the hour it happened. */
static void contribute_activity(contributions *c, int64_t user, const char *style, int64_t now)
{
    char hour[4];
    time_t t = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    hour[0] = (char)('0' + tm.tm_hour / 10);
    hour[1] = (char)('0' + tm.tm_hour % 10);
    hour[2] = 0;
    if (style)
        contribute(c, user, "style", style, 1.0);
    contribute(c, user, "hour", hour, 1.0);
}

/* A signal about a post: its topics, its type and its creator move by the signal's weight. */
static void contribute_post(contributions *c, int64_t user, const store_post *post, double delta,
                            const char *style, int64_t now)
{
    interests_topic topics[INTERESTS_TOPICS_PER_POST];
    int n = interests_caption_topics(post->caption, topics, INTERESTS_TOPICS_PER_POST);
    for (int i = 0; i < n; i++)
        contribute(c, user, "topic", topics[i].name, delta * topics[i].share);
    contribute(c, user, "type", post->type, delta);
    if (post->author_id != user)
        contribute_creator(c, user, post->author_id, delta);
    contribute_activity(c, user, style, now);
}

static int by_row(const void *a, const void *b)
{
    const contribution *x = a, *y = b;
    if (x->user != y->user)
        return x->user < y->user ? -1 : 1;
    int k = strcmp(x->kind, y->kind);
    return k ? k : strcmp(x->item, y->item);
}

/* Adds delta to one row, decaying what was there to now. */
static int add_weight(db *d, int64_t user, const char *kind, const char *item, double delta,
                      int64_t now, bool *created)
{
    store_interest row;
    int rc = store_interest_get(d, user, kind, item, &row);
    if (rc < 0 && rc != ERR_NOT_FOUND)
        return rc;
    double w = rc == 0 ? interests_decay(row.weight_milli / 1000.0, now - row.updated_at,
                                         INTERESTS_HALF_LIFE_MS)
                       : 0;
    if (created)
        *created = rc == ERR_NOT_FOUND;
    return store_interest_put(d, user, kind, item, llround((w + delta) * 1000.0), now);
}

/* ---- keeping the capped kinds bounded ------------------------------------------------------------
 *
 * Topics and creators are capped per user (INTERESTS_*_KEPT, trimmed back once a kind has grown
 * INTERESTS_TRIM_SLACK past it). Whether a kind has grown that far is a probe of the user's rows
 * that walks keep + slack index entries: run after every new row it cost more than the rest of
 * the signal (a third of the interests writer's instructions per like, callgrind, issue 12). The
 * writer thread therefore probes a (user, kind) only every INTERESTS_PROBE_EVERY new rows,
 * counted in a direct-mapped table; a key pushed out of its slot by another is probed then, so a
 * count is never forgotten. A kind thus holds at most keep + slack + INTERESTS_PROBE_EVERY - 1
 * rows per writer (a node's count resets when it restarts; the next probe trims all the same).
 * Without the writer (tools, unit tests) every new row is probed. */
#define INTERESTS_PROBE_SLOTS 4096 /* 1 << 12: the hash's top 12 bits pick the slot */

typedef struct probe_slot {
    int64_t user;
    const char *kind; /* NULL: empty */
    int created;      /* new rows since its last probe */
} probe_slot;

static probe_slot probe_slots[INTERESTS_PROBE_SLOTS]; /* the writer thread's alone */

static int trim(db *d, int64_t user, const char *kind)
{
    int keep = !strcmp(kind, "topic") ? INTERESTS_TOPICS_KEPT : INTERESTS_CREATORS_KEPT;
    return store_interests_trim(d, user, kind, keep, INTERESTS_TRIM_SLACK(keep));
}

/* created new rows of (user, kind): probes when it is due, and any key it pushes out. */
static int grew(db *d, int64_t user, const char *kind, int created, bool counted)
{
    if (!counted)
        return trim(d, user, kind);
    bool topic = !strcmp(kind, "topic");
    uint64_t h = ((uint64_t)user * 2 + topic) * 0x9E3779B97F4A7C15ull; /* Fibonacci hashing */
    probe_slot *s = &probe_slots[h >> (64 - 12)];
    if (s->kind && (s->user != user || strcmp(s->kind, kind) != 0)) {
        int rc = trim(d, s->user, s->kind); /* evicted: its count would be lost */
        if (rc < 0)
            return rc;
        s->kind = NULL;
    }
    if (!s->kind)
        *s = (probe_slot){.user = user, .kind = kind};
    s->created += created;
    if (s->created < INTERESTS_PROBE_EVERY)
        return 0;
    s->kind = NULL;
    return trim(d, user, kind);
}

/* Writes c's contributions folded per row, then probes the capped kinds that grew. */
static int write_contributions(db *d, contributions *c, int64_t now, bool counted)
{
    qsort(c->v, (size_t)c->n, sizeof *c->v, by_row);
    int created = 0; /* new rows of the current (user, kind) */
    for (int i = 0; i < c->n;) {
        contribution *x = &c->v[i];
        double delta = x->delta;
        int j = i + 1;
        while (j < c->n && by_row(x, &c->v[j]) == 0)
            delta += c->v[j++].delta;
        bool is_new;
        int rc = add_weight(d, x->user, x->kind, x->item, delta, now, &is_new);
        if (rc < 0)
            return rc;
        created += is_new;
        bool capped = !strcmp(x->kind, "topic") || !strcmp(x->kind, "creator");
        bool last_of_kind =
            j == c->n || c->v[j].user != x->user || strcmp(c->v[j].kind, x->kind) != 0;
        if (last_of_kind) {
            if (capped && created && (rc = grew(d, x->user, x->kind, created, counted)) < 0)
                return rc;
            created = 0;
        }
        i = j;
    }
    return 0;
}

/* One signal waiting for the interests writer: what interests_on_event saw, reduced to what
 * applying it needs. */
typedef struct queued_signal {
    enum { QUEUED_POST, QUEUED_CREATING, QUEUED_FOLLOW } kind;
    int64_t user;
    int64_t target; /* the post (QUEUED_POST), the followee (QUEUED_FOLLOW) */
    double weight;  /* QUEUED_POST, QUEUED_FOLLOW: what the signal adds */
    char style[12]; /* QUEUED_POST: the engagement style it shows */
} queued_signal;

/* Signals are written by one batching thread: a like, view or follow adds no second
 * transaction of its own (measured: it took the SQLite writer lock 1.5 times per like and cut
 * the peak like rate by a fifth; docs/BENCHMARKS.md). Up to INTERESTS_FLUSH_MS later, one
 * transaction applies every signal queued meanwhile. */
static batch_writer *writer;

static int contribute_queued(db *d, const queued_signal *q, contributions *c, int64_t now)
{
    if (q->kind == QUEUED_CREATING) {
        contribute_activity(c, q->user, "creator", now);
        return 0;
    }
    if (q->kind == QUEUED_FOLLOW) {
        contribute_creator(c, q->user, q->target, q->weight);
        return 0;
    }
    store_post *post = xmalloc(sizeof *post);
    int rc = store_post_get(d, q->target, post);
    if (rc == 0)
        contribute_post(c, q->user, post, q->weight, q->style, now);
    free(post);
    return rc == ERR_NOT_FOUND ? 0 : rc; /* a post purged meanwhile says nothing */
}

/* Applies q[0..n) inside the caller's transaction; counted: on the writer thread (see grew). */
static int apply_signals(db *d, const queued_signal *q, int n, bool counted)
{
    contributions c = {.v = xmalloc((size_t)n * CONTRIBUTIONS_PER_SIGNAL * sizeof *c.v)};
    int64_t now = now_ms();
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        rc = contribute_queued(d, &q[i], &c, now);
    if (rc == 0)
        rc = write_contributions(d, &c, now, counted);
    free(c.v);
    return rc;
}

static int flush_signals(db *d, const void *items, int n, void *arg)
{
    (void)arg;
    return apply_signals(d, items, n, true);
}

int interests_start(const char *database_url, char *err, size_t err_size)
{
    if (writer)
        return 0;
    writer = batch_writer_start(&(batch_writer_options){.name = "interests",
                                                        .database_url = database_url,
                                                        .item_size = sizeof(queued_signal),
                                                        .capacity = INTERESTS_QUEUE_CAPACITY,
                                                        .flush_ms = INTERESTS_FLUSH_MS,
                                                        .max_per_tx = INTERESTS_SIGNALS_PER_TX,
                                                        .flush = flush_signals},
                                err, err_size);
    return writer ? 0 : ERR_DB;
}

void interests_stop(void)
{
    batch_writer_stop(writer);
    writer = NULL;
}

uint64_t interests_signals_queued(void)
{
    return batch_writer_accepted(writer);
}

uint64_t interests_signals_written(void)
{
    return batch_writer_written(writer);
}

uint64_t interests_signals_dropped(void)
{
    return batch_writer_dropped(writer);
}

static queued_signal post_signal(int64_t user, int64_t post_id, interests_signal s,
                                 const char *style)
{
    queued_signal q = {.kind = QUEUED_POST,
                       .user = user,
                       .target = post_id,
                       .weight = interests_signal_weight(s)};
    str_copy(q.style, sizeof q.style, style);
    return q;
}

/* The signal ev carries for the interest graph, if any. */
static bool signal_of(const domain_event *ev, queued_signal *q)
{
    if (!ev->actor)
        return false;
    switch (ev->type) {
    case EV_POST_VIEWED:
        *q = post_signal(ev->actor, ev->post_id,
                         interests_view_signal(ev->value, ev->completed, ev->changed), "watcher");
        return true;
    case EV_REACTION_ADDED:
        *q = post_signal(ev->actor, ev->post_id, SIGNAL_LIKE, "liker");
        return true;
    case EV_COMMENT_CREATED:
        *q = post_signal(ev->actor, ev->post_id, SIGNAL_COMMENT, "commenter");
        return true;
    case EV_POST_SAVED:
        *q = post_signal(ev->actor, ev->post_id, SIGNAL_SAVE, "saver");
        return true;
    case EV_POST_CREATED:
        if (ev->source_kind && !strcmp(ev->source_kind, "share"))
            *q = post_signal(ev->actor, ev->source_id, SIGNAL_SHARE, "sharer");
        else
            *q = (queued_signal){.kind = QUEUED_CREATING, .user = ev->actor};
        return true;
    case EV_FOLLOWED:
    case EV_FOLLOW_ACCEPTED:
        *q = (queued_signal){.kind = QUEUED_FOLLOW,
                             .user = ev->type == EV_FOLLOWED ? ev->actor : ev->user_id,
                             .target = ev->type == EV_FOLLOWED ? ev->user_id : ev->actor,
                             .weight = interests_signal_weight(SIGNAL_FOLLOW)};
        return ev->changed;
    default:
        return false;
    }
}

int interests_on_event(db *d, const domain_event *ev, void *arg)
{
    (void)arg;
    queued_signal q;
    if (!signal_of(ev, &q))
        return 0;
    if (writer) {
        batch_writer_put(writer, &q); /* a full queue drops it, counted */
        return 0;
    }
    /* no writer in this process (tools, unit tests): one transaction of its own, now */
    int rc = db_begin(d);
    if (rc == 0)
        rc = apply_signals(d, &q, 1, false);
    if (rc < 0 || db_commit(d) < 0) {
        db_rollback(d);
        log_warn("interest signal not recorded", "\"event\":\"%s\",\"error\":%d",
                 events_name(ev->type), rc);
    }
    return 0; /* after commit: the action stands either way */
}

static int by_weight_desc(const void *a, const void *b)
{
    double x = ((const interests_weight *)a)->weight, y = ((const interests_weight *)b)->weight;
    return x < y ? 1 : x > y ? -1 : 0;
}

int interests_load(db *d, int64_t user_id, const char *kind, interests_weight *out, int max)
{
    store_interest *rows = xmalloc((size_t)(max ? max : 1) * sizeof *rows);
    int n = store_interests_list(d, user_id, kind, rows, max);
    int64_t now = now_ms();
    for (int i = 0; i < n; i++) {
        str_copy(out[i].item, sizeof out[i].item, rows[i].item);
        out[i].weight = interests_decay(rows[i].weight_milli / 1000.0, now - rows[i].updated_at,
                                        INTERESTS_HALF_LIFE_MS);
    }
    free(rows);
    if (n > 1)
        qsort(out, (size_t)n, sizeof *out, by_weight_desc);
    return n;
}

int interests_profile_get(db *d, int64_t user_id, interests_profile *out, domain_error *err)
{
    memset(out, 0, sizeof *out);
    int rc;
    if ((rc = out->n_topics = interests_load(d, user_id, "topic", out->topics,
                                             INTERESTS_SHOWN_TOPICS)) < 0 ||
        (rc = out->n_types = interests_load(d, user_id, "type", out->types, 8)) < 0 ||
        (rc = out->n_styles = interests_load(d, user_id, "style", out->styles, 8)) < 0 ||
        (rc = out->n_hours = interests_load(d, user_id, "hour", out->hours, 24)) < 0 ||
        (rc = out->n_creators = interests_load(d, user_id, "creator", out->creators,
                                               INTERESTS_SHOWN_CREATORS)) < 0)
        return domain_db_failed(err, d, "read interests");
    return 0;
}

int interests_seed(db *d, int64_t user_id, const char *const *topics, int n, domain_error *err)
{
    char norm[INTERESTS_SEED_MAX][TAGS_HASHTAG_BYTES];
    if (n > INTERESTS_SEED_MAX)
        return domain_fail(err, ERR_INVALID, "too_many_topics", "at most 20 topics");
    for (int i = 0; i < n; i++)
        if (!tags_normalize_hashtag(topics[i], norm[i], sizeof norm[i]))
            return domain_fail(err, ERR_INVALID, "invalid_topic",
                               "a topic is one hashtag-like word (letters, digits, _)");
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    int64_t now = now_ms();
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        rc = add_weight(d, user_id, "topic", norm[i], INTERESTS_SEED_WEIGHT, now, NULL);
    if (rc == 0)
        rc = store_interests_trim(d, user_id, "topic", INTERESTS_TOPICS_KEPT, 0);
    if (rc < 0 || db_commit(d) < 0) {
        db_rollback(d);
        return domain_db_failed(err, d, "seed interests");
    }
    return 0;
}

int interests_reset(db *d, int64_t user_id, domain_error *err)
{
    return store_interests_clear(d, user_id) < 0 ? domain_db_failed(err, d, "reset interests")
                                                 : 0;
}

/* Sets or clears one mark and moves the profile by weight (given back on undo), together. */
static int mark(db *d, int64_t user_id, const char *kind, int64_t target, bool on,
                const char *item_kind, const char *item, const store_post *post,
                interests_signal s, domain_error *err)
{
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    bool changed = false;
    double delta = interests_signal_weight(s) * (on ? 1 : -1);
    int64_t now = now_ms();
    int rc = store_not_interested_set(d, user_id, kind, target, on, now, &changed);
    contribution v[CONTRIBUTIONS_PER_SIGNAL];
    contributions c = {.v = v};
    if (post)
        contribute_post(&c, user_id, post, delta, NULL, now);
    else if (item)
        contribute(&c, user_id, item_kind, item, delta);
    if (rc == 0 && changed)
        rc = write_contributions(d, &c, now, false);
    if (rc < 0 || db_commit(d) < 0) {
        db_rollback(d);
        return domain_db_failed(err, d, "not interested");
    }
    return 0;
}

int interests_not_interested_post(db *d, int64_t user_id, int64_t post_id, bool on,
                                  domain_error *err)
{
    store_post *post = xmalloc(sizeof *post);
    store_user *author = xmalloc(sizeof *author);
    int rc = posts_get_visible(d, user_id, post_id, post, author, err);
    if (rc == 0)
        rc = mark(d, user_id, "post", post_id, on, NULL, NULL, post, SIGNAL_NOT_INTERESTED, err);
    else if (rc == ERR_NOT_FOUND && !on) /* an undo of a post gone since: just the mark */
        rc = mark(d, user_id, "post", post_id, false, NULL, NULL, NULL, SIGNAL__COUNT, err);
    free(post);
    free(author);
    return rc;
}

int interests_not_interested_creator(db *d, int64_t user_id, const char *handle, bool on,
                                     domain_error *err)
{
    store_user u;
    int rc = graph_find_user(d, user_id, handle, &u, err);
    if (rc < 0)
        return rc;
    if (u.id == user_id)
        return domain_fail(err, ERR_INVALID, "self", "you cannot mark yourself");
    char item[24];
    snprintf(item, sizeof item, "%" PRId64, u.id);
    return mark(d, user_id, "creator", u.id, on, "creator", item, NULL,
                SIGNAL_NOT_INTERESTED_CREATOR, err);
}

int interests_not_interested_hashtag(db *d, int64_t user_id, const char *tag, bool on,
                                     domain_error *err)
{
    store_hashtag h;
    int rc = feed_hashtag_get(d, tag, false, &h, err);
    if (rc == 0 && h.id == 0)
        rc = domain_fail(err, ERR_NOT_FOUND, "hashtag_not_found", "no such hashtag");
    if (rc < 0)
        return rc;
    return mark(d, user_id, "hashtag", h.id, on, "topic", h.tag, NULL,
                SIGNAL_NOT_INTERESTED_TOPIC, err);
}
