/* SPDX-License-Identifier: MIT
 *
 * /api/v1/auth: parse and validate input, call domain/auth, shape the JSON answer.
 */
#include "api/api.h"

#include "core/id.h"

#include <string.h>

#define STR_MAX_EMAIL 254
#define STR_MAX_HANDLE 30
#define STR_MAX_PASSWORD 128
#define STR_MAX_TOKEN 128
#define OTP_CHANNEL_MAX 16 /* "email" or "sms"; room for the names of later adapters */

static auth_client client_of(http_req *req)
{
    return (auth_client){http_req_client_ip(req), http_req_header(req, "User-Agent")};
}

/* Reads string fields in order; answers 422 for the first bad one. */
typedef struct field_spec {
    const char *name;
    bool required;
    size_t max_chars;
    const char **out;
} field_spec;

static bool read_fields(http_req *req, http_res *res, const field_spec *specs, size_t n)
{
    json_t *body = http_req_json(req);
    jv_error err;
    for (size_t i = 0; i < n; i++) {
        *specs[i].out = NULL;
        if (!body) {
            if (specs[i].required) {
                api_invalid(res, &(jv_error){.field = specs[i].name, .reason = "required"});
                return false;
            }
            continue;
        }
        if (!jv_string(body, specs[i].name, specs[i].required, 0, specs[i].max_chars,
                       specs[i].out, &err)) {
            api_invalid(res, &err);
            return false;
        }
    }
    return true;
}

#define FIELDS(...) ((const field_spec[]){__VA_ARGS__}), \
    sizeof((const field_spec[]){__VA_ARGS__}) / sizeof(field_spec)

/* Answers with a fresh token pair (and whether an account was created), or the domain error. */
static void answer_tokens(http_res *res, int rc, const domain_error *err, const auth_result *r,
                          int ok_status)
{
    if (rc < 0) {
        api_fail(res, rc, err);
        return;
    }
    json_t *body = api_tokens_json(r);
    json_object_set_new(body, "created", json_boolean(r->created));
    http_res_json(res, ok_status, body);
}

void api_auth_register(http_req *req, http_res *res)
{
    const char *email, *handle, *password, *display_name;
    if (!read_fields(req, res, FIELDS({"email", true, STR_MAX_EMAIL, &email},
                                      {"handle", true, STR_MAX_HANDLE, &handle},
                                      {"password", true, STR_MAX_PASSWORD, &password},
                                      {"display_name", false, 64, &display_name})))
        return;
    db *d = api_db(req, res);
    if (!d)
        return;
    auth_result r = {0};
    domain_error err = {0};
    auth_client c = client_of(req);
    int rc = auth_register(api_app(req)->auth, d, email, handle, password, display_name, &c, &r,
                           &err);
    if (rc == 0)
        http_req_set_user(req, r.user.id);
    answer_tokens(res, rc, &err, &r, 201);
}

void api_auth_login(http_req *req, http_res *res)
{
    const char *login, *email, *handle, *password;
    if (!read_fields(req, res, FIELDS({"login", false, STR_MAX_EMAIL, &login},
                                      {"email", false, STR_MAX_EMAIL, &email},
                                      {"handle", false, STR_MAX_EMAIL, &handle},
                                      {"password", true, STR_MAX_PASSWORD, &password})))
        return;
    const char *identifier = login ? login : email ? email : handle;
    if (!identifier) {
        api_invalid(res, &(jv_error){.field = "login", .reason = "required"});
        return;
    }
    db *d = api_db(req, res);
    if (!d)
        return;
    auth_result r = {0};
    domain_error err = {0};
    auth_client c = client_of(req);
    int rc = auth_login(api_app(req)->auth, d, identifier, password, &c, &r, &err);
    if (rc == 0)
        http_req_set_user(req, r.user.id);
    answer_tokens(res, rc, &err, &r, 200);
}

void api_auth_refresh(http_req *req, http_res *res)
{
    const char *token;
    if (!read_fields(req, res, FIELDS({"refresh_token", true, STR_MAX_TOKEN, &token})))
        return;
    db *d = api_db(req, res);
    if (!d)
        return;
    auth_result r = {0};
    domain_error err = {0};
    auth_client c = client_of(req);
    int rc = auth_refresh(api_app(req)->auth, d, token, &c, &r, &err);
    if (rc == 0)
        http_req_set_user(req, r.user.id);
    answer_tokens(res, rc, &err, &r, 200);
}

void api_auth_logout(http_req *req, http_res *res)
{
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    if (auth_logout(api_app(req)->auth, d, &p) < 0) {
        api_fail(res, ERR_DB, NULL);
        return;
    }
    http_res_empty(res, 204);
}

void api_auth_logout_all(http_req *req, http_res *res)
{
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    int revoked = 0;
    if (auth_logout_all(api_app(req)->auth, d, &p, &revoked) < 0) {
        api_fail(res, ERR_DB, NULL);
        return;
    }
    http_res_json(res, 200, json_pack("{s:i}", "revoked", revoked));
}

void api_auth_sessions(http_req *req, http_res *res)
{
    int64_t cursor;
    int limit;
    if (!api_page(req, res, &cursor, &limit))
        return;
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    store_session *list = api_alloc(req, res, (size_t)limit + 1, sizeof *list);
    if (!list)
        return;
    int n = auth_list_sessions(api_app(req)->auth, d, &p, cursor, list, limit + 1);
    if (n < 0) {
        api_fail(res, ERR_DB, NULL);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, api_session_json(&list[i], p.session_id));
    api_send_page(res, items, n, limit, n > limit ? list[limit - 1].id : 0);
}

