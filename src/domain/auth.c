/* SPDX-License-Identifier: MIT
 *
 * Account rules. Design points:
 *  - Password hashing happens before any transaction is opened, so the database write lock is
 *    never held across a 30 ms argon2id computation.
 *  - Unknown accounts still cost one password verification (against a dummy hash), so response
 *    time does not tell an attacker which emails exist; forgot-password always answers the same
 *    after the same work (one queued job; the job looks the address up, off the request path).
 *  - A session is a refresh-token family. Rotation marks the old token; presenting it again
 *    revokes the family (the legitimate holder and the thief both lose it, the safe outcome).
 *  - Every message (verification link, reset link, OTP) goes into the outbox in the same
 *    transaction as the code it carries.
 *  - Revoking a session also ends what is open on it: after commit each revoked session's bus
 *    topic "session:<id>" is told, and its sockets (close 4002) and event streams end on every
 *    node, instead of living on until the access token expires.
 *  - Registering does not prove the email address, so whoever proves it later by a code (an OTP
 *    sign-in, or a verification code used without that account's own token) becomes its only
 *    holder: every earlier session ends and the password set before is cleared. Otherwise
 *    someone who registered with another person's address would keep a way in after that
 *    person signs in by code (account pre-hijacking).
 */
#include "domain/auth.h"

#include "core/bus.h"
#include "core/id.h"
#include "core/log.h"
#include "core/ratelimit.h"
#include "core/trace.h"
#include "core/util.h"
#include "domain/errors.h"
#include "domain/validate.h"
#include "store/codes.h"
#include "store/outbox.h"

#include <jansson.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OTP_MAX_ATTEMPTS 5

struct auth_service {
    auth_settings cfg;
    token_keys keys;
    char dummy_hash[PW_HASH_MAX];
    ratelimit *by_ip;      /* login, register, OTP and reset attempts per client address */
    ratelimit *by_account; /* per email, handle or phone */
};

/* The service forgot-password jobs use: there is one per process (app.c). */
static auth_service *_Atomic job_service;

const char *const auth_roles[] = {"user", "creator", "moderator", "admin", NULL};

static int role_rank(const char *role)
{
    for (int i = 0; auth_roles[i]; i++)
        if (strcmp(auth_roles[i], role) == 0)
            return i;
    return -1;
}

bool auth_role_valid(const char *role)
{
    return role && role_rank(role) >= 0;
}

bool auth_role_at_least(const char *role, const char *min)
{
    return role_rank(role) >= role_rank(min) && role_rank(min) >= 0;
}

int auth_require_role(const store_user *actor, const char *min_role, domain_error *err)
{
    if (auth_role_at_least(actor->role, min_role))
        return 0;
    err->required_role = min_role;
    return domain_fail(err, ERR_FORBIDDEN, "forbidden", "your role may not do this");
}

auth_service *auth_new(const auth_settings *settings)
{
    auth_service *a = xcalloc(1, sizeof *a);
    a->cfg = *settings;
    tokens_init(&a->keys, settings->secret);
    char pw[32];
    random_token(pw, sizeof pw, 16);
    if (password_hash(pw, settings->pw_opslimit, settings->pw_memlimit_kib, a->dummy_hash) < 0)
        abort();
    if (settings->rate_per_minute > 0) {
        double rate = (double)settings->rate_per_minute / 60.0;
        a->by_ip = ratelimit_new(rate, (double)settings->rate_per_minute, 65536);
        a->by_account = ratelimit_new(rate, (double)settings->rate_per_minute, 65536);
        /* across nodes (--redis) one bucket for all: guessing spread over nodes gains nothing */
        ratelimit_share(a->by_ip, "auth_ip");
        ratelimit_share(a->by_account, "auth_account");
    }
    job_service = a;
    return a;
}

void auth_free(auth_service *a)
{
    if (!a)
        return;
    auth_service *expected = a;
    atomic_compare_exchange_strong(&job_service, &expected, NULL);
    ratelimit_free(a->by_ip);
    ratelimit_free(a->by_account);
    free(a);
}

/* ---- small helpers ------------------------------------------------------------------------ */

/* Applies the attempt limits for an action: one bucket per client address (ip NULL: none, for
 * actions of a signed-in account, which must not share one bucket among all users) and one per
 * account, keyed by action so that, say, OTP requests do not use up login attempts. */
static bool allowed(auth_service *a, const char *action, const char *ip, const char *account,
                    domain_error *err)
{
    if (!a->by_ip)
        return true;
    char key[320];
    int retry = 1;
    int64_t now = monotonic_us();
    snprintf(key, sizeof key, "%s|%s", action, ip ? ip : "");
    if (ip && !ratelimit_take(a->by_ip, key, now, &retry))
        goto limited;
    if (account) {
        snprintf(key, sizeof key, "%s|%s", action, account);
        if (!ratelimit_take(a->by_account, key, now, &retry))
            goto limited;
    }
    return true;
limited:
    err->retry_after = retry;
    domain_fail(err, ERR_RATE_LIMITED, "rate_limited", "too many attempts, try again later");
    return false;
}

