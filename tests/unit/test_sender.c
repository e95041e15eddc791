/*
 * test_sender.c - sender allow/block list patterns, addresses,
 * candidates, the decision, and the sender of a forwarded message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cls_msg.h"
#include "cls_sender.h"
#include "es_err.h"

static void
test_patterns(void **state)
{
	static const struct {
		const char *in, *want; /* want NULL: ES_EINVAL */
		const char *why;       /* part of the message for NULL */
	} c[] = {
		{"Bob@Example.COM", "bob@example.com", NULL},
		{"  <bob@example.com>\t", "bob@example.com", NULL},
		{"@Example.ORG", "@example.org", NULL},
		{"*.Example.ORG", "*.example.org", NULL},
		{"*.de", "*.de", NULL},
		{"b\xc3\xa9@ex.org", "b\xc3\xa9@ex.org", NULL},
		{"x_y@mail-1.ex.org", "x_y@mail-1.ex.org", NULL},
		{"*.a.b.c.d.e.f.g.h.i.j", "*.a.b.c.d.e.f.g.h.i.j", NULL},
		{"*.a.b.c.d.e.f.g.h.i.j.k", NULL, "more than 10 labels"},
		{"llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll@ex.org", "llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll@ex.org", NULL},
		{"lllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll@ex.org", NULL, "not a usable address"},
		{"@ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd.org", "@ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd.org", NULL},
		{"@dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd.org", NULL, "not a domain"},
		{"a@dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd.org", NULL, "not a usable address"},
		{"", NULL, "empty"},
		{"  ", NULL, "empty"},
		{"<>", NULL, "empty"},
		{"*@example.com", NULL, "write \"@domain\""},
		{"bob*@example.com", NULL, "only wildcard"},
		{"*example.com", NULL, "only wildcard"},
		{"*.*.example.com", NULL, "not a domain"},
		{"b?b@example.com", NULL, "only wildcard"},
		{"example.com", NULL, "neither an address"},
		{"bob", NULL, "neither an address"},
		{"@", NULL, "not a domain"},
		{"@ex..org", NULL, "not a domain"},
		{"@.ex.org", NULL, "not a domain"},
		{"@ex.org.", NULL, "not a domain"},
		{"@[192.0.2.1]", NULL, "not a domain"},
		{"*.", NULL, "not a domain"},
		{"bob@", NULL, "not a usable address"},
		{"@@ex.org", NULL, "not a domain"},
		{"bob@a@ex.org", NULL, "not a usable address"},
		{"bob smith@ex.org", NULL, "not a usable address"},
		{"bob\n@ex.org", NULL, "not a usable address"},
		{"bob@ex ample.org", NULL, "not a usable address"},
	};
	char out[CLS_SENDER_MAX + 1], err[256], long_pat[300];
	size_t k;
	int rc;

	(void)state;
	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		err[0] = '\0';
		rc = cls_sender_pattern(c[k].in, out, sizeof(out), err,
		    sizeof(err));
		if (c[k].want == NULL) {
			if (rc != ES_EINVAL || strstr(err, c[k].why) == NULL ||
			    strstr(err, "pattern \"") == NULL)
				fail_msg("case \"%s\": got %d (%s), want "
				         "ES_EINVAL with \"%s\"",
				    c[k].in, rc, rc == 0 ? out : err, c[k].why);
		} else if (rc != 0 || strcmp(out, c[k].want) != 0) {
			fail_msg("case \"%s\": got %d %s, want %s", c[k].in, rc,
			    rc == 0 ? out : err, c[k].want);
		}
	}
	/* the message names the pattern itself, blanks and brackets off */
	assert_int_equal(cls_sender_pattern("  <*@Example.com>\t", out,
	    sizeof(out), err, sizeof(err)), ES_EINVAL);
	if (strstr(err, "pattern \"*@Example.com\":") == NULL)
		fail_msg("message names the wrong text: %s", err);
	/* 255 bytes fit the column; 256 do not */
	memset(long_pat, 'a', sizeof(long_pat));
	memcpy(long_pat, "@", 1);
	for (k = 60; k < 255; k += 60)
		long_pat[k] = '.';
	long_pat[255] = '\0';
	assert_int_equal(cls_sender_pattern(long_pat, out, sizeof(out), err,
	    sizeof(err)), ES_EINVAL); /* a domain is at most 253 */
	long_pat[254] = '\0';
	assert_int_equal(cls_sender_pattern(long_pat, out, sizeof(out), err,
	    sizeof(err)), 0);
	long_pat[254] = 'a';
	memset(long_pat + 255, 'a', 20);
	long_pat[270] = '\0';
	assert_int_equal(cls_sender_pattern(long_pat, out, sizeof(out), err,
	    sizeof(err)), ES_EINVAL);
	assert_non_null(strstr(err, "longer than 255"));
}

