/*
 * test_token.c - token ids (DSPAM's CRC-64), the token set, the edgespam
 * tokenizer on hand-built messages, and what every tokenizer must do
 * (allocation failures, ids without texts). DSPAM's tokenizers have
 * their own suite, test_dspam.c.
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
#include "cls_token.h"
#include "es_alloc.h"
#include "es_err.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* crc_bitwise - the CRC's definition, one bit at a time. */
static uint64_t
crc_bitwise(const char *s)
{
	uint64_t crc = 0;
	int b;

	for (; *s != '\0'; s++) {
		crc ^= (unsigned char)*s;
		for (b = 0; b < 8; b++)
			crc = (crc & 1) ? (crc >> 1) ^ 0xd800000000000000ULL
			                : crc >> 1;
	}
	return crc;
}

/* Golden ids from DSPAM-COMPAT.md (DSPAM 3.10's own function). */
static void
test_crc_golden(void **state)
{
	static const struct {
		const char *text;
		uint64_t want;
	} c[] = {
	    {"a", 6606780653352517632ULL},
	    {"viagra", 6625426497525293056ULL},
	    {"Subject*viagra", 10781897277360523175ULL},
	    {"free+money", 7145343936025398573ULL},
	    {"click+#+here", 5796069505325394181ULL},
	    {"Url*example", 12218962955328085320ULL},
	    {"From*bob@example.com", 17841052940628814106ULL},
	    {"$$CONTROL$$", 11624422384514212933ULL},
	    {"123456789", 0x46A5A9388A5BEFFEULL},
	    {"", 0},
	};
	size_t k;
	uint64_t got;

	(void)state;
	for (k = 0; k < NELEM(c); k++) {
		got = cls_crc64(c[k].text, strlen(c[k].text));
		if (got != c[k].want)
			fail_msg("case \"%s\": got %llu, want %llu", c[k].text,
			    (unsigned long long)got,
			    (unsigned long long)c[k].want);
	}
	/* the id stops at a NUL, and len bounds it */
	assert_true(cls_crc64("viagra\0xyz", 10) == 6625426497525293056ULL);
	assert_true(cls_crc64("viagraXYZ", 6) == 6625426497525293056ULL);
	assert_true(cls_crc64(NULL, 0) == 0);
	/* bytes >= 0x80 are taken modulo 256, not sign-extended */
	assert_true(cls_crc64("\xe9", 1) != cls_crc64("\x69", 1));
	assert_true(cls_crc64("\xe9", 1) == crc_bitwise("\xe9"));
	/* the table against the bit-by-bit definition, every byte value */
	for (k = 1; k < 256; k++) {
		char t[3] = {(char)k, (char)(255 - k), 0};
		if (t[1] == 0)
			t[1] = 'x';
		got = cls_crc64(t, 2);
		if (got != crc_bitwise(t))
			fail_msg("case byte %zu: got %llx, want %llx", k,
			    (unsigned long long)got,
			    (unsigned long long)crc_bitwise(t));
	}
}

