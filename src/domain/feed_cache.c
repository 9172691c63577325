/* SPDX-License-Identifier: MIT
 *
 * The feed candidate caches: see feed_cache.h. The home table is set-associative (four entries a
 * set, the least recently used one replaced), under one mutex held only to copy an entry in or
 * out; queries run outside it. Two atomics carry the bus signals: the post generation, and a
 * forget epoch that keeps a timeline built while its viewer's graph changed from being stored.
 * With the Redis bus those signals arrive on the bus's reader thread some time after the write
 * that sent them was answered, possibly by another node: each read first waits for what was
 * published before it (bus_sync, one Redis round trip), so a client that follows someone and
 * then reads its feed through any node sees the change, as on one node.
 */
#include "domain/feed_cache.h"

#include "core/bus.h"
#include "core/topics.h"
#include "core/util.h"
#include "store/graph.h"
#include "store/interests.h"
#include "store/posts.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAYS 4
/* Posts are numbered when created but become visible when their transaction commits, so a post
 * can appear with an id a little below one already seen: merges re-read this much id space
 * (5 s; ids carry milliseconds above 22 bits). */
#define ID_SLACK (5000LL << 22)

typedef struct home_entry {
    int64_t viewer; /* 0 = empty */
    int64_t built_ms, used_ms;
    uint64_t gen;
    int n;
    bool complete; /* ids holds every candidate there is */
    bool excludes; /* the viewer blocks, mutes or is blocked by someone (store_has_exclusions) */
    int64_t ids[FEED_CACHE_HOME_IDS];
} home_entry;

static pthread_mutex_t home_lock = PTHREAD_MUTEX_INITIALIZER;
static home_entry *home_table;
static size_t home_sets;
static int64_t home_ttl_ms;
static atomic_uint_fast64_t post_gen, forget_epoch;
static atomic_uint_fast64_t n_hits, n_misses, n_merges, n_refreshes;

/* A shared list (trending, exploration): a snapshot replaced whole on refresh and freed by its
 * last reader, so readers use its rows without copying them. */
typedef struct list_snapshot {
    feed_shared_list list;
    atomic_int refs;
    int64_t built_ms;
    uint64_t gen; /* post_gen before the ids were read */
    int64_t *keys, *ids;
    store_feed_row *rows;
    interests_topic (*topics)[INTERESTS_TOPICS_PER_POST];
    int *n_topics;
} list_snapshot;

typedef struct shared_slot {
    pthread_mutex_t lock;
    int64_t refresh_ms; /* 0 = off */
    bool refreshing;
    list_snapshot *current;
    int cap;
    bool keyed;         /* the ids come with ranking keys (trending's hot_at) */
    bool stale_on_post; /* newest first: a new post anywhere makes it stale */
    /* the list's ids (and keys, when it has any), at most max; < 0 on error */
    int (*read_ids)(db *d, int64_t *keys, int64_t *ids, int max);
    atomic_uint_fast64_t *refreshes;
} shared_slot;

static atomic_uint_fast64_t n_explore_refreshes;

static int trending_read_ids(db *d, int64_t *keys, int64_t *ids, int max)
{
    return store_post_trending_ids(d, 0, 0, keys, ids, max);
}

static int explore_read_ids(db *d, int64_t *keys, int64_t *ids, int max)
{
    (void)keys;
    return store_posts_fresh_unseen(d, FEED_CACHE_EXPLORE_MAX_VIEWS, ids, max);
}

static shared_slot trending = {.lock = PTHREAD_MUTEX_INITIALIZER,
                               .cap = FEED_CACHE_TRENDING_IDS,
                               .keyed = true,
                               .read_ids = trending_read_ids,
                               .refreshes = &n_refreshes};
static shared_slot exploration = {.lock = PTHREAD_MUTEX_INITIALIZER,
                                  .cap = FEED_CACHE_EXPLORE_IDS,
                                  .stale_on_post = true,
                                  .read_ids = explore_read_ids,
                                  .refreshes = &n_explore_refreshes};