static void
test_addresses(void **state)
{
	static const struct {
		const char *in, *want; /* want NULL: rc */
		int rc;
	} c[] = {
		{"<Bob@Example.COM>", "bob@example.com", 0},
		{"bob@example.com", "bob@example.com", 0},
		{"Bob Smith <bob@example.com>", "bob@example.com", 0},
		{"\"Smith, Bob <x@evil.test>\" <bob@example.com>",
		    "bob@example.com", 0},
		{"bob@example.com (Bob <x@evil.test>)", "bob@example.com", 0},
		{"(comment x@evil.test) bob@example.com", "bob@example.com", 0},
		{"=?utf-8?q?Bob?= <bob@example.com>", "bob@example.com", 0},
		{"a@one.test, b@two.test", "a@one.test", 0},
		{"a@one.test, Bee <b@two.test>", "a@one.test", 0},
		/* an escaped quote does not end the display name */
		{"\"Bob \\\" <x@evil.test> \\\"\" <bob@example.com>",
		    "bob@example.com", 0},
		{"(Bob \\) <x@evil.test>) bob@example.com", "bob@example.com",
		    0},
		{"Bob [mailto:Bob@Example.com]", "bob@example.com", 0},
		{"<@relay.test:bob@example.com>", "bob@example.com", 0},
		{"<bob@example.com.>", "bob@example.com", 0},
		{"Bob\r\n\t<bob@example.com>", "bob@example.com", 0},
		{"<>", NULL, ES_ENOTFOUND},
		{"", NULL, ES_ENOTFOUND},
		{"Undisclosed", NULL, ES_ENOTFOUND},
		{"\"only@quoted.test\"", NULL, ES_ENOTFOUND},
		{"<bob>", NULL, ES_EINVAL},
		{"<bob@>", NULL, ES_EINVAL},
		{"<bob@ex..test>", NULL, ES_EINVAL},
		{"<a@b@c.test>", NULL, ES_EINVAL},
		{"\"unterminated <a@b.test>", NULL, ES_ENOTFOUND},
		{"<a@b.test", "a@b.test", 0},
	};
	char out[CLS_SENDER_MAX + 1];
	size_t k;
	int rc;

	(void)state;
	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		rc = cls_sender_address(c[k].in, strlen(c[k].in), out,
		    sizeof(out));
		if (c[k].want == NULL) {
			if (rc != c[k].rc)
				fail_msg("case \"%s\": got %d (%s), want %d",
				    c[k].in, rc, rc == 0 ? out : "", c[k].rc);
		} else if (rc != 0 || strcmp(out, c[k].want) != 0) {
			fail_msg("case \"%s\": got %d %s, want %s", c[k].in, rc,
			    rc == 0 ? out : "", c[k].want);
		}
	}
	/* the length is honoured: no read past it */
	assert_int_equal(cls_sender_address("<a@b.test>x", 3, out,
	    sizeof(out)), ES_EINVAL);
}