static void
test_tset_counts_flags_text(void **state)
{
	struct cls_tset *s;
	const struct cls_token *t;
	uint64_t id_a = cls_crc64("a", 1);

	(void)state;
	s = cls_tset_new(100, true);
	assert_non_null(s);
	assert_int_equal(cls_tset_add(s, "a", 1), 0);
	assert_int_equal(cls_tset_add_flags(s, "a", 1, CLS_TF_HEADER), 0);
	assert_int_equal(cls_tset_add_flags(s, "viagra", 6, CLS_TF_NOISE), 0);
	assert_int_equal(cls_tset_add(s, "a", 1), 0);
	assert_int_equal(cls_tset_len(s), 2);
	t = cls_tset_find(s, id_a);
	assert_non_null(t);
	assert_int_equal(t->count, 3);
	assert_int_equal(t->flags, CLS_TF_HEADER);
	assert_string_equal(t->text, "a");
	assert_int_equal(t->len, 1);
	/* insertion order */
	assert_true(cls_tset_items(s)[0].id == id_a);
	assert_string_equal(cls_tset_items(s)[1].text, "viagra");
	/* flag an existing id; an unknown one is ENOTFOUND */
	assert_int_equal(cls_tset_flag(s, id_a, CLS_TF_SENDER), 0);
	assert_int_equal(
	    cls_tset_find(s, id_a)->flags, CLS_TF_HEADER | CLS_TF_SENDER);
	assert_int_equal(cls_tset_flag(s, 12345, CLS_TF_SENDER), ES_ENOTFOUND);
	assert_null(cls_tset_find(s, 12345));
	/* add_id: counts, keeps the first text, no flags */
	assert_int_equal(cls_tset_add_id(s, 77, NULL, 0, 5), 0);
	assert_int_equal(cls_tset_add_id(s, 77, "seventy", 7, 2), 0);
	assert_int_equal(cls_tset_add_id(s, 77, "other", 5, 1), 0);
	t = cls_tset_find(s, 77);
	assert_int_equal(t->count, 8);
	assert_int_equal(t->flags, 0);
	assert_string_equal(t->text, "seventy");
	/* text with a NUL: kept up to the NUL, like the id */
	assert_int_equal(cls_tset_add(s, "ab\0cd", 5), 0);
	t = cls_tset_find(s, cls_crc64("ab", 2));
	assert_non_null(t);
	assert_int_equal(t->len, 2);
	assert_string_equal(t->text, "ab");
	cls_tset_free(s);

	/* without keep_text, no texts */
	s = cls_tset_new(10, false);
	assert_int_equal(cls_tset_add(s, "a", 1), 0);
	assert_null(cls_tset_items(s)[0].text);
	assert_int_equal(cls_tset_items(s)[0].len, 0);
	cls_tset_free(s);
	cls_tset_free(NULL);
}

static void
test_tset_bound_and_seq(void **state)
{
	struct cls_tset *s;
	const uint64_t *seq;
	size_t n;
	char w[16];
	int i;

	(void)state;
	s = cls_tset_new(3, false);
	assert_int_equal(cls_tset_add(s, "w1", 2), 0);
	assert_int_equal(cls_tset_add_flags(s, "h1", 2, CLS_TF_HEADER), 0);
	assert_int_equal(cls_tset_add(s, "w2", 2), 0);
	assert_int_equal(cls_tset_add(s, "w3", 2), ES_ELIMIT);
	assert_int_equal(cls_tset_add_id(s, 99, NULL, 0, 1), ES_ELIMIT);
	assert_int_equal(cls_tset_dropped(s), 2);
	assert_int_equal(cls_tset_len(s), 3);
	assert_null(cls_tset_find(s, cls_crc64("w3", 2)));
	/* a known id is still counted past the bound */
	assert_int_equal(cls_tset_add(s, "w1", 2), 0);
	assert_int_equal(cls_tset_find(s, cls_crc64("w1", 2))->count, 2);
	/* sequence: body adds only, refused ids not in it, at most 3 */
	seq = cls_tset_seq(s, &n);
	assert_int_equal(n, 3);
	assert_true(seq[0] == cls_crc64("w1", 2));
	assert_true(seq[1] == cls_crc64("w2", 2));
	assert_true(seq[2] == cls_crc64("w1", 2));
	assert_int_equal(cls_tset_add(s, "w2", 2), 0);
	seq = cls_tset_seq(s, &n);
	assert_int_equal(n, 3);

	/* reset empties everything and the set is usable again */
	cls_tset_reset(s);
	assert_int_equal(cls_tset_len(s), 0);
	assert_int_equal(cls_tset_dropped(s), 0);
	cls_tset_seq(s, &n);
	assert_int_equal(n, 0);
	assert_null(cls_tset_find(s, cls_crc64("w1", 2)));
	assert_int_equal(cls_tset_add(s, "w3", 2), 0);
	assert_int_equal(cls_tset_find(s, cls_crc64("w3", 2))->count, 1);
	cls_tset_free(s);

	/* growth past the first allocations, with texts, and reuse */
	s = cls_tset_new(5000, true);
	for (int round = 0; round < 2; round++) {
		for (i = 0; i < 5000; i++) {
			snprintf(w, sizeof(w), "w%d", i);
			assert_int_equal(cls_tset_add(s, w, strlen(w)), 0);
		}
		assert_int_equal(cls_tset_add(s, "x", 1), ES_ELIMIT);
		assert_int_equal(cls_tset_len(s), 5000);
		for (i = 0; i < 5000; i += 7) {
			snprintf(w, sizeof(w), "w%d", i);
			const struct cls_token *t =
			    cls_tset_find(s, cls_crc64(w, strlen(w)));
			assert_non_null(t);
			assert_string_equal(t->text, w);
		}
		seq = cls_tset_seq(s, &n);
		assert_int_equal(n, 5000);
		assert_true(seq[4999] == cls_crc64("w4999", 5));
		cls_tset_reset(s);
	}
	cls_tset_free(s);
}

