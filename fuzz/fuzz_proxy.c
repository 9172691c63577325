/* SPDX-License-Identifier: MIT
 *
 * Fuzzes the trusted-proxy list parser and the X-Forwarded-For walk. Input: the
 * --trusted-proxies list on the first line, the peer address on the second, and one
 * X-Forwarded-For header line per further line. Whatever the input, the result must be the
 * peer itself (cut to the output size) or an address that parses back.
 */
#include "http/proxy.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    const char *lines[18];
    size_t n = 0;
    for (char *p = s; p && n < 18;) {
        lines[n++] = p;
        p = strchr(p, '\n');
        if (p)
            *p++ = '\0';
    }
    http_proxies proxies;
    char err[256], out[64];
    if (http_proxies_parse(lines[0], &proxies, err, sizeof err) == 0 && n >= 2) {
        http_client_address(&proxies, lines[1], lines + 2, n - 2, out, sizeof out);
        unsigned char b[16];
        if (strncmp(out, lines[1], sizeof out - 1) != 0 && strcmp(out, "unknown") != 0 &&
            inet_pton(AF_INET, out, b) != 1 && inet_pton(AF_INET6, out, b) != 1)
            abort();
    }
    free(s);
    return 0;
}
