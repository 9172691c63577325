/* SPDX-License-Identifier: MIT
 *
 * For You's served sets in memory, checked against the database's version (foryou_served.h).
 */
#include "domain/foryou_served.h"

#include "core/util.h"
#include "domain/foryou.h"
#include "store/interests.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS ((int64_t)24 * 3600 * 1000)
#define KNOWN_SESSIONS 8
/* Forgetting what aged out of the window is housekeeping (every read filters by time anyway),
 * so a node does it for a viewer (or for the anonymous sessions) at most this often, in the
 * transaction of a page it writes, rather than in a write of its own at every session start. */
#define PURGE_EVERY_MS (10 * 60000)

typedef struct served_copy {
    int64_t user, session; /* the owner: (user, 0) signed in, (0, session) anonymous */
    int64_t version, loaded_ms;
    int64_t known[KNOWN_SESSIONS]; /* sessions all of whose rows are here */
    int n_known;
    store_served_row *rows;
    int n, cap;
} served_copy;

static struct {
    pthread_mutex_t lock;
    served_copy *copies[FORYOU_SERVED_COPIES];
    int64_t purge_user[FORYOU_SERVED_COPIES], purged_at[FORYOU_SERVED_COPIES];
} sets = {.lock = PTHREAD_MUTEX_INITIALIZER};

static size_t slot_of(int64_t user, int64_t session)
{
    uint64_t h = (uint64_t)user * 0x9E3779B97F4A7C15ULL ^ (uint64_t)session * 0xC2B2AE3D27D4EB4FULL;
    return (size_t)(h >> 32) & (FORYOU_SERVED_COPIES - 1);
}

static void copy_free(served_copy *c)
{
    if (c)
        free(c->rows);
    free(c);
}

static bool knows(const served_copy *c, int64_t session)
{
    for (int i = 0; i < c->n_known; i++)
        if (c->known[i] == session)
            return true;
    return false;
}

/* A session started here has no rows but those this node writes: the copy knows it whole. */
static void learn(served_copy *c, int64_t session)
{
    if (knows(c, session))
        return;
    if (c->n_known == KNOWN_SESSIONS) { /* the oldest is read again if it comes back */
        memmove(c->known, c->known + 1, (KNOWN_SESSIONS - 1) * sizeof c->known[0]);
        c->n_known--;
    }
    c->known[c->n_known++] = session;
}

/* The posts the database query would give (store_served_rows): the session's, and the
 * user's since since_ms. */
static int pick(const served_copy *c, int64_t session, int64_t since_ms, int64_t *out, int max)
{
    int k = 0;
    for (int i = 0; i < c->n && k < max; i++)
        if (!c->user || c->rows[i].session_id == session || c->rows[i].served_at >= since_ms)
            out[k++] = c->rows[i].post_id;
    return k;
}

static void drop(size_t slot)
{
    copy_free(sets.copies[slot]);
    sets.copies[slot] = NULL;
}

int foryou_served_get(db *d, int64_t viewer, int64_t session, bool fresh, int64_t since_ms,
                      int64_t *out, int max)
{
    if (!viewer && fresh)
        return 0; /* a new anonymous session has served nothing */
    int64_t user = viewer, owner_session = viewer ? 0 : session, version, now = now_ms();
    int rc = store_served_version(d, user, owner_session, &version);
    if (rc < 0)
        return rc;
    size_t slot = slot_of(user, owner_session);
    pthread_mutex_lock(&sets.lock);
    served_copy *c = sets.copies[slot];
    if (c && c->user == user && c->session == owner_session && c->version == version &&
        now - c->loaded_ms < FORYOU_SERVED_KEEP_MS && (fresh || knows(c, session))) {
        if (fresh)
            learn(c, session);
        int n = pick(c, session, since_ms, out, max);
        pthread_mutex_unlock(&sets.lock);
        return n;
    }
    pthread_mutex_unlock(&sets.lock);
    /* read after the version: a write in between makes the copy newer than its version says,
     * so it is only read again once more, never trusted when stale */
    served_copy *fresh_copy = xcalloc(1, sizeof *fresh_copy);
    fresh_copy->rows = xmalloc((size_t)max * sizeof *fresh_copy->rows);
    int n = viewer ? store_served_rows(d, session, viewer, since_ms, fresh_copy->rows, max)
                   : store_served_anon_rows(d, session, fresh_copy->rows, max);
    if (n < 0) {
        copy_free(fresh_copy);
        return n;
    }
    for (int i = 0; i < n; i++)
        out[i] = fresh_copy->rows[i].post_id;
    *fresh_copy = (served_copy){.user = user,
                                .session = owner_session,
                                .version = version,
                                .loaded_ms = now,
                                .known = {session},
                                .n_known = 1,
                                .rows = fresh_copy->rows,
                                .n = n,
                                .cap = max};
    pthread_mutex_lock(&sets.lock);
    served_copy *old = sets.copies[slot];
    sets.copies[slot] = fresh_copy;
    pthread_mutex_unlock(&sets.lock);
    copy_free(old);
    return n;
}

