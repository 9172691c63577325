/* SPDX-License-Identifier: MIT
 *
 * JSON validation and formatting helpers.
 */
#include "core/json.h"

#include "core/id.h"
#include "core/util.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static bool fail(jv_error *err, const char *field, const char *reason)
{
    *err = (jv_error){.field = field, .reason = reason};
    return false;
}

bool jv_string(json_t *obj, const char *field, bool required, size_t min_chars, size_t max_chars,
               const char **out, jv_error *err)
{
    json_t *v = json_object_get(obj, field);
    *out = NULL;
    if (!v || json_is_null(v))
        return required ? fail(err, field, "required") : true;
    if (!json_is_string(v))
        return fail(err, field, "must_be_string");
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v))
        return fail(err, field, "invalid_format"); /* embedded NUL */
    size_t n = utf8_length(s);
    if ((max_chars && n > max_chars) || n < min_chars) {
        fail(err, field, n < min_chars ? "too_short" : "too_long");
        err->min = (int64_t)min_chars;
        err->max = (int64_t)max_chars;
        err->has_min = min_chars > 0;
        err->has_max = max_chars > 0;
        return false;
    }
    if (required && n == 0)
        return fail(err, field, "required");
    *out = s;
    return true;
}

bool jv_bool(json_t *obj, const char *field, bool required, int *out, jv_error *err)
{
    json_t *v = json_object_get(obj, field);
    *out = -1;
    if (!v || json_is_null(v))
        return required ? fail(err, field, "required") : true;
    if (!json_is_boolean(v))
        return fail(err, field, "must_be_boolean");
    *out = json_is_true(v);
    return true;
}

bool jv_int(json_t *obj, const char *field, bool required, int64_t min, int64_t max,
            int64_t *out, jv_error *err)
{
    json_t *v = json_object_get(obj, field);
    if (!v || json_is_null(v))
        return required ? fail(err, field, "required") : true;
    if (!json_is_integer(v))
        return fail(err, field, "must_be_integer");
    json_int_t n = json_integer_value(v);
    if (n < min || n > max) {
        fail(err, field, "out_of_range");
        err->min = min;
        err->max = max;
        err->has_min = err->has_max = true;
        return false;
    }
    *out = n;
    return true;
}

bool jv_id(json_t *obj, const char *field, bool required, int64_t *out, jv_error *err)
{
    json_t *v = json_object_get(obj, field);
    *out = 0;
    if (!v || json_is_null(v))
        return required ? fail(err, field, "required") : true;
    if (!json_is_string(v))
        return fail(err, field, "must_be_string");
    if (!id_parse(json_string_value(v), out))
        return fail(err, field, "invalid_format");
    return true;
}

bool jv_only(json_t *obj, const char *const *allowed, jv_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, key) == 0) {
                ok = true;
                break;
            }
        if (!ok)
            return fail(err, key, "not_allowed");
    }
    return true;
}

json_t *json_time(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char out[80];
    snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return json_string(out);
}

json_t *json_id(int64_t id)
{
    char s[ID_STR_MAX];
    id_format(id, s);
    return json_string(s);
}