/* joined - the candidates as "p1 p2 ...". */
static const char *
joined(const struct cls_sender_cands *c, char *buf, size_t len)
{
	buf[0] = '\0';
	for (size_t i = 0; i < c->n; i++) {
		if (i > 0)
			strlcat(buf, " ", len);
		strlcat(buf, c->pat[i], len);
	}
	return buf;
}

static void
test_candidates(void **state)
{
	static const struct {
		const char *addr, *want; /* want NULL: ES_EINVAL */
	} c[] = {
		{"bob@example.com",
		    "bob@example.com @example.com *.example.com *.com"},
		{"x@mail.dept.example.org",
		    "x@mail.dept.example.org @mail.dept.example.org "
		    "*.mail.dept.example.org *.dept.example.org "
		    "*.example.org *.org"},
		{"x@localhost", "x@localhost @localhost *.localhost"},
		/* 12 labels: only the last 10 suffixes */
		{"x@a.b.c.d.e.f.g.h.i.j.k.l",
		    "x@a.b.c.d.e.f.g.h.i.j.k.l @a.b.c.d.e.f.g.h.i.j.k.l "
		    "*.c.d.e.f.g.h.i.j.k.l *.d.e.f.g.h.i.j.k.l "
		    "*.e.f.g.h.i.j.k.l *.f.g.h.i.j.k.l *.g.h.i.j.k.l "
		    "*.h.i.j.k.l *.i.j.k.l *.j.k.l *.k.l *.l"},
		{"nobody", NULL},
		{"@example.com", NULL},
		{"bob@", NULL},
	};
	struct cls_sender_cands cc;
	char buf[2048];
	size_t k;
	int rc;

	(void)state;
	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		cls_sender_cands_init(&cc);
		rc = cls_sender_candidates(&cc, c[k].addr, CLS_SENDER_FROM);
		if (c[k].want == NULL) {
			if (rc != ES_EINVAL || cc.n != 0)
				fail_msg("case %s: got %d, %zu candidates, want "
				         "ES_EINVAL", c[k].addr, rc, cc.n);
		} else if (rc != 0 ||
		    strcmp(joined(&cc, buf, sizeof(buf)), c[k].want) != 0) {
			fail_msg("case %s: got %d \"%s\", want \"%s\"",
			    c[k].addr, rc, buf, c[k].want);
		}
	}
	/* two addresses fit; a third of full depth does not */
	cls_sender_cands_init(&cc);
	assert_int_equal(cls_sender_candidates(&cc, "x@a.b.c.d.e.f.g.h.i.j.k",
	    CLS_SENDER_ENVELOPE), 0);
	assert_int_equal(cls_sender_candidates(&cc, "y@a.b.c.d.e.f.g.h.i.j.k",
	    CLS_SENDER_FROM), 0);
	assert_int_equal(cc.n, CLS_SENDER_CANDIDATES);
	assert_int_equal(cls_sender_candidates(&cc, "z@z.test",
	    CLS_SENDER_FROM), ES_ELIMIT);
	assert_int_equal(cc.n, CLS_SENDER_CANDIDATES);
}

/* A listed pattern: its text and its list. */
struct listed {
	const char *pat;
	enum cls_sender_list list;
};

