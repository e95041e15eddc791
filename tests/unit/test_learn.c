/*
 * test_learn.c - the learning rules as tables: (mode, verdict, class,
 * source, learned before) -> token deltas, totals deltas, weight step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cls_learn.h"

/* expected plan, totals in the order of struct cls_tdelta:
 * sl il sm im sc ic scl icl */
struct want {
	int spam, innocent;
	bool tum, undo;
	enum cls_class step, learned;
	int t[8];
};

static int
check(const char *name, const struct cls_plan *p, const struct want *w)
{
	const int got[8] = {p->totals.spam_learned, p->totals.innocent_learned,
	    p->totals.spam_misclassified, p->totals.innocent_misclassified,
	    p->totals.spam_corpusfed, p->totals.innocent_corpusfed,
	    p->totals.spam_classified, p->totals.innocent_classified};
	int i, bad = 0;

	if (p->spam != w->spam || p->innocent != w->innocent ||
	    p->tum != w->tum || p->undo_step != w->undo ||
	    p->step != w->step || p->learned != w->learned) {
		printf("case %s: got spam %d innocent %d tum %d undo %d step %d "
		       "learned %d, want %d %d %d %d %d %d\n",
		    name, p->spam, p->innocent, p->tum, p->undo_step, p->step,
		    p->learned, w->spam, w->innocent, w->tum, w->undo, w->step,
		    w->learned);
		bad = 1;
	}
	for (i = 0; i < 8; i++)
		if (got[i] != w->t[i]) {
			printf("case %s: totals field %d: got %d, want %d\n",
			    name, i, got[i], w->t[i]);
			bad = 1;
		}
	return bad;
}

#define SPAM CLS_CLASS_SPAM
#define INNO CLS_CLASS_INNOCENT
#define NONE CLS_CLASS_NONE

static void
test_classified(void **state)
{
	static const struct {
		const char *name;
		enum cls_mode mode;
		enum cls_result verdict;
		uint64_t sl, il;
		struct want w;
	} c[] = {
		{"teft spam", CLS_MODE_TEFT, CLS_SPAM, 500, 500,
		    {1, 0, false, false, SPAM, SPAM, {1, 0, 0, 0, 0, 0, 0, 0}}},
		{"teft innocent", CLS_MODE_TEFT, CLS_INNOCENT, 500, 500,
		    {0, 1, false, false, INNO, INNO, {0, 1, 0, 0, 0, 0, 0, 0}}},
		{"teft whitelisted counts innocent", CLS_MODE_TEFT,
		    CLS_WHITELISTED, 500, 500,
		    {0, 1, false, false, INNO, INNO, {0, 1, 0, 0, 0, 0, 0, 0}}},
		{"toe after warm-up learns nothing", CLS_MODE_TOE, CLS_SPAM, 100,
		    100,
		    {0, 0, false, false, NONE, NONE, {0, 0, 0, 0, 0, 0, 1, 0}}},
		{"toe innocent after warm-up", CLS_MODE_TOE, CLS_INNOCENT, 200,
		    300,
		    {0, 0, false, false, NONE, NONE, {0, 0, 0, 0, 0, 0, 0, 1}}},
		{"toe warm-up acts as teft", CLS_MODE_TOE, CLS_SPAM, 99, 500,
		    {1, 0, false, false, SPAM, SPAM, {1, 0, 0, 0, 0, 0, 0, 0}}},
		{"tum spam", CLS_MODE_TUM, CLS_SPAM, 500, 500,
		    {1, 0, true, false, SPAM, SPAM, {1, 0, 0, 0, 0, 0, 0, 0}}},
		{"notrain", CLS_MODE_NOTRAIN, CLS_INNOCENT, 0, 0,
		    {0, 0, false, false, NONE, NONE, {0, 0, 0, 0, 0, 0, 0, 1}}},
	};
	size_t k;
	int bad = 0;

	(void)state;
	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct cls_totals t = {c[k].sl, c[k].il};
		struct cls_plan p;

		cls_learn_classified(c[k].mode, c[k].verdict, &t, &p);
		bad |= check(c[k].name, &p, &c[k].w);
	}
	assert_int_equal(bad, 0);
}

