/* SPDX-License-Identifier: MIT
 *
 * Pinned posts: PUT/DELETE /api/v1/posts/:id/pin and GET /api/v1/users/:handle/pins (the rules
 * are domain/pins.h). The worked example of docs/architecture.md, "How to add a module".
 */
#include "api/api.h"

#include "core/id.h"
#include "domain/pins.h"

static bool post_id(api_ctx *c, int64_t *id)
{
    if (id_parse(http_req_param(c->req, "id"), id))
        return true;
    http_res_error(c->res, 404, "post_not_found", "no such post", NULL);
    return false;
}

static void set_pin(api_ctx *c, bool on)
{
    int64_t id;
    if (!post_id(c, &id))
        return;
    domain_error err = {0};
    api_answer_empty(c->res, pins_set(c->db, &c->principal.user, id, on, &err), &err);
}

static void pin_handler(api_ctx *c) { set_pin(c, true); }
static void unpin_handler(api_ctx *c) { set_pin(c, false); }

static void list_handler(api_ctx *c)
{
    pinned_post pins[PINS_MAX];
    domain_error err = {0};
    int n = pins_list(c->db, c->viewer, http_req_param(c->req, "handle"), pins, &err);
    if (n < 0) {
        api_fail(c->res, n, &err);
        return;
    }
    const store_post *posts[PINS_MAX];
    const store_user *authors[PINS_MAX];
    for (int i = 0; i < n; i++) {
        posts[i] = &pins[i].post;
        authors[i] = &pins[i].author;
    }
    api_send_posts_page(c->res, c->db, c->viewer, posts, authors, n, NULL);
}

static const api_field no_body[] = {{0}};

static const api_route routes[] = {
    {"PUT", "/api/v1/posts/:id/pin", pin_handler, HTTP_BLOCKING | HTTP_OPTIONAL_BODY,
     API_SIGNED_IN, .body = no_body, .operation_id = "pinPost",
     .summary = "Pin one of your posts to the top of your profile (at most 3; idempotent)",
     .description = "403 `not_author` for another's post, 409 `not_pinnable` for a story, "
                    "409 `too_many_pins` when three are pinned already.",
     .status = 204, .errors = "403 409"},
    {"DELETE", "/api/v1/posts/:id/pin", unpin_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .operation_id = "unpinPost", .summary = "Unpin one of your posts (idempotent)",
     .status = 204},
    {"GET", "/api/v1/users/:handle/pins", list_handler, HTTP_BLOCKING, API_OPTIONAL,
     .operation_id = "userPins",
     .summary = "A profile's pinned posts, the latest pinned first",
     .description = "Only the pinned posts the caller may see; `next_cursor` is always null.",
     .response = "page:Post", .response_about = "The pinned posts"},
};

API_MODULE(pins, "Pinned posts: up to three of a creator's posts at the top of their profile",
           routes);
