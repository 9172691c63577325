/* SPDX-License-Identifier: MIT
 *
 * Request framing checks (see framing.h). Identical repeated Content-Length lines are accepted
 * (RFC 9112 6.3 allows it); the only transfer coding accepted is a single "chunked", since the
 * server decodes no other (501 for the rest, as 6.1 suggests).
 */
#include "http/framing.h"

#include <string.h>
#include <strings.h>

void http_framing_target(http_framing *f, const char *raw_target)
{
    if (raw_target && strstr(raw_target, "%00"))
        f->nul_in_target = true;
}

void http_framing_header(http_framing *f, const char *key, const char *value)
{
    value = value ? value : "";
    if (!strcasecmp(key, "Content-Length")) {
        if (f->n_cl++ && strcmp(f->cl, value))
            f->cl_differ = true;
        f->cl = value;
    } else if (!strcasecmp(key, "Transfer-Encoding")) {
        f->n_te++;
        f->te = value;
    } else if (!strcasecmp(key, "Host")) {
        f->n_host++;
    }
}

static bool is_chunked(const char *te)
{
    while (*te == ' ' || *te == '\t')
        te++;
    size_t n = strlen(te);
    while (n && (te[n - 1] == ' ' || te[n - 1] == '\t'))
        n--;
    return n == 7 && !strncasecmp(te, "chunked", 7);
}

int http_framing_verdict(const http_framing *f, const char *version, const char **code,
                         const char **message)
{
    *code = "bad_request";
    if (f->nul_in_target) {
        *message = "the request target contains %00 (a NUL byte)";
        return 400;
    }
    if (version && !strcmp(version, "HTTP/1.1") && f->n_host != 1) {
        *message =
            f->n_host ? "more than one Host header" : "an HTTP/1.1 request needs a Host header";
        return 400;
    }
    *code = "bad_framing";
    if (f->n_cl && f->n_te) {
        *message = "a request must not carry both Content-Length and Transfer-Encoding";
        return 400;
    }
    if (f->cl_differ) {
        *message = "conflicting Content-Length values";
        return 400;
    }
    if (f->n_te > 1 || (f->n_te && !is_chunked(f->te))) {
        *code = "unsupported_transfer_encoding";
        *message = "the only transfer coding accepted is a single chunked";
        return 501;
    }
    *code = *message = NULL;
    return 0;
}
