/*
 * test_rcpt.c - recipient addresses in their delivery form
 * (classifier/cls_rcpt.c) and the one decision the milter makes on them
 * (milter/policy.c pol_rcpt_decide): every spelling of a retrain alias
 * is that alias, every spelling of a user is that user, and what has no
 * delivery form is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cls_rcpt.h"
#include "es_err.h"
#include "policy.h"

static const char *const aliases[] = {"*-spam@*", "*-fp@*", "*-allow@*",
    "*-block@*"};

#define X10 "xxxxxxxxxx"
#define X120 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10
#define A130 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const char *
kind_name(enum pol_rcpt_kind k)
{
	switch (k) {
	case POL_RCPT_USER: return "user";
	case POL_RCPT_ALIAS: return "alias";
	case POL_RCPT_POSTMASTER: return "postmaster";
	case POL_RCPT_REFUSE: return "refuse";
	}
	return "?";
}

static void
test_decide(void **state)
{
	static const struct {
		const char *raw, *mta; /* mta: {rcpt_addr}, NULL for none */
		enum pol_rcpt_kind kind;
		const char *user;      /* user, or the alias's owner */
	} c[] = {
		{"<bob@example.org>", NULL, POL_RCPT_USER, "bob@example.org"},
		{"bob@example.org", NULL, POL_RCPT_USER, "bob@example.org"},
		{"<Bob@Example.ORG>", NULL, POL_RCPT_USER, "bob@example.org"},
		{"<bob+x@example.org>", NULL, POL_RCPT_USER, "bob@example.org"},
		/* issue 13: the user-name limit applies after the cut */
		{"<bob+" X120 "@example.org>", NULL, POL_RCPT_USER,
		    "bob@example.org"},
		{"<\"bob\"@example.org>", NULL, POL_RCPT_USER, "bob@example.org"},
		{"<b\\ob@example.org>", NULL, POL_RCPT_USER, "bob@example.org"},
		{"<bob%example.org@example.org>", NULL, POL_RCPT_USER,
		    "bob@example.org"},
		{"<bob%example.org@mx.test>", NULL, POL_RCPT_USER,
		    "bob@example.org"},
		{"<example.org!bob>", NULL, POL_RCPT_USER, "bob@example.org"},
		{"<@mx.test,@relay.test:bob@example.org>", NULL, POL_RCPT_USER,
		    "bob@example.org"},
		{"<bob@example.org.>", NULL, POL_RCPT_USER, "bob@example.org"},
		{"<+bob@example.org>", NULL, POL_RCPT_USER, "+bob@example.org"},
		{"<bob@[192.0.2.1]>", NULL, POL_RCPT_USER, "bob@[192.0.2.1]"},
		{"<bob@[IPv6:2001:db8::1]>", NULL, POL_RCPT_USER,
		    "bob@[ipv6:2001:db8::1]"},
		{"<b\xc3\xa9@example.org>", NULL, POL_RCPT_USER,
		    "b\xc3\xa9@example.org"},
		/* the spellings of bob-spam the issue found open */
		{"<bob-spam@example.org>", NULL, POL_RCPT_ALIAS,
		    "bob@example.org"},
		{"<bob-spam+" X120 "@example.org>", NULL, POL_RCPT_ALIAS,
		    "bob@example.org"},
		{"<bob-spam%example.org%example.org@example.org>", NULL,
		    POL_RCPT_ALIAS, "bob@example.org"},
		{"<bob-spam%example.org>", NULL, POL_RCPT_ALIAS,
		    "bob@example.org"},
		{"<example.org!bob-spam>", NULL, POL_RCPT_ALIAS,
		    "bob@example.org"},
		{"<bob-spam\\@example.org>", NULL, POL_RCPT_ALIAS,
		    "bob@example.org"},
		{"<\"bob-spam\"@example.org>", NULL, POL_RCPT_ALIAS,
		    "bob@example.org"},
		{"<\"bob-spam@example.org\"@mx.test>", NULL, POL_RCPT_ALIAS,
		    "bob@example.org"},
		{"<bo\\b-spam@example.org>", NULL, POL_RCPT_ALIAS,
		    "bob@example.org"},
		{"<BOB-SPAM+X@EXAMPLE.ORG>", NULL, POL_RCPT_ALIAS,
		    "bob@example.org"},
		{"<@mx.test:bob-spam@example.org>", NULL, POL_RCPT_ALIAS,
		    "bob@example.org"},
		{"<bob-spam@example.org.>", NULL, POL_RCPT_ALIAS,
		    "bob@example.org"},
		{"<mx.test!example.org!bob-fp>", NULL, POL_RCPT_ALIAS,
		    "bob@example.org"},
		{"<bob-allow%example.org@mx.test>", NULL, POL_RCPT_ALIAS,
		    "bob@example.org"},
		/* 8-bit look-alikes an SMTPUTF8 MTA folds to ASCII */
		{"<bob-\xc5\xbfpam@example.org>", NULL, POL_RCPT_ALIAS,
		    "bob@example.org"},
		{"<bob-bloc\xe2\x84\xaa@example.org>", NULL, POL_RCPT_ALIAS,
		    "bob@example.org"},
		/* no domain: the MTA's own qualification, else refused */
		{"<bob-spam>", NULL, POL_RCPT_REFUSE, NULL},
		{"<bob-spam>", "bob-spam@mx.test", POL_RCPT_ALIAS,
		    "bob@mx.test"},
		{"<bob>", NULL, POL_RCPT_REFUSE, NULL},
		{"<bob>", "bob@mx.test", POL_RCPT_USER, "bob@mx.test"},
		{"<bob>", "alice@mx.test", POL_RCPT_REFUSE, NULL},
		{"<postmaster>", NULL, POL_RCPT_POSTMASTER, NULL},
		{"<Postmaster>", NULL, POL_RCPT_POSTMASTER, NULL},
		/* the MTA's form is an alias too: the stricter reading wins */
		{"<bob@example.org>", "bob-spam@example.org", POL_RCPT_ALIAS,
		    "bob@example.org"},
		/* no delivery form */
		{"<>", NULL, POL_RCPT_REFUSE, NULL},
		{"", NULL, POL_RCPT_REFUSE, NULL},
		{"<\"bob>", NULL, POL_RCPT_REFUSE, NULL},
		{"<bob\\>", NULL, POL_RCPT_REFUSE, NULL},
		{"<\"bob spam\"@example.org>", NULL, POL_RCPT_REFUSE, NULL},
		{"<bob(x)@example.org>", NULL, POL_RCPT_REFUSE, NULL},
		{"<bob@exa mple.org>", NULL, POL_RCPT_REFUSE, NULL},
		{"<bob@>", NULL, POL_RCPT_REFUSE, NULL},
		{"<@example.org>", NULL, POL_RCPT_REFUSE, NULL},
		{"<bob@.>", NULL, POL_RCPT_REFUSE, NULL},
		{"<!bob@example.org>", NULL, POL_RCPT_REFUSE, NULL},
		{"<a!b!c!d!e!f!g!h!i!j!k@example.org>", NULL, POL_RCPT_REFUSE,
		    NULL},
		{"<\"bob\tx\"@example.org>", NULL, POL_RCPT_REFUSE, NULL},
		{"<" A130 "@example.org>", NULL, POL_RCPT_REFUSE, NULL},
		{"<@global>", NULL, POL_RCPT_REFUSE, NULL},
	};
	struct pol_rcpt_rules rules = {aliases, 4, "+"};
	struct pol_rcpt d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		pol_rcpt_decide(&rules, c[i].raw, strlen(c[i].raw), c[i].mta,
		    &d);
		if (d.kind != c[i].kind)
			fail_msg("case %s: got %s (%s), want %s", c[i].raw,
			    kind_name(d.kind), d.why ? d.why : d.user,
			    kind_name(c[i].kind));
		if (c[i].kind == POL_RCPT_REFUSE) {
			if (d.why == NULL || *d.why == '\0')
				fail_msg("case %s: refused without a reason",
				    c[i].raw);
			continue;
		}
		if (c[i].user != NULL && strcmp(d.user, c[i].user) != 0)
			fail_msg("case %s: got %s, want %s", c[i].raw, d.user,
			    c[i].user);
	}
}

