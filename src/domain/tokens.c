/* SPDX-License-Identifier: MIT
 *
 * Implementation of tokens.h on libjwt and libsodium.
 */
#include "domain/tokens.h"

#include "core/id.h"
#include "core/util.h"

#include <jwt.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tokens_init(token_keys *k, const char *secret)
{
    crypto_generichash(k->jwt, sizeof k->jwt, (const unsigned char *)secret, strlen(secret),
                       (const unsigned char *)"streamhub-jwt-v1", 16);
    k->jwt_len = sizeof k->jwt;
    crypto_generichash(k->codes, sizeof k->codes, (const unsigned char *)secret, strlen(secret),
                       (const unsigned char *)"streamhub-codes1", 16);
}

int tokens_issue_access(const token_keys *k, int64_t user_id, int64_t session_id,
                        const char *role, int64_t now_s, int64_t ttl_s,
                        char out[ACCESS_TOKEN_MAX])
{
    jwt_t *jwt = NULL;
    char sub[ID_STR_MAX], sid[ID_STR_MAX];
    id_format(user_id, sub);
    id_format(session_id, sid);
    if (jwt_new(&jwt) != 0)
        return ERR_NOMEM;
    int rc = ERR_INTERNAL;
    if (jwt_add_grant(jwt, "iss", "streamhub") || jwt_add_grant(jwt, "sub", sub) ||
        jwt_add_grant(jwt, "sid", sid) || jwt_add_grant(jwt, "role", role) ||
        jwt_add_grant(jwt, "typ", "access") || jwt_add_grant_int(jwt, "iat", now_s) ||
        jwt_add_grant_int(jwt, "exp", now_s + ttl_s) ||
        jwt_set_alg(jwt, JWT_ALG_HS256, k->jwt, (int)k->jwt_len))
        goto done;
    char *s = jwt_encode_str(jwt);
    if (s && strlen(s) < ACCESS_TOKEN_MAX) {
        strcpy(out, s);
        rc = 0;
    }
    free(s);
done:
    jwt_free(jwt);
    return rc;
}

/* Verified access tokens, per thread. libjwt's jwt_decode (base64, JSON parse, HMAC through
 * OpenSSL, allocations) is ~80,000 instructions, 43% of a signed-in point read such as GET
 * /auth/me (bench/callgrind.sh, docs/BENCHMARKS.md), and a client sends the same token with
 * every request for its 15 minutes. Whether a given string is a valid signature under a given
 * key never changes, so a hit (the same bytes, the same key) skips the decode and only rechecks
 * the expiry. The cache holds only what verified; revocation is not decided here (auth.c checks
 * the session on every request). Per thread: no lock on the request path. */
#define VERIFIED_SLOTS 32 /* ~17 KiB per thread that verifies, allocated by its first token */
#define VERIFIED_TOKEN_MAX 512 /* ours are ~300 bytes; longer ones are verified every time */

typedef struct verified_token {
    uint64_t hash; /* 0: empty */
    unsigned char key[32];
    access_claims claims;
    char token[VERIFIED_TOKEN_MAX];
} verified_token;

static pthread_key_t verified_key;
static pthread_once_t verified_once = PTHREAD_ONCE_INIT;

static void verified_key_init(void)
{
    pthread_key_create(&verified_key, free); /* a thread's cache goes with it */
}

static verified_token *verified_slot(const char *token, size_t len, uint64_t *hash)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a: picks a slot; the full token is compared */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)token[i]) * 1099511628211ULL;
    *hash = h | 1;
    pthread_once(&verified_once, verified_key_init);
    verified_token *cache = pthread_getspecific(verified_key);
    if (!cache) {
        cache = calloc(VERIFIED_SLOTS, sizeof *cache);
        if (!cache || pthread_setspecific(verified_key, cache) != 0) {
            free(cache);
            return NULL;
        }
    }
    return &cache[*hash % VERIFIED_SLOTS];
}

