/*
 * test_rewrite.c - header edits: X-DSPAM-* removal (folded, any case,
 * repeated), insertion before the end of the header, CRLF, mbox From
 * line, body tag, messages without a body.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cls_rewrite.h"
#include "es_buf.h"
#include "es_err.h"

static const struct cls_field F[2] = {
	{"X-DSPAM-Result", "Spam"},
	{"X-DSPAM-Factors", "1,\n\ttok, 0.99"},
};

static const struct {
	const char *name;
	const char *in;
	size_t nf;
	const char *tag;
	const char *want;
} cases[] = {
	{"plain", "Subject: hi\nFrom: a@b\n\nbody\n", 1, NULL,
	    "Subject: hi\nFrom: a@b\nX-DSPAM-Result: Spam\n\nbody\n"},
	{"forged fields removed, folded and repeated",
	    "X-DSPAM-Result: Innocent\nSubject: hi\nx-dspam-signature: a\n"
	    "\tcontinued\nX-Dspam-Result: Whitelisted\nTo: c@d\n\nbody\n",
	    1, NULL, "Subject: hi\nTo: c@d\nX-DSPAM-Result: Spam\n\nbody\n"},
	{"X-DSPAM in the body stays",
	    "Subject: hi\n\nX-DSPAM-Result: Innocent\n", 1, NULL,
	    "Subject: hi\nX-DSPAM-Result: Spam\n\nX-DSPAM-Result: Innocent\n"},
	{"similar name stays", "X-DSPAMMER: yes\nSubject: a\n\nb\n", 1, NULL,
	    "X-DSPAMMER: yes\nSubject: a\nX-DSPAM-Result: Spam\n\nb\n"},
	{"crlf and folded value", "Subject: hi\r\n\r\nbody\r\n", 2, NULL,
	    "Subject: hi\r\nX-DSPAM-Result: Spam\r\nX-DSPAM-Factors: 1,\r\n"
	    "\ttok, 0.99\r\n\r\nbody\r\n"},
	{"mbox from line kept",
	    "From bob@x Mon Jan  1 00:00:00 2024\nSubject: s\n\nb\n", 1, NULL,
	    "From bob@x Mon Jan  1 00:00:00 2024\nSubject: s\n"
	    "X-DSPAM-Result: Spam\n\nb\n"},
	{"no body separator", "Subject: s", 1, NULL,
	    "Subject: s\nX-DSPAM-Result: Spam\n\n"},
	{"body tag", "Subject: s\n\nline", 1, "!DSPAM:abcdef0123456789!",
	    "Subject: s\nX-DSPAM-Result: Spam\n\nline\n"
	    "!DSPAM:abcdef0123456789!\n"},
	{"no tag in multipart",
	    "Content-Type: Multipart/mixed; boundary=x\n\n--x--\n", 1, "!T!",
	    "Content-Type: Multipart/mixed; boundary=x\nX-DSPAM-Result: Spam\n"
	    "\n--x--\n"},
	{"NUL bytes copied", "Subject: a\n\nb\0c\n", 1, NULL,
	    "Subject: a\nX-DSPAM-Result: Spam\n\nb\0c\n"},
};

static void
test_cases(void **state)
{
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct es_buf out;
		/* inputs are literals; "NUL bytes" case has one NUL inside */
		size_t inlen = strlen(cases[k].in), wantlen = strlen(cases[k].want);

		if (strstr(cases[k].name, "NUL") != NULL) {
			inlen += 3;
			wantlen += 3;
		}
		es_buf_init(&out, 1 << 20);
		assert_int_equal(cls_rewrite(cases[k].in, inlen, F, cases[k].nf,
				     cases[k].tag, &out),
		    0);
		if (out.len != wantlen ||
		    memcmp(out.data, cases[k].want, wantlen) != 0)
			fail_msg("case %s: got [%.*s], want [%s]", cases[k].name,
			    (int)out.len, out.data, cases[k].want);
		es_buf_release(&out);
	}
}

static void
test_limit(void **state)
{
	struct es_buf out;

	(void)state;
	es_buf_init(&out, 10);
	assert_int_equal(cls_rewrite("Subject: long enough\n\nb\n", 24, F, 1,
			     NULL, &out),
	    ES_ELIMIT);
	es_buf_release(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