/* ---- ended sessions ----------------------------------------------------------------------- */

/* The sessions one write revoked, told on the bus once the write is known to have committed. */
typedef struct ended_sessions {
    const char *reason; /* a string literal */
    size_t n, cap;
    int64_t *ids;
} ended_sessions;

static ended_sessions *ended_new(const char *reason)
{
    ended_sessions *e = xcalloc(1, sizeof *e);
    e->reason = reason;
    return e;
}

static void ended_add(void *arg, int64_t session_id)
{
    ended_sessions *e = arg;
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 4;
        e->ids = xrealloc(e->ids, e->cap * sizeof *e->ids);
    }
    e->ids[e->n++] = session_id;
}

static void ended_publish(void *arg, bool committed)
{
    ended_sessions *e = arg;
    for (size_t i = 0; committed && i < e->n; i++)
        bus_publish_session_ended(e->ids[i], e->reason);
    free(e->ids);
    free(e);
}

/* Revokes one session and, after commit, closes its sockets and streams. */
static int revoke_session(db *d, int64_t user_id, int64_t session_id, const char *reason,
                          int64_t now)
{
    int rc = store_session_revoke(d, user_id, session_id, reason, now);
    if (rc == 0) {
        ended_sessions *e = ended_new(reason);
        ended_add(e, session_id);
        db_on_commit(d, ended_publish, e);
    }
    return rc;
}

/* Revokes every session of the user but keep_id (0 = none), the same way; returns how many. */
static int revoke_sessions(db *d, int64_t user_id, int64_t keep_id, const char *reason, int64_t now)
{
    ended_sessions *e = ended_new(reason);
    int rc = store_session_revoke_all(d, user_id, keep_id, reason, now, ended_add, e);
    if (rc < 0) {
        ended_publish(e, false);
        return rc;
    }
    db_on_commit(d, ended_publish, e);
    return rc;
}

/* The address of an account whose email was unverified has just been proven by a code, by
 * someone who is not known to be whoever registered it: that registrant's sessions end and
 * their password is cleared (the owner sets one through the reset flow). Inside the caller's
 * transaction. */
static int claim_email(db *d, store_user *u, int64_t now)
{
    int rc = revoke_sessions(d, u->id, 0, "email_claimed", now);
    if (rc >= 0 && u->password_hash[0])
        rc = store_user_set_password(d, u->id, NULL, now);
    if (rc < 0)
        return rc;
    u->password_hash[0] = '\0';
    return 0;
}

static void lower_copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src);
    str_lower(dst);
}

/* Queues a message in the outbox (inside the caller's transaction). */
static int queue_message(db *d, const char *channel, const char *to, const char *template_name,
                         const char *subject, const char *text, json_t *data)
{
    json_t *msg = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "channel", channel, "to", to,
                            "template", template_name, "subject", subject, "text", text, "data",
                            data);
    char *payload = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (!payload)
        return ERR_NOMEM;
    char traceparent[TRACE_PARENT_LEN + 1];
    int rc = store_outbox_insert(d, id_next(), channel, to, template_name, payload, now_ms(),
                                 trace_current_traceparent(traceparent) ? traceparent : NULL);
    free(payload);
    return rc;
}

static void wake_outbox(auth_service *a)
{
    if (a->cfg.outbox_wakeup)
        a->cfg.outbox_wakeup(a->cfg.outbox_arg);
}

/* Creates a one-time code row; `secret` is what the user receives. */
static int insert_code(auth_service *a, db *d, const char *purpose, const char *target,
                       int64_t user_id, const char *secret, bool keyed)
{
    store_code c = {0};
    c.id = id_next();
    snprintf(c.purpose, sizeof c.purpose, "%s", purpose);
    snprintf(c.target, sizeof c.target, "%s", target);
    c.user_id = user_id;
    if (keyed)
        tokens_hash_code(&a->keys, secret, c.code_hash);
    else
        tokens_hash_secret(secret, c.code_hash);
    c.created_at = now_ms();
    c.expires_at = c.created_at + a->cfg.code_ttl_s * 1000;
    int rc = store_code_retire(d, purpose, target, c.created_at);
    return rc < 0 ? rc : store_code_insert(d, &c);
}

/* Queues the email-verification link for a user (inside the caller's transaction). */
static int queue_verification(auth_service *a, db *d, const store_user *u)
{
    char token[REFRESH_TOKEN_LEN], text[512], email_norm[256];
    tokens_new_refresh(token);
    lower_copy(email_norm, sizeof email_norm, u->email);
    int rc = insert_code(a, d, "verify_email", email_norm, u->id, token, false);
    if (rc < 0)
        return rc;
    snprintf(text, sizeof text,
             "Hi %s, confirm your email address for StreamHub with this code: %s", u->handle,
             token);
    return queue_message(d, "email", u->email, "verify_email", "Confirm your email address", text,
                         json_pack("{s:s, s:s}", "token", token, "handle", u->handle));
}

