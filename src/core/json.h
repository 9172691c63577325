/* SPDX-License-Identifier: MIT
 *
 * Validation helpers for JSON request bodies: typed field access that reports the first problem
 * as (field, reason), which api/ turns into a 422 naming the field. Reasons are stable snake_case
 * words clients can switch on: required, must_be_string, must_be_boolean, must_be_integer,
 * too_long, too_short, invalid_format, not_allowed, out_of_range.
 */
#ifndef STREAMHUB_CORE_JSON_H
#define STREAMHUB_CORE_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct jv_error {
    const char *field;
    const char *reason;
    /* The bounds the value broke, for a message that states them and details.min/max: lengths
     * in characters for too_long/too_short, values for out_of_range. */
    int64_t min, max;
    bool has_min, has_max;
} jv_error;

/* String field: NULL *out when absent and optional. Lengths count Unicode code points and apply
 * only when non-zero. Returns false and fills err on a problem. */
bool jv_string(json_t *obj, const char *field, bool required, size_t min_chars, size_t max_chars,
               const char **out, jv_error *err);
bool jv_bool(json_t *obj, const char *field, bool required, int *out /* -1 absent */,
             jv_error *err);
/* Integer field within [min, max] ("out_of_range" otherwise); *out untouched when absent. */
bool jv_int(json_t *obj, const char *field, bool required, int64_t min, int64_t max,
            int64_t *out, jv_error *err);
/* An id sent as a decimal string (as every id is sent to clients); *out 0 when absent. */
bool jv_id(json_t *obj, const char *field, bool required, int64_t *out, jv_error *err);
/* Rejects members not listed in allowed (NULL-terminated), so typos do not pass silently. */
bool jv_only(json_t *obj, const char *const *allowed, jv_error *err);

/* ISO 8601 UTC with milliseconds ("2026-11-24T13:34:33.123Z") from Unix milliseconds. */
json_t *json_time(int64_t ms);
/* Id as a decimal string (JavaScript cannot hold 64-bit integers). */
json_t *json_id(int64_t id);

#endif
