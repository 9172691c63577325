/* SPDX-License-Identifier: MIT
 *
 * Whether a request's framing can be trusted (RFC 9112 section 6), decided from its version,
 * its raw target and every header line. libmicrohttpd believes Transfer-Encoding over
 * Content-Length and the first of several Content-Lengths; a front proxy may believe otherwise,
 * and the bytes one of them takes for a body the other runs as a request (request smuggling).
 * So such requests are refused and their connection closed. No libmicrohttpd here, so unit
 * tests and the fuzzer drive it directly.
 */
#ifndef STREAMHUB_HTTP_FRAMING_H
#define STREAMHUB_HTTP_FRAMING_H

#include <stdbool.h>

typedef struct http_framing {
    int n_cl, n_te, n_host;
    const char *cl, *te; /* the last of each, borrowed */
    bool cl_differ;      /* two Content-Length lines with different values */
    bool nul_in_target;
} http_framing;

/* Notes the raw request target (before %XX decoding): a %00 there is refused. */
void http_framing_target(http_framing *f, const char *raw_target);
/* Notes one header line (every line, duplicates included). key and value are borrowed. */
void http_framing_header(http_framing *f, const char *key, const char *value);
/* 0 when the request may be read; else the status to answer (400 or 501, the connection to be
 * closed) with *code and *message set to static strings. version is "HTTP/1.1" or the like. */
int http_framing_verdict(const http_framing *f, const char *version, const char **code,
                         const char **message);

#endif