static void
test_tset_sort(void **state)
{
	struct cls_tset *s;
	const struct cls_token *it;
	char w[16];
	size_t k;
	int i;

	(void)state;
	s = cls_tset_new(1000, true);
	for (i = 0; i < 300; i++) {
		snprintf(w, sizeof(w), "tok%d", i);
		assert_int_equal(cls_tset_add(s, w, strlen(w)), 0);
	}
	cls_tset_sort(s);
	it = cls_tset_items(s);
	for (k = 1; k < cls_tset_len(s); k++)
		if (!(it[k - 1].id < it[k].id))
			fail_msg("case sort: item %zu not ascending", k);
	/* find works after the sort, and adds keep counting */
	for (i = 0; i < 300; i++) {
		snprintf(w, sizeof(w), "tok%d", i);
		const struct cls_token *t =
		    cls_tset_find(s, cls_crc64(w, strlen(w)));
		assert_non_null(t);
		assert_string_equal(t->text, w);
	}
	assert_int_equal(cls_tset_add(s, "tok5", 4), 0);
	assert_int_equal(cls_tset_find(s, cls_crc64("tok5", 4))->count, 2);
	assert_int_equal(cls_tset_add(s, "new", 3), 0);
	assert_int_equal(cls_tset_len(s), 301);
	assert_non_null(cls_tset_find(s, cls_crc64("new", 3)));
	cls_tset_free(s);
}

/* Make the Nth allocation fail for N = 0, 1, ...: every step either
 * succeeds or reports ES_ENOMEM with the set unchanged and usable. */
static void
test_tset_alloc_failure(void **state)
{
	struct cls_tset *s;
	char w[700];
	size_t k;
	long n;
	int i, rc, added;
	bool done = false;

	(void)state;
	for (n = 0; !done; n++) {
		es_alloc_fail_after(n);
		s = cls_tset_new(1000, true);
		if (s == NULL) {
			es_alloc_fail_after(-1);
			continue;
		}
		added = 0;
		done = true;
		for (i = 0; i < 400; i++) {
			snprintf(w, sizeof(w), "%0600d", i);
			rc = cls_tset_add(s, w, strlen(w));
			if (rc == ES_ENOMEM) {
				done = false;
				/* unchanged: the id is absent, earlier ones
				 * stay */
				assert_null(
				    cls_tset_find(s, cls_crc64(w, strlen(w))));
				assert_int_equal(cls_tset_len(s), added);
				continue;
			}
			assert_int_equal(rc, 0);
			added++;
		}
		es_alloc_fail_after(-1);
		/* usable again once memory is back */
		assert_int_equal(cls_tset_add(s, "after", 5), 0);
		assert_int_equal(cls_tset_len(s), added + 1);
		for (k = 0; k < cls_tset_len(s); k++)
			assert_non_null(cls_tset_items(s)[k].text);
		cls_tset_free(s);
	}
	assert_true(n > 5);
}

/* Message building: header fields and text lists by hand. */
#define HDR(n, v)                                                              \
	{                                                                      \
		(n), sizeof(n) - 1, (v), sizeof(v) - 1, 0, false               \
	}
#define PART_HDR(n, v, p, e)                                                   \
	{                                                                      \
		(n), sizeof(n) - 1, (v), sizeof(v) - 1, (p), (e)               \
	}
#define TXT(s)                                                                 \
	{                                                                      \
		(s), sizeof(s) - 1, 0                                          \
	}

/* cmp_str - qsort order of C strings (bytes as unsigned). */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * check_tokens - tokenize msg with kind's defaults (adjusted by adjust)
 * and compare the sorted token list with want. A token is written
 * "text", then " H" when it has CLS_TF_HEADER, then " xN" when counted
 * N > 1 times. Every id must be the CRC of its text.
 */
