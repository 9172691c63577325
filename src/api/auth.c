/* SPDX-License-Identifier: MIT
 *
 * /api/v1/auth: accounts, sessions and the codes that prove an address. The declarations at the
 * end say what each body may hold (the wrapper checks it); the account rules that are more than
 * lengths (email format, handle characters, "exactly one of email and phone") are domain/auth's.
 * Password work runs on the hashing pool (HTTP_HASHING), with that pool's own connection.
 */
#include "api/api.h"

#include "core/id.h"
#include "domain/validate.h"

#include <string.h>

/* Links and codes (verification, reset, refresh tokens) are 43 characters; the bound leaves
 * room for longer ones later. */
#define AUTH_TOKEN_MAX_CHARS 128
/* An E.164 number: "+" and at most 15 digits. */
#define AUTH_PHONE_MAX_CHARS 16
/* The one-time sign-in code's digits. */
#define AUTH_OTP_CODE_MAX_CHARS 6

static auth_client client_of(http_req *req)
{
    return (auth_client){http_req_client_ip(req), http_req_header(req, "User-Agent")};
}

/* Answers with a fresh token pair (and whether an account was created), or the domain error. */
static void answer_tokens(api_ctx *c, int rc, const domain_error *err, const auth_result *r,
                          int ok_status)
{
    if (rc < 0) {
        api_fail(c->res, rc, err);
        return;
    }
    http_req_set_user(c->req, r->user.id);
    json_t *body = api_tokens_json(r);
    json_object_set_new(body, "created", json_boolean(r->created));
    http_res_json(c->res, ok_status, body);
}

static void register_handler(api_ctx *c)
{
    auth_result r = {0};
    domain_error err = {0};
    auth_client client = client_of(c->req);
    int rc = auth_register(api_app(c->req)->auth, c->db, api_body_string(c, "email"),
                           api_body_string(c, "handle"), api_body_string(c, "password"),
                           api_body_string(c, "display_name"), &client, &r, &err);
    answer_tokens(c, rc, &err, &r, 201);
}

static void login_handler(api_ctx *c)
{
    const char *login = api_body_string(c, "login"), *email = api_body_string(c, "email");
    const char *identifier = login ? login : email ? email : api_body_string(c, "handle");
    if (!identifier) {
        api_invalid(c->res, &(jv_error){.field = "login", .reason = "required"});
        return;
    }
    auth_result r = {0};
    domain_error err = {0};
    auth_client client = client_of(c->req);
    int rc = auth_login(api_app(c->req)->auth, c->db, identifier, api_body_string(c, "password"),
                        &client, &r, &err);
    answer_tokens(c, rc, &err, &r, 200);
}

static void refresh_handler(api_ctx *c)
{
    auth_result r = {0};
    domain_error err = {0};
    auth_client client = client_of(c->req);
    int rc = auth_refresh(api_app(c->req)->auth, c->db, api_body_string(c, "refresh_token"),
                          &client, &r, &err);
    answer_tokens(c, rc, &err, &r, 200);
}

static void logout_handler(api_ctx *c)
{
    if (auth_logout(api_app(c->req)->auth, c->db, &c->principal) < 0) {
        api_fail(c->res, ERR_DB, NULL);
        return;
    }
    http_res_empty(c->res, 204);
}

static void logout_all_handler(api_ctx *c)
{
    int revoked = 0;
    if (auth_logout_all(api_app(c->req)->auth, c->db, &c->principal, &revoked) < 0) {
        api_fail(c->res, ERR_DB, NULL);
        return;
    }
    http_res_json(c->res, 200, json_pack("{s:i}", "revoked", revoked));
}

