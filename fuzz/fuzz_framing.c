/* SPDX-License-Identifier: MIT
 *
 * Fuzzes the request framing checks. Input: the HTTP version on the first line, the raw
 * request target on the second, then "Key: value" header lines. Whatever the input, the verdict
 * is 0, 400 or 501, and a request it lets through has one unambiguous body length.
 */
#include "http/framing.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    char *line = s, *version = NULL;
    http_framing f = {0};
    for (int i = 0; line; i++) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (i == 0) {
            version = line;
        } else if (i == 1) {
            http_framing_target(&f, line);
        } else {
            char *colon = strchr(line, ':');
            if (colon) {
                *colon = '\0';
                http_framing_header(&f, line, colon + 1);
            }
        }
        line = next;
    }
    const char *code, *message;
    int v = http_framing_verdict(&f, version, &code, &message);
    if (v != 0 && v != 400 && v != 501)
        abort();
    if (v == 0 && ((f.n_cl && f.n_te) || f.cl_differ || f.n_te > 1 || f.nul_in_target))
        abort();
    if (v != 0 && (!code || !message))
        abort();
    free(s);
    return 0;
}
