/* SPDX-License-Identifier: MIT
 *
 * streamhub-seed: builds the social-core benchmark data set (issue 3) in an empty database,
 * through the store's own thin interface (db_open, store_migrate, db_prepare/db_bind/db_step), so
 * the rows are exactly what the server writes and reads. The whole graph is planned in memory
 * first: users with power-law popularity (a Zipf draw picks whom to follow and, more gently, who
 * posts), the follow edges, posts, then reactions, comments and saves weighted toward popular
 * posts. Every denormalized counter (followers/following/posts on users, reaction/comment/save
 * counts on posts) is therefore known before its row is written and comes out exact without a
 * fix-up pass; --verify re-counts them in SQL. Engagement only comes from users the visibility
 * gate would let see the post (followers for followers-only posts and private authors, mutual
 * follows for friends posts). Blocks, mutes and follow requests are left empty: they are filters
 * the feed checks whether or not rows exist.
 *
 * Ids use the snowflake layout of core/id.h built from each row's own created_at (id_next only
 * knows "now"), so the server's "ORDER BY id DESC = newest first" holds for seeded rows, and ids
 * the running server hands out later are always larger. Rows of a table are written in id order.
 * SQLite takes one row per prepared INSERT in transactions of --batch rows; PostgreSQL takes a
 * batch per statement as parallel arrays through unnest(), because one network round trip per
 * row would make the 8 million rows take many minutes.
 */
#include "core/config.h"
#include "core/id.h"
#include "core/util.h"
#include "domain/tokens.h"
#include "store/db.h"
#include "store/migrate.h"
#include "store/posts.h"

#include <getopt.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS (24LL * 3600 * 1000)
#define BENCH_PASSWORD "benchmark password"
#define MAX_COLS 16

/* ---- options ---------------------------------------------------------------------------- */

typedef struct options {
    const char *database;
    const char *ids_file;
    int64_t users, posts, reactions, follows, comments, saves;
    int64_t viewers, viewer_follows;
    int64_t batch;
    int64_t seed;
    bool verify;
} options;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: streamhub-seed --database URL [options]\n"
            "Fills an empty StreamHub database (migrations are applied first) with a benchmark\n"
            "graph. Every user's password is \"" BENCH_PASSWORD "\"; handles are user000001...\n"
            "  --database URL        sqlite:PATH or postgres://...\n"
            "  --users N             accounts (100000)\n"
            "  --posts N             posts (1000000)\n"
            "  --reactions N         reactions, one per user and post (5000000)\n"
            "  --follows N           follow edges, roughly (20 x users)\n"
            "  --comments N          comments, a quarter of them replies (posts / 2)\n"
            "  --saves N             saves (posts / 5)\n"
            "  --viewers N           bench viewers, user000001 on, who each follow (64)\n"
            "  --viewer-follows N    exactly this many accounts (500)\n"
            "  --seed N              random seed (1); the same seed gives the same graph\n"
            "  --batch N             rows per transaction (20000)\n"
            "  --ids-file PATH       write up to 10000 ids of public posts by public authors\n"
            "  --verify              re-count every counter in SQL at the end\n");
}

static bool parse_count(const char *s, int64_t *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < 0)
        return false;
    *out = v;
    return true;
}