static void sessions_handler(api_ctx *c)
{
    int64_t cursor;
    int limit;
    if (!api_page(c->req, c->res, &cursor, &limit))
        return;
    store_session *list = api_alloc(c->req, c->res, (size_t)limit + 1, sizeof *list);
    if (!list)
        return;
    int n = auth_list_sessions(api_app(c->req)->auth, c->db, &c->principal, cursor, list,
                               limit + 1);
    if (n < 0) {
        api_fail(c->res, ERR_DB, NULL);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, api_session_json(&list[i], c->principal.session_id));
    api_send_page(c->res, items, n, limit, n > limit ? list[limit - 1].id : 0);
}

static void session_delete_handler(api_ctx *c)
{
    int64_t id;
    if (!id_parse(http_req_param(c->req, "id"), &id)) {
        http_res_error(c->res, 404, "session_not_found", "no such session", NULL);
        return;
    }
    domain_error err = {0};
    int rc = auth_revoke_session(api_app(c->req)->auth, c->db, &c->principal, id, &err);
    api_answer_empty(c->res, rc, &err);
}

static void me_handler(api_ctx *c)
{
    /* written straight to text: every app calls it at start-up and on resume, and building a
     * jansson tree to dump it cost half of the request */
    buf b = {0};
    jsonw w;
    jsonw_init(&w, &b);
    jsonw_object(&w);
    api_user_members(&w, &c->principal.user, true);
    jsonw_member_id(&w, "session_id", c->principal.session_id);
    jsonw_end_object(&w);
    size_t len = b.len;
    http_res_json_text(c->res, 200, buf_steal(&b), len);
}

static void password_handler(api_ctx *c)
{
    domain_error err = {0};
    int rc = auth_change_password(api_app(c->req)->auth, c->db, &c->principal,
                                  api_body_string(c, "current_password"),
                                  api_body_string(c, "new_password"), &err);
    api_answer_empty(c->res, rc, &err);
}

static void verify_request_handler(api_ctx *c)
{
    domain_error err = {0};
    int rc = auth_request_email_verification(api_app(c->req)->auth, c->db, &c->principal, &err);
    if (rc < 0) {
        api_fail(c->res, rc, &err);
        return;
    }
    http_res_json(c->res, 202, json_pack("{s:s}", "status", "sent"));
}

/* The caller, when the request carries a live token. A token that does not authenticate is
 * ignored rather than refused: for verify-email the code alone is the credential. */
static bool caller_of(api_ctx *c, auth_principal *caller)
{
    const char *authorization = http_req_header(c->req, "Authorization");
    domain_error ignored = {0};
    return authorization &&
           auth_authenticate(api_app(c->req)->auth, c->db, authorization, caller, &ignored) == 0;
}

static void verify_handler(api_ctx *c)
{
    /* the account's own session verifying keeps its password and sessions */
    auth_principal caller;
    bool has_caller = caller_of(c, &caller);
    store_user u;
    bool claimed;
    domain_error err = {0};
    int rc = auth_verify_email(api_app(c->req)->auth, c->db, api_body_string(c, "token"),
                               has_caller ? &caller : NULL, &u, &claimed, &err);
    if (rc < 0) {
        api_fail(c->res, rc, &err);
        return;
    }
    http_res_json(c->res, 200,
                  json_pack("{s:b, s:b, s:o}", "verified", 1, "sessions_ended", claimed, "user",
                            api_user_json(&u, false)));
}

static void forgot_handler(api_ctx *c)
{
    domain_error err = {0};
    int rc = auth_forgot_password(api_app(c->req)->auth, c->db, api_body_string(c, "email"),
                                  http_req_client_ip(c->req), &err);
    /* Database trouble is not revealed either: the answer is the same for every address. */
    if (rc == ERR_INVALID || rc == ERR_RATE_LIMITED) {
        api_fail(c->res, rc, &err);
        return;
    }
    http_res_json(c->res, 202,
                  json_pack("{s:s}", "status", "if the account exists, a reset code was sent"));
}

static void reset_handler(api_ctx *c)
{
    domain_error err = {0};
    int rc = auth_reset_password(api_app(c->req)->auth, c->db, api_body_string(c, "token"),
                                 api_body_string(c, "new_password"), &err);
    api_answer_empty(c->res, rc, &err);
}

