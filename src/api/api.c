/* SPDX-License-Identifier: MIT
 *
 * The helpers every resource shares: the ERR_* -> HTTP status mapping, paging, the JSON shapes
 * several resources write. It also owns the worker threads' context (api_worker: one database
 * connection per thread), which the HTTP pools and the hub's workers start with. The routes are
 * declared by each resource file (route.h) and checked by one wrapper (dispatch.c).
 */
#include "api/api.h"

#include "domain/graph.h"

#include "core/id.h"
#include "core/log.h"
#include "core/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const api_env *api_app(http_req *req)
{
    return http_req_app(req);
}

/* The connection is opened by the thread's first request (api_worker_db), not here: a server
 * starts 13 of these threads with the defaults on 2 cores (HTTP, hashing and socket workers),
 * and an idle SQLite connection holds ~150 KiB (schema, page cache), a PostgreSQL one a backend
 * process, for threads a quiet server may never wake. */
void *api_thread_init(void *env)
{
    api_worker *w = xcalloc(1, sizeof *w);
    w->env = env;
    return w;
}

/* WAL readers never wait for the writer; what can still make one wait (a crashed process's WAL
 * being recovered) gets 20 ms on the loop and then answers 503 instead of holding the loop for
 * the workers' 5 s. PostgreSQL is never used from the loop: every statement is a round trip. */
static bool never_waits_to_read(db *d)
{
    if (db_kind_of(d) != DB_SQLITE || db_exec(d, "PRAGMA busy_timeout = 20") < 0)
        return false;
    db_stmt *s = db_prepare(d, "PRAGMA journal_mode");
    bool wal = s && db_step(s) == DB_ROW && db_col_text(s, 0) && !strcmp(db_col_text(s, 0), "wal");
    if (s)
        db_reset(s);
    return wal;
}

void *api_loop_thread_init(void *env)
{
    api_worker *w = api_thread_init(env); /* made at the loop's first point read */
    if (!api_worker_db(w) || !never_waits_to_read(w->db)) {
        api_thread_done(w);
        return NULL;
    }
    return w;
}

db *api_worker_db(api_worker *w)
{
    if (w->db)
        return w->db;
    char err[512];
    if (db_open(w->env->database_url, &w->db, err, sizeof err) < 0) {
        char esc[600];
        log_error("worker cannot open the database", "\"detail\":\"%s\"",
                  log_escape(err, esc, sizeof esc));
        w->db = NULL;
    }
    return w->db;
}

void api_thread_done(void *ctx)
{
    api_worker *w = ctx;
    if (!w)
        return;
    db_close(w->db);
    free(w);
}

db *api_db(http_req *req, http_res *res)
{
    api_worker *w = http_req_ctx(req);
    db *d = w ? api_worker_db(w) : NULL;
    if (!d) {
        http_res_error(res, 503, "database_unavailable", "the database cannot be reached", NULL);
        http_res_header(res, "Retry-After", "1");
    }
    return d;
}

void *api_alloc(http_req *req, http_res *res, size_t n, size_t size)
{
    void *p = arena_calloc(http_req_arena(req), n ? n : 1, size);
    if (!p) {
        char msg[128];
        snprintf(msg, sizeof msg,
                 "the request needs more than the %zu MB of memory one request may use",
                 ARENA_MAX_BYTES >> 20);
        http_res_error(res, 413, "request_too_large", msg, NULL);
    }
    return p;
}

static int status_for(int rc)
{
    switch (rc) {
    case ERR_INVALID: return 422;
    case ERR_NOT_FOUND: return 404;
    case ERR_CONFLICT: return 409;
    case ERR_UNAUTHORIZED: return 401;
    case ERR_FORBIDDEN: return 403;
    case ERR_RATE_LIMITED: return 429;
    case ERR_BUSY: return 503;
    case ERR_GONE: return 410;
    case ERR_TOO_LARGE: return 413;
    case ERR_CHECKSUM: return 460; /* tus checksum extension */
    default: return 500;
    }
}

bool api_bounds_message(const domain_error *err, char *out, size_t n)
{
    const char *r = err->reason ? err->reason : "";
    if (!err->field)
        return false;
    if (!strcmp(r, "too_long") && err->has_max)
        snprintf(out, n, "%s must be at most %" PRId64 " characters", err->field, err->max);
    else if (!strcmp(r, "too_short") && err->has_min)
        snprintf(out, n, "%s must be at least %" PRId64 " characters", err->field, err->min);
    else if (!strcmp(r, "too_many") && err->has_max)
        snprintf(out, n, "%s must hold at most %" PRId64 " items", err->field, err->max);
    else if (!strcmp(r, "out_of_range") && err->has_min && err->has_max)
        snprintf(out, n, "%s must be between %" PRId64 " and %" PRId64, err->field, err->min,
                 err->max);
    else
        return false;
    return true;
}

