/*
 * test_score.c - scoring against hand-computed values.
 *
 * Expected numbers were worked out by hand from the formulas in
 * cls_score.c (and checked with a calculator); each case names them.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cls_score.h"
#include "es_err.h"

#define TOL 1e-6

struct tok {
	uint64_t s, i;
	double w;
	uint32_t flags;
	uint32_t count;
};

struct score_case {
	const char *name;
	enum cls_algo algo;
	uint64_t S, I;
	struct tok toks[6];
	size_t n;
	double want_prob;
	double want_tok0_prob; /* < 0: not checked */
};

static const struct score_case cases[] = {
	/* bcr: 0.9999 (s >= 10, i = 0), 0.0001 (s = 0, 2i >= 10), and
	 * (3/10) / (3/10 + 2/10) = 0.6; Graham's product then leaves 0.6 */
	{"graham three tokens", CLS_ALGO_GRAHAM, 10, 10,
	    {{10, 0, 0, 0, 1}, {0, 5, 0, 0, 1}, {3, 1, 0, 0, 1}}, 3, 0.6,
	    0.9999},
	/* a rare token (s + 2i < 5) is 0.4; alone it decides */
	{"graham rare token", CLS_ALGO_GRAHAM, 10, 10, {{1, 1, 0, 0, 1}}, 1,
	    0.4, 0.4},
	/* Burton: a token seen twice fills two of the 27 entries:
	 * 0.6 * 0.6 / (0.36 + 0.16) = 0.692307... */
	{"burton repeated token", CLS_ALGO_BURTON, 10, 10,
	    {{3, 1, 0, 0, 2}}, 1, 0.36 / 0.52, 0.6},
	/* chi-square of one token is its f; Robinson's f(5, 0) with
	 * S = I = 10 is (0.0178 * 0.52 + 5) / 5.0178 */
	{"chi-square one token", CLS_ALGO_CHI_SQUARE, 10, 10,
	    {{5, 0, 0, 0, 1}}, 1, 0.9982972617481763, 0.9982972617481763},
	/* f(1, 3) = 0.2512 is within min_dev 0.375 of 0.5: left out */
	{"chi-square min_dev", CLS_ALGO_CHI_SQUARE, 10, 10,
	    {{5, 0, 0, 0, 1}, {1, 3, 0, 0, 1}}, 2, 0.9982972617481763, -1},
	/* f(5,0) and f(9,1) = 0.899325: H = Q(-2 ln(f1 f2), 4),
	 * S = Q(-2 ln((1-f1)(1-f2)), 4), (1 + H - S) / 2 */
	{"chi-square two tokens", CLS_ALGO_CHI_SQUARE, 10, 10,
	    {{5, 0, 0, 0, 1}, {9, 1, 0, 0, 1}}, 2, 0.9964656884641838, -1},
	/* evidence on both sides cancels */
	{"chi-square opposite tokens", CLS_ALGO_CHI_SQUARE, 10, 10,
	    {{5, 0, 0, 0, 1}, {0, 5, 0, 0, 1}}, 2, 0.5004495750982709, -1},
	/* Robinson's geometric mean over f(5,0), f(1,3) (both beyond 0.1) */
	{"robinson two tokens", CLS_ALGO_ROBINSON, 10, 10,
	    {{5, 0, 0, 0, 1}, {1, 3, 0, 0, 1}}, 2, 0.6588837105445216,
	    0.9982972617481763},
	/* hybrid: body mean logit ln(99) and header mean -ln(99) cancel;
	 * score = sum(w) / sqrt(3 + 1) = 0.3 / 2; p = logistic(0.15) */
	{"hybrid weights only", CLS_ALGO_HYBRID, 10, 10,
	    {{10, 0, 0.3, 0, 1}, {0, 10, 0.1, CLS_TF_HEADER, 1},
		{0, 0, -0.1, 0, 1}},
	    3, 0.5374298453437496, 0.99},
	/* hybrid: body ln(99) / 1^0.75 (f clipped at 0.99), header empty;
	 * z = 0.5 ln 99; shrink = known 1/2 * N/(N+10) = 1/2 * 2/3;
	 * score = 0.75 * z / 3 (1.5 before issue 15: 0.759288) */
	{"hybrid shrink", CLS_ALGO_HYBRID, 10, 10,
	    {{10, 0, 0, 0, 1}, {0, 0, 0, 0, 1}}, 2, 0.6397755221008989, 0.99},
	/* hybrid: two body tokens at ln(99): their sum over 2^0.75 (the
	 * mean, 2^1, before issue 15), z = 0.5 * 2 ln 99 / 2^0.75;
	 * shrink = known 2/3 * 20/30; score = 0.75 * z * 4/9 */
	{"hybrid part exponent", CLS_ALGO_HYBRID, 10, 10,
	    {{10, 0, 0, 0, 1}, {20, 0, 0, 0, 1}, {0, 0, 0, 0, 1}}, 3,
	    0.7131552895484028, 0.99},
	/* the sender token never enters the combination */
	/* DSPAM's "graham burton": Spam when either says so, so the
	 * spammier of the two: Graham 0.6, Burton (token twice) 0.6923 */
	{"graham-burton takes the larger", CLS_ALGO_GRAHAM_BURTON, 10, 10,
	    {{3, 1, 0, 0, 2}}, 1, 0.36 / 0.52, 0.6},
	/* ... and Graham's when it is the larger: an innocent token twice
	 * (Burton 0.4^2 / (0.16 + 0.36)) against Graham's 0.4 */
	{"graham-burton graham larger", CLS_ALGO_GRAHAM_BURTON, 10, 10,
	    {{1, 1, 0, 0, 2}}, 1, 0.4, 0.4},
	{"hybrid ignores sender token", CLS_ALGO_HYBRID, 10, 10,
	    {{0, 0, 0, 0, 1}, {0, 50, 5.0, CLS_TF_SENDER, 1}}, 2, 0.5, -1},
};