static void otp_request_handler(api_ctx *c)
{
    domain_error err = {0};
    int rc = auth_otp_request(api_app(c->req)->auth, c->db, api_body_string(c, "email"),
                              api_body_string(c, "phone"), api_body_string(c, "channel"),
                              http_req_client_ip(c->req), &err);
    if (rc < 0) {
        api_fail(c->res, rc, &err);
        return;
    }
    http_res_json(c->res, 202,
                  json_pack("{s:s, s:I}", "status", "sent", "expires_in",
                            (json_int_t)api_app(c->req)->cfg->code_ttl));
}

static void otp_verify_handler(api_ctx *c)
{
    auth_result r = {0};
    domain_error err = {0};
    auth_client client = client_of(c->req);
    int rc = auth_otp_verify(api_app(c->req)->auth, c->db, api_body_string(c, "email"),
                             api_body_string(c, "phone"), api_body_string(c, "code"),
                             api_body_string(c, "handle"), api_body_string(c, "display_name"),
                             &client, &r, &err);
    answer_tokens(c, rc, &err, &r, 200);
}

#define DISPLAY_NAME_ABOUT                                                                       \
    "trimmed; no control, bidi-formatting or invisible characters; ZWJ/ZWNJ only inside a word " \
    "or emoji sequence (docs/accounts.md#names); empty or blank removes it (the handle shows "  \
    "instead)"

/* A required credential: an empty one is refused like a missing one, before any work. */
#define CREDENTIAL(name_, max_)                                                                  \
    {.name = name_, .type = API_STRING, .required = true, .min_len = 1, .max_len = max_}
#define NEW_PASSWORD(name_)                                                                      \
    {.name = name_, .type = API_STRING, .required = true, .min_len = VALIDATE_PASSWORD_MIN,       \
     .max_len = VALIDATE_PASSWORD_MAX, .about = "not only whitespace"}
#define EMAIL(required_)                                                                         \
    {.name = "email", .type = API_STRING, .required = required_, .max_len = VALIDATE_EMAIL_MAX,   \
     .about = "an email address (else 422 invalid_format)"}
#define PHONE                                                                                    \
    {.name = "phone", .type = API_STRING, .max_len = AUTH_PHONE_MAX_CHARS,                       \
     .about = "E.164, e.g. +15551234567"}
#define HANDLE(required_)                                                                        \
    {.name = "handle", .type = API_STRING, .required = required_,                                \
     .min_len = VALIDATE_HANDLE_MIN, .max_len = VALIDATE_HANDLE_MAX}
#define DISPLAY_NAME                                                                             \
    {.name = "display_name", .type = API_STRING, .max_len = VALIDATE_DISPLAY_NAME_MAX,           \
     .about = DISPLAY_NAME_ABOUT}