void api_auth_session_delete(http_req *req, http_res *res)
{
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    int64_t id;
    if (!id_parse(http_req_param(req, "id"), &id)) {
        http_res_error(res, 404, "session_not_found", "no such session", NULL);
        return;
    }
    domain_error err = {0};
    int rc = auth_revoke_session(api_app(req)->auth, d, &p, id, &err);
    api_answer_empty(res, rc, &err);
}

void api_auth_me(http_req *req, http_res *res)
{
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    json_t *u = api_user_json(&p.user, true);
    json_object_set_new(u, "session_id", json_id(p.session_id));
    http_res_json(res, 200, u);
}

void api_auth_password(http_req *req, http_res *res)
{
    const char *current, *next;
    if (!read_fields(req, res, FIELDS({"current_password", true, STR_MAX_PASSWORD, &current},
                                      {"new_password", true, 0, &next})))
        return;
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    domain_error err = {0};
    int rc = auth_change_password(api_app(req)->auth, d, &p, current, next, &err);
    api_answer_empty(res, rc, &err);
}

void api_auth_verify_request(http_req *req, http_res *res)
{
    db *d = api_db(req, res);
    auth_principal p;
    if (!d || !api_auth(req, res, d, &p))
        return;
    domain_error err = {0};
    int rc = auth_request_email_verification(api_app(req)->auth, d, &p, &err);
    if (rc < 0) {
        api_fail(res, rc, &err);
        return;
    }
    http_res_json(res, 202, json_pack("{s:s}", "status", "sent"));
}

void api_auth_verify(http_req *req, http_res *res)
{
    const char *token;
    if (!read_fields(req, res, FIELDS({"token", true, STR_MAX_TOKEN, &token})))
        return;
    db *d = api_db(req, res);
    if (!d)
        return;
    store_user u;
    domain_error err = {0};
    /* An optional token: the account's own session verifying keeps its password and sessions. A
     * token that does not authenticate is ignored (the code alone is the credential here). */
    auth_principal caller;
    domain_error ignored = {0};
    const char *authorization = http_req_header(req, "Authorization");
    bool has_caller = authorization && auth_authenticate(api_app(req)->auth, d, authorization,
                                                         &caller, &ignored) == 0;
    bool claimed;
    int rc = auth_verify_email(api_app(req)->auth, d, token, has_caller ? &caller : NULL, &u,
                               &claimed, &err);
    if (rc < 0) {
        api_fail(res, rc, &err);
        return;
    }
    http_res_json(res, 200,
                  json_pack("{s:b, s:b, s:o}", "verified", 1, "sessions_ended", claimed, "user",
                            api_user_json(&u, false)));
}

void api_auth_forgot(http_req *req, http_res *res)
{
    const char *email;
    if (!read_fields(req, res, FIELDS({"email", true, STR_MAX_EMAIL, &email})))
        return;
    db *d = api_db(req, res);
    if (!d)
        return;
    domain_error err = {0};
    int rc = auth_forgot_password(api_app(req)->auth, d, email, http_req_client_ip(req), &err);
    /* Database trouble is not revealed either: the answer is the same for every address. */
    if (rc == ERR_INVALID || rc == ERR_RATE_LIMITED) {
        api_fail(res, rc, &err);
        return;
    }
    http_res_json(res, 202, json_pack("{s:s}", "status", "if the account exists, a reset code was sent"));
}

void api_auth_reset(http_req *req, http_res *res)
{
    const char *token, *password;
    if (!read_fields(req, res, FIELDS({"token", true, STR_MAX_TOKEN, &token},
                                      {"new_password", true, 0, &password})))
        return;
    db *d = api_db(req, res);
    if (!d)
        return;
    domain_error err = {0};
    int rc = auth_reset_password(api_app(req)->auth, d, token, password, &err);
    api_answer_empty(res, rc, &err);
}

void api_auth_otp_request(http_req *req, http_res *res)
{
    const char *email, *phone, *channel;
    if (!read_fields(req, res,
                     FIELDS({"email", false, STR_MAX_EMAIL, &email}, {"phone", false, 16, &phone},
                            {"channel", false, OTP_CHANNEL_MAX, &channel})))
        return;
    db *d = api_db(req, res);
    if (!d)
        return;
    domain_error err = {0};
    int rc = auth_otp_request(api_app(req)->auth, d, email, phone, channel, http_req_client_ip(req),
                              &err);
    if (rc < 0) {
        api_fail(res, rc, &err);
        return;
    }
    http_res_json(res, 202,
                  json_pack("{s:s, s:I}", "status", "sent", "expires_in",
                            (json_int_t)api_app(req)->cfg->code_ttl));
}

void api_auth_otp_verify(http_req *req, http_res *res)
{
    const char *email, *phone, *code, *handle, *display_name;
    if (!read_fields(req, res, FIELDS({"email", false, STR_MAX_EMAIL, &email},
                                      {"phone", false, 16, &phone},
                                      {"code", true, 6, &code},
                                      {"handle", false, STR_MAX_HANDLE, &handle},
                                      {"display_name", false, 64, &display_name})))
        return;
    db *d = api_db(req, res);
    if (!d)
        return;
    auth_result r = {0};
    domain_error err = {0};
    auth_client c = client_of(req);
    int rc = auth_otp_verify(api_app(req)->auth, d, email, phone, code, handle, display_name, &c,
                             &r, &err);
    if (rc == 0)
        http_req_set_user(req, r.user.id);
    answer_tokens(res, rc, &err, &r, 200);
}
