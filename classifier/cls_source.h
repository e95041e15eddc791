/*
 * cls_source.h - the source keys of an SMTP client address: the
 * address itself and its network, under which the milter counts the
 * verdicts of the mail that client sent (edgespam_sources).
 *
 * Pure code: text in, text out; no I/O, no allocation.
 */
#ifndef CLS_SOURCE_H
#define CLS_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

/* Room for the longest key, "ffff:ffff:ffff:ffff::/64" or a full IPv6
 * address (45 characters), and its NUL; the store's column is 64. */
#define CLS_SOURCE_LEN 64

struct cls_source_keys {
	char addr[CLS_SOURCE_LEN]; /* canonical: "192.0.2.7", "2001:db8::1" */
	char net[CLS_SOURCE_LEN];  /* "192.0.2.0/24", "2001:db8:1:2::/64" */
};

/*
 * cls_source_keys - the keys of client, an address as an MTA reports it:
 * IPv4 dotted quad, IPv6 (compressed or not), IPv4-mapped IPv6
 * ("::ffff:192.0.2.7", which counts as the IPv4 address), optionally in
 * brackets or with sendmail's "IPv6:" prefix. IPv4 addresses are counted
 * with their /24, IPv6 with their /64. Returns 0, or ES_ENOTFOUND when
 * client is no usable address (NULL, "", "unknown", a name, the
 * unspecified address, an address with a zone): no source is recorded.
 */
int cls_source_keys(const char *client, struct cls_source_keys *k);

#endif
