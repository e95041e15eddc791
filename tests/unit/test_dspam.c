/*
 * test_dspam.c - DSPAM 3.10's reading of a message and its tokenizers:
 * the markup stripper (cls_dspam_html), the header and body texts
 * (cls_dspam_texts) with DSPAM's quirks, and the word, chain and osb
 * tokens of whole messages through cls_msg_parse() and cls_tokenize(),
 * as the engine calls them. Ids marked "DSPAM" were looked up with
 * DSPAM 3.10's own dspam_dump after training these texts
 * (tests/data/dspam-golden/README.md); test_dspam_golden.sh checks
 * whole corpus messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cls_dspam_html.h"
#include "cls_dspam_msg.h"
#include "cls_msg.h"
#include "cls_token.h"
#include "es_buf.h"
#include "es_err.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* show - s made printable for a failure message (static buffer). */
static const char *
show(const char *s, size_t n)
{
	static char b[4][2048];
	static int k;
	size_t i, o = 0;
	char *d = b[k++ & 3];

	for (i = 0; i < n && o + 5 < sizeof(b[0]); i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n')
			o += (size_t)snprintf(d + o, 5, "\\n");
		else if (c == '\r')
			o += (size_t)snprintf(d + o, 5, "\\r");
		else if (c == '\t')
			o += (size_t)snprintf(d + o, 5, "\\t");
		else if (c < 32 || c >= 127)
			o += (size_t)snprintf(d + o, 5, "\\x%02x", c);
		else
			d[o++] = (char)c;
	}
	d[o] = '\0';
	return d;
}

static void
test_html(void **state)
{
	static const struct {
		const char *name, *in, *want;
	} c[] = {
	    {"text", "plain text", "plain text"},
	    {"tags dropped", "<b>bold</b> text", "bold text"},
	    {"link written", "<a href=\"http://x.test/a\">link</a>",
	        " http://x.test/a link"},
	    {"link, single quotes, blanks",
	        "<a  href = 'http://q.test'>t</a>", " http://q.test t"},
	    {"link unquoted, to '>'", "<a href=http://u.test/x>t</a>",
	        " http://u.test/x t"},
	    {"image link", "<img src=\"http://h.test/i.gif\">",
	        " http://h.test/i.gif "},
	    {"no http: no link", "<a href=\"mailto:x@y\">m</a>", "m"},
	    {"link quote runs on", "<a href=\"http://open", " http://open "},
	    {"line tags", "<p>one<p>two", "one\ntwo"},
	    {"br", "a<br>b<br/>c", "a\nb\nc"},
	    {"div at the start", "<div>x</div>", "x"},
	    {"script hidden", "<script>var x;</script>after", "after"},
	    {"script with attributes shown",
	        "<script type=\"t\">v</script>w", "vw"},
	    {"style hidden", "<style>p{}</style>x", "x"},
	    {"frameset hidden", "<frameset><frame src=\"a\"></frameset>z",
	        "z"},
	    {"comment", "<!-- c -->x", "x"},
	    {"named entities, case, blank after",
	        "caf&eacute; &amp; &lt;", "caf\xc9&<"},
	    {"nbsp", "one&nbsp;two", "one two"},
	    {"blank after an entity dropped", "a &amp; b", "a &b"},
	    {"numeric entities", "&#65;&#0066;&#160;&#8217;x", "ABx"},
	    {"thetasym lacks its ';'", "&thetasym;", ";"},
	    {"unknown entity kept", "&bogus; x", "&bogus; x"},
	    {"a lone '<'", "a < b", "a < b"},
	    {"'<' not a tag eats the next '<'", "x<1 and <b>y",
	        "x<1 and b>y"},
	    {"final '<'", "ab<", "ab<"},
	    {"td after td", "<td>a</td><td>b</td>", "a b"},
	    {"td alone", "A<td>B", "AB"},
	    {"NUL ends the input", "ab\0cd", "ab"},
	};
	struct es_buf b;
	size_t k;

	(void)state;
	for (k = 0; k < NELEM(c); k++) {
		es_buf_init(&b, 4096);
		assert_int_equal(
		    cls_dspam_html(c[k].in, strlen(c[k].in) + 2, &b), 0);
		if (b.len != strlen(c[k].want) ||
		    memcmp(b.data, c[k].want, b.len) != 0)
			fail_msg("case %s: got \"%s\", want \"%s\"", c[k].name,
			    show(b.data ? b.data : "", b.len),
			    show(c[k].want, strlen(c[k].want)));
		es_buf_release(&b);
	}
}