static void
test_decide(void **state)
{
	static const struct {
		const char *name, *env, *from; /* env/from NULL: none */
		struct listed l[4];
		enum cls_sender_list want;
		const char *want_pat;
		enum cls_sender_source want_src;
	} c[] = {
		{"nothing listed", "a@x.test", "a@x.test", {{NULL, 0}},
		    CLS_SENDER_NONE, NULL, 0},
		{"exact allow", "a@x.test", NULL,
		    {{"a@x.test", CLS_SENDER_ALLOW}}, CLS_SENDER_ALLOW,
		    "a@x.test", CLS_SENDER_ENVELOPE},
		{"exact beats @domain", "a@x.test", NULL,
		    {{"@x.test", CLS_SENDER_BLOCK},
			{"a@x.test", CLS_SENDER_ALLOW}},
		    CLS_SENDER_ALLOW, "a@x.test", CLS_SENDER_ENVELOPE},
		{"@domain beats *.domain", NULL, "a@x.test",
		    {{"*.x.test", CLS_SENDER_ALLOW},
			{"@x.test", CLS_SENDER_BLOCK}},
		    CLS_SENDER_BLOCK, "@x.test", CLS_SENDER_FROM},
		{"deeper *. beats shallower", NULL, "a@m.x.test",
		    {{"*.test", CLS_SENDER_BLOCK},
			{"*.x.test", CLS_SENDER_ALLOW}},
		    CLS_SENDER_ALLOW, "*.x.test", CLS_SENDER_FROM},
		{"@domain is not a subdomain", NULL, "a@m.x.test",
		    {{"@x.test", CLS_SENDER_BLOCK}}, CLS_SENDER_NONE, NULL, 0},
		{"*.domain covers the domain itself", "a@x.test", NULL,
		    {{"*.x.test", CLS_SENDER_BLOCK}}, CLS_SENDER_BLOCK,
		    "*.x.test", CLS_SENDER_ENVELOPE},
		{"block of From: beats allow of envelope", "a@x.test",
		    "b@y.test",
		    {{"a@x.test", CLS_SENDER_ALLOW},
			{"b@y.test", CLS_SENDER_BLOCK}},
		    CLS_SENDER_BLOCK, "b@y.test", CLS_SENDER_FROM},
		{"block of envelope beats allow of From:", "a@x.test",
		    "b@y.test",
		    {{"@x.test", CLS_SENDER_BLOCK},
			{"b@y.test", CLS_SENDER_ALLOW}},
		    CLS_SENDER_BLOCK, "@x.test", CLS_SENDER_ENVELOPE},
		{"allow of one, other unlisted", "a@x.test", "b@y.test",
		    {{"b@y.test", CLS_SENDER_ALLOW}}, CLS_SENDER_ALLOW,
		    "b@y.test", CLS_SENDER_FROM},
		{"null sender: From: decides", NULL, "mailer-daemon@x.test",
		    {{"@x.test", CLS_SENDER_ALLOW}}, CLS_SENDER_ALLOW,
		    "@x.test", CLS_SENDER_FROM},
		{"same address twice, allowed", "a@x.test", "a@x.test",
		    {{"a@x.test", CLS_SENDER_ALLOW}}, CLS_SENDER_ALLOW,
		    "a@x.test", CLS_SENDER_ENVELOPE},
	};
	struct cls_sender_cands cc;
	struct cls_sender_decision d;
	enum cls_sender_list found[CLS_SENDER_CANDIDATES];
	size_t k, i, j;

	(void)state;
	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		cls_sender_cands_init(&cc);
		if (c[k].env != NULL)
			assert_int_equal(cls_sender_candidates(&cc, c[k].env,
			    CLS_SENDER_ENVELOPE), 0);
		if (c[k].from != NULL)
			assert_int_equal(cls_sender_candidates(&cc, c[k].from,
			    CLS_SENDER_FROM), 0);
		for (i = 0; i < cc.n; i++) { /* what a store would find */
			found[i] = CLS_SENDER_NONE;
			for (j = 0; j < 4 && c[k].l[j].pat != NULL; j++)
				if (strcmp(cc.pat[i], c[k].l[j].pat) == 0)
					found[i] = c[k].l[j].list;
		}
		cls_sender_decide(&cc, found, &d);
		if (d.list != c[k].want ||
		    (c[k].want_pat != NULL &&
			(d.pattern == NULL ||
			    strcmp(d.pattern, c[k].want_pat) != 0 ||
			    d.src != c[k].want_src)))
			fail_msg("case %s: got %d %s (%s), want %d %s (%s)",
			    c[k].name, d.list, d.pattern ? d.pattern : "-",
			    cls_sender_source_name(d.src), c[k].want,
			    c[k].want_pat ? c[k].want_pat : "-",
			    cls_sender_source_name(c[k].want_src));
	}
}

