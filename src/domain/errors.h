/* SPDX-License-Identifier: MIT
 *
 * How domain functions report failure: a negative ERR_* return plus a domain_error that names the
 * stable client-facing code, a message, and for validation the field and reason. api/ turns the
 * pair into an HTTP answer (and socket commands into an error reply). Every area of domain/ uses
 * it, so it lives here rather than with any one of them.
 */
#ifndef STREAMHUB_DOMAIN_ERRORS_H
#define STREAMHUB_DOMAIN_ERRORS_H

#include "core/json.h"
#include "store/db.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct domain_error {
    const char *code;    /* stable snake_case code for clients */
    const char *message;
    const char *field;   /* the offending field, if any */
    const char *reason;  /* validation reason, if any */
    int retry_after;     /* seconds, for ERR_RATE_LIMITED */
    /* For a value out of its bounds (too_long, too_short, out_of_range): the bounds, stated in
     * the message and in details.min/max (see domain_invalid_bounds). */
    int64_t min, max;
    bool has_min, has_max;
    /* For a caller whose role is too low (auth_require_role): the least role that may act,
     * reported as details.required_role. */
    const char *required_role;
} domain_error;


/* Fills code and message; returns rc so callers can `return domain_fail(...)`. */
int domain_fail(domain_error *err, int rc, const char *code, const char *message);
/* 422 validation_failed naming the field and reason; returns ERR_INVALID. */
int domain_invalid(domain_error *err, const char *field, const char *reason);
/* The same for a value out of its bounds: reason too_long / too_short (lengths in characters)
 * or out_of_range; min or max below 0 is "no such bound". The message states the bounds
 * ("caption must be at most 2200 characters") and details carry min and max. */
int domain_invalid_bounds(domain_error *err, const char *field, const char *reason, int64_t min,
                          int64_t max);
/* The same from a body validator's verdict (src/core/json.c), bounds included. */
int domain_invalid_jv(domain_error *err, const jv_error *v);
/* Logs the database's message with the operation and returns ERR_DB. */
int domain_db_failed(domain_error *err, db *d, const char *op);

#endif
