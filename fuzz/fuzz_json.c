/* SPDX-License-Identifier: MIT
 *
 * Fuzzes request-body validation: parse arbitrary bytes as the server does, then run the field
 * helpers and the account rules over every member.
 */
#include "core/json.h"
#include "domain/validate.h"

#include <jansson.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
                validate_display_name(s);
            }
            jv_bool(root, key, false, &b, &jerr);
        }
    }
    json_decref(root);
    return 0;
}