static bool purge_due(int64_t user, int64_t now)
{
    size_t slot = slot_of(user, -1);
    pthread_mutex_lock(&sets.lock);
    bool due = sets.purge_user[slot] != user || now - sets.purged_at[slot] >= PURGE_EVERY_MS;
    if (due) {
        sets.purge_user[slot] = user;
        sets.purged_at[slot] = now;
    }
    pthread_mutex_unlock(&sets.lock);
    return due;
}

typedef struct served_write {
    int64_t viewer, session, now;
    const int64_t *ids;
    int n;
    bool purge;
    int64_t version; /* out: the set's version after the write */
} served_write;

static int write_served(db *w, void *arg)
{
    served_write *s = arg;
    int rc = s->purge ? store_served_purge(w, s->viewer,
                                           s->now - (s->viewer ? FORYOU_SERVED_DAYS : 1) * DAY_MS)
                      : 0;
    if (rc >= 0 && !s->viewer) /* an anonymous session's set is its head row: one write */
        return store_served_anon_append(w, s->session, s->ids, s->n, s->now, &s->version);
    if (rc >= 0)
        rc = store_served_add(w, s->session, s->viewer, s->ids, s->n, s->now);
    if (rc >= 0)
        rc = store_served_bump(w, s->viewer, 0, s->now, &s->version);
    return rc < 0 ? rc : 0;
}

int foryou_served_record(db *d, int64_t viewer, int64_t session, bool fresh, const int64_t *ids,
                         int n, int64_t now)
{
    int64_t user = viewer, owner_session = viewer ? 0 : session;
    served_write w = {viewer, session, now, ids, n, purge_due(user, now), 0};
    /* one transaction for the page, shared with the pages (and other short writes) that commit
     * at the same moment (db_write's group commit): every page of For You writes */
    int rc = db_write(d, write_served, &w);
    if (rc < 0)
        return rc;
    int64_t version = w.version;
    size_t slot = slot_of(user, owner_session);
    pthread_mutex_lock(&sets.lock);
    served_copy *c = sets.copies[slot];
    if (c && (c->user != user || c->session != owner_session))
        c = NULL; /* another set's: left alone */
    else if (c && (c->version != version - 1 || c->n + n > c->cap || !(fresh || knows(c, session))))
        drop(slot); /* written elsewhere meanwhile, or full: read again next time */
    else if (c) {
        if (fresh)
            learn(c, session);
        for (int i = 0; i < n; i++)
            c->rows[c->n++] = (store_served_row){ids[i], session, now};
        c->version = version;
    } else if (!viewer && version == 1) { /* a new anonymous session: this page is all of it */
        c = xcalloc(1, sizeof *c);
        *c = (served_copy){.user = 0,
                           .session = session,
                           .version = 1,
                           .loaded_ms = now,
                           .known = {session},
                           .n_known = 1,
                           .n = n,
                           .cap = FORYOU_SERVED_MAX};
        c->rows = xmalloc(FORYOU_SERVED_MAX * sizeof *c->rows);
        for (int i = 0; i < n; i++)
            c->rows[i] = (store_served_row){ids[i], session, now};
        drop(slot);
        sets.copies[slot] = c;
    }
    pthread_mutex_unlock(&sets.lock);
    return 0;
}

int foryou_served_forget(db *d, int64_t viewer)
{
    int64_t version;
    /* the version moves too, so that no node keeps trusting its copy */
    if (db_begin(d) < 0)
        return ERR_DB;
    int rc = store_served_purge(d, viewer, INT64_MAX);
    if (rc >= 0)
        rc = store_served_bump(d, viewer, 0, now_ms(), &version);
    if (rc < 0 || db_commit(d) < 0) {
        db_rollback(d);
        return rc < 0 ? rc : ERR_DB;
    }
    size_t slot = slot_of(viewer, 0);
    pthread_mutex_lock(&sets.lock);
    if (sets.copies[slot] && sets.copies[slot]->user == viewer && !sets.copies[slot]->session)
        drop(slot);
    pthread_mutex_unlock(&sets.lock);
    return 0;
}

void foryou_served_reset(void)
{
    pthread_mutex_lock(&sets.lock);
    for (size_t i = 0; i < FORYOU_SERVED_COPIES; i++)
        drop(i);
    memset(sets.purge_user, 0, sizeof sets.purge_user);
    memset(sets.purged_at, 0, sizeof sets.purged_at);
    pthread_mutex_unlock(&sets.lock);
}