/* Opens a session with its first refresh token and fills the result (inside a transaction). */
static int open_session(auth_service *a, db *d, const store_user *u, const auth_client *client,
                        auth_result *out)
{
    int64_t now = now_ms();
    store_session s = {0};
    s.id = id_next();
    s.user_id = u->id;
    s.created_at = s.last_used_at = now;
    s.expires_at = now + a->cfg.refresh_ttl_s * 1000;
    snprintf(s.user_agent, sizeof s.user_agent, "%s",
             client && client->user_agent ? client->user_agent : "");
    snprintf(s.ip, sizeof s.ip, "%s", client && client->ip ? client->ip : "");
    int rc = store_session_insert(d, &s);
    if (rc < 0)
        return rc;
    char hash[TOKEN_HASH_LEN];
    tokens_new_refresh(out->refresh_token);
    tokens_hash_secret(out->refresh_token, hash);
    if ((rc = store_refresh_insert(d, hash, s.id, now, s.expires_at)) < 0)
        return rc;
    if ((rc = tokens_issue_access(&a->keys, u->id, s.id, u->role, now / 1000,
                                  a->cfg.access_ttl_s, out->access_token)) < 0)
        return rc;
    out->user = *u;
    out->session_id = s.id;
    out->access_expires_in = a->cfg.access_ttl_s;
    out->refresh_expires_in = a->cfg.refresh_ttl_s;
    return 0;
}

/* Runs open_session in its own transaction. */
static int open_session_tx(auth_service *a, db *d, const store_user *u,
                           const auth_client *client, auth_result *out, domain_error *err)
{
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    int rc = open_session(a, d, u, client, out);
    if (rc < 0 || db_commit(d) < 0) {
        db_rollback(d);
        return domain_db_failed(err, d, "open session");
    }
    return 0;
}

/* Inserts a new user; maps unique conflicts to the field that clashed. */
static int insert_user(db *d, store_user *u, domain_error *err)
{
    char norm[256];
    lower_copy(norm, sizeof norm, u->handle);
    store_user existing;
    if (store_handle_taken(d, norm))
        return domain_fail(err, ERR_CONFLICT, "handle_taken", "that handle is already taken");
    if (u->email[0]) {
        lower_copy(norm, sizeof norm, u->email);
        if (store_user_by_email(d, norm, &existing) == 0)
            return domain_fail(err, ERR_CONFLICT, "email_taken", "an account with that email exists");
    }
    if (u->phone[0] && store_user_by_phone(d, u->phone, &existing) == 0)
        return domain_fail(err, ERR_CONFLICT, "phone_taken", "an account with that phone exists");
    int rc = store_user_insert(d, u);
    if (rc == ERR_CONFLICT)
        return domain_fail(err, ERR_CONFLICT, "account_exists", "that handle or email was just taken");
    if (rc < 0)
        return domain_db_failed(err, d, "insert user");
    return 0;
}

static int check_new_account_fields(const char *email, const char *handle,
                                    const char *display_name, domain_error *err)
{
    const char *why;
    if (email && (why = validate_email(email)))
        return domain_invalid(err, "email", why);
    if ((why = validate_handle(handle)))
        return domain_invalid(err, "handle", why);
    if (display_name && (why = validate_display_name(display_name, NULL, 0)))
        return domain_invalid(err, "display_name", why);
    return 0;
}

static void fill_new_user(store_user *u, const char *email, const char *handle,
                          const char *display_name, const char *role)
{
    memset(u, 0, sizeof *u);
    u->id = id_next();
    snprintf(u->email, sizeof u->email, "%s", email ? email : "");
    snprintf(u->handle, sizeof u->handle, "%s", handle);
    /* checked already (check_new_account_fields): this stores it trimmed */
    if (!display_name ||
        validate_display_name(display_name, u->display_name, sizeof u->display_name))
        u->display_name[0] = '\0';
    snprintf(u->role, sizeof u->role, "%s", role);
    /* the column defaults, so the answer matches what a later read returns */
    strcpy(u->links, "[]");
    strcpy(u->default_visibility, "public");
    u->allow_duets = u->allow_stitches = u->allow_comments = true;
    u->created_at = u->updated_at = now_ms();
}

/* ---- registration and login --------------------------------------------------------------- */