static void snapshot_release(list_snapshot *t);
static void slot_configure(shared_slot *slot, int64_t refresh_ms);
static void on_changed(void *ctx, const char *topic, const char *msg, size_t len);

static void on_posted(void *ctx, const char *topic, const char *msg, size_t len)
{
    atomic_fetch_add(&post_gen, 1);
}

static home_entry *set_of(int64_t viewer)
{
    return &home_table[((uint64_t)viewer * 0x9E3779B97F4A7C15ull >> 20) % home_sets * WAYS];
}

static home_entry *find_locked(int64_t viewer)
{
    home_entry *set = set_of(viewer);
    for (int i = 0; i < WAYS; i++)
        if (set[i].viewer == viewer)
            return &set[i];
    return NULL;
}

static void on_forget(void *ctx, const char *topic, const char *msg, size_t len)
{
    char text[24];
    if (len >= sizeof text)
        return;
    memcpy(text, msg, len);
    text[len] = '\0';
    int64_t user = strtoll(text, NULL, 10);
    atomic_fetch_add(&forget_epoch, 1);
    if (!home_table || !user)
        return;
    pthread_mutex_lock(&home_lock);
    home_entry *e = find_locked(user);
    if (e)
        e->viewer = 0;
    pthread_mutex_unlock(&home_lock);
}

void feed_cache_configure(int home_entries, int64_t ttl_ms, int64_t trending_refresh_ms)
{
    static bool subscribed;
    if (!subscribed) {
        bus_subscribe(TOPIC_FEED_POSTED, on_posted, NULL);
        bus_subscribe(TOPIC_FEED_FORGET, on_forget, NULL);
        bus_subscribe(TOPIC_FEED_CHANGED, on_changed, NULL);
        subscribed = true;
    }
    pthread_mutex_lock(&home_lock);
    free(home_table);
    home_table = NULL;
    home_sets = home_entries > 0 ? ((size_t)home_entries + WAYS - 1) / WAYS : 0;
    if (home_sets)
        home_table = xcalloc(home_sets * WAYS, sizeof *home_table);
    home_ttl_ms = ttl_ms;
    pthread_mutex_unlock(&home_lock);
    slot_configure(&trending, trending_refresh_ms);
    slot_configure(&exploration, trending_refresh_ms);
}

void feed_cache_posted(void)
{
    bus_publish(TOPIC_FEED_POSTED, "1", 1);
}

void feed_cache_forget(int64_t user_id)
{
    char text[24];
    int len = snprintf(text, sizeof text, "%lld", (long long)user_id);
    bus_publish(TOPIC_FEED_FORGET, text, (size_t)len);
}

/* Stores e (a copy) unless the viewer's graph changed while it was being read. */
static void store_entry(const home_entry *e, uint64_t epoch_before)
{
    pthread_mutex_lock(&home_lock);
    if (home_table && atomic_load(&forget_epoch) == epoch_before) {
        home_entry *slot = find_locked(e->viewer);
        if (!slot) {
            home_entry *set = set_of(e->viewer);
            slot = &set[0];
            for (int i = 1; i < WAYS; i++)
                if (!set[i].viewer || set[i].used_ms < slot->used_ms)
                    slot = &set[i];
        }
        *slot = *e;
    }
    pthread_mutex_unlock(&home_lock);
}

/* Merges the newer ids (newest first) into e's, newest first, without repeats, capped. */
static void merge_newer(home_entry *e, const int64_t *newer, int m)
{
    int64_t merged[FEED_CACHE_HOME_IDS];
    int i = 0, j = 0, n = 0;
    while (n < FEED_CACHE_HOME_IDS && (i < m || j < e->n)) {
        int64_t next;
        if (j >= e->n || (i < m && newer[i] >= e->ids[j]))
            next = newer[i++];
        else
            next = e->ids[j++];
        if (n && merged[n - 1] == next)
            continue;
        merged[n++] = next;
    }
    if (i < m || j < e->n || m == FEED_CACHE_HOME_IDS)
        e->complete = false;
    memcpy(e->ids, merged, (size_t)n * sizeof *merged);
    e->n = n;
}

