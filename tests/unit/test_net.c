/*
 * test_net.c - the IPv4 addresses cls_net_ipv4() finds in a header
 * field's value (the edgespam tokenizer's network tokens).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cls_net.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void
test_ipv4(void **state)
{
	static const struct {
		const char *in;
		size_t max;
		const char *want; /* the addresses found, space-separated */
	} c[] = {
	    {"from unknown (HELO x) (62.172.195.14) by mi-1.example.de", 16,
		"62.172.195.14"},
	    {"from [213.1.202.147] (helo=p7q1e) by relay", 16,
		"213.1.202.147"},
	    {"from a (a [10.0.0.1]) by b (b [192.0.2.254])", 16,
		"10.0.0.1 192.0.2.254"},
	    {"1.2.3.4", 16, "1.2.3.4"},
	    {"0.0.0.0 255.255.255.255", 16, "0.0.0.0 255.255.255.255"},
	    {"ip=198.51.100.7;", 16, "198.51.100.7"},
	    {"by host with esmtp (Exim 4.05) id 17MY9x-0001zk-00", 16, ""},
	    {"version 1.2.3.4.5", 16, ""},    /* five parts */
	    {"1.2.3", 16, ""},                /* three parts */
	    {"1.2.3.4.", 16, ""},             /* ends in a dot */
	    {".1.2.3.4", 16, ""},             /* after a dot */
	    {"a1.2.3.4", 16, ""},             /* inside a name */
	    {"host-1.2.3.4", 16, "1.2.3.4"},  /* after a hyphen */
	    {"256.1.1.1", 16, ""},            /* part above 255 */
	    {"1.2.3.1000", 16, ""},           /* four digits */
	    {"0001.2.3.4", 16, ""},           /* four digits */
	    {"1..2.3", 16, ""},
	    {"1.2.3.4abc", 16, "1.2.3.4"},
	    {"(1.2.3.4)(5.6.7.8)(9.9.9.9)", 2, "1.2.3.4 5.6.7.8"}, /* max */
	    {"", 16, ""},
	};
	uint8_t a[CLS_NET_MAX][4];
	size_t k, i, n;
	int bad = 0;

	(void)state;
	for (k = 0; k < NELEM(c); k++) {
		char got[256];
		size_t o = 0;

		n = cls_net_ipv4(c[k].in, strlen(c[k].in), a, c[k].max);
		got[0] = '\0';
		for (i = 0; i < n; i++)
			o += (size_t)snprintf(got + o, sizeof(got) - o,
			    "%s%u.%u.%u.%u", i ? " " : "", a[i][0], a[i][1],
			    a[i][2], a[i][3]);
		if (strcmp(got, c[k].want) != 0) {
			printf("case %zu \"%s\": got \"%s\", want \"%s\"\n", k,
			    c[k].in, got, c[k].want);
			bad = 1;
		}
	}
	assert_int_equal(bad, 0);
}

/* NUL bytes do not end the value; the length does. */
static void
test_ipv4_lengths(void **state)
{
	static const char v[] = "x\0(192.0.2.1) 198.51.100.2";
	uint8_t a[CLS_NET_MAX][4];

	(void)state;
	assert_int_equal(cls_net_ipv4(v, sizeof(v) - 1, a, CLS_NET_MAX), 2);
	assert_int_equal(a[0][3], 1);
	assert_int_equal(a[1][0], 198);
	/* cut inside the second address: only the first is whole */
	assert_int_equal(cls_net_ipv4(v, sizeof(v) - 3, a, CLS_NET_MAX), 1);
	assert_int_equal(cls_net_ipv4(v, 0, a, CLS_NET_MAX), 0);
	assert_int_equal(cls_net_ipv4(v, sizeof(v) - 1, a, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ipv4),
	    cmocka_unit_test(test_ipv4_lengths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