static void
test_texts(void **state)
{
	static const struct {
		const char *name;
		const char *msg;
		size_t len; /* 0: strlen */
		const char *head, *body;
	} c[] = {
	    {"mbox line read as a header", "From a@b.c  Wed Oct  9 "
	        "10:52:31 2002\nSubject: hi\n\nbody\n", 0,
	        "From a@b.c  Wed Oct  9 10: 52:31 2002\nSubject: hi\n",
	        "body\n"},
	    {"folded field keeps its lines", "Received: a\n\tb: c\nX: y\n\nz",
	        0, "Received: a\n\tb: c\nX: y\n", "z"},
	    {"Q word: the rest of the field is lost",
	        "Subject: =?utf-8?Q?caf=C3=A9?= rest\n\nx", 0,
	        "Subject: caf\xc3\xa9\n", "x"},
	    {"B word: text before kept, newline added",
	        "Subject: Re: =?utf-8?B?aGk=?= more\n\n", 0,
	        "Subject: Re: hi\n\n", " "},
	    {"unknown encoding: field as it was",
	        "Subject: =?x?Z?abc?= tail\n\n.", 0,
	        "Subject: =?x?Z?abc?= tail\n", "."},
	    {"folded encoded words: only the first",
	        "Subject: =?utf-8?Q?a?=\n =?utf-8?Q?b?=\n\n.", 0,
	        "Subject: a\n", "."},
	    {"decoded parts said 8bit, %XX decoded, HTML stripped",
	        "Content-Type: multipart/alternative; boundary=XX\n\npre\n"
	        "--XX\nContent-Type: text/plain\n"
	        "Content-Transfer-Encoding: quoted-printable\n\n"
	        "caf=C3=A9 50%25\n"
	        "--XX\nContent-Type: text/html\n"
	        "Content-Transfer-Encoding: base64\n\nPGI+aGk8L2I+\n--XX--\n",
	        0,
	        "Content-Type: multipart/alternative; boundary=XX\n"
	        "Content-Type: text/plain\nContent-Transfer-Encoding: 8bit\n"
	        "Content-Type: text/html\nContent-Transfer-Encoding: 8bit\n",
	        "pre\ncaf\xc3\xa9 50%\nhi\n"},
	    {"signed: encoding kept, no %XX",
	        "Content-Type: multipart/signed; boundary=S\n\n--S\n"
	        "Content-Type: text/plain\n"
	        "Content-Transfer-Encoding: base64\n\nNTAlMjU=\n--S--\n",
	        0,
	        "Content-Type: multipart/signed; boundary=S\n"
	        "Content-Type: text/plain\n"
	        "Content-Transfer-Encoding: base64\n",
	        "50%25\n"},
	    {"attachment: not decoded",
	        "Content-Type: text/plain\n"
	        "Content-Disposition: attachment; filename=a.txt\n"
	        "Content-Transfer-Encoding: base64\n\naGk=\n",
	        0,
	        "Content-Type: text/plain\n"
	        "Content-Disposition: attachment; filename=a.txt\n"
	        "Content-Transfer-Encoding: base64\n",
	        "aGk=\n"},
	    {"non-text part: header only",
	        "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
	        "Content-Type: application/octet-stream\n\nAAAA\n--b--\n",
	        0,
	        "Content-Type: multipart/mixed; boundary=b\n"
	        "Content-Type: application/octet-stream\n",
	        " "},
	    {"CRLF", "Subject: x\r\n\r\nbody\r\n", 0, "Subject: x\r\n",
	        "body\r\n"},
	    {"NUL drops the rest of its line", "Subject: a\0b\nX: c\n\nd", 20,
	        "Subject: aX: c\n", "d"},
	    {"text after a closing delimiter: a header",
	        "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nt\n--b--\n"
	        "trailer text\n",
	        0,
	        "Content-Type: multipart/mixed; boundary=b\ntrailer text: \n",
	        " "},
	    {"continuation at a part's start extends the field before",
	        "Content-Type: multipart/mixed; boundary=b\n\n--b\n cont\n"
	        "Content-Type: text/plain\n\nx\n--b--\n",
	        0,
	        "Content-Type: multipart/mixed; boundary=b\n cont\n"
	        "Content-Type: text/plain\n",
	        "x\n"},
	    {"embedded message: boundaries found in its body",
	        "Content-Type: message/rfc822\n\nSubject: inner\n"
	        "Content-Type: multipart/alternative; boundary=\"in\"\n\n"
	        "--in\nContent-Type: text/plain\n\ninner text\n--in--\n",
	        0, "Content-Type: message/rfc822\nContent-Type: text/plain\n",
	        "Subject: inner\nContent-Type: multipart/alternative; "
	        "boundary=\"in\"\n\ninner text\n"},
	    {"From QUARANTINE skipped", "From QUARANTINE x\nSubject: s\n\n.",
	        0, "Subject: s\n", "."},
	    {"8bit: %XX decoded", "Content-Transfer-Encoding: 8bit\n\n"
	        "100%25 %41%4", 0, "Content-Transfer-Encoding: 8bit\n",
	        "100% A%4"},
	    {"quoted-printable soft breaks, bad escape kept",
	        "Content-Transfer-Encoding: quoted-printable\n\n"
	        "a=\nb=\r\nc =ZZ d=3D\n",
	        0, "Content-Transfer-Encoding: 8bit\n", "abc =ZZ d=\n"},
	    {"base64 stops at '='", "Content-Transfer-Encoding: base64\n\n"
	        "aGVs\nbG8=IGlnbm9yZWQ=\n", 0,
	        "Content-Transfer-Encoding: 8bit\n", "hello\n"},
	    {"no header: the body is not read either", "\nbody\n", 0, " ",
	        " "},
	    {"empty", "", 0, " ", " "},
	};
	struct es_buf h, b;
	size_t k, len;

	(void)state;
	for (k = 0; k < NELEM(c); k++) {
		len = c[k].len ? c[k].len : strlen(c[k].msg);
		es_buf_init(&h, 4 * len + 1024);
		es_buf_init(&b, 4 * len + 1024);
		assert_int_equal(cls_dspam_texts(c[k].msg, len, &h, &b), 0);
		if (h.len != strlen(c[k].head) ||
		    memcmp(h.data, c[k].head, h.len) != 0)
			fail_msg("case %s: head \"%s\", want \"%s\"", c[k].name,
			    show(h.data, h.len),
			    show(c[k].head, strlen(c[k].head)));
		if (b.len != strlen(c[k].body) ||
		    memcmp(b.data, c[k].body, b.len) != 0)
			fail_msg("case %s: body \"%s\", want \"%s\"", c[k].name,
			    show(b.data, b.len),
			    show(c[k].body, strlen(c[k].body)));
		assert_null(memchr(h.data, '\0', h.len));
		assert_null(memchr(b.data, '\0', b.len));
		es_buf_release(&h);
		es_buf_release(&b);
	}
}