int feed_cache_home_ids(db *d, int64_t viewer, bool many_followees, int64_t before_id, int64_t *out,
                        int max, bool *excludes)
{
    if (!home_sets) {
        *excludes = store_has_exclusions(d, viewer);
        return store_post_home_ids(d, viewer, many_followees, before_id, 0, out, max);
    }
    /* the signals of writes answered before this read, on any node, are applied first */
    bus_sync();
    int64_t now = now_ms();
    uint64_t gen = atomic_load(&post_gen), epoch = atomic_load(&forget_epoch);
    home_entry *e = xmalloc(sizeof *e);
    bool found = false;
    pthread_mutex_lock(&home_lock);
    home_entry *slot = home_table ? find_locked(viewer) : NULL;
    if (slot && now - slot->built_ms < home_ttl_ms) {
        slot->used_ms = now;
        *e = *slot;
        found = true;
    }
    pthread_mutex_unlock(&home_lock);
    int rc = 0;
    if (!found) {
        atomic_fetch_add(&n_misses, 1);
        e->excludes = store_has_exclusions(d, viewer);
        rc = store_post_home_ids(d, viewer, many_followees, 0, 0, e->ids, FEED_CACHE_HOME_IDS);
        if (rc >= 0) {
            e->viewer = viewer;
            e->built_ms = e->used_ms = now;
            e->gen = gen;
            e->n = rc;
            e->complete = rc < FEED_CACHE_HOME_IDS;
            store_entry(e, epoch);
        }
    } else if (e->gen != gen) {
        atomic_fetch_add(&n_merges, 1);
        int64_t newer[FEED_CACHE_HOME_IDS];
        int64_t after = e->n ? e->ids[0] - ID_SLACK : 0;
        rc = store_post_home_ids(d, viewer, many_followees, 0, after > 0 ? after : 0, newer,
                                 FEED_CACHE_HOME_IDS);
        if (rc >= 0) {
            merge_newer(e, newer, rc);
            e->gen = gen;
            store_entry(e, epoch);
        }
    } else {
        atomic_fetch_add(&n_hits, 1);
    }
    if (rc < 0) {
        free(e);
        return rc;
    }
    *excludes = e->excludes;
    int start = 0;
    if (before_id > 0)
        while (start < e->n && e->ids[start] >= before_id)
            start++;
    int avail = e->n - start;
    if (avail >= max || e->complete) {
        int n = avail < max ? avail : max;
        memcpy(out, e->ids + start, (size_t)n * sizeof *out);
        free(e);
        return n;
    }
    free(e);
    /* below what the cache holds */
    return store_post_home_ids(d, viewer, many_followees, before_id, 0, out, max);
}

static void snapshot_release(list_snapshot *t)
{
    if (t && atomic_fetch_sub(&t->refs, 1) == 1) {
        free(t->keys);
        free(t->ids);
        free(t->rows);
        free(t->topics);
        free(t->n_topics);
        free(t);
    }
}

static void slot_drop(shared_slot *slot)
{
    pthread_mutex_lock(&slot->lock);
    list_snapshot *old = slot->current;
    slot->current = NULL;
    pthread_mutex_unlock(&slot->lock);
    snapshot_release(old);
}

static void slot_configure(shared_slot *slot, int64_t refresh_ms)
{
    pthread_mutex_lock(&slot->lock);
    slot->refresh_ms = refresh_ms;
    pthread_mutex_unlock(&slot->lock);
    slot_drop(slot);
}