static int check_expiry(const access_claims *c, int64_t now_s, bool *expired)
{
    if (c->expires_at <= now_s) {
        *expired = true;
        return ERR_UNAUTHORIZED;
    }
    return 0;
}

int tokens_verify_access(const token_keys *k, const char *token, int64_t now_s,
                         access_claims *out, bool *expired)
{
    *expired = false;
    size_t len = token ? strlen(token) : 0;
    if (!token || len >= ACCESS_TOKEN_MAX)
        return ERR_UNAUTHORIZED;
    uint64_t hash = 0;
    verified_token *slot = len < VERIFIED_TOKEN_MAX ? verified_slot(token, len, &hash) : NULL;
    if (slot && slot->hash == hash && !memcmp(slot->key, k->jwt, sizeof slot->key) &&
        !strcmp(slot->token, token)) {
        *out = slot->claims;
        return check_expiry(out, now_s, expired);
    }
    jwt_t *jwt = NULL;
    if (jwt_decode(&jwt, token, k->jwt, (int)k->jwt_len) != 0)
        return ERR_UNAUTHORIZED;
    int rc = ERR_UNAUTHORIZED;
    /* Only our algorithm: never accept "none" or a different family chosen by the token. */
    if (jwt_get_alg(jwt) != JWT_ALG_HS256)
        goto done;
    const char *typ = jwt_get_grant(jwt, "typ"), *sub = jwt_get_grant(jwt, "sub"),
               *sid = jwt_get_grant(jwt, "sid"), *iss = jwt_get_grant(jwt, "iss");
    long exp = jwt_get_grant_int(jwt, "exp");
    if (!typ || strcmp(typ, "access") || !iss || strcmp(iss, "streamhub") || exp <= 0 ||
        !id_parse(sub, &out->user_id) || !id_parse(sid, &out->session_id))
        goto done;
    out->expires_at = exp;
    rc = check_expiry(out, now_s, expired);
    if (rc == 0 && slot) {
        slot->hash = hash;
        memcpy(slot->key, k->jwt, sizeof slot->key);
        slot->claims = *out;
        memcpy(slot->token, token, len + 1);
    }
done:
    jwt_free(jwt);
    return rc;
}

void tokens_new_refresh(char out[REFRESH_TOKEN_LEN])
{
    random_token(out, REFRESH_TOKEN_LEN, 32);
}

static void to_hex(const unsigned char *bin, size_t n, char *out)
{
    sodium_bin2hex(out, n * 2 + 1, bin, n);
}

void tokens_hash_secret(const char *secret, char out[TOKEN_HASH_LEN])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)secret, strlen(secret));
    to_hex(h, sizeof h, out);
}

void tokens_hash_code(const token_keys *k, const char *code, char out[TOKEN_HASH_LEN])
{
    unsigned char h[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, k->codes, sizeof k->codes);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)code, strlen(code));
    crypto_auth_hmacsha256_final(&st, h);
    to_hex(h, sizeof h, out);
}

void tokens_new_otp(char out[7])
{
    snprintf(out, 7, "%06u", randombytes_uniform(1000000));
}

int password_hash(const char *password, int64_t opslimit, int64_t memlimit_kib,
                  char out[PW_HASH_MAX])
{
    _Static_assert(PW_HASH_MAX >= crypto_pwhash_STRBYTES, "hash buffer fits libsodium's string");
    if (crypto_pwhash_str_alg(out, password, strlen(password), (unsigned long long)opslimit,
                              (size_t)memlimit_kib * 1024, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return ERR_NOMEM;
    return 0;
}

bool password_verify(const char *hash, const char *password)
{
    if (!hash || !*hash)
        return false;
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

bool password_needs_rehash(const char *hash, int64_t opslimit, int64_t memlimit_kib)
{
    return crypto_pwhash_str_needs_rehash(hash, (unsigned long long)opslimit,
                                          (size_t)memlimit_kib * 1024) != 0;
}
