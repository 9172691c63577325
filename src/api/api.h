/* SPDX-License-Identifier: MIT
 *
 * Shared pieces of the API layer: the route table, authentication and role checks, error
 * mapping from domain ERR_* codes to HTTP statuses (the only place that mapping lives), and JSON
 * shapes reused by several resources.
 */
#ifndef STREAMHUB_API_API_H
#define STREAMHUB_API_API_H

#include "core/config.h"
#include "core/json.h"
#include "core/jsonw.h"
#include "domain/auth.h"
#include "domain/chat.h"
#include "domain/feed.h"
#include "domain/media.h"
#include "domain/notify.h"
#include "http/http.h"
#include "services/presence.h"
#include "services/rooms.h"
#include "services/sse.h"

#include <stdbool.h>


#include "api/route.h"


/* What the handlers need of the running application: built by app.c, borrowed by the API for
 * the servers' lifetime, and handed to http/ and ws/ as their opaque `app` pointer. The API is
 * given this narrow struct rather than app * so that api/ never includes app.h (nothing below
 * main/app does; docs/architecture.md). */
typedef struct api_env {
    const config *cfg;
    auth_service *auth;
    const char *database_url;
    const char *database_kind; /* "sqlite" or "postgres" */
    int64_t started_ms;
    /* the realtime services app_open started for serve (NULL in other commands) */
    presence_service *presence;
    rooms_service *rooms;
    sse_service *sse;
} api_env;

/* Per worker-thread context of the HTTP worker pools and the hub's blocking socket commands:
 * the thread's own database connection, opened by its first request. api_thread_init and
 * api_thread_done are the pools' thread_init and thread_done, given the api_env as their
 * argument. */
typedef struct api_worker {
    const api_env *env;
    db *db; /* NULL while the database cannot be reached */
} api_worker;

void *api_thread_init(void *env);
void api_thread_done(void *ctx);
/* The event-loop threads' context for point reads (http_options.loop_thread_init): a connection
 * of the loop's own when the database lets a read never wait (SQLite in WAL mode), else NULL and
 * the pool runs them. Released with api_thread_done. */
void *api_loop_thread_init(void *env);
/* The worker's connection, reconnecting if the last attempt failed; NULL if still unreachable. */
db *api_worker_db(api_worker *w);

const api_env *api_app(http_req *req);
/* The worker's database connection; answers 503 and returns NULL when it is unreachable. */
db *api_db(http_req *req, http_res *res);
/* Authenticates the bearer token; answers 401 and returns false on failure. */
bool api_auth(http_req *req, http_res *res, db *d, auth_principal *p);
/* A precheck (http_precheck_fn) for streamed bodies: a valid, unexpired bearer token. */
bool api_precheck_bearer(http_req *req, http_res *res);
/* n zeroed items of size bytes from the request arena (http_req_arena): freed with the request,
 * never by hand. Past the arena's cap (ARENA_MAX_BYTES) answers 413 and returns NULL. */
void *api_alloc(http_req *req, http_res *res, size_t n, size_t size);
/* Maps a domain failure to its HTTP answer. */
void api_fail(http_res *res, int rc, const domain_error *err);
void api_invalid(http_res *res, const jv_error *err);
/* A message that states the bound a field broke ("caption must be at most 2200 characters");
 * false when err carries none that fits its reason. REST errors and socket errors share it. */
bool api_bounds_message(const domain_error *err, char *out, size_t n);
/* 204 No Content when rc is 0, else the domain failure: the ending of every command endpoint. */
void api_answer_empty(http_res *res, int rc, const domain_error *err);
/* Parses ?cursor= (an id) and ?limit= (1..API_PAGE_MAX); answers 422 on bad values. */
bool api_page(http_req *req, http_res *res, int64_t *cursor, int *limit);
/* Parses ?limit= alone, for lists whose cursor is not an id. */
bool api_limit(http_req *req, http_res *res, int *limit);

/* Answers {"items": items, "next_cursor": ...}: callers fetch limit + 1 rows, and a cursor (the
 * id of the last row shown, last_id) is given only when more rows exist. Steals items. */
void api_send_page(http_res *res, json_t *items, int fetched, int limit, int64_t last_id);

/* The one shape of a user embedded anywhere (post and comment authors, notification actors,
 * conversation members, search results, lists of users), written as object members so callers
 * may add their own: id, handle, display_name (the handle when the user set none), avatar (a
 * signed URL of the small rendition, or null) and verified (holds the "verified" badge). Every
 * statement that reads a user row reads the avatar and badge with it, so this costs no query. */
void api_user_summary_members(jsonw *w, const store_user *u);
/* The same as a jansson object (for handlers that build trees). */
json_t *api_user_summary_json(const store_user *u);
/* A user as lists of users and the account itself show it: the summary, role and created_at;
 * with include_private (the user's own account) email, phone, email_verified, has_password. */
void api_user_members(jsonw *w, const store_user *u, bool include_private);
json_t *api_user_json(const store_user *u, bool include_private);
/* A profile as GET /users/:handle shows it to viewer (0 = anonymous): counts, bio, links, and
 * the relationship for a signed-in viewer; the same shape in every list of users. */
json_t *api_profile_json(db *d, const store_user *u, int64_t viewer);
json_t *api_tokens_json(const auth_result *r);
json_t *api_session_json(const store_session *s, int64_t current_id);

/* Handlers, one file per resource. */
json_t *api_post_json(const store_post *p, const store_user *author);
/* The same JSON written into a stream (feeds and other long lists). */
void api_post_write(jsonw *w, const store_post *p, const store_user *author);
/* Writes posts[i] by authors[i] as a JSON array, each as GET /posts/:id shows it to viewer (0 =
 * anonymous): a signed-in viewer's viewer_reaction and saved, a share's shared_post. The
 * viewer's state and the shares' sources are read for the whole list at once, before anything
 * is written; returns a negative ERR_* (nothing written) when that fails. */
