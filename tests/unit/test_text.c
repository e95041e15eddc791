/*
 * test_text.c - hostile header text made printable and cut (cls_text.h):
 * a table of inputs and the text each must give, and the decoding of
 * RFC 2047 words in header values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cls_text.h"
#include "es_err.h"

#define FFFD "\xef\xbf\xbd"

static void
test_printable(void **state)
{
	static const struct {
		const char *name;
		const char *in;
		size_t len;       /* 0: strlen(in) */
		size_t max_chars;
		size_t outlen;
		const char *want;
		bool cut;
	} c[] = {
		{"plain", "Hello world", 0, 200, 801, "Hello world", false},
		{"empty", "", 0, 200, 801, "", false},
		{"folded", "  a\r\n\tb  \n c ", 0, 200, 801, "a b c", false},
		{"controls", "a\x01" "b\x1b[31mc\x7f", 0, 200, 801,
		    "a?b?[31mc?", false},
		{"NUL inside", "a\0b", 3, 200, 801, "a?b", false},
		{"utf-8 kept", "Gr\xc3\xbc\xc3\x9f" "e \xe6\x97\xa5 \xf0\x9f\x98\x80",
		    0, 200, 801,
		    "Gr\xc3\xbc\xc3\x9f" "e \xe6\x97\xa5 \xf0\x9f\x98\x80", false},
		{"latin-1 byte", "caf\xe9!", 0, 200, 801, "caf" FFFD "!", false},
		{"stray continuation", "a\x80\x80z", 0, 200, 801,
		    "a" FFFD FFFD "z", false},
		{"overlong slash", "\xc0\xaf", 0, 200, 801, FFFD FFFD, false},
		{"overlong 3", "\xe0\x80\xaf", 0, 200, 801, FFFD FFFD FFFD, false},
		{"surrogate", "\xed\xa0\x80", 0, 200, 801, FFFD FFFD FFFD, false},
		{"past U+10FFFF", "\xf4\x90\x80\x80", 0, 200, 801,
		    FFFD FFFD FFFD FFFD, false},
		{"cut short", "ab\xe6\x97", 0, 200, 801, "ab" FFFD FFFD, false},
		{"C1 control", "a\xc2\x85z", 0, 200, 801, "a?z", false},
		{"bidi override", "x\xe2\x80\xaeyz\xe2\x81\xa6", 0, 200, 801,
		    "x?yz?", false},
		{"html stays text", "<script>alert(1)</script>", 0, 200, 801,
		    "<script>alert(1)</script>", false},
		{"cut at max chars", "abcdef", 0, 3, 801, "abc", true},
		{"cut counts characters", "\xc3\xa4\xc3\xb6\xc3\xbc\xc3\x9f", 0,
		    3, 801, "\xc3\xa4\xc3\xb6\xc3\xbc", true},
		{"exactly max", "abc", 0, 3, 801, "abc", false},
		{"space at the cut dropped", "ab cd", 0, 3, 801, "ab", true},
		{"buffer cuts on a boundary", "a\xe6\x97\xa5", 0, 200, 4, "a",
		    true},
		{"buffer of one", "abc", 0, 200, 1, "", true},
		{"replacement counts", "\xff\xff\xff", 0, 2, 801, FFFD FFFD,
		    true},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char out[801];
		bool cut = !c[i].cut;
		size_t len = c[i].len ? c[i].len : strlen(c[i].in);
		size_t n = cls_text_printable(c[i].in, len, c[i].max_chars, out,
		    c[i].outlen, &cut);

		if (strcmp(out, c[i].want) != 0 || n != strlen(c[i].want) ||
		    cut != c[i].cut)
			fail_msg("case %s: got \"%s\" (%zu, cut %d), want "
				 "\"%s\" (cut %d)",
			    c[i].name, out, n, cut, c[i].want, c[i].cut);
	}
}

/* Every output of hostile bytes is well-formed and within its bounds. */
static void
test_bounds(void **state)
{
	char in[600], out[801];
	unsigned x = 12345;

	(void)state;
	for (int round = 0; round < 2000; round++) {
		size_t n;

		for (size_t i = 0; i < sizeof(in); i++) {
			x = x * 1103515245u + 12345u;
			in[i] = (char)(x >> 16);
		}
		n = cls_text_printable(in, sizeof(in), 200, out, sizeof(out),
		    NULL);
		assert_true(n < sizeof(out));
		assert_int_equal(strlen(out), n);
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
				fail_msg("round %d: control byte at %zu", round,
				    i);
		/* printable again is the same text: nothing left to fix */
		{
			char again[801];

			cls_text_printable(out, n, 200, again, sizeof(again),
			    NULL);
			assert_string_equal(again, out);
		}
	}
}

static void
test_header(void **state)
{
	static const struct {
		const char *name;
		const char *in;
		size_t max_chars;
		const char *want;
	} c[] = {
		{"plain", "Meeting at 10", 200, "Meeting at 10"},
		{"base64 utf-8", "=?UTF-8?B?R3LDvMOfZQ==?=", 200,
		    "Gr\xc3\xbc\xc3\x9f" "e"},
		{"q words joined", "=?utf-8?Q?a_b?= =?utf-8?Q?c?=", 200, "a bc"},
		{"latin-1 word", "=?ISO-8859-1?Q?caf=E9?=", 200, "caf" FFFD},
		{"encoded control", "=?UTF-8?Q?a=1B[2Jb?=", 200, "a?[2Jb"},
		{"encoded script", "=?UTF-8?B?PHNjcmlwdD4=?=", 200, "<script>"},
		{"unknown encoding kept", "=?UTF-8?X?abc?= x", 200,
		    "=?UTF-8?X?abc?= x"},
		{"folded", "part one\r\n part two", 200, "part one part two"},
		{"cut", "=?UTF-8?B?R3LDvMOfZQ==?=", 3, "Gr\xc3\xbc"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char out[801];
		int rc = cls_text_header(c[i].in, strlen(c[i].in),
		    c[i].max_chars, out, sizeof(out));

		if (rc != 0 || strcmp(out, c[i].want) != 0)
			fail_msg("case %s: got %d \"%s\", want \"%s\"",
			    c[i].name, rc, out, c[i].want);
	}
}

/* A huge value costs no more than CLS_TEXT_SCAN_MAX bytes of work. */
static void
test_header_huge(void **state)
{
	static char big[1 << 20];
	char out[801];

	(void)state;
	memset(big, 'A', sizeof(big));
	assert_int_equal(cls_text_header(big, sizeof(big), 200, out,
			     sizeof(out)),
	    0);
	assert_int_equal(strlen(out), 200);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_printable),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_header_huge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
