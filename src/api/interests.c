/* SPDX-License-Identifier: MIT
 *
 * The interest graph and "not interested" (domain/interests.h): GET/PUT/DELETE
 * /api/v1/users/me/interests, and POST/DELETE .../not-interested on a post, a creator (by handle)
 * and a hashtag. docs/discovery.md has the weights and the decisions.
 */
#include "api/api.h"

#include "core/id.h"
#include "domain/interests.h"

#include <math.h>

static json_t *weights_json(const interests_weight *w, int n, const char *name)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s, s:f}", name, w[i].item, "weight",
                                           round(w[i].weight * 1000) / 1000));
    return a;
}

static void answer_profile(api_ctx *c)
{
    interests_profile *p = api_alloc(c->req, c->res, 1, sizeof *p);
    if (!p)
        return;
    domain_error err = {0};
    int rc = interests_profile_get(c->db, c->viewer, p, &err);
    if (rc < 0) {
        api_fail(c->res, rc, &err);
        return;
    }
    http_res_json(c->res, 200,
                  json_pack("{s:o, s:o, s:o, s:o, s:o, s:i}", "topics",
                            weights_json(p->topics, p->n_topics, "topic"), "content_types",
                            weights_json(p->types, p->n_types, "type"), "engagement_style",
                            weights_json(p->styles, p->n_styles, "style"), "active_hours",
                            weights_json(p->hours, p->n_hours, "hour_utc"), "creators",
                            weights_json(p->creators, p->n_creators, "user_id"),
                            "half_life_days", INTERESTS_HALF_LIFE_DAYS));
}

static void get_handler(api_ctx *c) { answer_profile(c); }

static void put_handler(api_ctx *c)
{
    json_t *arr = json_object_get(c->body, "topics");
    const char *topics[INTERESTS_SEED_MAX];
    int n = 0;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) topics[n++] = json_string_value(v);
    domain_error err = {0};
    int rc = interests_seed(c->db, c->viewer, topics, n, &err);
    if (rc < 0)
        api_fail(c->res, rc, &err);
    else
        answer_profile(c);
}

static void delete_handler(api_ctx *c)
{
    domain_error err = {0};
    api_answer_empty(c->res, interests_reset(c->db, c->viewer, &err), &err);
}

static void post_mark(api_ctx *c, bool on)
{
    int64_t id;
    domain_error err = {0};
    if (!id_parse(http_req_param(c->req, "id"), &id)) {
        http_res_error(c->res, 404, "post_not_found", "no such post", NULL);
        return;
    }
    api_answer_empty(c->res, interests_not_interested_post(c->db, c->viewer, id, on, &err), &err);
}

static void creator_mark(api_ctx *c, bool on)
{
    domain_error err = {0};
    int rc = interests_not_interested_creator(c->db, c->viewer, http_req_param(c->req, "handle"),
                                              on, &err);
    api_answer_empty(c->res, rc, &err);
}

static void hashtag_mark(api_ctx *c, bool on)
{
    domain_error err = {0};
    int rc = interests_not_interested_hashtag(c->db, c->viewer, http_req_param(c->req, "tag"), on,
                                              &err);
    api_answer_empty(c->res, rc, &err);
}

static void post_on(api_ctx *c) { post_mark(c, true); }
static void post_off(api_ctx *c) { post_mark(c, false); }
static void creator_on(api_ctx *c) { creator_mark(c, true); }
static void creator_off(api_ctx *c) { creator_mark(c, false); }
static void hashtag_on(api_ctx *c) { hashtag_mark(c, true); }
static void hashtag_off(api_ctx *c) { hashtag_mark(c, false); }

static const api_field seed_body[] = {
    {.name = "topics", .type = API_ARRAY, .required = true, .items = API_STRING, .min_len = 1,
     .max_len = INTERESTS_SEED_MAX, .item_max_len = 100,
     .about = "topics chosen at onboarding: hashtag-like words, with or without '#'"},
    {0},
};
static const api_field no_body[] = {{0}};

#define MARK_ABOUT                                                                              \
    "Idempotent. For You, explore, suggested accounts and similar posts leave the target out "  \
    "from the next page on, and the interest profile takes the negative signal "               \
    "(docs/discovery.md); DELETE undoes both."

static const api_route routes[] = {
    {"GET", "/api/v1/users/me/interests", get_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .operation_id = "myInterests",
     .summary = "Your interest profile: topics, content types, engagement style, active hours "
                "and creators, each weight decayed to now",
     .response = "Interests", .response_about = "The profile"},
    {"PUT", "/api/v1/users/me/interests", put_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .body = seed_body, .operation_id = "seedInterests",
     .summary = "Seed topics you chose (onboarding): each gains the weight of a few likes",
     .description = "422 `invalid_topic` for a topic that is not one hashtag-like word.",
     .response = "Interests", .response_about = "The profile"},
    {"DELETE", "/api/v1/users/me/interests", delete_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .operation_id = "resetInterests",
     .summary = "Forget your interest profile (your not-interested marks stay)", .status = 204},
    {"POST", "/api/v1/posts/:id/not-interested", post_on, HTTP_BLOCKING | HTTP_OPTIONAL_BODY,
     API_SIGNED_IN, .body = no_body, .operation_id = "notInterestedPost",
     .summary = "Not interested in this post", .description = MARK_ABOUT, .status = 204},
    {"DELETE", "/api/v1/posts/:id/not-interested", post_off, HTTP_BLOCKING, API_SIGNED_IN,
     .operation_id = "undoNotInterestedPost", .summary = "Undo not interested in a post",
     .status = 204},
    {"POST", "/api/v1/users/:handle/not-interested", creator_on,
     HTTP_BLOCKING | HTTP_OPTIONAL_BODY, API_SIGNED_IN, .body = no_body,
     .operation_id = "notInterestedCreator", .summary = "Not interested in this creator",
     .description = MARK_ABOUT " 422 `self` for your own account.", .status = 204},
    {"DELETE", "/api/v1/users/:handle/not-interested", creator_off, HTTP_BLOCKING, API_SIGNED_IN,
     .operation_id = "undoNotInterestedCreator", .summary = "Undo not interested in a creator",
     .status = 204},
    {"POST", "/api/v1/hashtags/:tag/not-interested", hashtag_on,
     HTTP_BLOCKING | HTTP_OPTIONAL_BODY, API_SIGNED_IN, .body = no_body,
     .operation_id = "notInterestedHashtag", .summary = "Not interested in this hashtag",
     .description = MARK_ABOUT, .status = 204},
    {"DELETE", "/api/v1/hashtags/:tag/not-interested", hashtag_off, HTTP_BLOCKING,
     API_SIGNED_IN, .operation_id = "undoNotInterestedHashtag",
     .summary = "Undo not interested in a hashtag", .status = 204},
};

API_MODULE(interests, "Interests: the profile For You ranks by, and not-interested marks", routes);