int auth_register(auth_service *a, db *d, const char *email, const char *handle,
                  const char *password, const char *display_name, const auth_client *client,
                  auth_result *out, domain_error *err)
{
    int rc = check_new_account_fields(email, handle, display_name, err);
    if (rc < 0)
        return rc;
    const char *why = validate_password(password);
    if (why)
        return domain_invalid(err, "password", why);
    if (!allowed(a, "register", client->ip, NULL, err))
        return ERR_RATE_LIMITED;
    store_user u;
    fill_new_user(&u, email, handle, display_name, "user");
    if (password_hash(password, a->cfg.pw_opslimit, a->cfg.pw_memlimit_kib, u.password_hash) < 0)
        return domain_fail(err, ERR_INTERNAL, "internal_error", "could not hash the password");
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    if ((rc = insert_user(d, &u, err)) < 0)
        goto fail;
    if ((rc = queue_verification(a, d, &u)) < 0 || (rc = open_session(a, d, &u, client, out)) < 0) {
        rc = domain_db_failed(err, d, "register");
        goto fail;
    }
    if (db_commit(d) < 0) {
        rc = domain_db_failed(err, d, "commit");
        goto fail;
    }
    out->created = true;
    wake_outbox(a);
    return 0;
fail:
    db_rollback(d);
    return rc;
}

int auth_login(auth_service *a, db *d, const char *identifier, const char *password,
               const auth_client *client, auth_result *out, domain_error *err)
{
    char norm[256], account[300];
    lower_copy(norm, sizeof norm, identifier);
    if (!allowed(a, "login", client->ip, NULL, err))
        return ERR_RATE_LIMITED;
    store_user u;
    int rc = store_user_by_login(d, norm, &u);
    if (rc < 0 && rc != ERR_NOT_FOUND)
        return domain_db_failed(err, d, "load user");
    /* One budget per account, whichever identifier was typed (email and handle share it); an
     * unknown identifier gets its own by its normalised text, so guessing costs the same
     * whether the account exists or not. The prefixes keep typed text off account buckets. */
    if (rc == 0)
        snprintf(account, sizeof account, "account:%lld", (long long)u.id);
    else
        snprintf(account, sizeof account, "name:%s", norm);
    if (!allowed(a, "login", NULL, account, err))
        return ERR_RATE_LIMITED;
    bool found = rc == 0 && u.password_hash[0];
    bool ok = password_verify(found ? u.password_hash : a->dummy_hash, password);
    if (!found || !ok)
        return domain_fail(err, ERR_UNAUTHORIZED, "invalid_credentials",
                    "the login or password is wrong");
    if (password_needs_rehash(u.password_hash, a->cfg.pw_opslimit, a->cfg.pw_memlimit_kib)) {
        char fresh[PW_HASH_MAX];
        if (password_hash(password, a->cfg.pw_opslimit, a->cfg.pw_memlimit_kib, fresh) == 0)
            store_user_set_password(d, u.id, fresh, now_ms());
    }
    return open_session_tx(a, d, &u, client, out, err);
}

int auth_refresh(auth_service *a, db *d, const char *refresh_token, const auth_client *client,
                 auth_result *out, domain_error *err)
{
    char hash[TOKEN_HASH_LEN];
    tokens_hash_secret(refresh_token, hash);
    int64_t now = now_ms();
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    store_refresh r;
    int rc = store_refresh_lookup(d, hash, &r);
    if (rc == ERR_NOT_FOUND) {
        rc = domain_fail(err, ERR_UNAUTHORIZED, "invalid_refresh_token", "unknown refresh token");
        goto fail;
    }
    if (rc < 0) {
        rc = domain_db_failed(err, d, "lookup refresh");
        goto fail;
    }
    if (r.session_revoked_at) {
        rc = domain_fail(err, ERR_UNAUTHORIZED, "session_revoked", "this session has ended");
        goto fail;
    }
    if (r.rotated_at) {
        /* A rotated token came back: someone holds a copy. End the whole family. */
        revoke_session(d, r.user_id, r.session_id, "refresh_token_reused", now);
        db_commit(d);
        log_warn("refresh token reuse", "\"session_id\":\"%lld\",\"user_id\":\"%lld\"",
                 (long long)r.session_id, (long long)r.user_id);
        return domain_fail(err, ERR_UNAUTHORIZED, "refresh_token_reused",
                    "this refresh token was already used; the session has been revoked");
    }
    if (r.expires_at <= now || r.session_expires_at <= now) {
        rc = domain_fail(err, ERR_UNAUTHORIZED, "refresh_token_expired", "the refresh token expired");
        goto fail;
    }
    if ((rc = store_refresh_rotate(d, hash, now)) < 0) {
        rc = rc == ERR_CONFLICT
                 ? domain_fail(err, ERR_UNAUTHORIZED, "refresh_token_reused", "token already rotated")
                 : domain_db_failed(err, d, "rotate");
        goto fail;
    }
    store_user u;
    if (store_user_by_id(d, r.user_id, &u) < 0) {
        rc = domain_fail(err, ERR_UNAUTHORIZED, "invalid_refresh_token", "the account is gone");
        goto fail;
    }
    tokens_new_refresh(out->refresh_token);
    tokens_hash_secret(out->refresh_token, hash);
    if (store_refresh_insert(d, hash, r.session_id, now, r.session_expires_at) < 0 ||
        store_session_touch(d, r.session_id, now) < 0 ||
        tokens_issue_access(&a->keys, u.id, r.session_id, u.role, now / 1000,
                            a->cfg.access_ttl_s, out->access_token) < 0 ||
        db_commit(d) < 0) {
        rc = domain_db_failed(err, d, "refresh");
        goto fail;
    }
    out->user = u;
    out->session_id = r.session_id;
    out->access_expires_in = a->cfg.access_ttl_s;
    out->refresh_expires_in = (r.session_expires_at - now) / 1000;
    (void)client;
    return 0;
fail:
    db_rollback(d);
    return rc;
}

