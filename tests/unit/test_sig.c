/*
 * test_sig.c - signature ids, data formats (ours and DSPAM's), finding
 * a signature in a forwarded message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cls_sig.h"
#include "es_alloc.h"
#include "es_err.h"

static void
test_id_format_and_validation(void **state)
{
	const unsigned char rnd[16] = {0x00, 0x01, 0xab, 0xff, 0x10, 0x20,
	    0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0};
	char id[CLS_SIG_ID_LEN + 1];
	static const struct {
		const char *id;
		bool valid;
	} c[] = {
		{"0001abff102030405060708090a0b0c0", true},
		{"4a5b6c7d", true},                          /* DSPAM-length */
		{"4a5b6c7", false},                          /* too short */
		{"0001abff102030405060708090a0b0c0d", false}, /* too long */
		{"0001ABFF102030405060708090a0b0c0", false}, /* uppercase */
		{"0001abff10203040506070809'; drop", false},
		{"0001abff1020304\n5060708090a0b0c", false},
	};
	size_t k;

	(void)state;
	cls_sig_id_format(rnd, id);
	assert_string_equal(id, "0001abff102030405060708090a0b0c0");
	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++)
		if (cls_sig_id_valid(c[k].id, strlen(c[k].id)) != c[k].valid)
			fail_msg("case %s: got %d, want %d", c[k].id,
			    !c[k].valid, c[k].valid);
}

static void
test_roundtrip(void **state)
{
	struct cls_sig_token t[3] = {{1, CLS_SIGF_HEADER | CLS_SIGF_CHANGED},
	    {0xfedcba9876543210ULL, CLS_SIGF_CHANGED},
	    {42, CLS_SIGF_SENDER}};
	struct cls_sig s = {CLS_SPAM, CLS_CLASS_SPAM, -0.125, 0.97, false, 3, t,
	    ""};
	struct cls_sig d;
	void *data;
	size_t len;

	(void)state;
	assert_int_equal(cls_sig_encode(&s, &data, &len), 0);
	assert_int_equal(len, 28 + 3 * 9);
	assert_int_equal(cls_sig_decode(data, len, &d), 0);
	assert_int_equal(d.verdict, CLS_SPAM);
	assert_int_equal(d.learned, CLS_CLASS_SPAM);
	assert_true(d.step == -0.125);
	assert_true(d.prob == 0.97);
	assert_false(d.legacy);
	assert_int_equal(d.ntokens, 3);
	assert_true(d.tokens[1].id == 0xfedcba9876543210ULL);
	assert_int_equal(d.tokens[0].flags, CLS_SIGF_HEADER | CLS_SIGF_CHANGED);
	assert_int_equal(d.tokens[2].flags, CLS_SIGF_SENDER);
	cls_sig_clear(&d);
	/* truncated and lengthened data are refused */
	assert_int_equal(cls_sig_decode(data, len - 1, &d), ES_EPARSE);
	es_free(data);
}

/* ESG2 carries the client address; ESG1 data still reads, without one. */
static void
test_client_address(void **state)
{
	struct cls_sig_token t[2] = {{7, CLS_SIGF_CHANGED}, {9, 0}};
	struct cls_sig s = {CLS_INNOCENT, CLS_CLASS_INNOCENT, 0.25, 0.01, false,
	    2, t, "2001:db8::1"};
	struct cls_sig d;
	unsigned char *data;
	void *v;
	size_t len;

	(void)state;
	assert_int_equal(cls_sig_encode(&s, &v, &len), 0);
	data = v;
	assert_int_equal(len, 28 + 1 + 11 + 2 * 9);
	assert_memory_equal(data, "ESG2", 4);
	assert_int_equal(cls_sig_decode(data, len, &d), 0);
	assert_string_equal(d.client, "2001:db8::1");
	assert_int_equal(d.verdict, CLS_INNOCENT);
	assert_true(d.prob == 0.01);
	assert_int_equal(d.ntokens, 2);
	assert_true(d.tokens[0].id == 7 && d.tokens[1].id == 9);
	assert_int_equal(d.tokens[0].flags, CLS_SIGF_CHANGED);
	cls_sig_clear(&d);
	/* a damaged address length or text, or a cut, is refused */
	assert_int_equal(cls_sig_decode(data, len - 1, &d), ES_EPARSE);
	data[28] = 12;
	assert_int_equal(cls_sig_decode(data, len, &d), ES_EPARSE);
	data[28] = 200;
	assert_int_equal(cls_sig_decode(data, len, &d), ES_EPARSE);
	/* an empty address (length 0) with the length to match */
	data[28] = 0;
	assert_int_equal(cls_sig_decode(data, 28 + 1 + 2 * 9, &d), ES_EPARSE);
	data[28] = 11;
	data[30] = '\n';
	assert_int_equal(cls_sig_decode(data, len, &d), ES_EPARSE);
	es_free(data);
	/* without an address: ESG1, as before */
	s.client[0] = '\0';
	assert_int_equal(cls_sig_encode(&s, &v, &len), 0);
	assert_memory_equal(v, "ESG1", 4);
	assert_int_equal(len, 28 + 2 * 9);
	assert_int_equal(cls_sig_decode(v, len, &d), 0);
	assert_string_equal(d.client, "");
	cls_sig_clear(&d);
	es_free(v);
	/* an address that is no printable text is not written */
	strlcpy(s.client, "a b", sizeof(s.client));
	assert_int_equal(cls_sig_encode(&s, &v, &len), ES_EINVAL);
}