/* A field line is cut at 1023 bytes, as DSPAM's buffer cuts it: without
 * its newline it runs on into the next field's line. */
static void
test_texts_long_field(void **state)
{
	char msg[1200], want[1100];
	struct es_buf h, b;

	(void)state;
	memcpy(msg, "A: ", 3);
	memset(msg + 3, 'v', 1100);
	strcpy(msg + 1103, "\nB: w\n\n.");
	memcpy(want, msg, 1023);
	strcpy(want + 1023, "B: w\n");
	es_buf_init(&h, 1 << 16);
	es_buf_init(&b, 1 << 16);
	assert_int_equal(cls_dspam_texts(msg, strlen(msg), &h, &b), 0);
	assert_string_equal(h.data, want);
	assert_string_equal(b.data, ".");
	es_buf_release(&h);
	es_buf_release(&b);
}

/* A boundary named after the first 64 distinct ones is not honoured
 * (DSPAM honoured all; a bound against per-line cost). */
static void
test_texts_bounds(void **state)
{
	struct es_buf msg, h, b;
	int i;

	(void)state;
	es_buf_init(&msg, 1 << 20);
	assert_int_equal(es_buf_puts(&msg, "Content-Type: text/plain\n\n"), 0);
	for (i = 0; i < 100; i++)
		assert_int_equal(es_buf_printf(&msg,
		                     "Content-Type: x; boundary=b%03d\n", i),
		    0);
	assert_int_equal(es_buf_puts(&msg, "--b090\nSubject: after90\n"
	                                   "--b005\nSubject: after5\n"),
	    0);
	es_buf_init(&h, 1 << 22);
	es_buf_init(&b, 1 << 22);
	assert_int_equal(cls_dspam_texts(msg.data, msg.len, &h, &b), 0);
	assert_string_equal(h.data, "Content-Type: text/plain\n"
	                            "Subject: after5\n");
	assert_non_null(strstr(b.data, "--b090\nSubject: after90\n"));
	es_buf_release(&msg);
	es_buf_release(&h);
	es_buf_release(&b);
}