int auth_check_token(auth_service *a, const char *authorization, access_claims *c,
                     domain_error *err)
{
    if (!authorization || !*authorization)
        return domain_fail(err, ERR_UNAUTHORIZED, "unauthenticated", "an access token is required");
    if (strncasecmp(authorization, "Bearer ", 7) != 0)
        return domain_fail(err, ERR_UNAUTHORIZED, "invalid_token", "expected 'Bearer <token>'");
    bool expired;
    if (tokens_verify_access(&a->keys, authorization + 7, now_ms() / 1000, c, &expired) < 0)
        return expired ? domain_fail(err, ERR_UNAUTHORIZED, "token_expired", "the access token expired")
                       : domain_fail(err, ERR_UNAUTHORIZED, "invalid_token", "the access token is invalid");
    return 0;
}

int auth_authenticate(auth_service *a, db *d, const char *authorization, auth_principal *out,
                      domain_error *err)
{
    access_claims c;
    int rc = auth_check_token(a, authorization, &c, err);
    if (rc < 0)
        return rc;
    int64_t now = now_ms();
    rc = store_user_for_session(d, c.user_id, c.session_id, now, &out->user);
    if (rc == ERR_UNAUTHORIZED)
        return domain_fail(err, ERR_UNAUTHORIZED, "session_revoked", "this session has ended");
    if (rc < 0)
        return domain_db_failed(err, d, "authenticate");
    out->session_id = c.session_id;
    return 0;
}

/* ---- sessions ----------------------------------------------------------------------------- */

int auth_logout(auth_service *a, db *d, const auth_principal *p)
{
    int rc = revoke_session(d, p->user.id, p->session_id, "logout", now_ms());
    return rc == ERR_NOT_FOUND ? 0 : rc;
}

int auth_logout_all(auth_service *a, db *d, const auth_principal *p, int *revoked)
{
    int rc = revoke_sessions(d, p->user.id, 0, "logout_all", now_ms());
    if (rc >= 0 && revoked)
        *revoked = rc;
    return rc < 0 ? rc : 0;
}

int auth_list_sessions(auth_service *a, db *d, const auth_principal *p, int64_t before_id,
                       store_session *out, int max)
{
    return store_session_list(d, p->user.id, before_id, now_ms(), out, max);
}

int auth_revoke_session(auth_service *a, db *d, const auth_principal *p, int64_t session_id,
                        domain_error *err)
{
    int rc = revoke_session(d, p->user.id, session_id, "revoked_by_user", now_ms());
    if (rc == ERR_NOT_FOUND)
        return domain_fail(err, ERR_NOT_FOUND, "session_not_found", "no such session");
    if (rc < 0)
        return domain_db_failed(err, d, "revoke session");
    return 0;
}

/* ---- passwords ---------------------------------------------------------------------------- */

int auth_change_password(auth_service *a, db *d, const auth_principal *p, const char *current,
                         const char *new_password, domain_error *err)
{
    const char *why = validate_password(new_password);
    if (why)
        return domain_invalid(err, "new_password", why);
    char account[ID_STR_MAX];
    id_format(p->user.id, account);
    if (!allowed(a, "password", NULL, account, err))
        return ERR_RATE_LIMITED;
    if (!password_verify(p->user.password_hash[0] ? p->user.password_hash : a->dummy_hash,
                         current) || !p->user.password_hash[0])
        return domain_fail(err, ERR_FORBIDDEN, "invalid_current_password",
                    "the current password is wrong");
    char hash[PW_HASH_MAX];
    if (password_hash(new_password, a->cfg.pw_opslimit, a->cfg.pw_memlimit_kib, hash) < 0)
        return domain_fail(err, ERR_INTERNAL, "internal_error", "could not hash the password");
    int64_t now = now_ms();
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    if (store_user_set_password(d, p->user.id, hash, now) < 0 ||
        revoke_sessions(d, p->user.id, p->session_id, "password_changed", now) < 0 ||
        db_commit(d) < 0) {
        db_rollback(d);
        return domain_db_failed(err, d, "change password");
    }
    return 0;
}