void api_fail(http_res *res, int rc, const domain_error *err)
{
    int status = status_for(rc);
    const char *code = err && err->code ? err->code : err_name(rc);
    const char *message = err && err->message ? err->message : "the request failed";
    json_t *details = NULL;
    char stated[160];
    if (err && err->field) {
        details = json_pack("{s:s, s:s}", "field", err->field, "reason",
                            err->reason ? err->reason : "invalid");
        if (api_bounds_message(err, stated, sizeof stated))
            message = stated;
        if (err->has_min)
            json_object_set_new(details, "min", json_integer(err->min));
        if (err->has_max)
            json_object_set_new(details, "max", json_integer(err->max));
    } else if (err && err->required_role) {
        details = json_pack("{s:s}", "required_role", err->required_role);
    }
    http_res_error(res, status, code, message, details);
    if (status == 401)
        http_res_header(res, "WWW-Authenticate", "Bearer");
    if (status == 429 || status == 503) {
        char v[16];
        snprintf(v, sizeof v, "%d", err && err->retry_after > 0 ? err->retry_after : 1);
        http_res_header(res, "Retry-After", v);
    }
}

void api_answer_empty(http_res *res, int rc, const domain_error *err)
{
    if (rc < 0)
        api_fail(res, rc, err);
    else
        http_res_empty(res, 204);
}

void api_invalid(http_res *res, const jv_error *err)
{
    domain_error e = {.code = "validation_failed",
                    .message = "a field is invalid",
                    .field = err->field,
                    .reason = err->reason,
                    .min = err->min,
                    .max = err->max,
                    .has_min = err->has_min,
                    .has_max = err->has_max};
    api_fail(res, ERR_INVALID, &e);
}

bool api_auth(http_req *req, http_res *res, db *d, auth_principal *p)
{
    domain_error err = {0};
    int rc = auth_authenticate(api_app(req)->auth, d, http_req_header(req, "Authorization"), p,
                               &err);
    if (rc < 0) {
        api_fail(res, rc, &err);
        return false;
    }
    http_req_set_user(req, p->user.id);
    return true;
}

bool api_precheck_bearer(http_req *req, http_res *res)
{
    access_claims c;
    domain_error err = {0};
    int rc = auth_check_token(api_app(req)->auth, http_req_header(req, "Authorization"), &c, &err);
    if (rc < 0)
        api_fail(res, rc, &err);
    return rc == 0;
}

bool api_page(http_req *req, http_res *res, int64_t *cursor, int *limit)
{
    const char *c = http_req_query(req, "cursor");
    *cursor = 0;
    if (c && *c && !id_parse(c, cursor)) {
        api_invalid(res, &(jv_error){.field = "cursor", .reason = "invalid_format"});
        return false;
    }
    return api_limit(req, res, limit);
}

bool api_limit(http_req *req, http_res *res, int *limit)
{
    const char *l = http_req_query(req, "limit");
    *limit = API_PAGE_DEFAULT;
    if (l && *l) {
        char *end;
        long v = strtol(l, &end, 10);
        if (*end || v < 1 || v > API_PAGE_MAX) {
            api_invalid(res, &(jv_error){.field = "limit",
                                         .reason = "out_of_range",
                                         .min = 1,
                                         .max = API_PAGE_MAX,
                                         .has_min = true,
                                         .has_max = true});
            return false;
        }
        *limit = (int)v;
    }
    return true;
}

void api_send_page(http_res *res, json_t *items, int fetched, int limit, int64_t last_id)
{
    json_t *next = fetched > limit ? json_id(last_id) : json_null();
    http_res_json(res, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
}

void api_user_members(jsonw *w, const store_user *u, bool include_private)
{
    /* the summary every embedded user carries, then what lists of users add */
    api_user_summary_members(w, u);
    jsonw_member_string(w, "role", u->role);
    jsonw_member_time(w, "created_at", u->created_at);
    if (include_private) {
        jsonw_key(w, "email");
        u->email[0] ? jsonw_string(w, u->email) : jsonw_null(w);
        jsonw_key(w, "phone");
        u->phone[0] ? jsonw_string(w, u->phone) : jsonw_null(w);
        jsonw_member_bool(w, "email_verified", u->email_verified_at != 0);
        jsonw_member_bool(w, "has_password", u->password_hash[0] != '\0');
    }
}

json_t *api_user_json(const store_user *u, bool include_private)
{
    buf b = {0};
    jsonw w;
    jsonw_init(&w, &b);
    jsonw_object(&w);
    api_user_members(&w, u, include_private);
    jsonw_end_object(&w);
    json_t *o = json_loadb(b.data, b.len, 0, NULL);
    buf_free(&b);
    return o ? o : json_object();
}

json_t *api_tokens_json(const auth_result *r)
{
    return json_pack("{s:o, s:s, s:s, s:I, s:s, s:I, s:o}", "user", api_user_json(&r->user, true),
                     "token_type", "Bearer", "access_token", r->access_token, "expires_in",
                     (json_int_t)r->access_expires_in, "refresh_token", r->refresh_token,
                     "refresh_expires_in", (json_int_t)r->refresh_expires_in, "session_id",
                     json_id(r->session_id));
}

json_t *api_session_json(const store_session *s, int64_t current_id)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:s, s:s, s:b}", "id", json_id(s->id), "created_at",
                     json_time(s->created_at), "last_used_at", json_time(s->last_used_at),
                     "expires_at", json_time(s->expires_at), "user_agent", s->user_agent, "ip",
                     s->ip, "current", s->id == current_id);
}
