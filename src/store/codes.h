/* SPDX-License-Identifier: MIT
 *
 * One-time codes: OTP login codes, email verification links and password reset links. Only a
 * keyed hash of each code is stored; codes expire, count failed attempts and are single use.
 */
#ifndef STREAMHUB_STORE_CODES_H
#define STREAMHUB_STORE_CODES_H

#include "store/db.h"

#include <stdint.h>

typedef struct store_code {
    int64_t id;
    char purpose[24];   /* "otp", "verify_email", "reset_password" */
    char target[256];   /* normalized email or E.164 phone */
    int64_t user_id;    /* 0 when the code may create an account (OTP signup) */
    char code_hash[96];
    int64_t attempts;
    int64_t expires_at;
    int64_t used_at;
    int64_t created_at;
} store_code;

int store_code_insert(db *d, const store_code *c);
/* Newest unused code for (purpose, target). */
int store_code_latest(db *d, const char *purpose, const char *target, store_code *out);
/* Unused code with this hash (links carry the whole secret, so no target is needed). */
int store_code_by_hash(db *d, const char *purpose, const char *code_hash, store_code *out);
int store_code_add_attempt(db *d, int64_t id);
/* Marks the code used; ERR_CONFLICT when it already was (single use under concurrency). */
int store_code_use(db *d, int64_t id, int64_t now);
/* Marks every unused code of (purpose, target) used, so only the newest one works. */
int store_code_retire(db *d, const char *purpose, const char *target, int64_t now);

#endif
