/* SPDX-License-Identifier: MIT
 *
 * Trusted proxies and the X-Forwarded-For walk (see proxy.h). Addresses are compared as bytes:
 * an IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack socket reports for an IPv4
 * peer) is taken as the IPv4 address so one list covers both kinds of listener.
 */
#include "http/proxy.h"

#include "core/util.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Longest text form of an address we accept (an IPv6 address with an embedded IPv4 one). */
#define ADDR_TEXT_MAX 64

typedef struct ip_addr {
    int family;
    unsigned char b[16];
} ip_addr;

static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static bool parse_ip(const char *text, size_t len, ip_addr *out)
{
    char text0[ADDR_TEXT_MAX];
    if (len == 0 || len >= sizeof text0)
        return false;
    memcpy(text0, text, len);
    text0[len] = 0;
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, text0, out->b) == 1) {
        out->family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, text0, out->b) != 1)
        return false;
    out->family = AF_INET6;
    if (!memcmp(out->b, v4_mapped, sizeof v4_mapped)) {
        memmove(out->b, out->b + 12, 4);
        memset(out->b + 4, 0, 12);
        out->family = AF_INET;
    }
    return true;
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

int http_cidr_parse(const char *text, size_t len, http_cidr *out)
{
    trim(&text, &len);
    const char *slash = memchr(text, '/', len);
    size_t addr_len = slash ? (size_t)(slash - text) : len;
    ip_addr a;
    if (!parse_ip(text, addr_len, &a))
        return ERR_INVALID;
    /* ::ffff:a.b.c.d/N was parsed as IPv4: its prefix counts the 96 bits in front */
    bool mapped = a.family == AF_INET && memchr(text, ':', addr_len);
    unsigned max = a.family == AF_INET ? 32 : 128;
    unsigned prefix = max;
    if (slash) {
        const char *p = slash + 1, *end = text + len;
        if (p == end || end - p > 3)
            return ERR_INVALID;
        prefix = 0;
        for (; p < end; p++) {
            if (*p < '0' || *p > '9')
                return ERR_INVALID;
            prefix = prefix * 10 + (unsigned)(*p - '0');
        }
        if (mapped) {
            if (prefix < 96)
                return ERR_INVALID;
            prefix -= 96;
        }
        if (prefix > max)
            return ERR_INVALID;
    }
    /* host bits set ("10.0.0.1/8") usually mean a typo; refuse rather than guess */
    for (unsigned bit = prefix; bit < max; bit++)
        if (a.b[bit / 8] & (0x80 >> (bit % 8)))
            return ERR_INVALID;
    out->family = a.family;
    memcpy(out->addr, a.b, sizeof out->addr);
    out->prefix = prefix;
    return 0;
}

int http_proxies_parse(const char *list, http_proxies *out, char *err, size_t err_size)
{
    memset(out, 0, sizeof *out);
    const char *p = list ? list : "";
    while (*p) {
        size_t n = strcspn(p, ",");
        const char *item = p;
        size_t item_len = n;
        trim(&item, &item_len);
        if (item_len) {
            if (out->n == HTTP_MAX_TRUSTED_PROXIES) {
                snprintf(err, err_size, "--trusted-proxies lists more than %d networks",
                         HTTP_MAX_TRUSTED_PROXIES);
                return ERR_INVALID;
            }
            if (http_cidr_parse(item, item_len, &out->nets[out->n]) < 0) {
                snprintf(err, err_size,
                         "--trusted-proxies: '%.*s' is not an IPv4 or IPv6 address or network "
                         "(ADDRESS or ADDRESS/PREFIX with no host bits set)",
                         (int)(item_len > 80 ? 80 : item_len), item);
                return ERR_INVALID;
            }
            out->n++;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

static bool in_net(const http_cidr *net, const ip_addr *a)
{
    if (net->family != a->family)
        return false;
    unsigned full = net->prefix / 8, rest = net->prefix % 8;
    if (memcmp(net->addr, a->b, full))
        return false;
    if (!rest)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (net->addr[full] & mask) == (a->b[full] & mask);
}

static bool trusted(const http_proxies *p, const ip_addr *a)
{
    for (size_t i = 0; i < p->n; i++)
        if (in_net(&p->nets[i], a))
            return true;
    return false;
}

bool http_proxies_trusted(const http_proxies *p, const char *ip)
{
    ip_addr a;
    return ip && parse_ip(ip, strlen(ip), &a) && trusted(p, &a);
}

static void format_ip(const ip_addr *a, char *out, size_t out_size)
{
    if (!inet_ntop(a->family, a->b, out, (socklen_t)out_size))
        snprintf(out, out_size, "unknown");
}

void http_client_address(const http_proxies *p, const char *peer, const char *const *xff,
                         size_t n_xff, char *out, size_t out_size)
{
    ip_addr cur;
    if (!peer || !parse_ip(peer, strlen(peer), &cur)) {
        snprintf(out, out_size, "%s", peer ? peer : "unknown");
        return;
    }
    /* right to left over the header lines, then over each line's comma-separated entries */
    for (size_t line = n_xff; line-- > 0 && trusted(p, &cur);) {
        const char *s = xff[line];
        size_t end = strlen(s);
        for (;;) {
            if (!trusted(p, &cur))
                goto done;
            size_t start = end;
            while (start > 0 && s[start - 1] != ',')
                start--;
            const char *item = s + start;
            size_t n = end - start;
            trim(&item, &n);
            ip_addr next;
            if (n && !parse_ip(item, n, &next))
                goto done; /* garbage: keep the hop a trusted proxy vouched for */
            if (n)
                cur = next;
            if (start == 0)
                break;
            end = start - 1;
        }
    }
done:
    format_ip(&cur, out, out_size);
}