static void
check_tokens_opts(const char *name, const struct cls_msg *msg,
    const struct cls_tok_opts *o, const char *const *want, size_t nwant)
{
	struct cls_tset *s;
	const struct cls_token *it;
	char **got, **exp;
	size_t n, k, i;

	s = cls_tset_new(10000, true);
	assert_non_null(s);
	assert_int_equal(cls_tokenize(msg, o, s), 0);
	assert_int_equal(cls_tset_dropped(s), 0);
	n = cls_tset_len(s);
	it = cls_tset_items(s);
	got = calloc(n + 1, sizeof(*got));
	exp = calloc(nwant + 1, sizeof(*exp));
	assert_non_null(got);
	assert_non_null(exp);
	for (k = 0; k < n; k++) {
		char buf[400];

		assert_non_null(it[k].text);
		if (it[k].id != cls_crc64(it[k].text, it[k].len))
			fail_msg("case %s: id of \"%s\" is not its CRC", name,
			    it[k].text);
		if (it[k].count > 1)
			snprintf(buf, sizeof(buf), "%s%s x%u", it[k].text,
			    (it[k].flags & CLS_TF_HEADER) ? " H" : "",
			    (unsigned)it[k].count);
		else
			snprintf(buf, sizeof(buf), "%s%s", it[k].text,
			    (it[k].flags & CLS_TF_HEADER) ? " H" : "");
		got[k] = strdup(buf);
	}
	for (k = 0; k < nwant; k++)
		exp[k] = strdup(want[k]);
	qsort(got, n, sizeof(*got), cmp_str);
	qsort(exp, nwant, sizeof(*exp), cmp_str);
	for (i = 0; i < n || i < nwant; i++) {
		const char *g = i < n ? got[i] : "(none)";
		const char *w = i < nwant ? exp[i] : "(none)";

		if (strcmp(g, w) != 0) {
			for (k = 0; k < n; k++)
				fprintf(stderr, "  got: [%s]\n", got[k]);
			fail_msg("case %s: token %zu: got \"%s\", want \"%s\"",
			    name, i, g, w);
		}
	}
	for (k = 0; k < n; k++)
		free(got[k]);
	for (k = 0; k < nwant; k++)
		free(exp[k]);
	free(got);
	free(exp);
	cls_tset_free(s);
}

static void
check_tokens(const char *name, const struct cls_msg *msg,
    enum cls_tokenizer kind, const char *const *want, size_t nwant)
{
	struct cls_tok_opts o;

	cls_tok_opts_default(&o, kind);
	check_tokens_opts(name, msg, &o, want, nwant);
}

/* A message for the tests that run every tokenizer: headers, a
 * multipart body with text, HTML and an attachment. */
static const char m1_raw[] =
    "From bob@example.com  Wed Oct  9 10:52:31 2002\n"
    "Subject: free viagra now\n"
    "From: Bob <bob@example.com>\n"
    "Received: from relay.example.net by mx.example.org;\n"
    "\tWed, 9 Oct 2002 10:52:31 +0100\n"
    "X-DSPAM-Result: Innocent\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\n"
    "\n"
    "--b1\n"
    "Content-Type: text/plain\n"
    "\n"
    "Click here, click HERE!!! 12 caf\xc3\xa9 http://www.example.com/a.b\n"
    "--b1\n"
    "Content-Type: text/html\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "PHA+SGVsbG8gPGEgaHJlZj0iaHR0cDovL3guZXhhbXBsZS9wIj53b3JsZDwvYT48L3A+\n"
    "--b1\n"
    "Content-Type: application/pdf; name=\"report.pdf\"\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "JVBERi0xLjQK\n"
    "--b1--\n";

/* parse_m1 - m1_raw parsed (the caller frees it). */
static struct cls_msg *
parse_m1(void)
{
	struct cls_limits lim;
	struct cls_msg *m = NULL;

	cls_limits_default(&lim);
	assert_int_equal(cls_msg_parse(m1_raw, sizeof(m1_raw) - 1, &lim, &m), 0);
	return m;
}

