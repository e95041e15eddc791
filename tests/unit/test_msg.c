/*
 * test_msg.c - the message parser: header unfolding and RFC 2047, MIME
 * structure, transfer decodings, HTML, attachments, and hostile input
 * (unterminated boundaries, broken base64, deep nesting, NUL bytes,
 * 8-bit headers, huge lines, many headers, allocation failures).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cls_msg.h"
#include "es_alloc.h"
#include "es_buf.h"
#include "es_err.h"

static struct cls_msg *
parse(const char *s, size_t n)
{
	struct cls_limits lim;
	struct cls_msg *m = NULL;

	cls_limits_default(&lim);
	assert_int_equal(cls_msg_parse(s, n, &lim, &m), 0);
	assert_non_null(m);
	return m;
}

static struct cls_msg *
parse_s(const char *s)
{
	return parse(s, strlen(s));
}

/* hval - the value of the first field name of part, as a C string. */
static const char *
hval(const struct cls_msg *m, unsigned part, const char *name)
{
	static char buf[512];
	size_t i;

	for (i = 0; i < m->nhdrs; i++) {
		const struct cls_header *h = &m->hdrs[i];

		if (h->part == part && h->name_len == strlen(name) &&
		    strncmp(h->name, name, h->name_len) == 0) {
			snprintf(buf, sizeof(buf), "%.*s", (int)h->value_len,
			    h->value);
			return buf;
		}
	}
	return NULL;
}

static bool
has_text(const struct cls_text *t, size_t n, const char *want)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (memmem(t[i].data, t[i].len, want, strlen(want)) != NULL)
			return true;
	return false;
}

static bool
has_exact(const struct cls_text *t, size_t n, const char *want)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].len == strlen(want) && memcmp(t[i].data, want, t[i].len) == 0)
			return true;
	return false;
}

static void
test_defaults(void **state)
{
	struct cls_limits l;

	(void)state;
	cls_limits_default(&l);
	assert_int_equal(l.max_scan_bytes, 512 * 1024);
	assert_int_equal(l.max_headers, 1000);
	assert_int_equal(l.max_line, 16 * 1024);
	assert_int_equal(l.max_depth, 16);
	assert_int_equal(l.max_parts, 1000);
	assert_int_equal(l.max_tokens, 20000);
}

static void
test_simple(void **state)
{
	struct cls_msg *m = parse_s("From: a@b.example\r\nSubject:  Hello\r\n"
	                            "  there\r\n\tworld \r\n\r\nBody text\r\n");

	(void)state;
	assert_int_equal(m->nhdrs, 2);
	assert_string_equal(hval(m, 0, "From"), "a@b.example");
	assert_string_equal(hval(m, 0, "Subject"), "Hello there world");
	assert_int_equal(m->ntexts, 1);
	assert_true(has_text(m->texts, m->ntexts, "Body text"));
	assert_int_equal(m->nparts, 1);
	assert_int_equal(m->defects, 0);
	assert_non_null(cls_msg_header(m, "subject"));
	assert_null(cls_msg_header(m, "X-None"));
	cls_msg_free(m);
}

static void
test_mbox_from(void **state)
{
	struct cls_msg *m = parse_s("From bob@example.org Mon Jan 1 00:00:00 2024\n"
	                            "Subject: hi\n\nbody\n");

	(void)state;
	assert_int_equal(m->nhdrs, 1);
	assert_string_equal(hval(m, 0, "Subject"), "hi");
	cls_msg_free(m);
}

