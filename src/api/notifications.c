/* SPDX-License-Identifier: MIT
 *
 * /api/v1/notifications: the caller's notifications (grouped, newest first), the unread count,
 * marking read, and per-type preferences. Also the live pushes (api_notifications_publish, the
 * publisher app.c installs in domain/notify): a notification reaches the socket and the event
 * stream in the same shape as the list shows it, so a client renders both with the same code.
 */
#include "api/api.h"

#include "core/bus.h"
#include "core/id.h"
#include "domain/notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The most ids one POST /notifications/read marks. */
#define READ_IDS_MAX 100

static json_t *notification_json(const notify_item *it)
{
    const store_notification *x = &it->n;
    char text[400];
    notify_summary(it, text, sizeof text);
    return json_pack(
        "{s:o, s:s, s:o, s:I, s:o, s:o, s:s, s:b, s:o, s:o}", "id", json_id(x->id), "type", x->type,
        "actor", api_user_summary_json(&it->actor), "actor_count", (json_int_t)x->actor_count,
        "post_id", x->post_id ? json_id(x->post_id) : json_null(), "comment_id",
        x->comment_id ? json_id(x->comment_id) : json_null(), "text", text, "read", x->read_at != 0,
        "created_at", json_time(x->created_at), "updated_at", json_time(x->updated_at));
}

/* To "user:<recipient>": {"type":"notification","data":<list item>}, then
 * {"type":"notifications.unread","data":{"count":N}}. */
void api_notifications_publish(const notify_live *live)
{
    bus_publish_user(live->recipient, "notification", notification_json(&live->item));
    if (live->unread >= 0)
        bus_publish_user(live->recipient, "notifications.unread",
                         json_pack("{s:I}", "count", (json_int_t)live->unread));
}

static void notifications_list_handler(api_ctx *c)
{
    int64_t cursor, next;
    int limit;
    if (!api_page(c->req, c->res, &cursor, &limit))
        return;
    notify_item *list = api_alloc(c->req, c->res, (size_t)limit, sizeof *list);
    if (!list)
        return;
    int n = notify_list(c->db, c->viewer, cursor, limit, list, &next);
    if (n < 0) {
        api_fail(c->res, ERR_DB, NULL);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(items, notification_json(&list[i]));
    http_res_json(c->res, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor",
                                         next ? json_id(next) : json_null()));
}

static void notifications_unread_handler(api_ctx *c)
{
    int64_t n = notify_unread(c->db, c->viewer);
    if (n < 0) {
        api_fail(c->res, ERR_DB, NULL);
        return;
    }
    http_res_json(c->res, 200, json_pack("{s:I}", "unread", (json_int_t)n));
}

/* Exactly one of ids and all: the declaration cannot say so. */
static void notifications_read_handler(api_ctx *c)
{
    bool all = api_body_bool(c, "all") == 1;
    json_t *ids = json_object_get(c->body, "ids");
    if (all && ids) {
        api_invalid(c->res, &(jv_error){.field = "ids", .reason = "not_allowed_with_all"});
        return;
    }
    if (!all && !json_is_array(ids)) {
        api_invalid(c->res, &(jv_error){.field = "ids", .reason = "required"});
        return;
    }
    int64_t list[READ_IDS_MAX];
    int n = 0;
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) {
        if (id_parse(json_string_value(v), &list[n]))
            n++;
    }
    domain_error err = {0};
    int rc = notify_mark_read(c->db, c->viewer, list, all ? -1 : n, &err);
    if (rc < 0) {
        api_fail(c->res, rc, &err);
        return;
    }
    int64_t unread = notify_unread(c->db, c->viewer);
    http_res_json(c->res, 200,
                  json_pack("{s:I}", "unread", (json_int_t)(unread < 0 ? 0 : unread)));
}

static json_t *prefs_json(db *d, int64_t user_id)
{
    json_t *o = json_object();
    for (const char *const *t = notify_types; *t; t++)
        json_object_set_new(o, *t, json_boolean(notify_pref_wanted(d, user_id, *t)));
    return o;
}

static void notifications_prefs_handler(api_ctx *c)
{
    http_res_json(c->res, 200, prefs_json(c->db, c->viewer));
}

/* Body: {"like": false, "follow": true, ...}; absent types keep their setting. A null is no
 * setting (the declaration would take it for an absent member). */
static void notifications_set_prefs_handler(api_ctx *c)
{
    for (const char *const *t = notify_types; *t; t++)
        if (api_body_has(c, *t) && api_body_bool(c, *t) < 0) {
            api_invalid(c->res, &(jv_error){.field = *t, .reason = "must_be_boolean"});
            return;
        }
    for (const char *const *t = notify_types; *t; t++) {
        int wanted = api_body_bool(c, *t);
        if (wanted < 0)
            continue;
        domain_error err = {0};
        int rc = notify_pref_set(c->db, c->viewer, *t, wanted, &err);
        if (rc < 0) {
            api_fail(c->res, rc, &err);
            return;
        }
    }
    http_res_json(c->res, 200, prefs_json(c->db, c->viewer));
}

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

static const api_field page_query[] = {API_PAGE_QUERY, {0}};
static const api_field read_body[] = {
    {.name = "ids", .type = API_ARRAY, .max_len = READ_IDS_MAX, .items = API_ID,
     .about = "the notifications to mark read; ids of others are ignored"},
    {.name = "all", .type = API_BOOL, .about = "true marks every notification read (without ids)"},
    {0},
};
#define PREF_FIELD(kind) {.name = #kind, .type = API_BOOL},
static const api_field prefs_body[] = {NOTIFY_TYPES(PREF_FIELD) {0}};
#undef PREF_FIELD

static const api_route routes[] = {
    {"GET", "/api/v1/notifications", notifications_list_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .query = page_query, .operation_id = "notifications",
     .summary = "Your notifications, newest first, grouped", .response = "page:Notification",
     .response_about = "A page of notifications"},
    {"GET", "/api/v1/notifications/unread-count", notifications_unread_handler, HTTP_BLOCKING,
     API_SIGNED_IN, .operation_id = "unreadNotifications",
     .summary = "How many notifications are unread (of those the list shows; at most " STRINGIFY(
         NOTIFY_UNREAD_MAX) ")",
     .response = "UnreadCount", .response_about = "The count"},
    {"POST", "/api/v1/notifications/read", notifications_read_handler, HTTP_BLOCKING,
     API_SIGNED_IN, .body = read_body, .operation_id = "markNotificationsRead",
     .summary = "Mark some (ids, up to " STRINGIFY(READ_IDS_MAX) ") or all notifications read",
     .description = "Exactly one of `ids` and `all: true`: 422 `validation_failed` on field "
                    "`ids` with reason `required` (neither) or `not_allowed_with_all` (both).",
     .response = "UnreadCount", .response_about = "The unread count after"},
    {"GET", "/api/v1/notifications/preferences", notifications_prefs_handler, HTTP_BLOCKING,
     API_SIGNED_IN, .operation_id = "notificationPrefs",
     .summary = "Which notification types you receive", .response = "NotificationPrefs",
     .response_about = "The preferences"},
    {"PATCH", "/api/v1/notifications/preferences", notifications_set_prefs_handler,
     HTTP_BLOCKING, API_SIGNED_IN, .body = prefs_body, .operation_id = "setNotificationPrefs",
     .summary = "Turn notification types on or off",
     .description = "One boolean per notification type; absent types keep their setting.",
     .response = "NotificationPrefs", .response_about = "The preferences"},
};

API_MODULE(notifications, "Notifications", routes);