static void
test_train(void **state)
{
	static const struct {
		const char *name;
		enum cls_class cls;
		enum cls_source src;
		struct want w;
	} c[] = {
		{"corpus spam", SPAM, CLS_SRC_CORPUS,
		    {1, 0, false, false, SPAM, SPAM, {1, 0, 0, 0, 1, 0, 0, 0}}},
		{"corpus innocent", INNO, CLS_SRC_CORPUS,
		    {0, 1, false, false, INNO, INNO, {0, 1, 0, 0, 0, 1, 0, 0}}},
		{"error spam without signature", SPAM, CLS_SRC_ERROR,
		    {1, 0, false, false, SPAM, SPAM, {1, 0, 1, 0, 0, 0, 0, 0}}},
		{"error innocent without signature", INNO, CLS_SRC_ERROR,
		    {0, 1, false, false, INNO, INNO, {0, 1, 0, 1, 0, 0, 0, 0}}},
		{"inoculation spam", SPAM, CLS_SRC_INOCULATION,
		    {1, 0, false, false, SPAM, SPAM, {1, 0, 0, 0, 0, 0, 0, 0}}},
	};
	size_t k;
	int bad = 0;

	(void)state;
	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct cls_plan p;

		cls_learn_train(c[k].cls, c[k].src, &p);
		bad |= check(c[k].name, &p, &c[k].w);
	}
	assert_int_equal(bad, 0);
}

static void
test_correct(void **state)
{
	static const struct {
		const char *name;
		enum cls_result verdict;
		enum cls_class learned, cls;
		bool want_ok;
		struct want w;
	} c[] = {
		/* TEFT learned the wrong class: move it */
		{"teft missed spam", CLS_INNOCENT, INNO, SPAM, true,
		    {1, -1, false, true, SPAM, SPAM, {1, -1, 1, 0, 0, 0, 0, 0}}},
		{"teft false positive", CLS_SPAM, SPAM, INNO, true,
		    {-1, 1, false, true, INNO, INNO, {-1, 1, 0, 1, 0, 0, 0, 0}}},
		{"whitelisted but spam", CLS_WHITELISTED, INNO, SPAM, true,
		    {1, -1, false, true, SPAM, SPAM, {1, -1, 1, 0, 0, 0, 0, 0}}},
		/* TOE learned nothing: move it out of _classified */
		{"toe missed spam", CLS_INNOCENT, NONE, SPAM, true,
		    {1, 0, false, false, SPAM, SPAM, {1, 0, 1, 0, 0, 0, 0, -1}}},
		{"toe false positive", CLS_SPAM, NONE, INNO, true,
		    {0, 1, false, false, INNO, INNO, {0, 1, 0, 1, 0, 0, -1, 0}}},
		/* nothing to correct */
		{"already spam", CLS_SPAM, SPAM, SPAM, false,
		    {0, 0, false, false, NONE, NONE, {0}}},
		{"already innocent", CLS_INNOCENT, NONE, INNO, false,
		    {0, 0, false, false, NONE, NONE, {0}}},
	};
	size_t k;
	int bad = 0;

	(void)state;
	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct cls_plan p;
		bool ok = cls_learn_correct(c[k].verdict, c[k].learned, c[k].cls,
		    &p);

		if (ok != c[k].want_ok) {
			printf("case %s: got ok %d, want %d\n", c[k].name, ok,
			    c[k].want_ok);
			bad = 1;
		}
		bad |= check(c[k].name, &p, &c[k].w);
	}
	assert_int_equal(bad, 0);
}

static void
test_names(void **state)
{
	enum cls_mode m;
	enum cls_class cl;
	enum cls_source s;

	(void)state;
	assert_int_equal(cls_mode_parse("tum", &m), 0);
	assert_int_equal(m, CLS_MODE_TUM);
	assert_int_not_equal(cls_mode_parse("TEFT", &m), 0);
	assert_int_equal(cls_class_parse("nonspam", &cl), 0);
	assert_int_equal(cl, CLS_CLASS_INNOCENT);
	assert_int_equal(cls_source_parse("inoculation", &s), 0);
	assert_string_equal(cls_source_name(CLS_SRC_ERROR), "error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classified),
		cmocka_unit_test(test_train),
		cmocka_unit_test(test_correct),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