static void
test_dspam_format(void **state)
{
	unsigned char blob[32];
	struct cls_sig d;

	(void)state;
	memset(blob, 0, sizeof(blob));
	/* 6606780653352517632 = id of "a" = 0x5BB0000000000000 LE */
	blob[7] = 0x5b;
	blob[6] = 0xb0;
	blob[8] = 1; /* count */
	blob[16] = 0x02;
	assert_int_equal(cls_sig_decode(blob, sizeof(blob), &d), 0);
	assert_true(d.legacy);
	assert_int_equal(d.ntokens, 2);
	assert_true(d.tokens[0].id == 6606780653352517632ULL);
	assert_true(d.tokens[1].id == 2);
	cls_sig_clear(&d);
	assert_int_equal(cls_sig_decode(blob, 17, &d), ES_EPARSE);
	assert_int_equal(cls_sig_decode(blob, 0, &d), ES_EPARSE);
}

static void
test_find(void **state)
{
	struct cls_header h[3];
	struct cls_text txt[1];
	struct cls_msg m;
	char id[CLS_SIG_ID_LEN + 1];

	(void)state;
	memset(&m, 0, sizeof(m));
	memset(h, 0, sizeof(h));
	h[0].name = "Subject", h[0].name_len = 7;
	h[0].value = "Fwd: x", h[0].value_len = 6;
	h[1].name = "x-dspam-signature", h[1].name_len = 17;
	h[1].value = " 0123456789abcdef0123456789abcdef ";
	h[1].value_len = strlen(h[1].value);
	h[1].part = 2, h[1].embedded = true;
	m.hdrs = h, m.nhdrs = 2;
	/* only in the attached message */
	assert_int_equal(cls_sig_find(&m, id), 0);
	assert_string_equal(id, "0123456789abcdef0123456789abcdef");
	/* a body tag wins over the attachment; an invalid tag is skipped */
	txt[0].data = "see !DSPAM:zzzz! and !DSPAM:aaaabbbbccccdddd! ok";
	txt[0].len = strlen(txt[0].data);
	m.texts = txt, m.ntexts = 1;
	assert_int_equal(cls_sig_find(&m, id), 0);
	assert_string_equal(id, "aaaabbbbccccdddd");
	/* the message's own header wins over both */
	h[2].name = "X-DSPAM-Signature", h[2].name_len = 17;
	h[2].value = "ffffeeeeddddcccc", h[2].value_len = 16;
	m.nhdrs = 3;
	assert_int_equal(cls_sig_find(&m, id), 0);
	assert_string_equal(id, "ffffeeeeddddcccc");
	/* nothing usable */
	h[2].value = "<script>", h[2].value_len = 8;
	h[1].value = "1234", h[1].value_len = 4;
	txt[0].data = "!DSPAM:!!DSPAM:", txt[0].len = 15;
	assert_int_equal(cls_sig_find(&m, id), ES_ENOTFOUND);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_format_and_validation),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_client_address),
		cmocka_unit_test(test_dspam_format),
		cmocka_unit_test(test_find),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
