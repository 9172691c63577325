/* SPDX-License-Identifier: MIT
 *
 * The shared failure helpers of domain/.
 */
#include "domain/errors.h"

#include "core/log.h"
#include "core/util.h"

int domain_fail(auth_error *err, int rc, const char *code, const char *message)
{
    err->code = code;
    err->message = message;
    return rc;
}

int domain_invalid(auth_error *err, const char *field, const char *reason)
{
    err->code = "validation_failed";
    err->message = "a field is invalid";
    err->field = field;
    err->reason = reason;
    return ERR_INVALID;
}

int domain_db_failed(auth_error *err, db *d, const char *op)
{
    char esc[256];
    log_error("database error", "\"op\":\"%s\",\"detail\":\"%s\"", op,
              log_escape(db_errmsg(d), esc, sizeof esc));
    return domain_fail(err, ERR_DB, "database_error",
                       "the database could not complete the request");
}
