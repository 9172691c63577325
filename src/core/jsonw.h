/* SPDX-License-Identifier: MIT
 *
 * A streaming JSON writer into a buf: for the hot lists (feeds, post pages) whose answers are
 * built once and sent, where building a jansson tree only to serialize it cost about a quarter
 * of each request. It writes compact JSON exactly as json_dumps(JSON_COMPACT) does (UTF-8 kept
 * as is; quote, backslash and control characters escaped), so either path gives clients the
 * same bytes. Commas are placed by the writer; nesting is bounded by JSONW_DEPTH (asserted, as
 * the shapes are the program's own, never input).
 */
#ifndef STREAMHUB_CORE_JSONW_H
#define STREAMHUB_CORE_JSONW_H

#include "core/util.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define JSONW_DEPTH 16

typedef struct jsonw {
    buf *out;
    int depth;
    bool after_key;
    bool has_items[JSONW_DEPTH];
} jsonw;

void jsonw_init(jsonw *w, buf *out);
void jsonw_object(jsonw *w); /* { */
void jsonw_array(jsonw *w);  /* [ */
void jsonw_end_object(jsonw *w);
void jsonw_end_array(jsonw *w);
/* An object member's key; the next call writes its value. Keys are the program's own names
 * and are written without escaping (never pass input as a key). */
void jsonw_key(jsonw *w, const char *key);
void jsonw_string(jsonw *w, const char *s);
void jsonw_int(jsonw *w, int64_t v);
void jsonw_bool(jsonw *w, bool v);
void jsonw_null(jsonw *w);
/* An id as its decimal string (ids are strings in the API), or null for 0. */
void jsonw_id(jsonw *w, int64_t id);
/* A time as ISO 8601 UTC with milliseconds, or null for ms <= 0 (like json_time). */
void jsonw_time(jsonw *w, int64_t ms);
/* An object member in one call: key, then the value as above. */
void jsonw_member_string(jsonw *w, const char *key, const char *s);
void jsonw_member_int(jsonw *w, const char *key, int64_t v);
void jsonw_member_bool(jsonw *w, const char *key, bool v);
void jsonw_member_id(jsonw *w, const char *key, int64_t id);
void jsonw_member_time(jsonw *w, const char *key, int64_t ms);
/* A jansson value, serialized in place (for rare nested parts). */
void jsonw_value(jsonw *w, const json_t *v);

#endif