static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){.users = 100000, .posts = 1000000, .reactions = 5000000, .follows = -1,
                   .comments = -1, .saves = -1, .viewers = 64, .viewer_follows = 500,
                   .batch = 20000, .seed = 1};
    /* Count options return 0 from getopt_long; their index in this table is the field. */
    int64_t *const counts[] = {&o->users,   &o->posts,          &o->reactions,
                               &o->follows, &o->comments,       &o->saves,
                               &o->viewers, &o->viewer_follows, &o->seed,
                               &o->batch};
    static const struct option long_opts[] = {
        {"users", required_argument, NULL, 0},   {"posts", required_argument, NULL, 0},
        {"reactions", required_argument, NULL, 0}, {"follows", required_argument, NULL, 0},
        {"comments", required_argument, NULL, 0}, {"saves", required_argument, NULL, 0},
        {"viewers", required_argument, NULL, 0}, {"viewer-follows", required_argument, NULL, 0},
        {"seed", required_argument, NULL, 0},    {"batch", required_argument, NULL, 0},
        {"database", required_argument, NULL, 'd'}, {"ids-file", required_argument, NULL, 'i'},
        {"verify", no_argument, NULL, 'v'},      {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c, idx = 0;
    while ((c = getopt_long(argc, argv, "", long_opts, &idx)) != -1) {
        if (c == 0) {
            if (!parse_count(optarg, counts[idx])) {
                fprintf(stderr, "streamhub-seed: --%s wants a count, not %s\n",
                        long_opts[idx].name, optarg);
                return -1;
            }
        } else if (c == 'd') {
            o->database = optarg;
        } else if (c == 'i') {
            o->ids_file = optarg;
        } else if (c == 'v') {
            o->verify = true;
        } else if (c == 'h') {
            usage(stdout);
            return 1;
        } else {
            usage(stderr);
            return -1;
        }
    }
    if (!o->database || optind != argc) {
        usage(stderr);
        return -1;
    }
    if (o->users < 2 || o->users > UINT32_MAX / 2 || o->posts > UINT32_MAX / 2) {
        fprintf(stderr, "streamhub-seed: --users must be at least 2 (and counts below 2^31)\n");
        return -1;
    }
    if (o->batch < 1)
        o->batch = 1;
    if (o->follows < 0)
        o->follows = o->users * 20;
    if (o->comments < 0)
        o->comments = o->posts / 2;
    if (o->saves < 0)
        o->saves = o->posts / 5;
    if (o->viewers > o->users)
        o->viewers = o->users;
    if (o->viewer_follows > o->users - 1)
        o->viewer_follows = o->users - 1;
    return 0;
}

/* ---- randomness: xoshiro256** seeded by splitmix64, so a seed always gives the same graph ---- */

static uint64_t rng_state[4];

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rng_seed(uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng_state[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(void)
{
    uint64_t *s = rng_state;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static double rng_unit(void) /* [0, 1) */
{
    return (double)(rng_next() >> 11) * 0x1.0p-53;
}

static uint32_t rng_below(uint64_t n)
{
    return (uint32_t)(rng_unit() * (double)n);
}

static double rng_normal(void)
{
    double u = 1.0 - rng_unit(), v = rng_unit();
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* Zipf over ranks 0..n-1 (rank r has weight (r+1)^-s), sampled by binary search in the CDF. */
typedef struct zipf {
    double *cdf;
    uint32_t n;
} zipf;

static void zipf_init(zipf *z, uint32_t n, double s)
{
    z->n = n;
    z->cdf = xmalloc(n * sizeof *z->cdf);
    double sum = 0;
    for (uint32_t r = 0; r < n; r++)
        z->cdf[r] = sum += pow((double)r + 1.0, -s);
    for (uint32_t r = 0; r < n; r++)
        z->cdf[r] /= sum;
}

static uint32_t zipf_rank(const zipf *z)
{
    double u = rng_unit();
    uint32_t lo = 0, hi = z->n - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (z->cdf[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Snowflake id for a row created at ms; strictly increasing per table even when two rows share
 * a millisecond (the sequence bits absorb that). */
static int64_t id_at(int64_t *last, int64_t ms)
{
    int64_t id = (ms - ID_EPOCH_MS) << 22;
    if (id <= *last)
        id = *last + 1;
    return *last = id;
}

/* ---- the plan: the whole graph in memory, counters included -------------------------------- */

enum { VIS_PUBLIC, VIS_FOLLOWERS, VIS_FRIENDS };
static const char *const VIS_NAMES[] = {"public", "followers", "friends"};
static const char *const REACTION_TYPES[] = {"like", "love", "laugh", "fire", "wow", "sad"};
static const double REACTION_SHARE[] = {0.60, 0.15, 0.10, 0.07, 0.05, 0.03};

/* One engagement row (a follow, reaction, comment or save) before it gets its id. */
typedef struct event {
    int64_t t;
    uint32_t a; /* post index (follows: follower) */
    uint32_t b; /* user index (follows: followee) */
    uint32_t c; /* reactions: type; comments: index within the post, by time */
    uint32_t d; /* comments: 1 + index of the parent within the post, 0 for top level */
} event;

typedef struct plan {
    uint32_t n_users, n_posts;
    int64_t now;
    /* users, in creation (= id) order; index 0 is user000001 */
    int64_t *user_id, *user_time;
    uint8_t *is_private;
    uint32_t *posts_count;
    /* follows, both directions, each list sorted by user index */
    int64_t *out_off, *in_off;
    uint32_t *out_adj, *in_adj;
    uint32_t *mutual_count;
    event *follow_ev;
    int64_t n_follows;
    /* posts, in creation (= id) order */
    int64_t *post_id, *post_time;
    uint32_t *post_author;
    uint8_t *post_vis;
    uint32_t *reaction_count, *comment_count, *save_count;
    event *reaction_ev, *comment_ev, *save_ev;
    int64_t n_reactions, n_comments, n_saves;
    int64_t *comment_id; /* by post: comment_first[post] + index within the post */
    int64_t *comment_first;
} plan;

static uint32_t out_degree(const plan *p, uint32_t u)
{
    return (uint32_t)(p->out_off[u + 1] - p->out_off[u]);
}

static uint32_t in_degree(const plan *p, uint32_t u)
{
    return (uint32_t)(p->in_off[u + 1] - p->in_off[u]);
}

static bool follows_edge(const plan *p, uint32_t from, uint32_t to)
{
    const uint32_t *a = p->out_adj + p->out_off[from];
    uint32_t lo = 0, hi = out_degree(p, from);
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (a[mid] < to)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < out_degree(p, from) && a[lo] == to;
}

static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : a > b;
}

static int cmp_event(const void *x, const void *y)
{
    const event *a = x, *b = y;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    if (a->a != b->a)
        return a->a < b->a ? -1 : 1;
    return a->c < b->c ? -1 : a->c > b->c;
}

/* Followees of one user: Zipf draws over the popularity ranks, so a few accounts collect tens of
 * thousands of followers; duplicates and self are rejected through the stamp array. Large
 * out-degrees on small graphs fall back to uniform draws, then to a scan, so this always ends. */
static void pick_followees(const plan *p, const zipf *z, const uint32_t *rank_user, uint32_t u,
                           uint32_t deg, uint32_t *stamp, uint32_t mark, uint32_t *out)
{
    uint32_t n = 0;
    stamp[u] = mark;
    for (uint64_t tries = 0; n < deg && tries < 20ULL * deg; tries++) {
        uint32_t v = rank_user[zipf_rank(z)];
        if (stamp[v] != mark) {
            stamp[v] = mark;
            out[n++] = v;
        }
    }
    for (uint64_t tries = 0; n < deg && tries < 20ULL * deg; tries++) {
        uint32_t v = rng_below(p->n_users);
        if (stamp[v] != mark) {
            stamp[v] = mark;
            out[n++] = v;
        }
    }
    for (uint32_t v = rng_below(p->n_users), k = 0; n < deg && k < p->n_users; k++) {
        uint32_t w = (v + k) % p->n_users;
        if (stamp[w] != mark) {
            stamp[w] = mark;
            out[n++] = w;
        }
    }
    qsort(out, n, sizeof *out, cmp_u32);
}

static void plan_users_and_follows(plan *p, const options *o, const uint32_t *rank_user)
{
    uint32_t n = p->n_users;
    p->user_id = xmalloc(n * sizeof *p->user_id);
    p->user_time = xmalloc(n * sizeof *p->user_time);
    p->is_private = xcalloc(n, 1);
    p->posts_count = xcalloc(n, sizeof *p->posts_count);
    /* Accounts were opened 90 to 60 days ago, in handle order. */
    int64_t last = 0, start = p->now - 90 * DAY_MS, span = 30 * DAY_MS;
    for (uint32_t u = 0; u < n; u++) {
        p->user_time[u] = start + (int64_t)(((double)u + rng_unit()) * (double)span / n);
        p->user_id[u] = id_at(&last, p->user_time[u]);
    }
    /* 3% private accounts, never among the 1,000 most followed nor the bench viewers. */
    for (uint32_t r = 1000; r < n; r++)
        if (rank_user[r] >= o->viewers && rng_unit() < 0.03)
            p->is_private[rank_user[r]] = 1;

    /* Out-degrees: viewers exactly viewer_follows, everyone else log-normal around the mean. */
    double mean = (double)o->follows / n, sigma = 1.2;
    double mu = log(mean > 0.5 ? mean : 0.5) - sigma * sigma / 2;
    uint32_t cap = (uint32_t)((n - 1) / 2 < 5000 ? (n - 1) / 2 : 5000);
    uint32_t *deg = xmalloc(n * sizeof *deg);
    p->out_off = xmalloc((n + 1) * sizeof *p->out_off);
    p->out_off[0] = 0;
    for (uint32_t u = 0; u < n; u++) {
        if (u < o->viewers) {
            deg[u] = (uint32_t)o->viewer_follows;
        } else if (o->follows == 0) {
            deg[u] = 0;
        } else {
            double d = floor(exp(mu + sigma * rng_normal()));
            deg[u] = d > cap ? cap : (uint32_t)d;
        }
        p->out_off[u + 1] = p->out_off[u] + deg[u];
    }
    p->n_follows = p->out_off[n];
    p->out_adj = xmalloc((size_t)(p->n_follows ? p->n_follows : 1) * sizeof *p->out_adj);
    uint32_t *stamp = xcalloc(n, sizeof *stamp);
    zipf z;
    zipf_init(&z, n, 0.8);
    for (uint32_t u = 0; u < n; u++)
        pick_followees(p, &z, rank_user, u, deg[u], stamp, u + 1, p->out_adj + p->out_off[u]);
    free(z.cdf);
    free(stamp);

    /* The reverse lists come out sorted because followers are visited in index order. */
    p->in_off = xcalloc(n + 1, sizeof *p->in_off);
    for (int64_t e = 0; e < p->n_follows; e++)
        p->in_off[p->out_adj[e] + 1]++;
    for (uint32_t u = 0; u < n; u++)
        p->in_off[u + 1] += p->in_off[u];
    p->in_adj = xmalloc((size_t)(p->n_follows ? p->n_follows : 1) * sizeof *p->in_adj);
    int64_t *fill = xmalloc(n * sizeof *fill);
    memcpy(fill, p->in_off, n * sizeof *fill);
    for (uint32_t u = 0; u < n; u++)
        for (int64_t e = p->out_off[u]; e < p->out_off[u + 1]; e++)
            p->in_adj[fill[p->out_adj[e]]++] = u;
    free(fill);
    p->mutual_count = xcalloc(n, sizeof *p->mutual_count);
    for (uint32_t u = 0; u < n; u++)
        for (int64_t e = p->in_off[u]; e < p->in_off[u + 1]; e++)
            p->mutual_count[u] += follows_edge(p, u, p->in_adj[e]);

    /* Each edge was made at a random time after both accounts existed, written oldest first. */
    p->follow_ev = xmalloc((size_t)(p->n_follows ? p->n_follows : 1) * sizeof *p->follow_ev);
    for (uint32_t u = 0; u < n; u++)
        for (int64_t e = p->out_off[u]; e < p->out_off[u + 1]; e++) {
            double when = rng_unit() * (double)(60 * DAY_MS - 3600000);
            int64_t t = p->now - 60 * DAY_MS + (int64_t)when;
            p->follow_ev[e] = (event){.t = t, .a = u, .b = p->out_adj[e]};
        }
    qsort(p->follow_ev, (size_t)p->n_follows, sizeof *p->follow_ev, cmp_event);
    free(deg);
}

static void plan_posts(plan *p, const uint32_t *rank_user)
{
    uint32_t n = p->n_posts;
    p->post_id = xmalloc((n ? n : 1) * sizeof *p->post_id);
    p->post_time = xmalloc((n ? n : 1) * sizeof *p->post_time);
    p->post_author = xmalloc((n ? n : 1) * sizeof *p->post_author);
    p->post_vis = xmalloc(n ? n : 1);
    /* Popular accounts post more, but much less steeply than they are followed (s = 0.5). */
    zipf z;
    zipf_init(&z, p->n_users, 0.5);
    int64_t last = 0, start = p->now - 30 * DAY_MS, span = 30 * DAY_MS - 3600000;
    for (uint32_t i = 0; i < n; i++) {
        p->post_time[i] = start + (int64_t)(((double)i + rng_unit()) * (double)span / n);
        p->post_id[i] = id_at(&last, p->post_time[i]);
        uint32_t author = rank_user[zipf_rank(&z)];
        p->post_author[i] = author;
        p->posts_count[author]++;
        double v = rng_unit();
        p->post_vis[i] = v < 0.90 ? VIS_PUBLIC : v < 0.97 ? VIS_FOLLOWERS : VIS_FRIENDS;
    }
    free(z.cdf);
}

/* Who may see post i besides its author: everyone (returns false), or the list in scratch. */
static bool restricted_audience(const plan *p, uint32_t i, uint32_t *scratch, uint32_t *len)
{
    uint32_t a = p->post_author[i];
    if (p->post_vis[i] == VIS_PUBLIC && !p->is_private[a])
        return false;
    const uint32_t *fol = p->in_adj + p->in_off[a];
    uint32_t n = 0;
    for (uint32_t k = 0; k < in_degree(p, a); k++)
        if (p->post_vis[i] != VIS_FRIENDS || follows_edge(p, a, fol[k]))
            scratch[n++] = fol[k];
    *len = n;
    return true;
}

static uint32_t audience_size(const plan *p, uint32_t i)
{
    uint32_t a = p->post_author[i];
    if (p->post_vis[i] == VIS_PUBLIC && !p->is_private[a])
        return p->n_users / 2; /* keeps the rejection sampling below cheap */
    return p->post_vis[i] == VIS_FRIENDS ? p->mutual_count[a] : in_degree(p, a);
}

/* Spreads total rows over the posts in proportion to weight, within each post's audience, so the
 * sum is exactly total (or every audience is full). Returns the per-post counts. */
static uint32_t *spread(const plan *p, const double *weight, double weight_sum, int64_t *total)
{
    uint32_t n = p->n_posts;
    uint32_t *k = xcalloc(n ? n : 1, sizeof *k);
    int64_t sum = 0, room = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t cap = audience_size(p, i);
        double e = (double)*total * weight[i] / weight_sum;
        double f = floor(e);
        uint32_t v = f >= cap ? cap : (uint32_t)f + (rng_unit() < e - f);
        k[i] = v > cap ? cap : v;
        sum += k[i];
        room += cap;
    }
    if (*total > room) {
        fprintf(stderr, "streamhub-seed: only room for %lld rows, not %lld\n", (long long)room,
                (long long)*total);
        *total = room;
    }
    /* Rounding leaves a small difference; settle it one row at a time on random posts. */
    while (sum < *total) {
        uint32_t i = rng_below(n);
        if (k[i] < audience_size(p, i)) {
            k[i]++;
            sum++;
        }
    }
    while (sum > *total) {
        uint32_t i = rng_below(n);
        if (k[i] > 0) {
            k[i]--;
            sum--;
        }
    }
    return k;
}

/* Picks count[i] distinct users who can see post i, each acting at a time after the post (most
 * soon after it), and returns the rows sorted by time. */
static event *engage(const plan *p, const uint32_t *count, int64_t total, uint32_t *stamp,
                     uint32_t *mark, uint32_t *scratch)
{
    event *ev = xmalloc((size_t)(total ? total : 1) * sizeof *ev);
    int64_t n = 0;
    for (uint32_t i = 0; i < p->n_posts; i++) {
        if (!count[i])
            continue;
        uint32_t len = 0, m = ++*mark;
        bool restricted = restricted_audience(p, i, scratch, &len);
        uint32_t need = count[i];
        if (restricted && need > len / 2) {
            /* most of a small audience: a partial Fisher-Yates shuffle */
            for (uint32_t j = 0; j < need; j++) {
                uint32_t r = j + rng_below(len - j), tmp = scratch[j];
                scratch[j] = scratch[r];
                scratch[r] = tmp;
            }
        } else {
            for (uint32_t j = 0; j < need;) {
                uint32_t u = restricted ? scratch[rng_below(len)] : rng_below(p->n_users);
                if (stamp[u] == m)
                    continue;
                stamp[u] = m;
                ev[n + j++].b = u;
            }
        }
        int64_t room = p->now - 60000 - p->post_time[i];
        for (uint32_t j = 0; j < need; j++) {
            double x = rng_unit();
            double later = x * x * (double)(room > 1 ? room - 1 : 0);
            ev[n + j].t = p->post_time[i] + 1 + (int64_t)later;
            ev[n + j].a = i;
            if (restricted && need > len / 2)
                ev[n + j].b = scratch[j];
            ev[n + j].c = ev[n + j].d = 0;
        }
        n += need;
    }
    qsort(ev, (size_t)n, sizeof *ev, cmp_event);
    return ev;
}

static int cmp_event_post_time(const void *x, const void *y)
{
    const event *a = x, *b = y;
    if (a->a != b->a)
        return a->a < b->a ? -1 : 1;
    return a->t < b->t ? -1 : a->t > b->t;
}

static void plan_engagement(plan *p, const options *o)
{
    uint32_t n = p->n_posts;
    /* A post's pull: its author's reach (sub-linear) times a log-normal luck factor. */
    double *weight = xmalloc((n ? n : 1) * sizeof *weight), sum = 0;
    for (uint32_t i = 0; i < n; i++)
        sum += weight[i] = pow(in_degree(p, p->post_author[i]) + 1.0, 0.75) * exp(rng_normal());
    uint32_t *stamp = xcalloc(p->n_users, sizeof *stamp), mark = 0;
    uint32_t *scratch = xmalloc(p->n_users * sizeof *scratch);

    p->n_reactions = o->reactions;
    p->reaction_count = spread(p, weight, sum, &p->n_reactions);
    p->reaction_ev = engage(p, p->reaction_count, p->n_reactions, stamp, &mark, scratch);
    for (int64_t e = 0; e < p->n_reactions; e++) {
        double x = rng_unit(), acc = 0;
        uint32_t t = 0;
        while (t < 5 && x >= (acc += REACTION_SHARE[t]))
            t++;
        p->reaction_ev[e].c = t;
    }

    p->n_saves = o->saves;
    p->save_count = spread(p, weight, sum, &p->n_saves);
    p->save_ev = engage(p, p->save_count, p->n_saves, stamp, &mark, scratch);

    /* Comments: within a post, in time order; a quarter answer an earlier top-level comment
     * (replies are one level deep), so a parent always has the smaller id. */
    p->n_comments = o->comments;
    p->comment_count = spread(p, weight, sum, &p->n_comments);
    p->comment_ev = engage(p, p->comment_count, p->n_comments, stamp, &mark, scratch);
    qsort(p->comment_ev, (size_t)p->n_comments, sizeof *p->comment_ev, cmp_event_post_time);
    p->comment_first = xmalloc(((size_t)n + 1) * sizeof *p->comment_first);
    p->comment_first[0] = 0;
    for (uint32_t i = 0; i < n; i++)
        p->comment_first[i + 1] = p->comment_first[i] + p->comment_count[i];
    for (int64_t e = 0, first = 0; e < p->n_comments; e++) {
        event *c = &p->comment_ev[e];
        if (e == 0 || c->a != p->comment_ev[e - 1].a)
            first = e;
        c->c = (uint32_t)(e - first);
        c->d = 0;
        if (c->c > 0 && rng_unit() < 0.25) {
            /* a random earlier comment, or the top-level one it answers (the first comment of
             * a post is always top level, so the walk ends) */
            int64_t pick = first + rng_below(c->c);
            while (p->comment_ev[pick].d != 0)
                pick--;
            c->d = (uint32_t)(pick - first) + 1;
        }
    }
    qsort(p->comment_ev, (size_t)p->n_comments, sizeof *p->comment_ev, cmp_event);
    p->comment_id = xmalloc((size_t)(p->n_comments ? p->n_comments : 1) * sizeof *p->comment_id);
    int64_t last = 0;
    for (int64_t e = 0; e < p->n_comments; e++) {
        const event *c = &p->comment_ev[e];
        p->comment_id[p->comment_first[c->a] + c->c] = id_at(&last, c->t);
    }
    free(weight);
    free(stamp);
    free(scratch);
}

/* ---- writing: one writer per table ----------------------------------------------------------- */

typedef struct writer {
    db *d;
    const char *name;
    const char *sql;
    int n_cols, col;
    db_stmt *st;          /* SQLite: bound and stepped per row */
    buf arrays[MAX_COLS]; /* PostgreSQL: one array literal per column */
    int64_t batch, in_batch, rows, expected;
    int64_t t0;
} writer;

static bool is_pg(const writer *w)
{
    return db_kind_of(w->d) == DB_POSTGRES;
}

static int writer_open(writer *w, db *d, const char *name, const char *sqlite_sql,
                       const char *pg_sql, int n_cols, int64_t expected, int64_t batch)
{
    *w = (writer){.d = d, .name = name, .n_cols = n_cols, .batch = batch, .expected = expected,
                  .t0 = monotonic_us()};
    w->sql = is_pg(w) ? pg_sql : sqlite_sql;
    if (!is_pg(w) && !(w->st = db_prepare(d, w->sql))) {
        fprintf(stderr, "streamhub-seed: prepare %s: %s\n", name, db_errmsg(d));
        return ERR_DB;
    }
    int rc = db_begin(d);
    if (rc < 0)
        fprintf(stderr, "streamhub-seed: begin: %s\n", db_errmsg(d));
    return rc;
}

static buf *next_array(writer *w)
{
    buf *b = &w->arrays[w->col++];
    buf_puts(b, w->in_batch ? "," : "{");
    return b;
}

static void put_int(writer *w, int64_t v)
{
    if (is_pg(w))
        buf_printf(next_array(w), "%lld", (long long)v);
    else
        db_bind_int64(w->st, ++w->col, v);
}

static void put_text(writer *w, const char *s)
{
    if (!is_pg(w)) {
        db_bind_text(w->st, ++w->col, s);
        return;
    }
    /* an element of a PostgreSQL array literal: double-quoted, with " and \ escaped */
    buf *b = next_array(w);
    buf_puts(b, "\"");
    for (const char *c = s; *c; c++) {
        if (*c == '"' || *c == '\\')
            buf_puts(b, "\\");
        buf_append(b, c, 1);
    }
    buf_puts(b, "\"");
}

static void put_null(writer *w)
{
    if (is_pg(w))
        buf_puts(next_array(w), "NULL");
    else
        db_bind_null(w->st, ++w->col);
}

static int flush_batch(writer *w, bool last)
{
    int rc = 0;
    if (is_pg(w) && w->in_batch) {
        db_stmt *s = db_prepare(w->d, w->sql);
        if (!s)
            return ERR_DB;
        for (int c = 0; c < w->n_cols; c++) {
            buf_puts(&w->arrays[c], "}");
            db_bind_text(s, c + 1, w->arrays[c].data);
            w->arrays[c].len = 0;
            w->arrays[c].data[0] = '\0';
        }
        if ((rc = db_run(s)) < 0)
            return rc;
    }
    w->in_batch = 0;
    if ((rc = db_commit(w->d)) < 0 || last)
        return rc;
    return db_begin(w->d);
}

static int end_row(writer *w)
{
    int rc = 0;
    if (!is_pg(w) && (rc = db_run(w->st)) < 0) {
        fprintf(stderr, "streamhub-seed: insert into %s: %s\n", w->name, db_errmsg(w->d));
        return rc;
    }
    w->col = 0;
    w->rows++;
    if (++w->in_batch >= w->batch && (rc = flush_batch(w, false)) < 0) {
        fprintf(stderr, "streamhub-seed: insert into %s: %s\n", w->name, db_errmsg(w->d));
        return rc;
    }
    if (w->rows % 1000000 == 0) {
        printf("  %-9s %lld / %lld rows, %.1f s\n", w->name, (long long)w->rows,
               (long long)w->expected, (double)(monotonic_us() - w->t0) / 1e6);
        fflush(stdout);
    }
    return 0;
}

static int writer_close(writer *w)
{
    int rc = flush_batch(w, true);
    if (rc < 0)
        fprintf(stderr, "streamhub-seed: finish %s: %s\n", w->name, db_errmsg(w->d));
    for (int c = 0; c < MAX_COLS; c++)
        buf_free(&w->arrays[c]);
    double s = (double)(monotonic_us() - w->t0) / 1e6;
    if (rc == 0)
        printf("%-10s %10lld rows  %7.1f s  (%.0f rows/s)\n", w->name, (long long)w->rows, s,
               s > 0 ? (double)w->rows / s : 0.0);
    fflush(stdout);
    return rc;
}

/* Caption and comment text: a few words from a small vocabulary, about the length people write. */
static const char *const WORDS[] = {
    "sunset", "coffee", "weekend", "city", "morning", "road", "trip", "music", "dance",
    "street", "food", "recipe", "new", "today", "best", "friends", "summer", "winter",
    "cat", "dog", "studio", "beach", "night", "light", "train", "rain", "garden", "game",
    "sound", "live", "first", "try", "this", "again", "little", "big", "home", "look",
    "watch", "until", "end", "so", "good", "wow", "finally", "day", "one", "more"};
#define N_WORDS (sizeof WORDS / sizeof WORDS[0])

static void words(char *out, size_t size, int min, int max, bool tags)
{
    size_t len = 0;
    int n = min + (int)rng_below((uint64_t)(max - min + 1));
    out[0] = '\0';
    for (int i = 0; i < n && len + 16 < size; i++)
        len += (size_t)snprintf(out + len, size - len, "%s%s", i ? " " : "",
                                WORDS[rng_below(N_WORDS)]);
    if (tags && rng_unit() < 0.5 && len + 16 < size)
        snprintf(out + len, size - len, " #%s", WORDS[rng_below(N_WORDS)]);
}

static int write_users(db *d, const plan *p, const char *hash, int64_t batch)
{
    static const char *sqlite_sql =
        "INSERT INTO users (id, email, email_norm, handle, handle_norm, display_name, "
        "password_hash, role, email_verified_at, created_at, updated_at, is_private, "
        "followers_count, following_count, posts_count) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 'user', ?, ?, ?, ?, ?, ?, ?)";
    static const char *pg_sql =
        "INSERT INTO users (id, email, email_norm, handle, handle_norm, display_name, "
        "password_hash, role, email_verified_at, created_at, updated_at, is_private, "
        "followers_count, following_count, posts_count) "
        "SELECT i, e, e, h, h, n, w, 'user', t, t, t, pr, fc, gc, pc FROM unnest("
        "?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], "
        "?::bigint[], ?::bigint[], ?::bigint[]) AS x(i, e, h, n, w, t, pr, fc, gc, pc)";
    writer w;
    bool pg = db_kind_of(d) == DB_POSTGRES;
    int rc = writer_open(&w, d, "users", sqlite_sql, pg_sql, 10, p->n_users, batch);
    for (uint32_t u = 0; rc == 0 && u < p->n_users; u++) {
        char handle[32], email[64], name[64];
        snprintf(handle, sizeof handle, "user%06u", u + 1);
        snprintf(email, sizeof email, "%s@seed.test", handle);
        snprintf(name, sizeof name, "Seed User %u", u + 1);
        put_int(&w, p->user_id[u]);
        put_text(&w, email);
        if (!pg)
            put_text(&w, email); /* already lower case, so it is its own normal form */
        put_text(&w, handle);
        if (!pg)
            put_text(&w, handle);
        put_text(&w, name);
        put_text(&w, hash);
        if (!pg) {
            put_int(&w, p->user_time[u]); /* verified at sign-up */
            put_int(&w, p->user_time[u]);
        }
        put_int(&w, p->user_time[u]);
        put_int(&w, p->is_private[u]);
        put_int(&w, in_degree(p, u));
        put_int(&w, out_degree(p, u));
        put_int(&w, p->posts_count[u]);
        rc = end_row(&w);
    }
    return rc < 0 ? rc : writer_close(&w);
}

static int write_follows(db *d, const plan *p, int64_t batch)
{
    static const char *sqlite_sql =
        "INSERT INTO follows (id, follower_id, followee_id, created_at) VALUES (?, ?, ?, ?)";
    static const char *pg_sql =
        "INSERT INTO follows (id, follower_id, followee_id, created_at) "
        "SELECT * FROM unnest(?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[])";
    writer w;
    int64_t last = 0;
    int rc = writer_open(&w, d, "follows", sqlite_sql, pg_sql, 4, p->n_follows, batch);
    for (int64_t e = 0; rc == 0 && e < p->n_follows; e++) {
        const event *f = &p->follow_ev[e];
        put_int(&w, id_at(&last, f->t));
        put_int(&w, p->user_id[f->a]);
        put_int(&w, p->user_id[f->b]);
        put_int(&w, f->t);
        rc = end_row(&w);
    }
    return rc < 0 ? rc : writer_close(&w);
}

static int write_posts(db *d, const plan *p, int64_t batch)
{
    static const char *sqlite_sql =
        "INSERT INTO posts (id, author_id, type, caption, visibility, created_at, updated_at, "
        "reaction_count, comment_count, save_count, hot_at) "
        "VALUES (?, ?, 'text', ?, ?, ?, ?, ?, ?, ?, ?)";
    static const char *pg_sql =
        "INSERT INTO posts (id, author_id, type, caption, visibility, created_at, updated_at, "
        "reaction_count, comment_count, save_count, hot_at) "
        "SELECT i, a, 'text', c, v, t, t, rc, cc, sc, h FROM unnest(?::bigint[], ?::bigint[], "
        "?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[]) "
        "AS x(i, a, c, v, t, rc, cc, sc, h)";
    writer w;
    bool pg = db_kind_of(d) == DB_POSTGRES;
    int rc = writer_open(&w, d, "posts", sqlite_sql, pg_sql, 9, p->n_posts, batch);
    for (uint32_t i = 0; rc == 0 && i < p->n_posts; i++) {
        char caption[256];
        words(caption, sizeof caption, 3, 16, true);
        put_int(&w, p->post_id[i]);
        put_int(&w, p->user_id[p->post_author[i]]);
        put_text(&w, caption);
        put_text(&w, VIS_NAMES[p->post_vis[i]]);
        put_int(&w, p->post_time[i]);
        if (!pg)
            put_int(&w, p->post_time[i]);
        put_int(&w, p->reaction_count[i]);
        put_int(&w, p->comment_count[i]);
        put_int(&w, p->save_count[i]);
        /* the trending key the server would have computed as the counters moved */
        put_int(&w, store_post_hot_at(p->post_time[i], p->reaction_count[i],
                                      p->comment_count[i], 0, p->save_count[i], 0));
        rc = end_row(&w);
    }
    return rc < 0 ? rc : writer_close(&w);
}

static int write_reactions(db *d, const plan *p, int64_t batch)
{
    static const char *sqlite_sql =
        "INSERT INTO reactions (id, post_id, user_id, type, created_at) VALUES (?, ?, ?, ?, ?)";
    static const char *pg_sql =
        "INSERT INTO reactions (id, post_id, user_id, type, created_at) "
        "SELECT * FROM unnest(?::bigint[], ?::bigint[], ?::bigint[], ?::text[], ?::bigint[])";
    writer w;
    int64_t last = 0;
    int rc = writer_open(&w, d, "reactions", sqlite_sql, pg_sql, 5, p->n_reactions, batch);
    for (int64_t e = 0; rc == 0 && e < p->n_reactions; e++) {
        const event *r = &p->reaction_ev[e];
        put_int(&w, id_at(&last, r->t));
        put_int(&w, p->post_id[r->a]);
        put_int(&w, p->user_id[r->b]);
        put_text(&w, REACTION_TYPES[r->c]);
        put_int(&w, r->t);
        rc = end_row(&w);
    }
    return rc < 0 ? rc : writer_close(&w);
}

static int write_comments(db *d, const plan *p, int64_t batch)
{
    static const char *sqlite_sql =
        "INSERT INTO comments (id, post_id, author_id, parent_id, body, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)";
    static const char *pg_sql =
        "INSERT INTO comments (id, post_id, author_id, parent_id, body, created_at, updated_at) "
        "SELECT i, p, a, r, b, t, t FROM unnest(?::bigint[], ?::bigint[], ?::bigint[], "
        "?::bigint[], ?::text[], ?::bigint[]) AS x(i, p, a, r, b, t)";
    writer w;
    bool pg = db_kind_of(d) == DB_POSTGRES;
    int rc = writer_open(&w, d, "comments", sqlite_sql, pg_sql, 6, p->n_comments, batch);
    for (int64_t e = 0; rc == 0 && e < p->n_comments; e++) {
        const event *c = &p->comment_ev[e];
        char body[160];
        words(body, sizeof body, 1, 10, false);
        int64_t first = p->comment_first[c->a];
        put_int(&w, p->comment_id[first + c->c]);
        put_int(&w, p->post_id[c->a]);
        put_int(&w, p->user_id[c->b]);
        if (c->d)
            put_int(&w, p->comment_id[first + c->d - 1]);
        else
            put_null(&w);
        put_text(&w, body);
        put_int(&w, c->t);
        if (!pg)
            put_int(&w, c->t);
        rc = end_row(&w);
    }
    return rc < 0 ? rc : writer_close(&w);
}

static int write_saves(db *d, const plan *p, int64_t batch)
{
    static const char *sqlite_sql =
        "INSERT INTO saves (id, user_id, post_id, created_at) VALUES (?, ?, ?, ?)";
    static const char *pg_sql =
        "INSERT INTO saves (id, user_id, post_id, created_at) "
        "SELECT * FROM unnest(?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[])";
    writer w;
    int64_t last = 0;
    int rc = writer_open(&w, d, "saves", sqlite_sql, pg_sql, 4, p->n_saves, batch);
    for (int64_t e = 0; rc == 0 && e < p->n_saves; e++) {
        const event *s = &p->save_ev[e];
        put_int(&w, id_at(&last, s->t));
        put_int(&w, p->user_id[s->b]);
        put_int(&w, p->post_id[s->a]);
        put_int(&w, s->t);
        rc = end_row(&w);
    }
    return rc < 0 ? rc : writer_close(&w);
}

/* ---- checks and reports -------------------------------------------------------------------- */

static int query_int(db *d, const char *sql, int64_t *out)
{
    db_stmt *s = db_prepare(d, sql);
    if (!s) {
        fprintf(stderr, "streamhub-seed: %s: %s\n", sql, db_errmsg(d));
        return ERR_DB;
    }
    int rc = db_query_int64(s, out);
    if (rc < 0)
        fprintf(stderr, "streamhub-seed: %s: %s\n", sql, db_errmsg(d));
    return rc;
}

/* Re-counts every denormalized counter from the edge tables: each query returns the number of
 * rows whose stored count disagrees, which must be 0. */
static int verify(db *d)
{
    static const char *const checks[] = {
        "SELECT COUNT(*) FROM users u LEFT JOIN (SELECT followee_id AS id, COUNT(*) AS n FROM "
        "follows GROUP BY followee_id) f ON f.id = u.id "
        "WHERE u.followers_count <> COALESCE(f.n, 0)",
        "SELECT COUNT(*) FROM users u LEFT JOIN (SELECT follower_id AS id, COUNT(*) AS n FROM "
        "follows GROUP BY follower_id) f ON f.id = u.id "
        "WHERE u.following_count <> COALESCE(f.n, 0)",
        "SELECT COUNT(*) FROM users u LEFT JOIN (SELECT author_id AS id, COUNT(*) AS n FROM "
        "posts WHERE deleted_at IS NULL GROUP BY author_id) x ON x.id = u.id "
        "WHERE u.posts_count <> COALESCE(x.n, 0)",
        "SELECT COUNT(*) FROM posts p LEFT JOIN (SELECT post_id AS id, COUNT(*) AS n FROM "
        "reactions GROUP BY post_id) x ON x.id = p.id WHERE p.reaction_count <> COALESCE(x.n, 0)",
        "SELECT COUNT(*) FROM posts p LEFT JOIN (SELECT post_id AS id, COUNT(*) AS n FROM "
        "comments WHERE deleted_at IS NULL GROUP BY post_id) x ON x.id = p.id "
        "WHERE p.comment_count <> COALESCE(x.n, 0)",
        "SELECT COUNT(*) FROM posts p LEFT JOIN (SELECT post_id AS id, COUNT(*) AS n FROM "
        "saves GROUP BY post_id) x ON x.id = p.id WHERE p.save_count <> COALESCE(x.n, 0)",
        /* replies are one level deep and point into the same post */
        "SELECT COUNT(*) FROM comments c LEFT JOIN comments q ON q.id = c.parent_id "
        "WHERE c.parent_id IS NOT NULL AND (q.id IS NULL OR q.post_id <> c.post_id OR "
        "q.parent_id IS NOT NULL OR q.id >= c.id)",
    };
    static const char *const names[] = {"followers_count", "following_count", "posts_count",
                                        "reaction_count",  "comment_count",   "save_count",
                                        "comment parents"};
    int64_t t0 = monotonic_us();
    int bad = 0;
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        int64_t n;
        if (query_int(d, checks[i], &n) < 0)
            return ERR_DB;
        printf("verify %-16s %lld mismatching rows\n", names[i], (long long)n);
        bad += n != 0;
    }
    if (db_kind_of(d) == DB_SQLITE) {
        /* foreign keys were off while loading (see main), so check them once here */
        static const char *fk = "SELECT COUNT(*) FROM pragma_foreign_key_check";
        int64_t n;
        if (query_int(d, fk, &n) < 0)
            return ERR_DB;
        printf("verify %-16s %lld violations\n", "foreign keys", (long long)n);
        bad += n != 0;
    }
    printf("verify took %.1f s\n", (double)(monotonic_us() - t0) / 1e6);
    return bad ? ERR_INTERNAL : 0;
}

static int cmp_u32_desc(const void *x, const void *y)
{
    return -cmp_u32(x, y);
}

static void print_shape(const plan *p, const options *o)
{
    uint32_t n = p->n_users;
    uint32_t *f = xmalloc(n * sizeof *f);
    for (uint32_t u = 0; u < n; u++)
        f[u] = in_degree(p, u);
    qsort(f, n, sizeof *f, cmp_u32_desc);
    uint32_t none = 0;
    for (uint32_t u = 0; u < n; u++)
        none += f[u] == 0;
    printf("followers: top %u %u %u; 99th percentile %u; median %u; %u users have none\n", f[0],
           n > 1 ? f[1] : 0, n > 2 ? f[2] : 0, f[n / 100], f[n / 2], none);
    for (uint32_t u = 0; u < n; u++)
        f[u] = p->posts_count[u];
    qsort(f, n, sizeof *f, cmp_u32_desc);
    printf("posts per author: top %u, median %u\n", f[0], f[n / 2]);
    uint32_t top_r = 0;
    for (uint32_t i = 0; i < p->n_posts; i++)
        top_r = p->reaction_count[i] > top_r ? p->reaction_count[i] : top_r;
    printf("viewers user000001..user%06lld follow %lld accounts each; most reactions on one "
           "post: %u\n",
           (long long)o->viewers, (long long)o->viewer_follows, top_r);
    free(f);
}

static int write_ids_file(const plan *p, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return ERR_IO;
    }
    /* a uniform sample (reservoir) over every post anyone may read, old and new alike */
    enum { WANT = 10000 };
    int64_t *pick = xmalloc(WANT * sizeof *pick), seen = 0;
    for (uint32_t i = 0; i < p->n_posts; i++) {
        if (p->post_vis[i] != VIS_PUBLIC || p->is_private[p->post_author[i]])
            continue;
        int64_t slot = seen < WANT ? seen : (int64_t)(rng_unit() * (double)(seen + 1));
        if (slot < WANT)
            pick[slot] = p->post_id[i];
        seen++;
    }
    int64_t written = seen < WANT ? seen : WANT;
    for (int64_t k = 0; k < written; k++)
        fprintf(f, "%lld\n", (long long)pick[k]);
    free(pick);
    if (fclose(f) != 0) {
        perror(path);
        return ERR_IO;
    }
    printf("wrote %lld public post ids to %s\n", (long long)written, path);
    return 0;
}

static void database_size(db *d)
{
    static const char *sqlite_sql =
        "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()";
    static const char *pg_sql = "SELECT pg_database_size(current_database())";
    int64_t bytes;
    if (query_int(d, db_kind_of(d) == DB_SQLITE ? sqlite_sql : pg_sql, &bytes) == 0)
        printf("database size: %.2f GiB (%lld bytes)\n", (double)bytes / (1 << 30),
               (long long)bytes);
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 2 : 0;
    if (sodium_init() < 0) {
        fprintf(stderr, "streamhub-seed: libsodium failed to initialize\n");
        return 1;
    }
    int64_t t_start = monotonic_us();
    char err[512];
    db *d = NULL;
    plan p = {0};
    if (db_open(o.database, &d, err, sizeof err) < 0) {
        fprintf(stderr, "streamhub-seed: %s\n", err);
        return 1;
    }
    if ((rc = store_migrate(d, err, sizeof err)) < 0) {
        fprintf(stderr, "streamhub-seed: %s\n", err);
        goto fail;
    }
    int64_t existing;
    if ((rc = query_int(d, "SELECT COUNT(*) FROM users", &existing)) < 0)
        goto fail;
    if (existing) {
        fprintf(stderr, "streamhub-seed: the database already has %lld users; seed an empty "
                        "one (the counters are only exact from scratch)\n",
                (long long)existing);
        rc = ERR_CONFLICT;
        goto fail;
    }
    if (db_kind_of(d) == DB_SQLITE) {
        /* Loading speed only, all through db_exec on this one connection: no fsync (a crash
         * means seeding again), a 1 GiB page cache so the random index inserts stay in memory,
         * and foreign keys off because every reference is constructed valid (--verify runs
         * foreign_key_check). The server's own connections keep their settings. */
        rc = db_exec(d, "PRAGMA synchronous=OFF; PRAGMA cache_size=-1048576;"
                        "PRAGMA foreign_keys=OFF");
    } else {
        /* Commits need not wait for the WAL flush; same reasoning as above. */
        rc = db_exec(d, "SET synchronous_commit = off");
    }
    if (rc < 0) {
        fprintf(stderr, "streamhub-seed: session settings: %s\n", db_errmsg(d));
        goto fail;
    }

    /* One argon2id hash at the server's default cost, shared by every account, so the benchmark
     * can log in as anyone and logins never trigger a rehash. */
    config cfg;
    config_defaults(&cfg);
    char hash[PW_HASH_MAX];
    rc = password_hash(BENCH_PASSWORD, cfg.pw_opslimit, cfg.pw_memlimit_kib, hash);
    config_free(&cfg);
    if (rc < 0) {
        fprintf(stderr, "streamhub-seed: password hash failed\n");
        goto fail;
    }

    printf("streamhub-seed: %s (%s), seed %llu\n", o.database, db_server_version(d),
           (unsigned long long)o.seed);
    rng_seed((uint64_t)o.seed);
    int64_t t_plan = monotonic_us();
    p.n_users = (uint32_t)o.users;
    p.n_posts = (uint32_t)o.posts;
    p.now = now_ms() / 1000 * 1000;
    /* Popularity ranks: a random permutation, so user000001 is not automatically the star. */
    uint32_t *rank_user = xmalloc(p.n_users * sizeof *rank_user);
    for (uint32_t i = 0; i < p.n_users; i++)
        rank_user[i] = i;
    for (uint32_t i = p.n_users - 1; i > 0; i--) {
        uint32_t j = rng_below((uint64_t)i + 1), t = rank_user[i];
        rank_user[i] = rank_user[j];
        rank_user[j] = t;
    }
    plan_users_and_follows(&p, &o, rank_user);
    plan_posts(&p, rank_user);
    plan_engagement(&p, &o);
    free(rank_user);
    printf("planned %u users, %lld follows, %u posts, %lld reactions, %lld comments, %lld saves "
           "in %.1f s\n",
           p.n_users, (long long)p.n_follows, p.n_posts, (long long)p.n_reactions,
           (long long)p.n_comments, (long long)p.n_saves,
           (double)(monotonic_us() - t_plan) / 1e6);
    print_shape(&p, &o);
    fflush(stdout);

    if ((rc = write_users(d, &p, hash, o.batch)) < 0 ||
        (rc = write_follows(d, &p, o.batch)) < 0 || (rc = write_posts(d, &p, o.batch)) < 0 ||
        (rc = write_reactions(d, &p, o.batch)) < 0 ||
        (rc = write_comments(d, &p, o.batch)) < 0 || (rc = write_saves(d, &p, o.batch)) < 0)
        goto fail;

    int64_t t_finish = monotonic_us();
    if (db_kind_of(d) == DB_SQLITE) {
        /* Moves the WAL into the main file so the size below is the whole database. */
        rc = db_exec(d, "PRAGMA wal_checkpoint(TRUNCATE)");
    } else {
        /* What autovacuum would reach soon after a bulk load: planner statistics and the
         * visibility map (index-only scans). */
        rc = db_exec(d, "VACUUM (ANALYZE)");
    }
    if (rc < 0) {
        fprintf(stderr, "streamhub-seed: finishing: %s\n", db_errmsg(d));
        goto fail;
    }
    printf("%-10s %7.1f s\n", db_kind_of(d) == DB_SQLITE ? "checkpoint" : "vacuum",
           (double)(monotonic_us() - t_finish) / 1e6);
    printf("seeded in %.1f s\n", (double)(monotonic_us() - t_start) / 1e6);
    database_size(d);
    if (o.ids_file && (rc = write_ids_file(&p, o.ids_file)) < 0)
        goto fail;
    if (o.verify && (rc = verify(d)) < 0)
        goto fail;
    db_close(d);
    return 0;
fail:
    db_close(d);
    return 1;
}