/* cmp_str - qsort order of C strings. */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* tokenize - parse msg (len bytes) and tokenize it with o, texts kept. */
static struct cls_tset *
tokenize(const char *msg, size_t len, const struct cls_tok_opts *o,
    size_t max)
{
	struct cls_limits lim;
	struct cls_msg *m = NULL;
	struct cls_tset *s;

	cls_limits_default(&lim);
	assert_int_equal(cls_msg_parse(msg, len, &lim, &m), 0);
	s = cls_tset_new(max, true);
	assert_non_null(s);
	assert_int_equal(cls_tokenize(m, o, s), 0);
	cls_msg_free(m);
	return s;
}

/*
 * check - the tokens of msg are want: each written "text", then " H"
 * for CLS_TF_HEADER, " R" for CLS_TF_ROUTE, " xN" when counted N > 1
 * times. Every id must be the CRC of its text.
 */
static void
check(const char *name, const char *msg, const struct cls_tok_opts *o,
    const char *const *want)
{
	struct cls_tset *s = tokenize(msg, strlen(msg), o, 10000);
	const struct cls_token *it = cls_tset_items(s);
	size_t n = cls_tset_len(s), nw, k;
	char **got, buf[400];
	const char **exp;

	for (nw = 0; want[nw] != NULL; nw++)
		;
	got = calloc(n + 1, sizeof(*got));
	exp = calloc(nw + 1, sizeof(*exp));
	assert_non_null(got);
	assert_non_null(exp);
	for (k = 0; k < n; k++) {
		assert_non_null(it[k].text);
		if (it[k].id != cls_crc64(it[k].text, it[k].len))
			fail_msg("case %s: id of \"%s\" is not its CRC", name,
			    it[k].text);
		snprintf(buf, sizeof(buf), "%s%s%s", it[k].text,
		    (it[k].flags & CLS_TF_HEADER) ? " H" : "",
		    (it[k].flags & CLS_TF_ROUTE) ? " R" : "");
		if (it[k].count > 1)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			    " x%u", (unsigned)it[k].count);
		got[k] = strdup(buf);
	}
	memcpy(exp, want, nw * sizeof(*exp));
	qsort(got, n, sizeof(*got), cmp_str);
	qsort(exp, nw, sizeof(*exp), cmp_str);
	for (k = 0; k < n || k < nw; k++) {
		const char *g = k < n ? got[k] : "(none)";
		const char *w = k < nw ? exp[k] : "(none)";

		if (strcmp(g, w) != 0) {
			for (k = 0; k < n; k++)
				fprintf(stderr, "  got: [%s]\n", show(got[k],
				                                     strlen(got[k])));
			fail_msg("case %s: token %zu: got \"%s\", want \"%s\"",
			    name, k, show(g, strlen(g)), show(w, strlen(w)));
		}
	}
	for (k = 0; k < n; k++)
		free(got[k]);
	free(got);
	free(exp);
	cls_tset_free(s);
}