static const api_field register_body[] = {
    EMAIL(true),
    HANDLE(true),
    NEW_PASSWORD("password"),
    DISPLAY_NAME,
    {0},
};
static const api_field login_body[] = {
    {.name = "login", .type = API_STRING, .max_len = VALIDATE_EMAIL_MAX,
     .about = "an email or a handle, any case"},
    {.name = "email", .type = API_STRING, .max_len = VALIDATE_EMAIL_MAX},
    {.name = "handle", .type = API_STRING, .max_len = VALIDATE_EMAIL_MAX},
    CREDENTIAL("password", VALIDATE_PASSWORD_MAX),
    {0},
};
static const api_field refresh_body[] = {
    CREDENTIAL("refresh_token", AUTH_TOKEN_MAX_CHARS),
    {0},
};
static const api_field password_body[] = {
    CREDENTIAL("current_password", VALIDATE_PASSWORD_MAX),
    NEW_PASSWORD("new_password"),
    {0},
};
static const api_field token_body[] = {
    CREDENTIAL("token", AUTH_TOKEN_MAX_CHARS),
    {0},
};
static const api_field forgot_body[] = {
    EMAIL(true),
    {0},
};
static const api_field reset_body[] = {
    CREDENTIAL("token", AUTH_TOKEN_MAX_CHARS),
    NEW_PASSWORD("new_password"),
    {0},
};
static const char *const otp_channels[] = {"email", "sms", NULL};
static const api_field otp_request_body[] = {
    EMAIL(false),
    PHONE,
    {.name = "channel", .type = API_STRING, .values = otp_channels,
     .about = "optional; must match the address given (email for email, sms for phone): no "
              "other adapter exists yet"},
    {0},
};
static const api_field otp_verify_body[] = {
    EMAIL(false),
    PHONE,
    CREDENTIAL("code", AUTH_OTP_CODE_MAX_CHARS),
    HANDLE(false),
    DISPLAY_NAME,
    {0},
};
static const api_field page_query[] = {API_PAGE_QUERY, {0}};
static const api_field no_body[] = {{0}};

