/* SPDX-License-Identifier: MIT
 *
 * Fuzzes request-body validation: parse arbitrary bytes as the server does, then run the field
 * helpers and the account rules over every member; the name rule also sees the raw bytes (its
 * UTF-8 decoder must hold against what jansson would have refused).
 */
#include "core/json.h"
#include "domain/validate.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *raw = malloc(size + 1), out[64];
    if (raw) {
        memcpy(raw, data, size);
        raw[size] = '\0';
        validate_name(raw, 16, false, out, sizeof out);
        validate_name(raw, 1000, true, NULL, 0);
        free(raw);
    }
    json_error_t err;
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return 0;
    if (json_is_object(root)) {
        const char *key, *s;
        json_t *v;
        jv_error jerr;
        int b;
        static const char *const allowed[] = {"email", "handle", "password", NULL};
        jv_only(root, allowed, &jerr);
        json_object_foreach(root, key, v) {
            if (jv_string(root, key, false, 1, 64, &s, &jerr) && s) {
                validate_handle(s);
                validate_email(s);
                validate_phone(s);
                validate_password(s);
                char name[260];
                validate_display_name(s, name, sizeof name);
            }
            jv_bool(root, key, false, &b, &jerr);
        }
    }
    json_decref(root);
    return 0;
}