int auth_forgot_password(auth_service *a, db *d, const char *email, const char *ip,
                         domain_error *err)
{
    const char *why = validate_email(email);
    if (why)
        return domain_invalid(err, "email", why);
    char norm[256];
    lower_copy(norm, sizeof norm, email);
    if (!allowed(a, "reset", ip, norm, err))
        return ERR_RATE_LIMITED;
    /* Nothing here depends on whether the account exists: the lookup, the code and the mail
     * happen in the job. */
    json_t *payload = json_pack("{s:s}", "email", norm);
    char *text = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
    json_decref(payload);
    if (!text)
        return domain_fail(err, ERR_NOMEM, "internal_error", "out of memory");
    int rc = job_enqueue(d, AUTH_RESET_JOB, text, &(job_options){.priority = 1, .max_attempts = 3},
                         NULL);
    free(text);
    if (rc < 0)
        return domain_db_failed(err, d, "forgot password");
    if (a->cfg.jobs_wakeup)
        a->cfg.jobs_wakeup(a->cfg.jobs_arg);
    return 0;
}

job_result auth_reset_job(job_ctx *ctx, const store_job *job, char *err, size_t err_size)
{
    auth_service *a = atomic_load(&job_service);
    db *d = job_db(ctx);
    json_t *payload = json_loads(job->payload, 0, NULL);
    const char *email = json_string_value(json_object_get(payload, "email"));
    job_result res = JOB_OK;
    if (!a || !email) {
        snprintf(err, err_size, "%s", !a ? "no auth service in this process" : "bad payload");
        res = JOB_FAIL;
        goto out;
    }
    store_user u;
    int rc = store_user_by_email(d, email, &u);
    if (rc == ERR_NOT_FOUND)
        goto out; /* no account: no mail, and the requester was answered the same */
    if (rc < 0) {
        snprintf(err, err_size, "load user: %s", db_errmsg(d));
        res = JOB_RETRY;
        goto out;
    }
    char token[REFRESH_TOKEN_LEN], text[512];
    tokens_new_refresh(token);
    snprintf(text, sizeof text,
             "Someone asked to reset the StreamHub password of %s. "
             "If it was you, use this code: %s",
             u.handle, token);
    if (db_begin(d) < 0 || insert_code(a, d, "reset_password", email, u.id, token, false) < 0 ||
        queue_message(d, "email", u.email, "reset_password", "Reset your password", text,
                      json_pack("{s:s, s:s}", "token", token, "handle", u.handle)) < 0 ||
        db_commit(d) < 0) {
        snprintf(err, err_size, "queue reset mail: %s", db_errmsg(d));
        db_rollback(d);
        res = JOB_RETRY;
        goto out;
    }
    wake_outbox(a);
out:
    json_decref(payload);
    return res;
}

/* Finds a live link code by its secret; marks it used. Inside the caller's transaction. */
static int consume_link_code(db *d, const char *purpose, const char *token, store_code *c,
                             domain_error *err)
{
    char hash[TOKEN_HASH_LEN];
    tokens_hash_secret(token, hash);
    int rc = store_code_by_hash(d, purpose, hash, c);
    if (rc == ERR_NOT_FOUND)
        return domain_fail(err, ERR_INVALID, "invalid_token", "the code is unknown or already used");
    if (rc < 0)
        return domain_db_failed(err, d, "load code");
    if (c->expires_at <= now_ms())
        return domain_fail(err, ERR_INVALID, "token_expired", "the code has expired");
    rc = store_code_use(d, c->id, now_ms());
    if (rc == ERR_CONFLICT)
        return domain_fail(err, ERR_INVALID, "invalid_token", "the code is unknown or already used");
    return rc < 0 ? domain_db_failed(err, d, "use code") : 0;
}

int auth_reset_password(auth_service *a, db *d, const char *token, const char *new_password,
                        domain_error *err)
{
    const char *why = validate_password(new_password);
    if (why)
        return domain_invalid(err, "new_password", why);
    char hash[PW_HASH_MAX];
    if (password_hash(new_password, a->cfg.pw_opslimit, a->cfg.pw_memlimit_kib, hash) < 0)
        return domain_fail(err, ERR_INTERNAL, "internal_error", "could not hash the password");
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    store_code c;
    int64_t now = now_ms();
    int rc = consume_link_code(d, "reset_password", token, &c, err);
    if (rc < 0)
        goto fail;
    /* The link reached the inbox, which also proves the address. */
    if (store_user_set_password(d, c.user_id, hash, now) < 0 ||
        store_user_set_email_verified(d, c.user_id, now) < 0 ||
        revoke_sessions(d, c.user_id, 0, "password_reset", now) < 0) {
        rc = domain_db_failed(err, d, "reset password");
        goto fail;
    }
    if (db_commit(d) < 0) {
        rc = domain_db_failed(err, d, "commit");
        goto fail;
    }
    return 0;
fail:
    db_rollback(d);
    return rc;
}