/* Reads a list and its rows (as an anonymous reader sees them: no relation). */
static list_snapshot *snapshot_read(db *d, const shared_slot *slot, int64_t now)
{
    size_t cap = (size_t)slot->cap;
    list_snapshot *t = xcalloc(1, sizeof *t);
    t->gen = atomic_load(&post_gen); /* before the read: a post created meanwhile re-reads it */
    t->keys = xcalloc(cap, sizeof *t->keys);
    t->ids = xmalloc(cap * sizeof *t->ids);
    t->rows = xmalloc(cap * sizeof *t->rows);
    t->topics = xmalloc(cap * sizeof *t->topics);
    t->n_topics = xcalloc(cap, sizeof *t->n_topics);
    atomic_init(&t->refs, 1);
    store_feed_row *got = xmalloc(STORE_POSTS_BY_IDS_MAX * sizeof *got);
    int n = slot->read_ids(d, t->keys, t->ids, slot->cap);
    for (int off = 0; n > 0 && off < n; off += STORE_POSTS_BY_IDS_MAX) {
        int chunk = n - off < STORE_POSTS_BY_IDS_MAX ? n - off : STORE_POSTS_BY_IDS_MAX;
        int m = store_posts_by_ids(d, 0, false, t->ids + off, chunk, got);
        if (m < 0) {
            n = m;
            break;
        }
        /* rows come in any order: place each by its id; one gone since the ids were read
         * leaves a hole (post id 0) */
        for (int k = 0; k < chunk; k++) {
            store_feed_row *slot_row = &t->rows[off + k];
            slot_row->post.id = 0;
            for (int r = 0; r < m; r++)
                if (got[r].post.id == t->ids[off + k]) {
                    *slot_row = got[r];
                    t->n_topics[off + k] = interests_caption_topics(
                        slot_row->post.caption, t->topics[off + k], INTERESTS_TOPICS_PER_POST);
                    break;
                }
        }
    }
    free(got);
    if (n < 0) {
        snapshot_release(t);
        return NULL;
    }
    t->list = (feed_shared_list){.n = n,
                                 .keys = slot->keyed ? t->keys : NULL,
                                 .ids = t->ids,
                                 .rows = t->rows,
                                 .topics = (const interests_topic(*)[INTERESTS_TOPICS_PER_POST])
                                               t->topics,
                                 .n_topics = t->n_topics};
    t->built_ms = now;
    return t;
}

/* synced: bus_sync already ran for this request */
static const feed_shared_list *slot_acquire(db *d, shared_slot *slot, bool synced)
{
    pthread_mutex_lock(&slot->lock);
    bool enabled = slot->refresh_ms > 0;
    pthread_mutex_unlock(&slot->lock);
    if (enabled && !synced)
        bus_sync(); /* a delete, privacy change or post answered before this read is heard */
    int64_t now = now_ms();
    uint64_t gen = atomic_load(&post_gen);
    pthread_mutex_lock(&slot->lock);
    list_snapshot *cur = slot->current;
    bool on = slot->refresh_ms > 0;
    bool stale = !cur || now - cur->built_ms >= slot->refresh_ms ||
                 (slot->stale_on_post && cur->gen != gen);
    bool mine = on && stale && !slot->refreshing;
    if (mine)
        slot->refreshing = true;
    if (on && cur && !mine)
        atomic_fetch_add(&cur->refs, 1); /* the current one, even if a refresh is under way */
    pthread_mutex_unlock(&slot->lock);
    if (!on || (!cur && !mine))
        return NULL;
    if (!mine)
        return &cur->list;
    /* this request re-reads the list while the others keep answering from the old one */
    list_snapshot *fresh = snapshot_read(d, slot, now);
    pthread_mutex_lock(&slot->lock);
    slot->refreshing = false;
    if (fresh) {
        atomic_fetch_add(slot->refreshes, 1);
        list_snapshot *old = slot->current;
        slot->current = fresh;
        atomic_fetch_add(&fresh->refs, 1); /* the caller's */
        pthread_mutex_unlock(&slot->lock);
        snapshot_release(old);
        return &fresh->list;
    }
    pthread_mutex_unlock(&slot->lock);
    return NULL;
}