static const api_route routes[] = {
    {"POST", "/api/v1/auth/register", register_handler, HTTP_HASHING, API_ANONYMOUS,
     .body = register_body, .operation_id = "register", .summary = "Create an account",
     .description =
         "Handles: 3-30 of A-Z a-z 0-9 _ . , starting with a letter or digit, no trailing period "
         "or '..', not only digits, not reserved. Emails and handles are unique ignoring case "
         "(409 `email_taken` / `handle_taken`). Passwords: 8-128 characters. A verification code "
         "is sent to the email. Rate limited per client address (429 `rate_limited`).",
     .status = 201, .response = "TokenResponse", .response_about = "Account created and signed in",
     .errors = "409"},
    {"POST", "/api/v1/auth/login", login_handler, HTTP_HASHING, API_ANONYMOUS, .body = login_body,
     .operation_id = "login", .summary = "Sign in with a password",
     .description = "Give `login` (an email or handle, any case), or `email`, or `handle`. Wrong "
                    "password and unknown account both answer 401 `invalid_credentials`. Limited "
                    "per client address and per account.",
     .response = "TokenResponse", .response_about = "Signed in", .errors = "401"},
    {"POST", "/api/v1/auth/refresh", refresh_handler, HTTP_BLOCKING, API_ANONYMOUS,
     .body = refresh_body, .operation_id = "refresh", .summary = "Rotate the refresh token",
     .description = "Every refresh returns a new refresh token and retires the old one. "
                    "Presenting a retired token again answers 401 `refresh_token_reused` and "
                    "revokes the whole session. Other 401 codes: `invalid_refresh_token`, "
                    "`refresh_token_expired`, `session_revoked`.",
     .response = "TokenResponse", .response_about = "New token pair", .errors = "401"},
    {"POST", "/api/v1/auth/logout", logout_handler, HTTP_BLOCKING | HTTP_OPTIONAL_BODY,
     API_SIGNED_IN, .body = no_body, .operation_id = "logout", .summary = "End this session",
     .status = 204, .response_about = "Session ended"},
    {"POST", "/api/v1/auth/logout-all", logout_all_handler, HTTP_BLOCKING | HTTP_OPTIONAL_BODY,
     API_SIGNED_IN, .body = no_body, .operation_id = "logoutAll",
     .summary = "End every session of the account", .response = "SessionsEnded",
     .response_about = "Sessions ended"},
    {"GET", "/api/v1/auth/sessions", sessions_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .query = page_query, .operation_id = "listSessions",
     .summary = "List live sessions, newest first", .response = "page:Session",
     .response_about = "A page of sessions"},
    {"DELETE", "/api/v1/auth/sessions/:id", session_delete_handler, HTTP_BLOCKING, API_SIGNED_IN,
     .operation_id = "revokeSession", .summary = "End one of your sessions",
     .description = "404 `session_not_found` for unknown ids, ended sessions and other users' "
                    "sessions.",
     .status = 204, .response_about = "Session ended"},
    {"GET", "/api/v1/auth/me", me_handler, HTTP_BLOCKING, API_SIGNED_IN, .point_read = true, .operation_id = "me",
     .summary = "The signed-in account",
     .description = "401 codes: `unauthenticated` (no token), `invalid_token`, `token_expired`, "
                    "`session_revoked`.",
     .response = "Me", .response_about = "The account"},
    {"PATCH", "/api/v1/auth/password", password_handler, HTTP_HASHING, API_SIGNED_IN,
     .body = password_body, .operation_id = "changePassword", .summary = "Change the password",
     .description = "403 `invalid_current_password` when the current password is wrong.",
     .status = 204, .response_about = "Changed; every other session ended", .errors = "403"},
    {"POST", "/api/v1/auth/verify-email/request", verify_request_handler,
     HTTP_BLOCKING | HTTP_OPTIONAL_BODY, API_SIGNED_IN, .body = no_body,
     .operation_id = "requestEmailVerification",
     .summary = "Send a new email verification code",
     .description = "409 `already_verified` or `no_email`. A new code replaces the previous one.",
     .status = 202, .response = "VerificationSent", .response_about = "Sent", .errors = "409"},
    {"POST", "/api/v1/auth/verify-email", verify_handler, HTTP_BLOCKING, API_ANONYMOUS,
     .body = token_body, .operation_id = "verifyEmail",
     .summary = "Confirm the email address with the emailed code",
     .description = "422 `invalid_token` (unknown or already used) or `token_expired`. Sent "
                    "with a live token of the same account, its sessions and password stay; "
                    "otherwise a first verification ends them (the code's holder owns the "
                    "address). A token that does not authenticate is ignored.",
     .response = "EmailVerified", .response_about = "Verified"},
    {"POST", "/api/v1/auth/password/forgot", forgot_handler, HTTP_BLOCKING, API_ANONYMOUS,
     .body = forgot_body, .operation_id = "forgotPassword",
     .summary = "Email a password reset code", .status = 202, .response = "ResetRequested",
     .response_about = "Always the same answer, whether or not the account exists"},
    {"POST", "/api/v1/auth/password/reset", reset_handler, HTTP_HASHING, API_ANONYMOUS,
     .body = reset_body, .operation_id = "resetPassword",
     .summary = "Set a new password with a reset code",
     .description = "422 `invalid_token` or `token_expired`.", .status = 204,
     .response_about = "Password set; every session ended; email marked verified"},
    {"POST", "/api/v1/auth/otp/request", otp_request_handler, HTTP_BLOCKING, API_ANONYMOUS,
     .body = otp_request_body, .operation_id = "requestOtp",
     .summary = "Send a one-time sign-in code",
     .description = "Give exactly one of `email` or `phone` (E.164, e.g. +15551234567). A 6-digit "
                    "code goes out by email or SMS; it expires after code-ttl seconds.",
     .status = 202, .response = "OtpSent", .response_about = "Sent"},
    {"POST", "/api/v1/auth/otp/verify", otp_verify_handler, HTTP_BLOCKING, API_ANONYMOUS,
     .body = otp_verify_body, .operation_id = "verifyOtp",
     .summary = "Sign in (or sign up) with a one-time code",
     .description = "Give exactly one of `email` or `phone`. 401 `invalid_code` or "
                    "`code_expired`; after 5 wrong codes 429 `too_many_attempts` until a new code "
                    "is requested. Codes are single use. With no account for the address one is "
                    "created (handle optional; one is generated).",
     .response = "TokenResponse",
     .response_about = "Signed in; `created` tells whether a new account was made",
     .errors = "401 409"},
};

API_MODULE(auth, "Accounts: registration, sign-in, sessions, email verification, password reset "
                 "and one-time codes",
           routes);