int api_posts_write_items(jsonw *w, db *d, int64_t viewer, const store_post *const *posts,
                          const store_user *const *authors, int n);
/* The same, with extra(w, i, arg) called to write more members into post i's object (For You's
 * reasons) just before it closes. */
typedef void (*api_post_extra)(jsonw *w, int i, void *arg);
int api_posts_write_items_with(jsonw *w, db *d, int64_t viewer, const store_post *const *posts,
                               const store_user *const *authors, int n, api_post_extra extra,
                               void *arg);
/* The same as a jansson array, for lists that add members to each post (reasons, layers); NULL
 * when reading the viewer's state failed. */
json_t *api_posts_json_array(db *d, int64_t viewer, const store_post *const *posts,
                             const store_user *const *authors, int n);
/* Answers {"items": [posts as above], "next_cursor": next (NULL = null)}. */
void api_send_posts_page(http_res *res, db *d, int64_t viewer, const store_post *const *posts,
                         const store_user *const *authors, int n, const char *next);
/* The story groups of a stories page as JSON (GET /stories, the layered home's tray). */
json_t *api_story_groups_json(const feed_story_group *groups, int n);
/* GET /feed/home?mode=layered (api/foryou.c). */
void api_feed_layered(api_ctx *c);
/* Parses a newest-first feed's ?cursor=, ?limit= and ?type=; answers 422 on bad values. */
bool api_feed_query(http_req *req, http_res *res, feed_query *q);
/* Answers a page of an author's posts as viewer (NULL = anonymous) may see them. */
void api_feed_profile(http_res *res, db *d, const store_user *viewer, int64_t author_id,
                      const feed_query *q);



/* The live push of a committed notification (domain/notify's publisher, installed by app.c). */
void api_notifications_publish(const notify_live *live);

/* Realtime (issue 5): the SSE stream (events.c), presence and rooms over REST (live.c) and
 * their socket commands (live_ws.c), over the services of env (services/). api_live_ws_register
 * registers the socket commands (before the hub starts); env outlives the hub. */
void api_live_ws_register(const api_env *env);

/* The user's badges as a JSON array of strings. */
json_t *api_badges_json(db *d, int64_t user_id);
json_t *api_media_json(const store_media *m);
/* Signed URLs (valid MEDIA_URL_TTL_S) of a ready media's files: the HLS master, poster,
 * thumbnails and storyboard of a video, or the display copy and thumbnails of an image. */
json_t *api_media_urls(int64_t id, bool image);
/* --media-post-max: the largest image POST /api/v1/media takes. */
void api_media_set_post_max(int64_t bytes);
/* The domain's media progress listener (media_set_progress_listener): publishes
 * "media.progress" {media_id, state, progress} to the owner. */
void api_media_progress(const media_progress *p);

/* Conversations (DMs and groups): conversations.c over REST, conversations_ws.c on sockets, and
 * the JSON both send (conversations_json.c). */
/* The members of a message to send, the same in POST /conversations/:id/messages and in the
 * socket's message.send (whose data adds conversation_id). api_chat_draft reads a body they
 * checked. */
#define API_CHAT_SEND_FIELDS                                                                   \
    {.name = "text", .type = API_STRING, .max_len = CHAT_TEXT_MAX,                             \
     .about = "the message; may be empty or absent when attachments are sent"},               \
    {.name = "attachments", .type = API_ARRAY, .items = API_ID, .max_len = CHAT_ATTACH_MAX,    \
     .about = "ids of your own media, each once"},                                            \
    {.name = "reply_to", .type = API_ID, .about = "a message of the same conversation"},        \
    {.name = "client_id", .type = API_STRING, .min_len = 1, .max_len = CHAT_CLIENT_ID_MAX,     \
     .about = "makes the send idempotent: the same id again returns the first message with 200"}
/* Fills a draft from a body checked against API_CHAT_SEND_FIELDS; it borrows the strings. */
void api_chat_draft(json_t *body, chat_draft *out);
/* A message as clients see it (REST, socket and pushed events alike). With a database, "media"
 * describes the attachments for recipients (kind, state, signed URLs once ready); d NULL leaves
 * it []. */
json_t *api_chat_message_json(db *d, const store_message *m);
/* The notifier of domain/chat.c (chat_set_notifier, app.c): publishes the notice's envelope
 * {"type","data"} to each recipient's user topic. */
void api_chat_notify(db *d, const chat_notice *notice);
/* The catch-up answer {"messages","changed","has_more","last_id"} shared by GET
 * /api/v1/messages/sync and the socket's "sync"; NULL with *rc < 0 on failure. */
json_t *api_chat_sync_json(db *d, int64_t me, int64_t after, domain_error *err, int *rc);
/* Registers the socket commands of conversations (message.send, typing, read, sync, ...). */
void api_conversations_ws_register(void);
/* Gives the registered socket commands their per-user budgets (--ws-message-rate,
 * --ws-typing-rate, --ws-room-join-rate, --ws-command-rate), after every register call and
 * before the hub starts (realtime.c). */
void api_realtime_limits(const config *cfg);
/* The REST side of the message budget shared with the sockets: false after answering 429
 * rate_limited (Retry-After, details.retry_after_ms) when user's budget is spent. */
bool api_message_budget_allows(http_res *res, int64_t user);
/* GET /api/v1/ws (realtime.c), and the socket commands registered once at startup, before the
 * hub starts: "auth", "ping", "sync" and those of the other realtime resources. */
void api_realtime_register(void);

#endif