const feed_shared_list *feed_cache_trending(db *d)
{
    return slot_acquire(d, &trending, false);
}

void feed_cache_for_you(db *d, const feed_shared_list **trending_list,
                        const feed_shared_list **exploration_list)
{
    /* one bus round trip for both */
    *trending_list = slot_acquire(d, &trending, false);
    *exploration_list = slot_acquire(d, &exploration, *trending_list != NULL);
}

void feed_cache_list_release(const feed_shared_list *list)
{
    if (list)
        snapshot_release((list_snapshot *)(void *)((char *)list - offsetof(list_snapshot, list)));
}

static void on_changed(void *ctx, const char *topic, const char *msg, size_t len)
{
    /* a post left the lists' audience or changed: the next reader re-reads them */
    slot_drop(&trending);
    slot_drop(&exploration);
}

void feed_cache_changed(void)
{
    bus_publish(TOPIC_FEED_CHANGED, "1", 1);
}

int feed_cache_on_event(db *d, const domain_event *ev, void *arg)
{
    (void)d;
    (void)arg;
    switch (ev->type) {
    case EV_POST_CREATED:
        feed_cache_posted();
        break;
    case EV_POST_EDITED:
    case EV_POST_DELETED:
    case EV_PRIVACY_CHANGED:
        feed_cache_changed();
        break;
    case EV_FOLLOWED:
    case EV_FOLLOW_REQUESTED:
    case EV_UNFOLLOWED:
    case EV_MUTED:
    case EV_UNMUTED:
        feed_cache_forget(ev->actor);
        break;
    case EV_FOLLOW_ACCEPTED:
        feed_cache_forget(ev->user_id); /* the requester now follows */
        break;
    case EV_BLOCKED:
    case EV_UNBLOCKED:
        /* a block ends follows both ways: both home timelines change */
        feed_cache_forget(ev->actor);
        feed_cache_forget(ev->user_id);
        break;
    default:
        break;
    }
    return 0;
}

/* Whether (key, id) comes after the cursor in trending order (descending by both). */
static bool after_cursor(int64_t key, int64_t id, int64_t before_key, int64_t before_id)
{
    return key < before_key || (key == before_key && id < before_id);
}

int feed_trending_list_start(const feed_shared_list *l, int64_t before_key, int64_t before_id)
{
    int start = 0;
    if (before_id > 0)
        while (start < l->n && !after_cursor(l->keys[start], l->ids[start], before_key, before_id))
            start++;
    return start;
}

int feed_cache_trending_ids(db *d, int64_t before_key, int64_t before_id, int64_t *keys,
                            int64_t *ids, int max)
{
    const feed_shared_list *l = feed_cache_trending(d);
    int n = -1;
    if (l) {
        int start = feed_trending_list_start(l, before_key, before_id);
        int avail = l->n - start;
        if (avail >= max || l->n < FEED_CACHE_TRENDING_IDS) {
            n = avail < max ? avail : max;
            memcpy(keys, l->keys + start, (size_t)n * sizeof *keys);
            memcpy(ids, l->ids + start, (size_t)n * sizeof *ids);
        }
        feed_cache_list_release(l);
    }
    /* off, not readable, or below what the list holds */
    return n >= 0 ? n : store_post_trending_ids(d, before_key, before_id, keys, ids, max);
}

void feed_cache_get_stats(feed_cache_stats *out)
{
    out->home_hits = atomic_load(&n_hits);
    out->home_misses = atomic_load(&n_misses);
    out->home_merges = atomic_load(&n_merges);
    out->trending_refreshes = atomic_load(&n_refreshes);
    out->explore_refreshes = atomic_load(&n_explore_refreshes);
}