static void
test_encoded_words(void **state)
{
	static const struct {
		const char *in, *want;
		bool defect;
	} cases[] = {
	    {"=?UTF-8?B?SGVsbG8gV29ybGQ=?=", "Hello World", false},
	    {"=?iso-8859-1?Q?caf=E9_au_lait?=", "caf\xe9 au lait", false},
	    {"=?utf-8?q?a?= =?utf-8?q?b?=", "ab", false},
	    {"x =?utf-8?q?a?= y", "x a y", false},
	    {"=?utf-8?B?###?=", "", true},
	    {"=?broken", "=?broken", true},
	    {"plain", "plain", false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[256];
		struct cls_msg *m;

		snprintf(buf, sizeof(buf), "Subject: %s\n\nx\n", cases[i].in);
		m = parse_s(buf);
		if (strcmp(hval(m, 0, "Subject"), cases[i].want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i,
			    hval(m, 0, "Subject"), cases[i].want);
		if (((m->defects & CLS_DEF_ENCODED_WORD) != 0) != cases[i].defect)
			fail_msg("case %zu: defects %#x", i, m->defects);
		cls_msg_free(m);
	}
}

static void
test_multipart(void **state)
{
	struct cls_msg *m = parse_s(
	    "Subject: alt\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/alternative; boundary=\"XYZ\"\n\n"
	    "preamble\n--XYZ\nContent-Type: text/plain\n\nplain words here\n"
	    "--XYZ\nContent-Type: text/html; charset=utf-8\n"
	    "Content-Transfer-Encoding: quoted-printable\n\n"
	    "<html><style>.x{color:red}</style><script>var hidden=3D1;</script>"
	    "<!-- secret comment --><p>Caf=C3=A9 &amp; more&nbsp;&#65;&#x42;"
	    "</p><a href=3D\"http://click.example/buy?x=3D1\">link</a>"
	    "<img src=3Dhttp://img.example/p.gif></html>\n"
	    "--XYZ--\nepilogue\n");

	(void)state;
	assert_int_equal(m->nparts, 3);
	assert_int_equal(m->defects, 0);
	assert_int_equal(m->ntexts, 2);
	assert_true(has_text(m->texts, m->ntexts, "plain words here"));
	assert_true(has_text(m->texts, m->ntexts, "Caf\xc3\xa9 & more AB"));
	assert_false(has_text(m->texts, m->ntexts, "hidden"));
	assert_false(has_text(m->texts, m->ntexts, "secret"));
	assert_false(has_text(m->texts, m->ntexts, "color"));
	assert_false(has_text(m->texts, m->ntexts, "preamble"));
	assert_false(has_text(m->texts, m->ntexts, "epilogue"));
	assert_true(has_exact(m->urls, m->nurls, "http://click.example/buy?x=1"));
	assert_true(has_exact(m->urls, m->nurls, "http://img.example/p.gif"));
	assert_string_equal(hval(m, 2, "Content-Transfer-Encoding"),
	    "quoted-printable");
	cls_msg_free(m);
}

static void
test_urls_in_text(void **state)
{
	struct cls_msg *m = parse_s("Subject: u\n\nsee http://a.example/x?y=1, "
	                            "or www.b.example. end\n");

	(void)state;
	assert_true(has_exact(m->urls, m->nurls, "http://a.example/x?y=1"));
	assert_true(has_exact(m->urls, m->nurls, "www.b.example"));
	/* blanked out of the text */
	assert_false(has_text(m->texts, m->ntexts, "a.example"));
	assert_true(has_text(m->texts, m->ntexts, "end"));
	cls_msg_free(m);
}

static void
test_base64_and_attachment(void **state)
{
	struct cls_msg *m = parse_s(
	    "Content-Type: multipart/mixed; boundary=b1\n\n"
	    "--b1\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
	    "aGVsbG8gYmFzZTY0\nIHdvcmxk\n"
	    "--b1\nContent-Type: application/pdf; name=\"a.pdf\"\n"
	    "Content-Disposition: attachment; filename=\"report.pdf\"\n"
	    "Content-Transfer-Encoding: base64\n\nJVBERi0xLjQ=\n"
	    "--b1\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
	    "aGk*gdGhl!cmU\n"
	    "--b1--\n");

	(void)state;
	assert_true(has_text(m->texts, m->ntexts, "hello base64 world"));
	assert_true(has_exact(m->attach, m->nattach, "application/pdf"));
	assert_true(has_exact(m->attach, m->nattach, "name:report.pdf"));
	assert_false(has_text(m->texts, m->ntexts, "PDF"));
	/* broken base64: flagged, the valid characters still decoded */
	assert_true(m->defects & CLS_DEF_BASE64);
	assert_true(has_text(m->texts, m->ntexts, "hi there"));
	cls_msg_free(m);
}

static void
test_qp_broken(void **state)
{
	struct cls_msg *m = parse_s("Content-Transfer-Encoding: quoted-printable\n\n"
	                            "soft=\nbreak =ZZ bad =41\n");

	(void)state;
	assert_true(has_text(m->texts, m->ntexts, "softbreak =ZZ bad A"));
	assert_true(m->defects & CLS_DEF_QP);
	cls_msg_free(m);
}

static void
test_rfc822(void **state)
{
	struct cls_msg *m = parse_s(
	    "Subject: fwd\nContent-Type: multipart/mixed; boundary=q\n\n"
	    "--q\nContent-Type: text/plain\n\nsee attached\n"
	    "--q\nContent-Type: message/rfc822\n\n"
	    "X-DSPAM-Signature: 0123456789abcdef\nSubject: inner\n\ninner body\n"
	    "--q--\n");
	size_t i;
	bool found = false;

	(void)state;
	for (i = 0; i < m->nhdrs; i++)
		if (m->hdrs[i].embedded && m->hdrs[i].name_len == 7 &&
		    memcmp(m->hdrs[i].name, "Subject", 7) == 0)
			found = true;
	assert_true(found);
	assert_string_equal(cls_msg_header(m, "Subject")->value, "fwd");
	assert_true(has_text(m->texts, m->ntexts, "inner body"));
	cls_msg_free(m);
}

/* a forwarded message some mailers base64-encode: parsed all the same */
static void
test_rfc822_base64(void **state)
{
	struct cls_msg *m = parse_s(
	    "Subject: fwd\nContent-Type: multipart/mixed; boundary=q\n\n"
	    "--q\nContent-Type: text/plain\n\nsee attached\n"
	    "--q\nContent-Type: message/rfc822\n"
	    "Content-Transfer-Encoding: base64\n\n"
	    "WC1EU1BBTS1TaWduYXR1cmU6IDAxMjM0NTY3ODlhYmNkZWYKU3ViamVjdDogaW5uZXI2NAoKZW5jb2RlZCBpbm5lciBib2R5Cg==\n"
	    "--q--\n");
	size_t i;
	bool found = false;

	(void)state;
	for (i = 0; i < m->nhdrs; i++)
		if (m->hdrs[i].embedded && m->hdrs[i].name_len == 17 &&
		    memcmp(m->hdrs[i].name, "X-DSPAM-Signature", 17) == 0)
			found = true;
	assert_true(found);
	assert_true(has_text(m->texts, m->ntexts, "encoded inner body"));
	cls_msg_free(m);
}

static void
test_unterminated_boundary(void **state)
{
	struct cls_msg *m = parse_s("Content-Type: multipart/mixed; boundary=zz\n\n"
	                            "--zz\n\nfirst part\n--zz\n\nsecond part never ends\n");
	struct cls_msg *m2 = parse_s("Content-Type: multipart/mixed\n\nno boundary param\n");

	(void)state;
	assert_true(m->defects & CLS_DEF_BOUNDARY);
	assert_true(has_text(m->texts, m->ntexts, "first part"));
	assert_true(has_text(m->texts, m->ntexts, "second part never ends"));
	assert_true(m2->defects & CLS_DEF_BOUNDARY);
	assert_true(has_text(m2->texts, m2->ntexts, "no boundary param"));
	cls_msg_free(m);
	cls_msg_free(m2);
}

static void
test_deep_nesting(void **state)
{
	struct es_buf b;
	struct cls_msg *m;
	int i;

	(void)state;
	es_buf_init(&b, 64 << 20);
	for (i = 0; i < 1000; i++)
		assert_int_equal(es_buf_printf(&b,
		    "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i), 0);
	assert_int_equal(es_buf_puts(&b, "Content-Type: text/plain\n\ndeep\n"), 0);
	m = parse(b.data, b.len);
	assert_true(m->defects & CLS_DEF_DEPTH);
	assert_true(m->nparts <= 18);
	assert_false(has_text(m->texts, m->ntexts, "deep"));
	cls_msg_free(m);
	es_buf_release(&b);
}

static void
test_nul_and_8bit(void **state)
{
	static const char raw[] = "Subject: a\0b \xe9t\xe9\nFrom: x\n\nbody\0with nul\n";
	struct cls_msg *m = parse(raw, sizeof(raw) - 1);

	(void)state;
	assert_true(m->defects & CLS_DEF_NUL);
	assert_true(m->defects & CLS_DEF_8BIT_HEADER);
	assert_string_equal(hval(m, 0, "Subject"), "a b \xe9t\xe9");
	assert_string_equal(hval(m, 0, "From"), "x");
	assert_true(has_text(m->texts, m->ntexts, "body with nul"));
	cls_msg_free(m);
}

static void
test_huge_line(void **state)
{
	size_t n = 10 * 1024 * 1024, i;
	char *big = malloc(n + 64);
	struct cls_msg *m;

	(void)state;
	assert_non_null(big);
	/* a 10 MB header line */
	memcpy(big, "Subject: ", 9);
	for (i = 9; i < n; i++)
		big[i] = 'a' + (char)(i % 26);
	memcpy(big + n, "\n\nbody\n", 7);
	m = parse(big, n + 7);
	assert_true(m->defects & CLS_DEF_TRUNCATED);
	assert_true(m->defects & CLS_DEF_LONG_LINE);
	assert_true(cls_msg_header(m, "Subject")->value_len <= 16 * 1024);
	cls_msg_free(m);
	/* a 10 MB body line */
	memcpy(big, "Subject: x\n\n", 12);
	m = parse(big, n);
	assert_true(m->defects & CLS_DEF_TRUNCATED);
	assert_int_equal(m->ntexts, 1);
	assert_true(m->texts[0].len <= 512 * 1024);
	cls_msg_free(m);
	free(big);
}

static void
test_many_headers(void **state)
{
	struct es_buf b;
	struct cls_msg *m;
	int i;

	(void)state;
	es_buf_init(&b, 64 << 20);
	for (i = 0; i < 100000; i++)
		assert_int_equal(es_buf_printf(&b, "X-H%d: v\n", i), 0);
	assert_int_equal(es_buf_puts(&b, "\nbody\n"), 0);
	m = parse(b.data, b.len);
	assert_true(m->nhdrs <= 1000);
	assert_true(m->defects & (CLS_DEF_MANY_HEADERS | CLS_DEF_TRUNCATED));
	cls_msg_free(m);
	es_buf_release(&b);
}

static void
test_degenerate(void **state)
{
	struct cls_msg *m;

	(void)state;
	m = parse("", 0);
	assert_int_equal(m->nhdrs, 0);
	cls_msg_free(m);
	m = parse("x", 1);
	assert_true(m->defects & (CLS_DEF_BAD_HEADER | CLS_DEF_NO_BODY));
	cls_msg_free(m);
	m = parse_s("Subject: only a header\nFrom: x");
	assert_true(m->defects & CLS_DEF_NO_BODY);
	assert_string_equal(hval(m, 0, "From"), "x");
	cls_msg_free(m);
	m = parse_s("no colon line\nSubject: s\n\nb\n");
	assert_true(m->defects & CLS_DEF_BAD_HEADER);
	assert_string_equal(hval(m, 0, "Subject"), "s");
	cls_msg_free(m);
}

static void
test_enomem(void **state)
{
	static const char msg[] =
	    "Subject: =?utf-8?q?x?=\nContent-Type: multipart/mixed; boundary=b\n\n"
	    "--b\nContent-Type: text/html\n\n<a href=http://x.example/>y</a>\n"
	    "--b\nContent-Type: image/png; name=p.png\n\nAAAA\n--b--\n";
	struct cls_limits lim;
	struct cls_msg *m = NULL;
	long k;
	int rc = -1;

	(void)state;
	cls_limits_default(&lim);
	for (k = 0; k < 1000 && rc != 0; k++) {
		es_alloc_fail_after(k);
		rc = cls_msg_parse(msg, sizeof(msg) - 1, &lim, &m);
		es_alloc_fail_after(-1);
		if (rc != 0) {
			assert_int_equal(rc, ES_ENOMEM);
			assert_null(m);
		}
	}
	assert_int_equal(rc, 0);
	assert_true(k > 3);
	cls_msg_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_simple),
	    cmocka_unit_test(test_mbox_from),
	    cmocka_unit_test(test_encoded_words),
	    cmocka_unit_test(test_multipart),
	    cmocka_unit_test(test_urls_in_text),
	    cmocka_unit_test(test_base64_and_attachment),
	    cmocka_unit_test(test_qp_broken),
	    cmocka_unit_test(test_rfc822),
	    cmocka_unit_test(test_rfc822_base64),
	    cmocka_unit_test(test_unterminated_boundary),
	    cmocka_unit_test(test_deep_nesting),
	    cmocka_unit_test(test_nul_and_8bit),
	    cmocka_unit_test(test_huge_line),
	    cmocka_unit_test(test_many_headers),
	    cmocka_unit_test(test_degenerate),
	    cmocka_unit_test(test_enomem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
