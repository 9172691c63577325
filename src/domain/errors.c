/* SPDX-License-Identifier: MIT
 *
 * The shared failure helpers of domain/.
 */
#include "domain/errors.h"

#include "core/log.h"
#include "core/util.h"
#include "domain/validate.h"

#include <string.h>

int domain_fail(domain_error *err, int rc, const char *code, const char *message)
{
    err->code = code;
    err->message = message;
    return rc;
}

int domain_invalid(domain_error *err, const char *field, const char *reason)
{
    err->code = "validation_failed";
    err->message = "a field is invalid";
    err->field = field;
    err->reason = reason;
    err->has_min = err->has_max = false;
    /* the account fields' length rules live in validate.c: state them wherever they fail */
    int64_t min, max;
    if (reason && field && (!strcmp(reason, "too_long") || !strcmp(reason, "too_short")) &&
        validate_bounds(field, &min, &max)) {
        err->min = min;
        err->max = max;
        err->has_min = min >= 0;
        err->has_max = max >= 0;
    }
    return ERR_INVALID;
}

int domain_invalid_bounds(domain_error *err, const char *field, const char *reason, int64_t min,
                          int64_t max)
{
    domain_invalid(err, field, reason);
    err->min = min;
    err->max = max;
    err->has_min = min >= 0;
    err->has_max = max >= 0;
    return ERR_INVALID;
}

int domain_invalid_jv(domain_error *err, const jv_error *v)
{
    domain_invalid(err, v->field, v->reason);
    if (v->has_min || v->has_max) {
        err->min = v->min;
        err->max = v->max;
        err->has_min = v->has_min;
        err->has_max = v->has_max;
    }
    return ERR_INVALID;
}

int domain_db_failed(domain_error *err, db *d, const char *op)
{
    char esc[256];
    log_error("database error", "\"op\":\"%s\",\"detail\":\"%s\"", op,
              log_escape(db_errmsg(d), esc, sizeof esc));
    return domain_fail(err, ERR_DB, "database_error",
                       "the database could not complete the request");
}
