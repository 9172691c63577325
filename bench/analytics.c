// SPDX-License-Identifier: MIT
// Analytics benchmark (docs/BENCHMARKS.md, "Analytics"): fills a fresh database with users,
// video posts and N synthetic events (70% views with watch times and sources, then likes,
// comments, saves, follows, profile views), then times
//   1. the rollup of all N (analytics_rollup, the housekeeping code path),
//   2. the catch-up of one minute at 1,000 events/s (60,000 events) behind the watermark,
//   3. reads of a 90-day daily series of one post and one creator (analytics_post and
//      analytics_creator in-process, without HTTP), for about 3 seconds each.
// usage: streamhub-analytics-bench DATABASE_URL [EVENTS] [USERS] [POSTS] [DAYS]
// DAYS (default 1): the events span the last DAYS days, so a 90-day read meets 90 days of rows.
// BENCH_NO_READS=1 skips step 3 (bench/analytics-http.sh times the reads over HTTP instead).
// BENCH_IMPRESSIONS=P makes P% of the events For You impressions (one per item served, most of
// the log when For You is busy; the other events keep the mix above).
#include "domain/analytics.h"
#include "core/id.h"
#include "core/util.h"
#include "store/db.h"
#include "store/migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL

static uint64_t rng = 88172645463325252ULL;
static uint64_t next_random(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static void must(int rc, db *d, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "%s failed: %s\n", what, db_errmsg(d));
        exit(1);
    }
}

static void fill_accounts(db *d, int users, int posts, int64_t now)
{
    must(db_begin(d), d, "begin");
    for (int i = 1; i <= users; i++) {
        db_stmt *s = db_prepare(d, "INSERT INTO users (id, handle, handle_norm, display_name, "
                                   "created_at, updated_at) VALUES (?, ?, ?, '', ?, ?)");
        char h[32];
        snprintf(h, sizeof h, "u%d", i);
        db_bind_int64(s, 1, i);
        db_bind_text(s, 2, h);
        db_bind_text(s, 3, h);
        db_bind_int64(s, 4, now);
        db_bind_int64(s, 5, now);
        must(db_run(s), d, "user");
    }
    for (int i = 1; i <= posts; i++) {
        db_stmt *s = db_prepare(d, "INSERT INTO posts (id, author_id, type, visibility, "
                                   "created_at, updated_at, media_duration_ms) VALUES "
                                   "(?, ?, 'video', 'public', ?, ?, 30000)");
        db_bind_int64(s, 1, i);
        db_bind_int64(s, 2, 1 + i % (users / 10 + 1));
        db_bind_int64(s, 3, now);
        db_bind_int64(s, 4, now);
        must(db_run(s), d, "post");
    }
    must(db_commit(d), d, "commit");
}