/* The message DSPAM was asked about (its README's look-ups). */
static const char msg_lookup[] = "From: sender@example.com\n"
                                 "To: golden@example.com\n"
                                 "Subject: viagra\n"
                                 "\n"
                                 "free money viagra\n";

/* Folded Received: (cut at ':'), an mbox line, a Cc: field. */
static const char msg_fold[] =
    "From a@b.c  Wed Oct  9 10:52:31 2002\n"
    "Received: from x by y; Wed, 9 Oct 2002 10:52:31\n"
    "\tby z; Thu, 10 Oct 2002 11:22:33 +0100\n"
    "cc: c@d.e\n"
    "\n"
    "ok\n";

/* URL, '!' rule, X-DSPAM- fields, a word of 50 bytes. */
static const char msg_misc[] =
    "X-DSPAM-Result: Spam\n"
    "x-dspam-signature: abc\n"
    "Subject: a!b wow!!!\n"
    "\n"
    "see http://www.example.com/a.b now Wow!!! "
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx end\n";

static void
test_tok_word_chain(void **state)
{
	static const char *const lookup_word[] = {"From*sender H",
	    "From*example.com H", "To*golden H R", "To*example.com H R",
	    "Subject*viagra H", "free", "money", "viagra", NULL};
	static const char *const lookup_chain[] = {"From*sender H",
	    "From*example.com H", "From*sender+example.com H",
	    "To*golden H R", "To*example.com H R",
	    "To*golden+example.com H R", "Subject*viagra H", "free", "money",
	    "viagra", "free+money", "money+viagra", NULL};
	static const char *const fold_word[] = {"*From H", "*a H", "*b.c H",
	    "*Wed H", "*Oct H", "*9 H", "*10 H", "Received*from H R",
	    "Received*x H R", "Received*by H R x2", "Received*y H R",
	    "Received*Wed H R", "Received*9 H R", "Received*Oct H R x2",
	    "Received*2002 H R x2", "Received*10 H R x2", "Received*52 H R",
	    "Received*31 H R", "Received*z H R", "Received*Thu H R",
	    "Received*11 H R", "cc*c H R", "cc*d.e H R", "ok", NULL};
	static const char *const misc_word[] = {"Subject*a! H",
	    "Subject*wow! H", "Url*http", "Url*//www", "Url*example",
	    "Url*com/a", "Url*b", "see", "now", "Wow!", "end", NULL};
	static const char *const misc_chain[] = {"Subject*a! H",
	    "Subject*wow! H", "Subject*a!+wow! H", "Url*http", "Url*//www",
	    "Url*example", "Url*com/a", "Url*b", "see", "now", "Wow!", "end",
	    "see+now", "now+Wow!", "Wow!+end", NULL};
	struct cls_tok_opts w, c;

	(void)state;
	cls_tok_opts_default(&w, CLS_TOK_WORD);
	cls_tok_opts_default(&c, CLS_TOK_CHAIN);
	check("word lookup", msg_lookup, &w, lookup_word);
	check("chain lookup", msg_lookup, &c, lookup_chain);
	check("word folded", msg_fold, &w, fold_word);
	check("word misc", msg_misc, &w, misc_word);
	check("chain misc", msg_misc, &c, misc_chain);
}

static void
test_tok_osb(void **state)
{
	static const char *const lookup[] = {"From*sender+example.com H",
	    "To*golden+example.com H R", "free+money", "money+viagra",
	    "free+#+viagra", NULL};
	static const char *const window[] = {"Subject*one+two H", "a+b",
	    "a+#+c", "a+#+#+d", "a+#+#+#+e", "b+c", "b+#+d", "b+#+#+e",
	    "b+#+#+#+f", "c+d", "c+#+e", "c+#+#+f", "d+e", "d+#+f", "e+f",
	    NULL};
	static const char *const delims[] = {"Subject*x_y-z.w+a H",
	    "Subject*x_y-z.w+#+b H", "Subject*a+b H", "q+r", "q+#+s",
	    "q+#+#+t", "r+s", "r+#+t", "s+t", NULL};
	static const char *const bang[] = {"wow!!!+a!b", NULL};
	struct cls_tok_opts o;

	(void)state;
	cls_tok_opts_default(&o, CLS_TOK_OSB);
	check("osb lookup", msg_lookup, &o, lookup);
	check("osb window", "Subject: one two\nTo: bob\n\na b c d e f\n", &o,
	    window);
	check("osb delimiters", "Subject: x_y-z.w a/b\n\nq_r-s t\n", &o,
	    delims);
	check("osb no '!' rule", "Subject: s\n\nwow!!! a!b\n", &o, bang);
}

