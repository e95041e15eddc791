/*
 * test_es_text.c - the text conversions edgespam and edgespam-web share
 * (conf/es_text.c): number arguments and their bounds, times to the
 * minute (and "-" for never), and domain names lowercased or refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "es_text.h"

static void
test_long(void **state)
{
	static const struct {
		const char *in;
		long lo, hi;
		bool ok;
		long want;
	} t[] = {
		{"1", 1, 10, true, 1},
		{"10", 1, 10, true, 10},
		{"0", 1, 10, false, -7},
		{"11", 1, 10, false, -7},
		{"-3", -5, 5, true, -3},
		{"", 1, 10, false, -7},
		{NULL, 1, 10, false, -7},
		{"5x", 1, 10, false, -7},
		{" 5", 1, 10, true, 5}, /* strtol skips leading space */
		{"99999999999999999999", 1, 10, false, -7},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		long v = -7;

		assert_int_equal(es_text_long(t[i].in, t[i].lo, t[i].hi, &v),
		    t[i].ok);
		assert_int_equal(v, t[i].want);
	}
}

static void
test_minute(void **state)
{
	static const struct {
		int64_t t;
		const char *want;
	} t[] = {
		{0, "-"},
		{-1, "-"},
		{1, "1970-01-01 00:00"},
		{1700000000, "2023-11-14 22:13"},
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_string_equal(es_text_minute(t[i].t, buf, sizeof(buf)),
		    t[i].want);
	/* too small a buffer: "-", not a cut time */
	assert_string_equal(es_text_minute(1, buf, 8), "-");
}

static void
test_domain(void **state)
{
	static const struct {
		const char *in;
		const char *want; /* NULL: refused */
	} t[] = {
		{"Example.ORG", "example.org"},
		{"a-b_c.d9", "a-b_c.d9"},
		{"", NULL},
		{"bad domain", NULL},
		{"bad/domain", NULL},
		{"caf\xc3\xa9.fr", NULL},
	};
	char out[256], big[300];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bool ok = es_text_domain(t[i].in, out, sizeof(out));

		assert_int_equal(ok, t[i].want != NULL);
		if (ok)
			assert_string_equal(out, t[i].want);
	}
	memset(big, 'a', 255);
	big[255] = '\0';
	assert_true(es_text_domain(big, out, sizeof(out)));
	big[255] = 'a';
	big[256] = '\0';
	assert_false(es_text_domain(big, out, sizeof(out)));
	assert_false(es_text_domain(big, out, 300)); /* over 255 bytes */
	assert_false(es_text_domain("abcd", out, 4)); /* no room for NUL */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long),
		cmocka_unit_test(test_minute),
		cmocka_unit_test(test_domain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
