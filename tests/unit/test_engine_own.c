/*
 * test_engine_own.c - what the engine reports beside a verdict the
 * shared dictionary took part in, for analysis (bench_shared -m): the
 * score on the user's own statistics alone (cfg.shared.want_own) and the
 * Spam threshold the verdict was taken at. Neither may change a verdict.
 * And how that threshold rises after false positives the user corrected
 * (cfg.shared.fp_weight, cls_shared_threshold_weight()).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cls_engine.h"
#include "es_err.h"
#include "store.h"

static char buf[2048];

/* msg - ham (spam false) or spam number i. */
static const char *
msg(bool spam, int i)
{
	if (spam)
		snprintf(buf, sizeof(buf),
		    "From: promo%d@pills.biz\nTo: carol@example.net\n"
		    "Subject: CHEAP pills discount %d\n\n"
		    "Buy cheap pills now! Huge discount offer, casino bonus.\n"
		    "Click http://pills.biz/order?id=%d for free credits\n",
		    i, i, i);
	else
		snprintf(buf, sizeof(buf),
		    "From: alice%d@example.org\nTo: carol@example.net\n"
		    "Subject: meeting notes %d\n\n"
		    "Hello Carol, the planning meeting moved to Thursday.\n"
		    "Please review the budget and the timeline. Regards %d\n",
		    i, i, i);
	return buf;
}

static const unsigned char rnd[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
    12, 13, 14, 15, 16};

/* train - n messages of each class for uid, as corpus. */
static void
train(struct cls_engine *e, struct store *st, uint32_t uid,
    const struct cls_engine_cfg *cfg, int first, int n)
{
	struct cls_engine_result r;
	char err[256];
	int i, c;

	for (i = first; i < first + n; i++)
		for (c = 0; c < 2; c++) {
			const char *m = msg(c == 1, i);

			assert_int_equal(cls_engine_train(e, st, uid, cfg, m,
			    strlen(m), c ? CLS_CLASS_SPAM : CLS_CLASS_INNOCENT,
			    CLS_SRC_CORPUS, 1000000, &r, err, sizeof(err)), 0);
		}
}

/* classify - the verdict of message m for uid under cfg (learns nothing). */
static void
classify(struct cls_engine *e, struct store *st, uint32_t uid,
    const struct cls_engine_cfg *cfg, const char *m,
    struct cls_engine_result *r)
{
	char err[256];

	assert_int_equal(cls_engine_process(e, st, uid, cfg,
	    CLS_ENGINE_CLASSIFY, m, strlen(m), rnd, 1000000, r, err,
	    sizeof(err)), 0);
}

/*
 * For a user who has learned `own` messages of each class and a
 * dictionary of 12 of each: with want_own, a shared verdict reports the
 * score the same user gets with the dictionary off, and the verdict,
 * probability and score are those without want_own; without the
 * dictionary's part (a mature user) own_score stays 0. The reported
 * threshold is the one the verdict was taken at.
 */