/* Ids DSPAM 3.10 itself stored for msg_lookup. */
static void
test_tok_dspam_ids(void **state)
{
	static const struct {
		enum cls_tokenizer kind;
		uint64_t id;
	} c[] = {
	    {CLS_TOK_WORD, 6625426497525293056ULL},   /* viagra */
	    {CLS_TOK_WORD, 10781897277360523175ULL},  /* Subject*viagra */
	    {CLS_TOK_WORD, 6714077868327960576ULL},   /* free */
	    {CLS_TOK_WORD, 12556387933347899568ULL},  /* From*sender */
	    {CLS_TOK_CHAIN, 7145343936025398573ULL},  /* free+money */
	    {CLS_TOK_CHAIN, 808146747975309597ULL},   /* money+viagra */
	    {CLS_TOK_OSB, 13733660717904354615ULL},   /* From*sender+... */
	    {CLS_TOK_OSB, 5980913806352321746ULL},    /* To*golden+... */
	    {CLS_TOK_OSB, 7145343936025398573ULL},    /* free+money */
	    {CLS_TOK_OSB, 808146747975309597ULL},     /* money+viagra */
	    {CLS_TOK_OSB, 15404829249903434084ULL},   /* free+#+viagra */
	};
	struct cls_tok_opts o;
	struct cls_tset *s;
	size_t k;

	(void)state;
	for (k = 0; k < NELEM(c); k++) {
		cls_tok_opts_default(&o, c[k].kind);
		s = tokenize(msg_lookup, strlen(msg_lookup), &o, 100);
		if (cls_tset_find(s, c[k].id) == NULL)
			fail_msg("case %s %llu: id missing",
			    cls_tokenizer_name(c[k].kind),
			    (unsigned long long)c[k].id);
		cls_tset_free(s);
	}
}

static void
test_tok_options(void **state)
{
	static const char msg[] =
	    "Subject: s\n\n"
	    "a 123 b12 1 x234567890123456789012345678901234567890123456789 "
	    "y2345678901234567890123456789012345678901234567890\n";
	static const char *const def[] = {"Subject*s H", "a", "123", "b12",
	    "1", "x234567890123456789012345678901234567890123456789", NULL};
	static const char *const skip[] = {"Subject*s H", "a", "b12",
	    "x234567890123456789012345678901234567890123456789", NULL};
	static const char *const three[] = {"123", "b12", NULL};
	struct cls_tok_opts o;

	(void)state;
	cls_tok_opts_default(&o, CLS_TOK_WORD);
	check("defaults", msg, &o, def);
	o.skip_numbers = true;
	check("skip_numbers", msg, &o, skip);
	cls_tok_opts_default(&o, CLS_TOK_WORD);
	o.min_len = 3;
	o.max_len = 3;
	check("min/max len", msg, &o, three);
}

/* A heading is cut at 127 bytes, a text at 255; an OSB key leaves out a
 * word that does not fit, as DSPAM's does. */
