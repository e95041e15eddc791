/*
 * test_source.c - source keys of client addresses: a table of inputs
 * and the address and network keys they must give (or none).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cls_source.h"
#include "es_err.h"

static void
test_keys(void **state)
{
	static const struct {
		const char *name;
		const char *in;
		int rc;
		const char *addr, *net;
	} c[] = {
		{"ipv4", "192.0.2.7", 0, "192.0.2.7", "192.0.2.0/24"},
		{"ipv4 bracketed", "[198.51.100.200]", 0, "198.51.100.200",
		    "198.51.100.0/24"},
		{"ipv4 .0", "203.0.113.0", 0, "203.0.113.0", "203.0.113.0/24"},
		{"ipv4 loopback", "127.0.0.1", 0, "127.0.0.1", "127.0.0.0/24"},
		{"ipv6", "2001:db8:1:2:3:4:5:6", 0, "2001:db8:1:2:3:4:5:6",
		    "2001:db8:1:2::/64"},
		{"ipv6 host bits cleared", "2001:db8:1:2:ff00:1:2:3", 0,
		    "2001:db8:1:2:ff00:1:2:3", "2001:db8:1:2::/64"},
		{"ipv6 long form", "2001:0DB8:0000:0000:0000:0000:0000:0001", 0,
		    "2001:db8::1", "2001:db8::/64"},
		{"ipv6 sendmail", "IPv6:2001:db8:1:2::99", 0,
		    "2001:db8:1:2::99", "2001:db8:1:2::/64"},
		{"ipv6 bracketed", "[2001:db8::5]", 0, "2001:db8::5",
		    "2001:db8::/64"},
		{"ipv6 loopback", "::1", 0, "::1", "::/64"},
		{"ipv4-mapped", "::ffff:192.0.2.7", 0, "192.0.2.7",
		    "192.0.2.0/24"},
		{"ipv4-mapped sendmail", "IPv6:::ffff:10.1.2.3", 0, "10.1.2.3",
		    "10.1.2.0/24"},
		{"unknown", "unknown", ES_ENOTFOUND, "", ""},
		{"empty", "", ES_ENOTFOUND, "", ""},
		{"NULL", NULL, ES_ENOTFOUND, "", ""},
		{"name", "mail.example.org", ES_ENOTFOUND, "", ""},
		{"unspecified v4", "0.0.0.0", ES_ENOTFOUND, "", ""},
		{"unspecified v6", "::", ES_ENOTFOUND, "", ""},
		{"zone", "fe80::1%eth0", ES_ENOTFOUND, "", ""},
		{"octet too big", "192.0.2.256", ES_ENOTFOUND, "", ""},
		{"short", "192.0.2", ES_ENOTFOUND, "", ""},
		{"trailing text", "192.0.2.7 x", ES_ENOTFOUND, "", ""},
		{"sql", "1.2.3.4'; drop", ES_ENOTFOUND, "", ""},
		{"too long", "2001:db8:1:2:3:4:5:6:7:8:9:10:11:12:13:14:15:16:17:18",
		    ES_ENOTFOUND, "", ""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct cls_source_keys k;
		int rc = cls_source_keys(c[i].in, &k);

		if (rc != c[i].rc || strcmp(k.addr, c[i].addr) != 0 ||
		    strcmp(k.net, c[i].net) != 0)
			fail_msg("case %s: got %d \"%s\" \"%s\", want %d "
				 "\"%s\" \"%s\"",
			    c[i].name, rc, k.addr, k.net, c[i].rc, c[i].addr,
			    c[i].net);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