static void
test_own_score_table(void **state)
{
	static const struct {
		int own;            /* messages of each class the user learned */
		bool spam;          /* the message classified */
		bool bnr;
		unsigned spam_min;  /* the maturity minimums (both) */
		bool shared;        /* the dictionary takes part */
	} c[] = {
	    {0, true, false, 250, true},   /* brand new: own score of nothing */
	    {0, false, false, 250, true},
	    {3, true, false, 250, true},   /* young */
	    {3, false, false, 250, true},
	    {3, true, true, 250, true},    /* with BNR's second pass */
	    {6, false, true, 250, true},
	    {6, true, false, 6, false},    /* mature: the user alone */
	};
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct store_params p = {.driver = "memory"};
		struct cls_engine_cfg cfg, off, want;
		struct cls_engine_result r0, r1, r2;
		struct store_totals t;
		struct cls_totals ct;
		struct cls_engine *e;
		struct store *st;
		uint32_t g, u;
		char err[256], m[2048];

		assert_int_equal(store_open(&p, &st, err, sizeof(err)), 0);
		assert_non_null(e = cls_engine_new());
		cls_engine_cfg_default(&cfg);
		cfg.score.bnr = c[k].bnr;
		cfg.score.min_training = 1;
		cfg.shared.opts.spam_min = c[k].spam_min;
		cfg.shared.opts.innocent_min = c[k].spam_min;
		assert_int_equal(store_user_uid(st, "@global", true, &g), 0);
		assert_int_equal(store_user_uid(st, "carol", true, &u), 0);
		train(e, st, g, &cfg, 0, 12);
		train(e, st, u, &cfg, 100, c[k].own);
		strlcpy(m, msg(c[k].spam, 50), sizeof(m));
		want = cfg;
		want.shared.want_own = true;
		off = cfg;
		off.shared.name[0] = '\0';

		classify(e, st, u, &cfg, m, &r0);
		classify(e, st, u, &want, m, &r1);
		classify(e, st, u, &off, m, &r2);
		if (r1.shared != c[k].shared)
			fail_msg("case %zu: shared %d", k, r1.shared);
		/* want_own changes nothing of the verdict */
		assert_int_equal(r0.result, r1.result);
		assert_true(r0.score == r1.score);
		assert_true(r0.probability == r1.probability);
		assert_true(r0.threshold == r1.threshold);
		assert_true(r0.own_score == 0);
		if (c[k].shared) {
			/* the user's own score is the user's alone */
			if (r1.own_score != r2.score)
				fail_msg("case %zu: own %.6f, alone %.6f", k,
				    r1.own_score, r2.score);
			/* the dictionary moved the score */
			assert_true(r1.score != r2.score);
		} else {
			assert_true(r1.own_score == 0);
			assert_true(r1.score == r2.score);
		}
		/* the threshold is the verdict's: without the dictionary,
		 * cls_score_threshold of the user's own totals */
		assert_int_equal(store_totals_get(st, u, &t), 0);
		ct.spam_learned = (uint64_t)t.spam_learned;
		ct.innocent_learned = (uint64_t)t.innocent_learned;
		assert_true(r2.threshold == cls_score_threshold(&off.score, &ct));
		if (r1.result == CLS_SPAM)
			assert_true(r1.probability >= r1.threshold);
		else if (r1.result == CLS_INNOCENT && c[k].own >= 1)
			assert_true(r1.probability < r1.threshold);
		cls_engine_free(e);
		store_close(st);
	}
}

/*
 * A young user's false positives (its innocent_misclassified total, here
 * from --falsepositive training) raise the threshold of its dictionary
 * verdicts by fp_weight; with fp_weight 0, or before any, they do not.
 * A mature user's threshold is its own either way.
 */
static void
test_fp_weight_table(void **state)
{
	static const struct {
		int own;   /* messages of each class the user learned */
		int fps;   /* false positives it corrected */
		bool up;   /* fp_weight 0.5 raises the threshold over 0 */
	} c[] = {
	    {3, 0, false},
	    {3, 1, true},
	    {3, 2, true},
	    {0, 1, true},
	    {20, 2, false}, /* mature at the minimums of 20 */
	};
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct store_params p = {.driver = "memory"};
		struct cls_engine_cfg cfg, off;
		struct cls_engine_result r0, r1;
		struct store_totals t;
		struct cls_engine *e;
		struct store *st;
		uint32_t g, u;
		char err[256], m[2048];
		int i;

		assert_int_equal(store_open(&p, &st, err, sizeof(err)), 0);
		assert_non_null(e = cls_engine_new());
		cls_engine_cfg_default(&cfg);
		cfg.shared.opts.spam_min = 20;
		cfg.shared.opts.innocent_min = 20;
		assert_int_equal(store_user_uid(st, "@global", true, &g), 0);
		assert_int_equal(store_user_uid(st, "carol", true, &u), 0);
		train(e, st, g, &cfg, 0, 12);
		train(e, st, u, &cfg, 100, c[k].own);
		for (i = 0; i < c[k].fps; i++) {
			struct cls_engine_result r;

			strlcpy(m, msg(false, 200 + i), sizeof(m));
			assert_int_equal(cls_engine_train(e, st, u, &cfg, m,
			    strlen(m), CLS_CLASS_INNOCENT, CLS_SRC_ERROR,
			    1000000, &r, err, sizeof(err)), 0);
		}
		assert_int_equal(store_totals_get(st, u, &t), 0);
		assert_int_equal(t.innocent_misclassified, c[k].fps);
		off = cfg;
		off.shared.fp_weight = 0;
		cfg.shared.fp_weight = 0.5;
		strlcpy(m, msg(true, 50), sizeof(m));
		classify(e, st, u, &off, m, &r0);
		classify(e, st, u, &cfg, m, &r1);
		assert_true(r1.shared == (c[k].own < 20));
		if (c[k].up != (r1.threshold > r0.threshold + 1e-9))
			fail_msg("case %zu: threshold %.6f with, %.6f without",
			    k, r1.threshold, r0.threshold);
		if (!c[k].up)
			assert_true(r1.threshold == r0.threshold);
		/* never above the user's own threshold */
		assert_true(r1.threshold <= cfg.score.spam_threshold + 1e-12);
		cls_engine_free(e);
		store_close(st);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_own_score_table),
		cmocka_unit_test(test_fp_weight_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
