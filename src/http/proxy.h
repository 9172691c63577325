/* SPDX-License-Identifier: MIT
 *
 * Which address a request comes from when reverse proxies stand in front of the server. Each
 * proxy appends the address it received the request from to X-Forwarded-For, so only the hops
 * written by proxies we trust are true; everything left of them was written by the client.
 * The walk is nginx's real_ip module with real_ip_recursive on: start at the peer and move left
 * through the list while the current hop is a trusted proxy; the first untrusted hop is the
 * client. No libmicrohttpd here, so the unit tests and the fuzzer use it directly.
 */
#ifndef STREAMHUB_HTTP_PROXY_H
#define STREAMHUB_HTTP_PROXY_H

#include <stdbool.h>
#include <stddef.h>

/* The most networks --trusted-proxies may list. */
#define HTTP_MAX_TRUSTED_PROXIES 64

typedef struct http_cidr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    unsigned prefix; /* bits */
} http_cidr;

typedef struct http_proxies {
    http_cidr nets[HTTP_MAX_TRUSTED_PROXIES];
    size_t n;
} http_proxies;

/* Parses one address or network ("10.0.0.0/8", "::1", "fd00::/8"). Host bits past the prefix
 * must be zero, as nginx and ip(8) ask. 0 or ERR_INVALID. */
int http_cidr_parse(const char *text, size_t len, http_cidr *out);
/* Parses a comma-separated list (spaces allowed around items); on error writes a message that
 * names the bad item to err and returns ERR_INVALID. */
int http_proxies_parse(const char *list, http_proxies *out, char *err, size_t err_size);
/* Whether ip (text) lies in one of the trusted networks; false for anything unparsable. */
bool http_proxies_trusted(const http_proxies *p, const char *ip);
/* The client's address: peer when it is not a trusted proxy; otherwise the rightmost entry of
 * the X-Forwarded-For values (n_xff header lines, in order, each comma-separated) that is not
 * a trusted proxy, or the leftmost when every entry is trusted. The walk stops at an entry that
 * is not an address and keeps the hop right of it. Writes the address in canonical form. */
void http_client_address(const http_proxies *p, const char *peer, const char *const *xff,
                         size_t n_xff, char *out, size_t out_size);

#endif