static void
test_tok_edgespam(void **state)
{
	static struct cls_header h[] = {
	    HDR("Subject", "It's a.b.c hello... $100 3rd 3rdparty ab ok "
	                   "don't- --abc x'"),
	    HDR("From", "Bob <bob@example.com>"),
	    HDR("return-path", "<bounce@ex.org>"),
	    HDR("To", "alice@example.com"),
	    HDR("Received", "from mx.example.com by x"),
	    HDR("X-Mailer", "Foo 1.0"),
	    HDR("X-DSPAM-Result", "Spam"),
	    PART_HDR("Content-Type", "text/html", 1, false),
	    PART_HDR("Subject", "inner words", 2, true),
	};
	static struct cls_text t[] = {
	    TXT("Hello Hello w\xc3\xb6rld \xff\xfe\xfd \xfe\xfd caf\xc3\xa9 "
	        "___ end. "
	        "abcdefghijklmnopqrstuvwxyzabcd "   /* 30: kept */
	        "abcdefghijklmnopqrstuvwxyzabcde"), /* 31: dropped */
	};
	static struct cls_text u[] = {
	    TXT("http://www.example.com/path/to?x=1&y=two"),
	};
	static struct cls_text a[] = {
	    TXT("application/pdf"),
	    TXT("name:report 2024.pdf"),
	    TXT("name:"),
	};
	static const struct cls_msg m = {
	    h, NELEM(h), t, NELEM(t), u, NELEM(u), a, NELEM(a), 3, 0, NULL, NULL, 0};
	static const char *const want[] = {
	    "subj:It's H",
	    "subj:a.b.c H",
	    "subj:hello H",
	    "subj:$100 H",
	    "subj:don't H",
	    "subj:abc H",
	    "from:Bob H",
	    "from:bob H",
	    "from:example.com H",
	    "rtrn:bounce H",
	    "rtrn:ex.org H",
	    "to:alice H",
	    "to:example.com H",
	    "rcvd:from H",
	    "rcvd:mx.example.com H",
	    "head:Foo H",
	    "Hello x2",
	    "w\xc3\xb6rld",
	    "\xff\xfe\xfd",
	    "caf\xc3\xa9",
	    "end",
	    "abcdefghijklmnopqrstuvwxyzabcd",
	    "url:http",
	    "url:www.example.com",
	    "url:path",
	    "url:to",
	    "url:x",
	    "url:1",
	    "url:y",
	    "url:two",
	    "Subject",
	    "inner",
	    "words",
	    "ct:application/pdf",
	    "fn:report 2024.pdf",
	};

	(void)state;
	check_tokens("edgespam", &m, CLS_TOK_EDGESPAM, want, NELEM(want));
}

/* Delivery headers' words carry CLS_TF_ROUTE (the shared dictionary
 * leaves them to the user), other headers' and the body's do not; the
 * flags of a word are the union over where it occurs. */
static void
test_tok_route_flag(void **state)
{
	static struct cls_header h[] = {
	    HDR("Received", "from relay.example.net by mx.example.org"),
	    HDR("To", "ler@lerami.example"), HDR("cc", "cc@copy.example"),
	    HDR("Delivered-To", "box@deliv.example"),
	    HDR("Subject", "hello lerami.example"),
	    HDR("From", "someone@sender.example")};
	static struct cls_text t[] = {TXT("body words relay.example.net")};
	static const struct cls_msg m = {
	    h, NELEM(h), t, 1, NULL, 0, NULL, 0, 1, 0, NULL, NULL, 0};
	static const struct {
		enum cls_tokenizer kind;
		const char *text;
		uint32_t want;
	} c[] = {
	    {CLS_TOK_EDGESPAM, "rcvd:relay.example.net",
		CLS_TF_HEADER | CLS_TF_ROUTE},
	    {CLS_TOK_EDGESPAM, "to:lerami.example",
		CLS_TF_HEADER | CLS_TF_ROUTE},
	    {CLS_TOK_EDGESPAM, "head:copy.example",
		CLS_TF_HEADER | CLS_TF_ROUTE},
	    {CLS_TOK_EDGESPAM, "head:deliv.example",
		CLS_TF_HEADER | CLS_TF_ROUTE},
	    {CLS_TOK_EDGESPAM, "subj:lerami.example", CLS_TF_HEADER},
	    {CLS_TOK_EDGESPAM, "from:sender.example", CLS_TF_HEADER},
	    {CLS_TOK_EDGESPAM, "relay.example.net", 0},
	};
	struct cls_tok_opts o;
	struct cls_tset *s;
	const struct cls_token *tk;
	size_t k;
	int bad = 0;

	(void)state;
	for (k = 0; k < NELEM(c); k++) {
		cls_tok_opts_default(&o, c[k].kind);
		s = cls_tset_new(1000, false);
		assert_non_null(s);
		assert_int_equal(cls_tokenize(&m, &o, s), 0);
		tk = cls_tset_find(s, cls_crc64(c[k].text, strlen(c[k].text)));
		if (tk == NULL || tk->flags != c[k].want) {
			printf("%s: flags %d, want %u\n", c[k].text,
			    tk ? (int)tk->flags : -1, (unsigned)c[k].want);
			bad = 1;
		}
		cls_tset_free(s);
	}
	assert_int_equal(bad, 0);
}