static void
fill(const struct score_case *c, struct cls_stat *st)
{
	size_t i;

	memset(st, 0, sizeof(*st) * 6);
	for (i = 0; i < c->n; i++) {
		st[i].id = 1000 + i;
		st[i].spam_hits = c->toks[i].s;
		st[i].innocent_hits = c->toks[i].i;
		st[i].weight = c->toks[i].w;
		st[i].flags = c->toks[i].flags;
		st[i].count = c->toks[i].count;
	}
}

static void
test_cases(void **state)
{
	size_t k, failed = 0;

	(void)state;
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct score_case *c = &cases[k];
		struct cls_stat st[6];
		struct cls_score_opts o;
		struct cls_totals tot = {c->S, c->I};
		struct cls_verdict v;

		fill(c, st);
		cls_score_opts_default(&o, c->algo);
		assert_int_equal(cls_score(st, c->n, &tot, &o, 0, &v), 0);
		if (fabs(v.probability - c->want_prob) > TOL) {
			printf("case %s: got probability %.12f, want %.12f\n",
			    c->name, v.probability, c->want_prob);
			failed++;
		}
		if (c->want_tok0_prob >= 0 &&
		    fabs(st[0].prob - c->want_tok0_prob) > TOL) {
			printf("case %s: got token prob %.12f, want %.12f\n",
			    c->name, st[0].prob, c->want_tok0_prob);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

struct verdict_case {
	const char *name;
	uint64_t S, I;          /* learned totals */
	uint64_t body_s, body_i; /* one body token */
	uint64_t snd_s, snd_i;  /* sender token */
	unsigned min_training;
	enum cls_result want;
};

static const struct verdict_case vcases[] = {
	{"spam after training", 20, 20, 50, 0, 0, 0, 10, CLS_SPAM},
	{"no spam verdict before min_training", 9, 20, 50, 0, 0, 0, 10,
	    CLS_INNOCENT},
	{"innocent", 20, 20, 0, 50, 0, 0, 10, CLS_INNOCENT},
	/* whitelisting: more than 10 innocent hits, spam <= 1/15 of them */
	{"whitelisted 11/0", 20, 20, 50, 0, 0, 11, 10, CLS_WHITELISTED},
	{"whitelisted 15/1", 20, 20, 50, 0, 1, 15, 10, CLS_WHITELISTED},
	{"not whitelisted 15/2", 20, 20, 50, 0, 2, 15, 10, CLS_SPAM},
	{"not whitelisted 10/0", 20, 20, 50, 0, 0, 10, 10, CLS_SPAM},
};

static void
test_verdicts(void **state)
{
	size_t k, failed = 0;

	(void)state;
	for (k = 0; k < sizeof(vcases) / sizeof(vcases[0]); k++) {
		const struct verdict_case *c = &vcases[k];
		struct cls_stat st[2];
		struct cls_score_opts o;
		struct cls_totals tot = {c->S, c->I};
		struct cls_verdict v;

		memset(st, 0, sizeof(st));
		st[0].id = 1;
		st[0].spam_hits = c->body_s;
		st[0].innocent_hits = c->body_i;
		st[0].count = 1;
		st[1].id = 2;
		st[1].spam_hits = c->snd_s;
		st[1].innocent_hits = c->snd_i;
		st[1].flags = CLS_TF_SENDER;
		st[1].count = 1;
		cls_score_opts_default(&o, CLS_ALGO_GRAHAM);
		o.min_training = c->min_training;
		assert_int_equal(cls_score(st, 2, &tot, &o, 0, &v), 0);
		if (v.result != c->want) {
			printf("case %s: got %s, want %s\n", c->name,
			    cls_result_name(v.result), cls_result_name(c->want));
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

/* cls_score_threshold: the hybrid's threshold ramped by learning. */
struct threshold_case {
	const char *name;
	enum cls_algo algo;
	double t;        /* spam_threshold */
	unsigned ramp;   /* threshold_ramp */
	uint64_t S, I;   /* learned totals */
	double want;
};

static const struct threshold_case tcases[] = {
	/* logit(0.977) = 3.7471 scaled by N / (N + 25) */
	{"hybrid, 25 learned: half the logit", CLS_ALGO_HYBRID, 0.977, 25, 10,
	    15, 0.8669776706864825},
	{"hybrid, 475 learned: 95% of it", CLS_ALGO_HYBRID, 0.977, 25, 400, 75,
	    0.9723890302904679},
	{"hybrid, min_training's 20", CLS_ALGO_HYBRID, 0.977, 25, 10, 10,
	    0.8410710457675313},
	{"hybrid, nothing learned: 0.5", CLS_ALGO_HYBRID, 0.977, 25, 0, 0, 0.5},
	{"hybrid, ramp 0: as set", CLS_ALGO_HYBRID, 0.977, 0, 10, 15, 0.977},
	{"hybrid, threshold below 0.5: as set", CLS_ALGO_HYBRID, 0.4, 25, 10,
	    15, 0.4},
	{"hybrid, threshold 1: as set", CLS_ALGO_HYBRID, 1.0, 25, 10, 15, 1.0},
	{"graham never ramps", CLS_ALGO_GRAHAM, 0.9, 25, 10, 15, 0.9},
	{"chi-square never ramps", CLS_ALGO_CHI_SQUARE, 0.9, 25, 10, 15, 0.9},
};

static void
test_threshold_ramp(void **state)
{
	size_t k, failed = 0;

	(void)state;
	for (k = 0; k < sizeof(tcases) / sizeof(tcases[0]); k++) {
		const struct threshold_case *c = &tcases[k];
		struct cls_score_opts o;
		struct cls_totals tot = {c->S, c->I};
		double got;

		cls_score_opts_default(&o, c->algo);
		o.spam_threshold = c->t;
		o.threshold_ramp = c->ramp;
		got = cls_score_threshold(&o, &tot);
		if (fabs(got - c->want) > TOL) {
			printf("case %s: got %.12f, want %.12f\n", c->name, got,
			    c->want);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

/* The verdict uses the ramped threshold: one body token with f = 0.99
 * and weight 1, S = I = 10: score 0.75 * 0.5 ln 99 * 20/30 + 1/sqrt(2),
 * p = 0.864817; Spam only where the threshold is at most that. */
static void
test_threshold_verdict(void **state)
{
	static const struct {
		const char *name;
		double t;
		unsigned ramp;
		enum cls_result want;
	} c[] = {
		{"0.977 ramped over 20 learned: 0.8411", 0.977, 25, CLS_SPAM},
		{"0.977 without the ramp", 0.977, 0, CLS_INNOCENT},
		{"0.85 ramped: 0.6837", 0.85, 25, CLS_SPAM},
		{"0.99 ramped: 0.8852", 0.99, 25, CLS_INNOCENT},
	};
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct cls_stat st[1];
		struct cls_score_opts o;
		struct cls_totals tot = {10, 10};
		struct cls_verdict v;

		memset(st, 0, sizeof(st));
		st[0].id = 1;
		st[0].spam_hits = 10;
		st[0].weight = 1.0;
		st[0].count = 1;
		cls_score_opts_default(&o, CLS_ALGO_HYBRID);
		o.spam_threshold = c[k].t;
		o.threshold_ramp = c[k].ramp;
		assert_int_equal(cls_score(st, 1, &tot, &o, 0, &v), 0);
		if (fabs(v.probability - 0.864817) > 1e-5 || v.result != c[k].want)
			fail_msg("case %s: got %s (p %.6f), want %s", c[k].name,
			    cls_result_name(v.result), v.probability,
			    cls_result_name(c[k].want));
	}
}

static void
test_factors_order(void **state)
{
	struct cls_stat st[4];
	struct cls_score_opts o;
	struct cls_totals tot = {10, 10};
	struct cls_verdict v;

	(void)state;
	memset(st, 0, sizeof(st));
	/* bcr: 0.6, 0.9999, 0.0001 (ties by distance), 0.4 */
	st[0].spam_hits = 3, st[0].innocent_hits = 1;
	st[1].spam_hits = 10;
	st[2].innocent_hits = 5;
	st[3].spam_hits = 1, st[3].innocent_hits = 1;
	cls_score_opts_default(&o, CLS_ALGO_GRAHAM);
	assert_int_equal(cls_score(st, 4, &tot, &o, 2, &v), 0);
	assert_int_equal(v.nfactors, 2);
	assert_true(v.factors[0] == 1 || v.factors[0] == 2);
	assert_true(v.factors[1] == 1 || v.factors[1] == 2);
	assert_int_not_equal(v.factors[0], v.factors[1]);
	assert_int_equal(cls_score(st, 4, &tot, &o, CLS_MAX_FACTORS + 1, &v),
	    ES_EINVAL);
}

static void
test_bnr(void **state)
{
	struct {
		const char *name;
		double p[3];
		bool want_noise;
	} c[] = {
		{"spam context, hammy middle", {0.9, 0.1, 0.95}, true},
		{"ham context, spammy middle", {0.1, 0.9, 0.2}, true},
		{"neutral middle", {0.9, 0.5, 0.9}, false},
		{"mixed context", {0.1, 0.9, 0.9}, false},
	};
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct cls_stat st[3];
		uint32_t seq[3] = {0, 1, 2};
		size_t i, marked;

		memset(st, 0, sizeof(st));
		for (i = 0; i < 3; i++)
			st[i].prob = c[k].p[i];
		marked = cls_bnr_mark(st, seq, 3);
		if (((st[1].flags & CLS_TF_NOISE) != 0) != c[k].want_noise ||
		    marked != (c[k].want_noise ? 1u : 0u))
			fail_msg("case %s: got noise=%d marked=%zu", c[k].name,
			    (st[1].flags & CLS_TF_NOISE) != 0, marked);
	}
}

static void
test_hybrid_step(void **state)
{
	(void)state;
	/* rate 6 * (y - p) * scale */
	assert_true(fabs(cls_hybrid_step(0.25, 0.5, true) - 2.25) < TOL);
	assert_true(fabs(cls_hybrid_step(0.25, 0.5, false) + 0.75) < TOL);
}

/* DSPAM's dspam.conf form of Algorithm, and edgespam's names. */
static const struct {
	const char *in;
	int want_rc;
	enum cls_algo want;
} algo_cases[] = {
	{"graham burton", 0, CLS_ALGO_GRAHAM_BURTON},
	{"Burton, Graham", 0, CLS_ALGO_GRAHAM_BURTON},
	{"graham-burton", 0, CLS_ALGO_GRAHAM_BURTON},
	{"GRAHAM", 0, CLS_ALGO_GRAHAM},
	{" graham  graham ", 0, CLS_ALGO_GRAHAM},
	{"chi-square", 0, CLS_ALGO_CHI_SQUARE},
	{"graham robinson", ES_EINVAL, CLS_ALGO_GRAHAM},
	{"graham naive", ES_EINVAL, CLS_ALGO_GRAHAM},
	{"", ES_EINVAL, CLS_ALGO_GRAHAM},
	{" , ", ES_EINVAL, CLS_ALGO_GRAHAM},
	{"averyveryverylongname", ES_EINVAL, CLS_ALGO_GRAHAM},
};

static void
test_names(void **state)
{
	enum cls_algo a;
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(algo_cases) / sizeof(algo_cases[0]); k++) {
		int rc;

		a = CLS_ALGO_GRAHAM;
		rc = cls_algo_parse(algo_cases[k].in, &a);
		if (rc != algo_cases[k].want_rc ||
		    (rc == 0 && a != algo_cases[k].want))
			fail_msg("case \"%s\": got rc %d algo %d, want rc %d "
			         "algo %d",
			    algo_cases[k].in, rc, (int)a, algo_cases[k].want_rc,
			    (int)algo_cases[k].want);
	}
	assert_string_equal(cls_algo_name(CLS_ALGO_GRAHAM_BURTON),
	    "graham-burton");
	assert_int_equal(cls_algo_parse("chi-square", &a), 0);
	assert_int_equal(a, CLS_ALGO_CHI_SQUARE);
	assert_string_equal(cls_algo_name(CLS_ALGO_HYBRID), "hybrid");
	assert_int_equal(cls_algo_parse("naive", &a), ES_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_threshold_ramp),
		cmocka_unit_test(test_threshold_verdict),
		cmocka_unit_test(test_factors_order),
		cmocka_unit_test(test_bnr),
		cmocka_unit_test(test_hybrid_step),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