/* n events spread over [from, to), ids ascending. */
static void fill_events(db *d, int64_t n, int users, int posts, int64_t from, int64_t to)
{
    static const char *sources[] = {"for_you", "following", "profile", "search", "hashtag"};
    const char *imp = getenv("BENCH_IMPRESSIONS");
    uint64_t impressions = imp ? (uint64_t)strtoul(imp, NULL, 10) : 0;
    for (int64_t i = 0; i < n;) {
        must(db_begin(d), d, "begin");
        for (int64_t k = 0; k < 20000 && i < n; k++, i++) {
            db_stmt *s =
                db_prepare(d, "INSERT INTO events (id, actor_id, type, object_type, "
                              "object_id, props, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
            int64_t at = from + (to - from) * i / n;
            uint64_t r = next_random();
            int kind = (int)(r % 100);
            int64_t actor = 1 + (int64_t)((r >> 8) % (uint64_t)users);
            int64_t post = 1 + (int64_t)((r >> 32) % (uint64_t)posts);
            char props[160] = "{}";
            const char *type = "view", *object = "post";
            int64_t object_id = post;
            if ((r >> 56) % 100 < impressions) {
                type = "impression";
                snprintf(props, sizeof props,
                         "{\"position\":%d,\"source\":\"trending\",\"session\":\"%d\"}",
                         (int)(r % 15), (int)((r >> 8) % 100000));
            } else if (kind < 70) {
                int64_t watch = (int64_t)((r >> 20) % 30000);
                snprintf(props, sizeof props,
                         "{\"watch_ms\":%lld,\"completed\":%s,\"source\":\"%s\","
                         "\"post_type\":\"video\",\"counted\":%s}",
                         (long long)watch, watch > 29000 ? "true" : "false", sources[(r >> 40) % 5],
                         (r >> 50) % 3 ? "true" : "false");
            } else if (kind < 85)
                type = "like";
            else if (kind < 90)
                type = "comment";
            else if (kind < 93)
                type = "save";
            else if (kind < 97) {
                type = "follow", object = "user", object_id = 1 + post % (users / 10 + 1);
            } else {
                type = "profile_view", object = "user", object_id = 1 + post % (users / 10 + 1);
            }
            db_bind_int64(s, 1, ((at - ID_EPOCH_MS) << 22) + (i & 0x3fffff));
            db_bind_int64(s, 2, actor);
            db_bind_text(s, 3, type);
            db_bind_text(s, 4, object);
            db_bind_int64(s, 5, object_id);
            db_bind_text(s, 6, props);
            db_bind_int64(s, 7, at);
            must(db_run(s), d, "event");
        }
        must(db_commit(d), d, "commit");
    }
}

static double time_rollup(db *d, int64_t now, int64_t *folded)
{
    int64_t t0 = monotonic_us();
    must(analytics_rollup(d, now, 0, folded), d, "rollup");
    return (double)(monotonic_us() - t0) / 1e6;
}

static void time_reads(db *d, const char *what, bool post, int64_t now)
{
    store_user admin = {.id = 1};
    snprintf(admin.role, sizeof admin.role, "admin");
    analytics_range r = {.from = now - 89 * DAY_MS, .to = now, .bucket_ms = DAY_MS};
    domain_error err = {0};
    analytics_range_check(&r, &err);
    int64_t t0 = monotonic_us(), n = 0, worst = 0;
    while (monotonic_us() - t0 < 3000000) {
        int64_t t = monotonic_us();
        analytics_series s;
        int rc = post ? analytics_post(d, &admin, 1, &r, &s, &err)
                      : analytics_creator(d, &admin, &r, &s, &err);
        must(rc, d, what);
        analytics_series_free(&s);
        if (monotonic_us() - t > worst)
            worst = monotonic_us() - t;
        n++;
    }
    double secs = (double)(monotonic_us() - t0) / 1e6;
    printf("%s: %lld reads in %.1f s = %.0f/s on one thread, mean %.2f ms, worst %.2f ms\n", what,
           (long long)n, secs, (double)n / secs, secs * 1000 / (double)n, (double)worst / 1000);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DATABASE_URL [EVENTS] [USERS] [POSTS] [DAYS]\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int64_t events = argc > 2 ? atoll(argv[2]) : 1000000;
    int users = argc > 3 ? atoi(argv[3]) : 100000, posts = argc > 4 ? atoi(argv[4]) : 20000;
    int days = argc > 5 ? atoi(argv[5]) : 1;
    if (days < 1 || days > 365) {
        fprintf(stderr, "DAYS: 1 to 365\n");
        return 2;
    }
    db *d;
    char err[256];
    if (db_open(argv[1], &d, err, sizeof err) < 0 || store_migrate(d, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    analytics_configure(&(analytics_settings){.settle_ms = 0});
    int64_t now = now_ms();
    fill_accounts(d, users, posts, now);
    int64_t t0 = monotonic_us();
    fill_events(d, events, users, posts, now - days * DAY_MS, now - 120000);
    printf("filled %lld events in %.1f s\n", (long long)events,
           (double)(monotonic_us() - t0) / 1e6);
    int64_t folded;
    double secs = time_rollup(d, now, &folded);
    printf("rollup: %lld events in %.2f s = %.0f events/s\n", (long long)folded, secs,
           (double)folded / secs);
    fill_events(d, 60000, users, posts, now - 60000, now);
    secs = time_rollup(d, now + 1, &folded);
    printf("catch-up of one minute at 1,000/s: %lld events in %.3f s\n", (long long)folded, secs);
    const char *no_reads = getenv("BENCH_NO_READS");
    if (!no_reads || strcmp(no_reads, "1") != 0) {
        time_reads(d, "post 90-day daily series", true, now);
        time_reads(d, "creator 90-day daily series", false, now);
    }
    db_close(d);
    return 0;
}
