/*
 * test_token.c - token ids (DSPAM's CRC-64), the token set, and the
 * tokenizers on hand-built messages.
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
	assert_int_equal(cls_tset_find(s, id_a)->flags,
	    CLS_TF_HEADER | CLS_TF_SENDER);
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
				/* unchanged: the id is absent, earlier ones stay */
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc_golden),
		cmocka_unit_test(test_tset_counts_flags_text),
		cmocka_unit_test(test_tset_bound_and_seq),
		cmocka_unit_test(test_tset_sort),
		cmocka_unit_test(test_tset_alloc_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