/* The edgespam tokenizer's network tokens: "ip16:" and "ip24:" for the
 * IPv4 addresses of the message's own Received fields, with the field's
 * flags; none from other fields, embedded headers or the body, and none
 * from DSPAM's tokenizers. */
static void
test_tok_received_nets(void **state)
{
	static struct cls_header h[] = {
	    HDR("Received", "from a (a [192.0.2.17]) by b (198.51.100.3)"),
	    HDR("Received", "from c by d (Exim 4.05.1.2) id 1.2.3"),
	    HDR("Subject", "see 203.0.113.9"),
	    PART_HDR("Received", "from e [203.0.113.10]", 0, true)};
	static struct cls_text t[] = {TXT("body 203.0.113.11")};
	static const struct cls_msg m = {
	    h, NELEM(h), t, 1, NULL, 0, NULL, 0, 1, 0, NULL, NULL, 0};
	static const struct {
		enum cls_tokenizer kind;
		const char *text;
		int want; /* flags; -1: absent */
	} c[] = {
	    {CLS_TOK_EDGESPAM, "ip16:192.0", CLS_TF_HEADER | CLS_TF_ROUTE},
	    {CLS_TOK_EDGESPAM, "ip24:192.0.2", CLS_TF_HEADER | CLS_TF_ROUTE},
	    {CLS_TOK_EDGESPAM, "ip16:198.51", CLS_TF_HEADER | CLS_TF_ROUTE},
	    {CLS_TOK_EDGESPAM, "ip24:198.51.100",
		CLS_TF_HEADER | CLS_TF_ROUTE},
	    {CLS_TOK_EDGESPAM, "ip16:203.0", -1},
	    {CLS_TOK_EDGESPAM, "ip24:203.0.113", -1},
	    {CLS_TOK_EDGESPAM, "ip16:4.05", -1},
	    {CLS_TOK_EDGESPAM, "ip24:1.2.3", -1},
	    {CLS_TOK_WORD, "ip16:192.0", -1},
	    {CLS_TOK_OSB, "ip24:192.0.2", -1},
	};
	struct cls_tok_opts o;
	struct cls_tset *s;
	const struct cls_token *tk;
	size_t k;
	int bad = 0;

	(void)state;
	for (k = 0; k < NELEM(c); k++) {
		int got;

		cls_tok_opts_default(&o, c[k].kind);
		s = cls_tset_new(1000, false);
		assert_non_null(s);
		assert_int_equal(cls_tokenize(&m, &o, s), 0);
		tk = cls_tset_find(s, cls_crc64(c[k].text, strlen(c[k].text)));
		got = tk ? (int)tk->flags : -1;
		if (got != c[k].want) {
			printf("%s (%s): flags %d, want %d\n", c[k].text,
			    cls_tokenizer_name(c[k].kind), got, c[k].want);
			bad = 1;
		}
		/* each network token counted once per address */
		if (tk != NULL && tk->count != 1) {
			printf("%s: count %u\n", c[k].text, (unsigned)tk->count);
			bad = 1;
		}
		cls_tset_free(s);
	}
	assert_int_equal(bad, 0);
}