/* The delimiter set decides what counts as an extension; with '-' in it
 * the alias is found under its full name, as the MTA finds it first. */
static void
test_delimiters(void **state)
{
	struct pol_rcpt_rules rules = {aliases, 4, "+-"};
	struct pol_rcpt d;

	(void)state;
	pol_rcpt_decide(&rules, "<bob-spam@example.org>", 22, NULL, &d);
	assert_int_equal(d.kind, POL_RCPT_ALIAS);
	assert_string_equal(d.user, "bob@example.org");
	pol_rcpt_decide(&rules, "<bob-x@example.org>", 19, NULL, &d);
	assert_int_equal(d.kind, POL_RCPT_USER);
	assert_string_equal(d.user, "bob@example.org");
	rules.delimiter = "";
	pol_rcpt_decide(&rules, "<bob+x@example.org>", 19, NULL, &d);
	assert_int_equal(d.kind, POL_RCPT_USER);
	assert_string_equal(d.user, "bob+x@example.org");
}

/* What the canonical form undid, and a raw address at its length limit. */
static void
test_canon(void **state)
{
	static char big[CLS_RCPT_RAW_MAX + 2];
	struct cls_rcpt r;
	const char *why = NULL;

	(void)state;
	assert_int_equal(cls_rcpt_canon("<\"a\"%b@c>", 9, &r, &why), 0);
	assert_string_equal(r.addr, "a@b");
	assert_true(r.undone & CLS_RCPT_QUOTED);
	assert_true(r.undone & CLS_RCPT_PERCENT);
	assert_int_equal(cls_rcpt_canon("b!a", 3, &r, &why), 0);
	assert_string_equal(r.addr, "a@b");
	assert_true(r.undone & CLS_RCPT_BANG);
	assert_int_equal(r.local_len, 1);
	/* an extension as long as the raw limit allows is still bob's */
	memset(big, 'x', sizeof(big));
	memcpy(big, "bob+", 4);
	memcpy(big + CLS_RCPT_RAW_MAX - 12, "@example.org", 12);
	assert_int_equal(cls_rcpt_canon(big, CLS_RCPT_RAW_MAX, &r, &why), 0);
	{
		struct pol_rcpt_rules rules = {aliases, 4, "+"};
		struct pol_rcpt d;

		pol_rcpt_decide(&rules, big, CLS_RCPT_RAW_MAX, NULL, &d);
		assert_int_equal(d.kind, POL_RCPT_USER);
		assert_string_equal(d.user, "bob@example.org");
		memcpy(big, "bob-spam+", 9);
		pol_rcpt_decide(&rules, big, CLS_RCPT_RAW_MAX, NULL, &d);
		assert_int_equal(d.kind, POL_RCPT_ALIAS);
		assert_string_equal(d.user, "bob@example.org");
	}
	assert_int_equal(cls_rcpt_canon(big, CLS_RCPT_RAW_MAX + 1, &r, &why),
	    ES_EINVAL);
	assert_non_null(why);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_delimiters),
		cmocka_unit_test(test_canon),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
