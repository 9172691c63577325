/* SPDX-License-Identifier: MIT
 *
 * Account rules: registration, password and one-time-code login, sessions with rotating refresh
 * tokens, email verification, password reset, roles. Functions take the calling thread's
 * database connection and return 0 or a negative ERR_*; on failure `domain_error` says which
 * stable error code and field the client should see. HTTP never appears here.
 */
#ifndef STREAMHUB_DOMAIN_AUTH_H
#define STREAMHUB_DOMAIN_AUTH_H

#include "domain/errors.h"
#include "domain/tokens.h"
#include "jobs/queue.h"
#include "store/db.h"
#include "store/sessions.h"
#include "store/users.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct auth_service auth_service;

typedef struct auth_settings {
    const char *secret;
    int64_t access_ttl_s;
    int64_t refresh_ttl_s;
    int64_t code_ttl_s;
    int64_t pw_opslimit;
    int64_t pw_memlimit_kib;
    int64_t rate_per_minute; /* 0 = no auth rate limits */
    void (*outbox_wakeup)(void *arg); /* called after a message is queued */
    void *outbox_arg;
    void (*jobs_wakeup)(void *arg); /* called after a job is queued (forgot-password) */
    void *jobs_arg;
} auth_settings;

typedef struct auth_client {
    const char *ip;
    const char *user_agent;
} auth_client;

typedef struct auth_result {
    store_user user;
    int64_t session_id;
    char access_token[ACCESS_TOKEN_MAX];
    char refresh_token[REFRESH_TOKEN_LEN];
    int64_t access_expires_in;
    int64_t refresh_expires_in;
    bool created; /* OTP verify made a new account */
} auth_result;

typedef struct auth_principal {
    store_user user;
    int64_t session_id;
} auth_principal;

auth_service *auth_new(const auth_settings *settings);
void auth_free(auth_service *a);

int auth_register(auth_service *a, db *d, const char *email, const char *handle,
                  const char *password, const char *display_name, const auth_client *client,
                  auth_result *out, domain_error *err);
int auth_login(auth_service *a, db *d, const char *identifier, const char *password,
               const auth_client *client, auth_result *out, domain_error *err);
int auth_refresh(auth_service *a, db *d, const char *refresh_token, const auth_client *client,
                 auth_result *out, domain_error *err);
/* Checks an Authorization header value ("Bearer <jwt>") and loads the user while the session is
 * live. */
/* The token alone (signature and expiry, no database): what can be checked before a request
 * body is read. auth_authenticate also checks the session. */
int auth_check_token(auth_service *a, const char *authorization, access_claims *c,
                     domain_error *err);
int auth_authenticate(auth_service *a, db *d, const char *authorization, auth_principal *out,
                      domain_error *err);
int auth_logout(auth_service *a, db *d, const auth_principal *p);
int auth_logout_all(auth_service *a, db *d, const auth_principal *p, int *revoked);
int auth_list_sessions(auth_service *a, db *d, const auth_principal *p, int64_t before_id,
                       store_session *out, int max);
int auth_revoke_session(auth_service *a, db *d, const auth_principal *p, int64_t session_id,
                        domain_error *err);
int auth_change_password(auth_service *a, db *d, const auth_principal *p, const char *current,
                         const char *new_password, domain_error *err);
int auth_request_email_verification(auth_service *a, db *d, const auth_principal *p,
                                    domain_error *err);
/* Marks the email verified. caller: the request's principal when it carried a live token,
 * else NULL. Unless caller is that same account (whoever set its password also holds the inbox),
 * a first verification ends every session of the account and clears its password: see
 * claim_email in auth.c (account pre-hijacking). *claimed tells whether that happened. */
int auth_verify_email(auth_service *a, db *d, const char *token, const auth_principal *caller,
                      store_user *user, bool *claimed, domain_error *err);
/* Always succeeds for well-formed input (no account enumeration) unless rate limited. Both
 * paths do the same work: the request only queues an AUTH_RESET_JOB, which looks the address
 * up and mails a code if an account has it, so the answer's timing tells nothing either. */
int auth_forgot_password(auth_service *a, db *d, const char *email, const char *ip,
                         domain_error *err);
int auth_reset_password(auth_service *a, db *d, const char *token, const char *new_password,
                        domain_error *err);
/* Exactly one of email and phone is non-NULL. channel (NULL = by the address) must name the
 * adapter the address goes to: "email" for email, "sms" for phone; anything else (no other
 * adapter exists yet) is 422 rather than silently sent another way. */
int auth_otp_request(auth_service *a, db *d, const char *email, const char *phone,
                     const char *channel, const char *ip, domain_error *err);
int auth_otp_verify(auth_service *a, db *d, const char *email, const char *phone,
                    const char *code, const char *handle, const char *display_name,
                    const auth_client *client, auth_result *out, domain_error *err);
int auth_set_role(auth_service *a, db *d, const auth_principal *actor, int64_t user_id,
                  const char *role, store_user *out, domain_error *err);
/* Operator path (streamhub admin create-user): no rate limits, role chosen freely. */
int auth_create_user(auth_service *a, db *d, const char *email, const char *handle,
                     const char *password, const char *role, store_user *out, domain_error *err);

/* The roles, least first, ended by NULL: the values a role may take. */
extern const char *const auth_roles[];
bool auth_role_valid(const char *role);
/* True when the role is at least `min` in user < creator < moderator < admin. */
bool auth_role_at_least(const char *role, const char *min);
/* The one role gate of every operation that needs one (admin tools, moderation, health): 0 when
 * actor's role is at least min_role, else ERR_FORBIDDEN "forbidden" with err->required_role
 * set, so REST, socket commands and the CLI answer alike. */
int auth_require_role(const store_user *actor, const char *min_role, domain_error *err);

/* The job behind forgot-password (payload {"email": normalised address}); registered in app.c.
 * It uses the process's auth service (the last auth_new) for code lifetimes and the outbox. */
#define AUTH_RESET_JOB "auth.password_reset"
job_result auth_reset_job(job_ctx *ctx, const store_job *job, char *err, size_t err_size);

#endif