/* Every allocation failure gives ES_ENOMEM and no leak (ASan checks). */
static void
test_tok_alloc_failure(void **state)
{
	static const enum cls_tokenizer kinds[] = {
	    CLS_TOK_WORD, CLS_TOK_CHAIN, CLS_TOK_OSB, CLS_TOK_EDGESPAM};
	struct cls_tok_opts o;
	struct cls_tset *s;
	struct cls_msg *m1 = parse_m1();
	size_t k, want;
	long n;
	int rc;

	(void)state;
	for (k = 0; k < NELEM(kinds); k++) {
		cls_tok_opts_default(&o, kinds[k]);
		s = cls_tset_new(1000, true);
		assert_int_equal(cls_tokenize(m1, &o, s), 0);
		want = cls_tset_len(s);
		cls_tset_free(s);
		for (n = 0;; n++) {
			s = cls_tset_new(1000, true);
			assert_non_null(s);
			es_alloc_fail_after(n);
			rc = cls_tokenize(m1, &o, s);
			es_alloc_fail_after(-1);
			cls_tset_free(s);
			if (rc == 0)
				break;
			assert_int_equal(rc, ES_ENOMEM);
		}
		assert_true(n > 0);
		assert_true(want > 0);
	}
	cls_msg_free(m1);
}

/* The sender token: "From*" + the first From: address, lowercased, +
 * "*" + the client's network; none without a network or an address. */
static void
test_sender_token(void **state)
{
	static struct cls_header h1[] = {
	    HDR("Subject", "hi"),
	    HDR("From", "  bob@example.com \t"),
	    HDR("From", "second@example.com"),
	};
	static struct cls_header h2[] = {
	    HDR("from", "\"Bob B.\" <Bob@Example.COM>"),
	};
	static struct cls_header h3[] = {
	    PART_HDR("From", "bob@example.com", 1, false),
	    PART_HDR("From", "bob@example.com", 0, true),
	    HDR("Sender", "bob@example.com"),
	};
	static struct cls_header h4[] = {HDR("From", "  ")};
	static struct cls_header h5[] = {HDR("From", "Bob (no address)")};
	static const struct {
		const char *name;
		struct cls_header *h;
		size_t n;
		const char *net;
		int rc;
		const char *text; /* the token's text when rc is 0 */
	} cases[] = {
	    {"first From:, trimmed", h1, NELEM(h1), "192.0.2.0/24", 0,
	        "From*bob@example.com*192.0.2.0/24"},
	    {"display name, case", h2, NELEM(h2), "192.0.2.0/24", 0,
	        "From*bob@example.com*192.0.2.0/24"},
	    {"IPv6 network", h2, NELEM(h2), "2001:db8:1:2::/64", 0,
	        "From*bob@example.com*2001:db8:1:2::/64"},
	    {"no client network", h1, NELEM(h1), NULL, ES_ENOTFOUND, NULL},
	    {"empty client network", h1, NELEM(h1), "", ES_ENOTFOUND, NULL},
	    {"only part and embedded From:", h3, NELEM(h3), "192.0.2.0/24",
	        ES_ENOTFOUND, NULL},
	    {"blank From:", h4, NELEM(h4), "192.0.2.0/24", ES_ENOTFOUND, NULL},
	    {"From: without address", h5, NELEM(h5), "192.0.2.0/24",
	        ES_ENOTFOUND, NULL},
	    {"no header", NULL, 0, "192.0.2.0/24", ES_ENOTFOUND, NULL},
	};
	struct cls_msg m = {
	    NULL, 0, NULL, 0, NULL, 0, NULL, 0, 1, 0, NULL, NULL, 0};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		uint64_t id = 0;
		int rc;

		m.hdrs = cases[i].h;
		m.nhdrs = cases[i].n;
		rc = cls_sender_token(&m, cases[i].net, &id);
		if (rc != cases[i].rc)
			fail_msg("case %s: got rc %d, want %d", cases[i].name,
			    rc, cases[i].rc);
		if (rc == 0 &&
		    id != cls_crc64(cases[i].text, strlen(cases[i].text)))
			fail_msg("case %s: got id %llu, want that of \"%s\"",
			    cases[i].name, (unsigned long long)id,
			    cases[i].text);
	}
}

