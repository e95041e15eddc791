/*
 * test_user.c - recipient / user name normalisation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cls_user.h"
#include "es_err.h"

static void
test_cases(void **state)
{
	static const struct {
		const char *in, *delims, *want; /* want NULL: ES_EINVAL */
	} c[] = {
		{"Bob@Example.COM", "+", "bob@example.com"},
		{"<bob+lists@example.com>", "+", "bob@example.com"},
		{"bob-x+y@example.com", "+-", "bob@example.com"},
		{"+bob@example.com", "+", "+bob@example.com"}, /* would be empty */
		{"bob+x@example.com", "", "bob+x@example.com"},
		{"bob+x@example.com", NULL, "bob+x@example.com"},
		{"alice", "+", "alice"},        /* a system user */
		{"ALICE+x", "+", "alice+x"},    /* no address: no extension */
		{"b\xc3\xa9@ex.org", "+", "b\xc3\xa9@ex.org"},
		{"", "+", NULL},
		{"<>", "+", NULL},
		{"bob @example.com", "+", NULL},
		{"bob@@example.com", "+", NULL},
		{"bob@a@b", "+", NULL},
		{"bob@", "+", NULL},
		{"@example.com", "+", NULL},
		/* the shared dictionary's names start with '@': no recipient
		 * can be normalised to one (the milter never classifies for
		 * it) */
		{"@global", "+", NULL},
		{"<@global>", "+", NULL},
		{"@GLOBAL", NULL, NULL},
		{"bob\n@example.com", "+", NULL},
	};
	char out[CLS_USER_MAX + 1];
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		int rc = cls_user_normalize(c[k].in, strlen(c[k].in),
		    c[k].delims, out, sizeof(out));

		if (c[k].want == NULL) {
			if (rc != ES_EINVAL)
				fail_msg("case %s: got %d (%s), want ES_EINVAL",
				    c[k].in, rc, rc == 0 ? out : "");
		} else if (rc != 0 || strcmp(out, c[k].want) != 0) {
			fail_msg("case %s: got %d %s, want %s", c[k].in, rc,
			    rc == 0 ? out : "", c[k].want);
		}
	}
}

static void
test_too_long(void **state)
{
	char in[CLS_USER_MAX + 2], out[CLS_USER_MAX + 8];

	(void)state;
	memset(in, 'a', sizeof(in));
	assert_int_equal(cls_user_normalize(in, CLS_USER_MAX, "+", out,
			     sizeof(out)),
	    0);
	assert_int_equal(cls_user_normalize(in, CLS_USER_MAX + 1, "+", out,
			     sizeof(out)),
	    ES_EINVAL);
	/* out too small */
	assert_int_equal(cls_user_normalize("abcdef", 6, "+", out, 6),
	    ES_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_too_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