static void
test_forwarded(void **state)
{
	static const struct {
		const char *name, *msg, *want; /* want NULL: ES_ENOTFOUND */
	} c[] = {
		{"attached message/rfc822",
		    "From: Bob <bob@home.test>\r\n"
		    "Subject: Fwd: offer\r\n"
		    "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
		    "--b\r\nContent-Type: text/plain\r\n\r\n"
		    "From: not-this@text.test\r\n"
		    "--b\r\nContent-Type: message/rfc822\r\n\r\n"
		    "Received: from x\r\n"
		    "From: \"Shop\" <News@Shop.TEST>\r\n"
		    "Subject: offer\r\n\r\nbuy\r\n--b--\r\n",
		    "news@shop.test"},
		{"redirected (Resent-From)",
		    "Resent-From: bob@home.test\r\n"
		    "From: Friend <friend@pals.test>\r\n"
		    "Subject: hi\r\n\r\nFrom: not-this@text.test\r\n",
		    "friend@pals.test"},
		{"inline forward",
		    "From: Bob <bob@home.test>\r\n"
		    "Subject: Fwd: hi\r\n\r\n"
		    "look at this\r\n\r\n"
		    "---------- Forwarded message ---------\r\n"
		    "From: Friend <friend@pals.test>\r\n"
		    "Date: Mon, 1 Jan 2024\r\n\r\nhello\r\n",
		    "friend@pals.test"},
		{"inline forward, quoted and Outlook style",
		    "From: bob@home.test\r\nSubject: FW: hi\r\n\r\n"
		    "> From: nobody at all\r\n"
		    "> From: Friend [mailto:Friend@Pals.test]\r\n",
		    "friend@pals.test"},
		{"nothing forwarded",
		    "From: Bob <bob@home.test>\r\nSubject: hi\r\n\r\n"
		    "please allow my friend\r\n",
		    NULL},
		{"Resent-From without From",
		    "Resent-From: bob@home.test\r\nSubject: x\r\n\r\nbody\r\n",
		    NULL},
	};
	struct cls_limits lim;
	struct cls_msg *m;
	char out[CLS_SENDER_MAX + 1];
	const char *how;
	size_t k;
	int rc;

	(void)state;
	cls_limits_default(&lim);
	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		assert_int_equal(cls_msg_parse(c[k].msg, strlen(c[k].msg), &lim,
		    &m), 0);
		how = NULL;
		rc = cls_sender_forwarded(m, out, sizeof(out), &how);
		cls_msg_free(m);
		if (c[k].want == NULL) {
			if (rc != ES_ENOTFOUND)
				fail_msg("case %s: got %d %s, want ES_ENOTFOUND",
				    c[k].name, rc, rc == 0 ? out : "");
		} else if (rc != 0 || strcmp(out, c[k].want) != 0 ||
		    how == NULL) {
			fail_msg("case %s: got %d %s, want %s", c[k].name, rc,
			    rc == 0 ? out : "", c[k].want);
		}
	}
}

static void
test_names(void **state)
{
	enum cls_sender_list l;

	(void)state;
	assert_string_equal(cls_sender_list_name(CLS_SENDER_ALLOW), "allow");
	assert_string_equal(cls_sender_list_name(CLS_SENDER_BLOCK), "block");
	assert_null(cls_sender_list_name(CLS_SENDER_NONE));
	assert_int_equal(cls_sender_list_parse("block", &l), 0);
	assert_int_equal(l, CLS_SENDER_BLOCK);
	assert_int_equal(cls_sender_list_parse("allow", &l), 0);
	assert_int_equal(l, CLS_SENDER_ALLOW);
	assert_int_equal(cls_sender_list_parse("Allow", &l), ES_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_patterns),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_candidates),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_forwarded),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests_name("sender lists", tests, NULL, NULL);
}
