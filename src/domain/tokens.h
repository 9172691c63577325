/* SPDX-License-Identifier: MIT
 *
 * Credentials: JWT access tokens (HS256 via libjwt), opaque refresh tokens and one-time codes
 * (stored only as hashes), and argon2id password hashes (libsodium). Access tokens are short-lived
 * and carry the session id, so a revoked session stops working on its next request.
 */
#ifndef STREAMHUB_DOMAIN_TOKENS_H
#define STREAMHUB_DOMAIN_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOKEN_HASH_LEN 65     /* hex SHA-256 + NUL */
#define REFRESH_TOKEN_LEN 48  /* base64url of 32 bytes + NUL, rounded */
#define ACCESS_TOKEN_MAX 1024
#define PW_HASH_MAX 192

typedef struct token_keys {
    unsigned char jwt[32];   /* HS256 secret */
    size_t jwt_len;
    unsigned char codes[32]; /* HMAC key for one-time codes, derived from the JWT secret */
} token_keys;

typedef struct access_claims {
    int64_t user_id;
    int64_t session_id;
    int64_t expires_at; /* seconds since epoch */
} access_claims;

/* Derives all keys from a secret (any length; hashed to 32 bytes). */
void tokens_init(token_keys *k, const char *secret);
int tokens_issue_access(const token_keys *k, int64_t user_id, int64_t session_id,
                        const char *role, int64_t now_s, int64_t ttl_s,
                        char out[ACCESS_TOKEN_MAX]);
/* ERR_UNAUTHORIZED for a bad signature, wrong algorithm or malformed token; ERR_FORBIDDEN is
 * never returned; expired tokens give ERR_UNAUTHORIZED with *expired set. */
int tokens_verify_access(const token_keys *k, const char *token, int64_t now_s,
                         access_claims *out, bool *expired);
void tokens_new_refresh(char out[REFRESH_TOKEN_LEN]);
/* Plain SHA-256 (hex) for high-entropy secrets: refresh tokens and link tokens. */
void tokens_hash_secret(const char *secret, char out[TOKEN_HASH_LEN]);
/* Keyed hash (HMAC-SHA-256, hex) for low-entropy codes such as 6-digit OTPs, so a leaked
 * database does not reveal them by brute force. */
void tokens_hash_code(const token_keys *k, const char *code, char out[TOKEN_HASH_LEN]);
void tokens_new_otp(char out[7]);

int password_hash(const char *password, int64_t opslimit, int64_t memlimit_kib,
                  char out[PW_HASH_MAX]);
bool password_verify(const char *hash, const char *password);
bool password_needs_rehash(const char *hash, int64_t opslimit, int64_t memlimit_kib);

#endif