static void
test_tokenizer_names_and_defaults(void **state)
{
	static const struct {
		const char *name;
		enum cls_tokenizer kind;
		size_t min_len, max_len;
	} c[] = {
	    {"word", CLS_TOK_WORD, 1, 49},
	    {"chain", CLS_TOK_CHAIN, 1, 49},
	    {"osb", CLS_TOK_OSB, 1, 49},
	    {"edgespam", CLS_TOK_EDGESPAM, 3, 30},
	};
	struct cls_tok_opts o;
	enum cls_tokenizer kind;
	size_t k;

	(void)state;
	for (k = 0; k < NELEM(c); k++) {
		kind = CLS_TOK_WORD;
		assert_int_equal(cls_tokenizer_parse(c[k].name, &kind), 0);
		if (kind != c[k].kind)
			fail_msg("case %s: got kind %d, want %d", c[k].name,
			    (int)kind, (int)c[k].kind);
		assert_string_equal(cls_tokenizer_name(c[k].kind), c[k].name);
		cls_tok_opts_default(&o, c[k].kind);
		assert_int_equal(o.kind, c[k].kind);
		assert_int_equal(o.min_len, c[k].min_len);
		assert_int_equal(o.max_len, c[k].max_len);
		assert_false(o.skip_numbers);
	}
	assert_int_equal(cls_tokenizer_parse("sbph", &kind), ES_EINVAL);
	assert_int_equal(cls_tokenizer_parse("", &kind), ES_EINVAL);
	assert_int_equal(cls_tokenizer_parse("OSB ", &kind), ES_EINVAL);
}

/* cmp_tok - qsort order of tokens by id. */
static int
cmp_tok(const void *a, const void *b)
{
	uint64_t x = ((const struct cls_token *)a)->id;
	uint64_t y = ((const struct cls_token *)b)->id;

	return x < y ? -1 : x > y;
}

/* Ids computed without texts (the fast path) equal ids of the texts. */
static void
test_tok_ids_without_text(void **state)
{
	static const enum cls_tokenizer kinds[] = {
	    CLS_TOK_WORD, CLS_TOK_CHAIN, CLS_TOK_OSB, CLS_TOK_EDGESPAM};
	struct cls_tok_opts o;
	struct cls_tset *a, *b;
	struct cls_token *ta, *tb;
	struct cls_msg *m1 = parse_m1();
	size_t k, i, n;

	(void)state;
	for (k = 0; k < NELEM(kinds); k++) {
		cls_tok_opts_default(&o, kinds[k]);
		a = cls_tset_new(1000, true);
		b = cls_tset_new(1000, false);
		assert_int_equal(cls_tokenize(m1, &o, a), 0);
		assert_int_equal(cls_tokenize(m1, &o, b), 0);
		n = cls_tset_len(a);
		assert_true(n > 10);
		assert_int_equal(cls_tset_len(b), n);
		ta = malloc(n * sizeof(*ta));
		tb = malloc(n * sizeof(*tb));
		memcpy(ta, cls_tset_items(a), n * sizeof(*ta));
		memcpy(tb, cls_tset_items(b), n * sizeof(*tb));
		qsort(ta, n, sizeof(*ta), cmp_tok);
		qsort(tb, n, sizeof(*tb), cmp_tok);
		for (i = 0; i < n; i++)
			if (ta[i].id != tb[i].id ||
			    ta[i].count != tb[i].count ||
			    ta[i].flags != tb[i].flags)
				fail_msg("case %s: token %zu (%s) differs "
				         "without texts",
				    cls_tokenizer_name(kinds[k]), i,
				    ta[i].text);
		free(ta);
		free(tb);
		cls_tset_free(a);
		cls_tset_free(b);
	}
	cls_msg_free(m1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crc_golden),
	    cmocka_unit_test(test_tset_counts_flags_text),
	    cmocka_unit_test(test_tset_bound_and_seq),
	    cmocka_unit_test(test_tset_sort),
	    cmocka_unit_test(test_tset_alloc_failure),
	    cmocka_unit_test(test_tok_edgespam),
	    cmocka_unit_test(test_tok_route_flag),
	    cmocka_unit_test(test_tok_received_nets),
	    cmocka_unit_test(test_tok_alloc_failure),
	    cmocka_unit_test(test_tok_ids_without_text),
	    cmocka_unit_test(test_sender_token),
	    cmocka_unit_test(test_tokenizer_names_and_defaults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
