/*
 * cls_net.h - the IPv4 addresses written in a header field's value (the
 * hosts a Received field names), for the edgespam tokenizer's network
 * tokens. Pure code: no I/O, no globals, no allocation; thread-safe.
 */
#ifndef CLS_NET_H
#define CLS_NET_H

#include <stddef.h>
#include <stdint.h>

/* Most addresses cls_net_ipv4() reports from one field. */
#define CLS_NET_MAX 16

/*
 * cls_net_ipv4 - the dotted-quad IPv4 addresses in the len bytes of s
 * (NUL bytes allowed), in order, at most max of them, into out. An
 * address is a run of digits and dots that stands alone (the byte
 * before it is no letter, digit or dot; the run ends at a byte that is
 * no digit or dot) and is exactly four parts of one to three digits,
 * each at most 255: "[192.0.2.1]" and "(192.0.2.1)" give 192.0.2.1,
 * "1.2.3.4.5", "a1.2.3.4", "1.2.3.4." and "256.1.1.1" give nothing.
 * Returns the number written.
 */
size_t cls_net_ipv4(const char *s, size_t len, uint8_t (*out)[4],
    size_t max);

#endif