/* ---- email verification ------------------------------------------------------------------- */

int auth_request_email_verification(auth_service *a, db *d, const auth_principal *p,
                                    domain_error *err)
{
    if (!p->user.email[0])
        return domain_fail(err, ERR_CONFLICT, "no_email", "the account has no email address");
    if (p->user.email_verified_at)
        return domain_fail(err, ERR_CONFLICT, "already_verified", "the email is already verified");
    char account[ID_STR_MAX];
    id_format(p->user.id, account);
    if (!allowed(a, "verify", NULL, account, err))
        return ERR_RATE_LIMITED;
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    if (queue_verification(a, d, &p->user) < 0 || db_commit(d) < 0) {
        db_rollback(d);
        return domain_db_failed(err, d, "verification");
    }
    wake_outbox(a);
    return 0;
}

int auth_verify_email(auth_service *a, db *d, const char *token, const auth_principal *caller,
                      store_user *user, bool *claimed, domain_error *err)
{
    *claimed = false;
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    store_code c;
    int rc = consume_link_code(d, "verify_email", token, &c, err);
    if (rc < 0)
        goto fail;
    if (store_user_by_id(d, c.user_id, user) < 0) {
        rc = domain_fail(err, ERR_INVALID, "invalid_token", "the account is gone");
        goto fail;
    }
    char norm[256];
    lower_copy(norm, sizeof norm, user->email);
    if (strcmp(norm, c.target) != 0) {
        rc = domain_fail(err, ERR_INVALID, "invalid_token", "the email address has changed");
        goto fail;
    }
    int64_t now = now_ms();
    bool own = caller && caller->user.id == user->id;
    if (!user->email_verified_at && !own) {
        if (claim_email(d, user, now) < 0) {
            rc = domain_db_failed(err, d, "claim email");
            goto fail;
        }
        *claimed = true;
    }
    if (store_user_set_email_verified(d, user->id, now) < 0 || db_commit(d) < 0) {
        rc = domain_db_failed(err, d, "verify email");
        goto fail;
    }
    user->email_verified_at = now;
    return 0;
fail:
    db_rollback(d);
    return rc;
}

/* ---- one-time codes ----------------------------------------------------------------------- */

/* Validates the OTP target and writes its normalized form. */
static int otp_target(const char *email, const char *phone, char *target, size_t n,
                      domain_error *err)
{
    const char *why;
    if ((email && phone) || (!email && !phone))
        return domain_fail(err, ERR_INVALID, "validation_failed", "give exactly one of email and phone");
    if (email && (why = validate_email(email)))
        return domain_invalid(err, "email", why);
    if (phone && (why = validate_phone(phone)))
        return domain_invalid(err, "phone", why);
    lower_copy(target, n, email ? email : phone);
    return 0;
}

int auth_otp_request(auth_service *a, db *d, const char *email, const char *phone,
                     const char *channel, const char *ip, domain_error *err)
{
    char target[256];
    int rc = otp_target(email, phone, target, sizeof target, err);
    if (rc < 0)
        return rc;
    if (channel && strcmp(channel, email ? "email" : "sms") != 0)
        return domain_invalid(err, "channel", "not_allowed");
    if (!allowed(a, "otp", ip, target, err))
        return ERR_RATE_LIMITED;
    char code[7], text[256];
    tokens_new_otp(code);
    snprintf(text, sizeof text, "Your StreamHub code is %s. It expires in %lld minutes.", code,
             (long long)(a->cfg.code_ttl_s / 60 ? a->cfg.code_ttl_s / 60 : 1));
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    if (insert_code(a, d, "otp", target, 0, code, true) < 0 ||
        queue_message(d, email ? "email" : "sms", email ? email : phone, "otp",
                      "Your StreamHub code", text, json_pack("{s:s}", "code", code)) < 0 ||
        db_commit(d) < 0) {
        db_rollback(d);
        return domain_db_failed(err, d, "otp request");
    }
    wake_outbox(a);
    return 0;
}

/* Makes a free handle for a passwordless signup that did not choose one. */
static void generate_handle(db *d, char out[32])
{
    for (int i = 0; i < 20; i++) {
        uint32_t n;
        random_bytes(&n, sizeof n);
        snprintf(out, 32, "user%08u", n % 100000000u);
        if (!store_handle_taken(d, out))
            return;
    }
}

