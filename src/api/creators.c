/* SPDX-License-Identifier: MIT
 *
 * Creator scores as clients see them (docs/analytics.md): GET /api/v1/users/:handle/creator-stats
 * (public score, tier and rank; the creator and admins also get the breakdown and history),
 * GET /api/v1/leaderboards, and POST /api/v1/admin/analytics/snapshots, which runs the daily
 * snapshot job now (with a given time under --test-clock only).
 */
#include "api/api.h"

#include "core/util.h"
#include "domain/creator_stats.h"

#include <stdlib.h>
#include <string.h>

static json_t *inputs_json(const store_creator_inputs *in)
{
    return json_pack("{sI sI sI sI sI sI sI}", "views", (json_int_t)in->views, "plays",
                     (json_int_t)in->plays, "engagements", (json_int_t)in->engagements,
                     "completions", (json_int_t)in->completions, "followers_net",
                     (json_int_t)in->followers_net, "posting_days", (json_int_t)in->posting_days,
                     "tips", (json_int_t)in->tips);
}

static json_t *snapshot_json(const store_creator_snapshot *s, bool with_inputs)
{
    json_t *o =
        json_pack("{so sf ss sI}", "day", json_time(s->day), "score",
                  (double)s->score_tenths / 10.0, "tier", s->tier, "rank", (json_int_t)s->rank);
    if (with_inputs)
        json_object_set_new(o, "inputs", inputs_json(&s->in));
    return o;
}

static void stats_handler(api_ctx *c)
{
    store_user user;
    creator_stats st;
    domain_error err = {0};
    int rc = creator_stats_get(c->db, c->authed ? &c->principal.user : NULL,
                               http_req_param(c->req, "handle"), &user, &st, &err);
    if (rc < 0) {
        api_fail(c->res, rc, &err);
        return;
    }
    json_t *o = json_pack("{so}", "user", api_user_summary_json(&user));
    if (!st.has_score) {
        json_object_set_new(o, "score", json_real(CREATOR_SCORE_NEUTRAL));
        json_object_set_new(o, "tier", json_null());
        json_object_set_new(o, "rank", json_null());
        json_object_set_new(o, "day", json_null());
    } else {
        json_t *latest = snapshot_json(&st.latest, false);
        json_object_update(o, latest);
        json_decref(latest);
    }
    if (st.private_view && st.has_score) {
        json_t *parts = json_array(), *history = json_array();
        for (int k = 0; k < SCORE__COMPONENTS; k++)
            json_array_append_new(
                parts, json_pack("{ss sf sf}", "component", creator_score_components[k], "weight",
                                 creator_score_weights[k], "percentile", st.percentiles[k]));
        for (int i = 0; i < st.n_history; i++)
            json_array_append_new(history, snapshot_json(&st.history[i], true));
        json_object_set_new(o, "breakdown", parts);
        json_object_set_new(o, "inputs", inputs_json(&st.latest.in));
        json_object_set_new(o, "history", history);
    }
    creator_stats_free(&st);
    http_res_json(c->res, 200, o);
}

static void leaderboard_handler(api_ctx *c)
{
    int limit;
    if (!api_limit(c->req, c->res, &limit))
        return;
    const char *metric = http_req_query(c->req, "metric"),
               *period = http_req_query(c->req, "period");
    metric = metric ? metric : "score";
    period = period ? period : "week";
    leaderboard_entry *rows = api_alloc(c->req, c->res, (size_t)limit, sizeof *rows);
    if (!rows)
        return;
    char next[64];
    domain_error err = {0};
    int n = leaderboard_page(c->db, metric, period, http_req_query(c->req, "topic"),
                             http_req_query(c->req, "cursor"), limit, now_ms(), rows, next, &err);
    if (n < 0) {
        api_fail(c->res, n, &err);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n; i++) {
        bool score = !strcmp(metric, "score");
        json_array_append_new(
            items,
            json_pack("{sI so so}", "rank", (json_int_t)rows[i].rank, "user",
                      api_user_summary_json(&rows[i].user), "value",
                      score ? json_real(rows[i].value / 10.0) : json_integer(rows[i].value)));
    }
    http_res_json(c->res, 200,
                  json_pack("{so so}", "items", items, "next_cursor",
                            next[0] ? json_string(next) : json_null()));
}

static void snapshots_handler(api_ctx *c)
{
    int64_t now = now_ms();
    if (api_body_has(c, "now")) {
        if (!creator_stats_test_clock()) {
            domain_error err = {0};
            api_fail(c->res, domain_invalid(&err, "now", "test_clock_off"), &err);
            return;
        }
        now = api_body_int(c, "now", now);
    }
    int days = 0;
    if (creator_snapshots_run(c->db, now, &days) < 0) {
        http_res_error(c->res, 503, "snapshots_failed",
                       "the snapshot job failed; it resumes "
                       "next round",
                       NULL);
        return;
    }
    http_res_json(c->res, 200, json_pack("{si}", "days", days));
}

static const api_field leaderboard_query[] = {
    {.name = "metric",
     .type = API_STRING,
     .values = leaderboard_metrics,
     .about = "score (the latest daily snapshot; period ignored), views, growth (followers "
              "gained minus lost) or tips (empty until the wallet exists); default score"},
    {.name = "period",
     .type = API_STRING,
     .values = leaderboard_periods,
     .about = "day (today, UTC), week (7 days), month (30 days) or all; default week"},
    {.name = "topic",
     .type = API_STRING,
     .max_len = 100,
     .about = "a hashtag: only creators who posted under it"},
    {.name = "cursor",
     .type = API_STRING,
     .max_len = 64,
     .about = "next_cursor of the previous page"},
    {.name = "limit",
     .type = API_INT,
     .bounded = true,
     .minimum = 1,
     .maximum = API_PAGE_MAX,
     .about = "entries per page (default 20)"},
    {0}};
static const api_field snapshots_body[] = {
    {.name = "now",
     .type = API_INT,
     .bounded = true,
     .minimum = 0,
     .maximum = INT64_MAX / 2,
     .about = "TESTS ONLY (--test-clock): the time to run at, epoch ms"},
    {0}};

static const api_route routes[] = {
    {"GET", "/api/v1/users/:handle/creator-stats", stats_handler, HTTP_BLOCKING, API_OPTIONAL,
     .operation_id = "creatorStats",
     .summary = "A creator's score (0-100), tier and rank; the creator and admins also get the "
                "breakdown, inputs and history",
     .description = "Without a snapshot yet: the neutral score 50 and null tier and rank.",
     .response = "CreatorStats", .response_about = "The creator's stats", .errors = "404"},
    {"GET", "/api/v1/leaderboards", leaderboard_handler, HTTP_BLOCKING, API_OPTIONAL,
     .query = leaderboard_query, .operation_id = "leaderboards",
     .summary = "Creators ranked by score, views, growth or tips, with cursor pagination",
     .description = "Private accounts are left out. 422 names `metric`, `period`, `topic` or "
                    "`cursor`.",
     .response = "Leaderboard", .response_about = "A page of ranked creators"},
    {"POST", "/api/v1/admin/analytics/snapshots", snapshots_handler,
     HTTP_BLOCKING | HTTP_OPTIONAL_BODY, API_SIGNED_IN, .role = "admin", .body = snapshots_body,
     .operation_id = "creatorSnapshots",
     .summary = "Compute the creator snapshots of the days that ended (admins; idempotent)",
     .response = "SnapshotResult", .response_about = "How many days were computed"},
};

API_MODULE(creators, "Creator scores, tiers and leaderboards", routes);
