/*
 * cls_source.c - source keys of a client address (see cls_source.h).
 *
 * The address is parsed with inet_pton() and written back with
 * inet_ntop(), so one address has one text whatever form the MTA used
 * (RFC 5952 compression for IPv6). The network is the address with its
 * host part cleared and the prefix length appended. Anything that is
 * not an address is "no source": the caller records nothing, so hostile
 * or odd {client_addr} text never becomes a row.
 */
#include "cls_source.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "es_err.h"

/* Longest client text looked at: a bracketed "IPv6:" address with room. */
#define SRC_TEXT_MAX 64

/* strip - client without brackets and "IPv6:" into buf; false if too long. */
static bool
strip(const char *client, char *buf, size_t len)
{
	size_t n = strnlen(client, SRC_TEXT_MAX + 1);

	if (n > SRC_TEXT_MAX || n + 1 > len)
		return false;
	if (n >= 2 && client[0] == '[' && client[n - 1] == ']') {
		client++;
		n -= 2;
	}
	if (n >= 5 && strncasecmp(client, "IPv6:", 5) == 0) {
		client += 5;
		n -= 5;
	}
	memcpy(buf, client, n);
	buf[n] = '\0';
	return true;
}

/* keys4 - the keys of an IPv4 address. */
static int
keys4(const unsigned char a[4], struct cls_source_keys *k)
{
	if (a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == 0)
		return ES_ENOTFOUND; /* 0.0.0.0: no client */
	snprintf(
	    k->addr, sizeof(k->addr), "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	snprintf(k->net, sizeof(k->net), "%u.%u.%u.0/24", a[0], a[1], a[2]);
	return 0;
}

int
cls_source_keys(const char *client, struct cls_source_keys *k)
{
	static const unsigned char mapped[12] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const unsigned char zero[16];
	char text[SRC_TEXT_MAX + 1], net[INET6_ADDRSTRLEN];
	unsigned char a[16];

	memset(k, 0, sizeof(*k));
	if (client == NULL || !strip(client, text, sizeof(text)))
		return ES_ENOTFOUND;
	if (inet_pton(AF_INET, text, a) == 1)
		return keys4(a, k);
	if (inet_pton(AF_INET6, text, a) != 1)
		return ES_ENOTFOUND;
	if (memcmp(a, mapped, sizeof(mapped)) == 0)
		return keys4(a + 12, k);
	if (memcmp(a, zero, sizeof(zero)) == 0)
		return ES_ENOTFOUND; /* "::" */
	if (inet_ntop(AF_INET6, a, k->addr, sizeof(k->addr)) == NULL)
		return ES_ENOTFOUND;
	memset(a + 8, 0, 8);
	if (inet_ntop(AF_INET6, a, net, sizeof(net)) == NULL) {
		memset(k, 0, sizeof(*k));
		return ES_ENOTFOUND;
	}
	snprintf(k->net, sizeof(k->net), "%s/64", net);
	return 0;
}