static void
test_tok_long(void **state)
{
	char msg[2048], name[201], p300[301], a[201], want[600];
	struct cls_tok_opts o;
	struct cls_tset *s;
	const struct cls_token *t;

	(void)state;
	memset(name, 'N', 200);
	name[200] = '\0';
	memset(p300, 'p', 300);
	p300[300] = '\0';
	snprintf(msg, sizeof(msg), "%s: word\n\nhttp://%s\n", name, p300);
	cls_tok_opts_default(&o, CLS_TOK_WORD);
	s = tokenize(msg, strlen(msg), &o, 100);
	assert_int_equal(cls_tset_len(s), 3);
	snprintf(want, sizeof(want), "%.127s*word", name);
	assert_non_null(cls_tset_find(s, cls_crc64(want, strlen(want))));
	snprintf(want, sizeof(want), "Url*//%.249s", p300);
	assert_int_equal(strlen(want), 255);
	t = cls_tset_find(s, cls_crc64(want, 255));
	assert_non_null(t);
	assert_int_equal(t->len, 255);
	cls_tset_free(s);

	/* OSB, words of 100 in a long heading: the text is cut at 255 */
	memset(a, 'a', 100);
	a[100] = '\0';
	snprintf(msg, sizeof(msg), "%s: %s b %s\n\n.\n", name, a, a);
	cls_tok_opts_default(&o, CLS_TOK_OSB);
	o.max_len = 200;
	s = tokenize(msg, strlen(msg), &o, 100);
	assert_int_equal(cls_tset_len(s), 3);
	snprintf(want, sizeof(want), "%.127s*%s+#+%s", name, a, a);
	t = cls_tset_find(s, cls_crc64(want, 255));
	assert_non_null(t);
	assert_int_equal(t->len, 255);
	cls_tset_free(s);

	/* words of 200: the second does not fit DSPAM's key */
	memset(a, 'a', 200);
	a[200] = '\0';
	snprintf(msg, sizeof(msg), "Subject: s\n\n%s %s\n", a, a);
	s = tokenize(msg, strlen(msg), &o, 100);
	assert_int_equal(cls_tset_len(s), 1);
	snprintf(want, sizeof(want), "%s+", a);
	assert_non_null(cls_tset_find(s, cls_crc64(want, strlen(want))));
	cls_tset_free(s);
}

/* Body tokens go to the sequence in order, header tokens do not; a
 * full set still succeeds and counts what it dropped. */
static void
test_tok_sequence_and_bound(void **state)
{
	static const char msg[] = "Subject: x y\n\nb a b\n";
	struct cls_tok_opts o;
	struct cls_tset *s;
	const uint64_t *seq;
	size_t n;

	(void)state;
	cls_tok_opts_default(&o, CLS_TOK_WORD);
	s = tokenize(msg, strlen(msg), &o, 100);
	seq = cls_tset_seq(s, &n);
	assert_int_equal(n, 3);
	assert_true(seq[0] == cls_crc64("b", 1));
	assert_true(seq[1] == cls_crc64("a", 1));
	assert_true(seq[2] == cls_crc64("b", 1));
	assert_int_equal(
	    cls_tset_find(s, cls_crc64("Subject*x", 9))->flags, CLS_TF_HEADER);
	cls_tset_free(s);

	s = tokenize(msg_fold, strlen(msg_fold), &o, 2);
	assert_int_equal(cls_tset_len(s), 2);
	assert_true(cls_tset_dropped(s) > 0);
	cls_tset_free(s);
}

/* A message without raw bytes (built by hand) has no DSPAM tokens. */
static void
test_tok_no_raw(void **state)
{
	struct cls_msg m;
	struct cls_tok_opts o;
	struct cls_tset *s = cls_tset_new(10, false);

	(void)state;
	memset(&m, 0, sizeof(m));
	cls_tok_opts_default(&o, CLS_TOK_OSB);
	assert_int_equal(cls_tokenize(&m, &o, s), 0);
	assert_int_equal(cls_tset_len(s), 0);
	cls_tset_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_html),
	    cmocka_unit_test(test_texts),
	    cmocka_unit_test(test_texts_long_field),
	    cmocka_unit_test(test_texts_bounds),
	    cmocka_unit_test(test_tok_word_chain),
	    cmocka_unit_test(test_tok_osb),
	    cmocka_unit_test(test_tok_dspam_ids),
	    cmocka_unit_test(test_tok_options),
	    cmocka_unit_test(test_tok_long),
	    cmocka_unit_test(test_tok_sequence_and_bound),
	    cmocka_unit_test(test_tok_no_raw),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