int auth_otp_verify(auth_service *a, db *d, const char *email, const char *phone,
                    const char *code, const char *handle, const char *display_name,
                    const auth_client *client, auth_result *out, domain_error *err)
{
    char target[256];
    int rc = otp_target(email, phone, target, sizeof target, err);
    if (rc < 0)
        return rc;
    if (handle && (rc = check_new_account_fields(NULL, handle, display_name, err)) < 0)
        return rc;
    if (!allowed(a, "otp_verify", client->ip, target, err))
        return ERR_RATE_LIMITED;
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    store_code c;
    rc = store_code_latest(d, "otp", target, &c);
    int64_t now = now_ms();
    if (rc == ERR_NOT_FOUND || (rc == 0 && c.expires_at <= now)) {
        rc = domain_fail(err, ERR_UNAUTHORIZED, rc == 0 ? "code_expired" : "invalid_code",
                  rc == 0 ? "the code has expired; request a new one" : "the code is wrong");
        goto fail;
    }
    if (rc < 0) {
        rc = domain_db_failed(err, d, "load code");
        goto fail;
    }
    if (c.attempts >= OTP_MAX_ATTEMPTS) {
        rc = domain_fail(err, ERR_RATE_LIMITED, "too_many_attempts",
                  "too many wrong codes; request a new one");
        err->retry_after = 1;
        goto fail;
    }
    char hash[TOKEN_HASH_LEN];
    tokens_hash_code(&a->keys, code, hash);
    if (strlen(c.code_hash) != 64 || sodium_memcmp(hash, c.code_hash, 64) != 0) {
        store_code_add_attempt(d, c.id);
        db_commit(d);
        return domain_fail(err, ERR_UNAUTHORIZED, "invalid_code", "the code is wrong");
    }
    if (store_code_use(d, c.id, now) < 0) {
        rc = domain_fail(err, ERR_UNAUTHORIZED, "invalid_code", "the code was already used");
        goto fail;
    }
    store_user u;
    rc = email ? store_user_by_email(d, target, &u) : store_user_by_phone(d, target, &u);
    if (rc == ERR_NOT_FOUND) {
        char generated[32];
        if (!handle) {
            generate_handle(d, generated);
            handle = generated;
        }
        fill_new_user(&u, email, handle, display_name, "user");
        if (phone)
            snprintf(u.phone, sizeof u.phone, "%s", phone);
        if (email)
            u.email_verified_at = now; /* the code reached the inbox */
        if ((rc = insert_user(d, &u, err)) < 0)
            goto fail;
        out->created = true;
    } else if (rc < 0) {
        rc = domain_db_failed(err, d, "load user");
        goto fail;
    } else if (email && !u.email_verified_at) {
        /* the code proves the inbox, not that its holder registered the account */
        if (claim_email(d, &u, now) < 0 || store_user_set_email_verified(d, u.id, now) < 0) {
            rc = domain_db_failed(err, d, "claim email");
            goto fail;
        }
        u.email_verified_at = now;
    }
    if ((rc = open_session(a, d, &u, client, out)) < 0 || db_commit(d) < 0) {
        rc = domain_db_failed(err, d, "otp session");
        goto fail;
    }
    return 0;
fail:
    db_rollback(d);
    return rc;
}

/* ---- roles and operator tasks ------------------------------------------------------------- */

int auth_set_role(auth_service *a, db *d, const auth_principal *actor, int64_t user_id,
                  const char *role, store_user *out, domain_error *err)
{
    int rc = auth_require_role(&actor->user, "admin", err);
    if (rc < 0)
        return rc;
    if (!auth_role_valid(role))
        return domain_invalid(err, "role", "not_allowed");
    if (actor->user.id == user_id)
        return domain_fail(err, ERR_CONFLICT, "cannot_change_own_role",
                    "admins cannot change their own role (ask another admin)");
    rc = store_user_set_role(d, user_id, role, now_ms());
    if (rc == ERR_NOT_FOUND)
        return domain_fail(err, ERR_NOT_FOUND, "user_not_found", "no such user");
    if (rc < 0 || store_user_by_id(d, user_id, out) < 0)
        return domain_db_failed(err, d, "set role");
    log_info("role changed", "\"actor\":\"%lld\",\"user_id\":\"%lld\",\"role\":\"%s\"",
             (long long)actor->user.id, (long long)user_id, role);
    return 0;
}

int auth_create_user(auth_service *a, db *d, const char *email, const char *handle,
                     const char *password, const char *role, store_user *out, domain_error *err)
{
    int rc = check_new_account_fields(email, handle, NULL, err);
    if (rc < 0)
        return rc;
    const char *why = validate_password(password);
    if (why)
        return domain_invalid(err, "password", why);
    if (!auth_role_valid(role))
        return domain_invalid(err, "role", "not_allowed");
    fill_new_user(out, email, handle, NULL, role);
    out->email_verified_at = now_ms(); /* an operator vouches for the address */
    if (password_hash(password, a->cfg.pw_opslimit, a->cfg.pw_memlimit_kib,
                      out->password_hash) < 0)
        return domain_fail(err, ERR_INTERNAL, "internal_error", "could not hash the password");
    return insert_user(d, out, err);
}
