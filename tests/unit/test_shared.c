/*
 * test_shared.c - the shared dictionary's merge rule as a table: (the
 * minimums, the user's and the dictionary's totals, one token of each)
 * -> whether the dictionary takes part, the user's weight, the totals
 * and the token the scorer sees.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cls_shared.h"

#define BIG UINT64_MAX
#define CAP CLS_SHARED_MAX

struct tok {
	uint64_t s, i;
	double w;
};

static const struct {
	const char *name;
	struct cls_shared_opts o;
	struct cls_totals user, shared;
	struct tok u, g;
	uint32_t flags;
	/* want */
	bool active;
	double w;
	struct cls_totals tot;
	struct tok m;
} cases[] = {
    /* w = 0: the dictionary alone, as a prior of 250 / 1000 messages;
     * its counts are kept, so the scorer sees exactly its ratios; its
     * hybrid weight is never taken: the weight stays the user's */
    {"brand-new user: dictionary only", {250, 1000}, {0, 0}, {500, 2500},
        {0, 0, 0}, {10, 20, 0.5}, 0, true, 0.0, {500, 2500},
        {10, 20, 0}},
    /* w = 0.5: priors 125 / 500, user counts scaled by 500/125 = 4 and
     * 2500/500 = 5; spam frequency 22/1000 = 0.5*3/125 + 0.5*10/500;
     * the user's weight 0.2 as it is */
    {"half-mature", {250, 1000}, {125, 500}, {500, 2500}, {3, 1, 0.2},
        {10, 20, 0.4}, 0, true, 0.5, {1000, 5000}, {22, 25, 0.2}},
    {"half-mature, negative weights", {250, 1000}, {125, 500},
        {500, 2500}, {3, 1, -0.7}, {10, 20, -3}, 0, true, 0.5,
        {1000, 5000}, {22, 25, -0.7}},
    /* spam mature, innocent at 10%: w = 0.1 from the innocent side;
     * priors 225 / 900; factors 500/225, 2500/900 */
    {"mature in spam only", {250, 1000}, {300, 100}, {500, 2500},
        {6, 2, 0}, {0, 9, -1}, 0, true, 0.1, {1167, 2778},
        {13, 15, 0}},
    {"mature in innocent only", {250, 1000}, {25, 5000}, {500, 2500},
        {1, 40, 0}, {5, 0, 0}, 0, true, 0.1, {556, 16389}, {7, 111, 0}},
    {"fully mature: user alone", {250, 1000}, {250, 1000}, {500, 2500},
        {4, 5, 0.1}, {100, 100, 3}, 0, false, 1.0, {250, 1000},
        {4, 5, 0.1}},
    {"beyond maturity", {250, 1000}, {9000, 40000}, {500, 2500},
        {4, 5, 0.1}, {100, 100, 3}, 0, false, 1.0, {9000, 40000},
        {4, 5, 0.1}},
    {"dictionary empty", {250, 1000}, {10, 10}, {0, 0}, {1, 2, 0.3},
        {0, 0, 0}, 0, false, 0.01, {10, 10}, {1, 2, 0.3}},
    {"dictionary without innocent", {250, 1000}, {0, 0}, {500, 0},
        {0, 0, 0}, {7, 0, 0}, 0, false, 0.0, {0, 0}, {0, 0, 0}},
    /* a dictionary smaller than the prior counts as what it has */
    {"small dictionary", {250, 1000}, {0, 0}, {20, 50}, {0, 0, 0},
        {3, 4, 0.25}, 0, true, 0.0, {20, 50}, {3, 4, 0}},
    {"small dictionary, young user", {250, 1000}, {25, 100}, {20, 50},
        {2, 3, 0}, {3, 4, 0}, 0, true, 0.1, {45, 150}, {5, 7, 0}},
    {"sender token keeps the user's counts", {250, 1000}, {0, 0},
        {500, 2500}, {0, 1, 0}, {0, 90, 0}, CLS_TF_SENDER, true, 0.0,
        {500, 2500}, {0, 1, 0}},
    /* a delivery-header token: the user's own frequencies under the
     * merged totals (3/125 = 24/1000, 1/500 = 10/5000), its own weight,
     * nothing of the dictionary's */
    {"delivery token keeps the user's frequencies", {250, 1000}, {125, 500},
        {500, 2500}, {3, 1, 0.2}, {10, 20, 0.4}, CLS_TF_ROUTE, true, 0.5,
        {1000, 5000}, {24, 10, 0.2}},
    {"delivery token, brand-new user: nothing known", {250, 1000}, {0, 0},
        {500, 2500}, {0, 0, 0}, {58, 0, 2.5}, CLS_TF_ROUTE, true, 0.0,
        {500, 2500}, {0, 0, 0}},
    /* spam_min 0: spam is mature at once, the spam side is the user's */
    {"no spam minimum", {0, 1000}, {0, 500}, {500, 2500}, {0, 2, 0},
        {8, 4, 0}, 0, true, 0.5, {0, 5000}, {0, 14, 0}},
    /* counts near 2^64: totals and counts capped, never wrapped */
    {"overflow-safe large counts", {250, 1000}, {0, 0}, {BIG, BIG},
        {0, 0, 0}, {BIG, BIG, 0}, 0, true, 0.0, {CAP, CAP}, {CAP, CAP, 0}},
    {"overflow-safe large user token", {250, 1000}, {100, 100},
        {BIG, BIG}, {BIG, BIG, 0}, {BIG, 0, 0}, 0, true, 0.1, {CAP, CAP},
        {CAP, CAP, 0}},
};

static int
near(double a, double b)
{
	return a - b < 1e-9 && b - a < 1e-9;
}

static void
test_merge_table(void **state)
{
	size_t k;
	int bad = 0;

	(void)state;
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct cls_merge m;
		struct cls_stat t;

		memset(&t, 0, sizeof(t));
		t.spam_hits = cases[k].u.s;
		t.innocent_hits = cases[k].u.i;
		t.weight = cases[k].u.w;
		t.flags = cases[k].flags;
		cls_shared_plan(&cases[k].o, &cases[k].user, &cases[k].shared,
		    &m);
		cls_shared_token(&m, &t, cases[k].g.s, cases[k].g.i);
		if (m.active != cases[k].active ||
		    !near(m.user_weight, cases[k].w) ||
		    m.tot.spam_learned != cases[k].tot.spam_learned ||
		    m.tot.innocent_learned != cases[k].tot.innocent_learned ||
		    t.spam_hits != cases[k].m.s ||
		    t.innocent_hits != cases[k].m.i ||
		    !near(t.weight, cases[k].m.w)) {
			printf("case %s: got active %d w %.4f S %llu I %llu "
			       "s %llu i %llu wt %.4f, want %d %.4f %llu %llu "
			       "%llu %llu %.4f\n",
			    cases[k].name, m.active, m.user_weight,
			    (unsigned long long)m.tot.spam_learned,
			    (unsigned long long)m.tot.innocent_learned,
			    (unsigned long long)t.spam_hits,
			    (unsigned long long)t.innocent_hits, t.weight,
			    cases[k].active, cases[k].w,
			    (unsigned long long)cases[k].tot.spam_learned,
			    (unsigned long long)cases[k].tot.innocent_learned,
			    (unsigned long long)cases[k].m.s,
			    (unsigned long long)cases[k].m.i, cases[k].m.w);
			bad = 1;
		}
	}
	assert_int_equal(bad, 0);
}

/* The user's share of a token's frequency is its maturity w for the
 * less mature class, at every step from new to mature. */
static void
test_user_share_is_maturity(void **state)
{
	const struct cls_shared_opts o = {250, 1000};
	const struct cls_totals g = {5000, 20000};
	unsigned k;
	int bad = 0;

	(void)state;
	for (k = 0; k < 1000; k += 37) {
		struct cls_totals u = {k / 4 + 1, k};
		struct cls_merge m;
		struct cls_stat t;
		double fu, fg, fm;

		memset(&t, 0, sizeof(t));
		t.innocent_hits = k / 2;
		cls_shared_plan(&o, &u, &g, &m);
		cls_shared_token(&m, &t, 0, 4000);
		fu = k ? (double)(k / 2) / k : 0;
		fg = 4000.0 / 20000.0;
		fm = m.user_weight * fu + (1 - m.user_weight) * fg;
		if (!m.active || m.user_weight != k / 1000.0 ||
		    (double)t.innocent_hits / (double)m.tot.innocent_learned -
		            fm > 1e-3 ||
		    fm - (double)t.innocent_hits /
		            (double)m.tot.innocent_learned > 1e-3) {
			printf("case innocent %u: got %llu/%llu (w %.3f), want "
			       "frequency %.5f\n",
			    k, (unsigned long long)t.innocent_hits,
			    (unsigned long long)m.tot.innocent_learned,
			    m.user_weight, fm);
			bad = 1;
		}
	}
	assert_int_equal(bad, 0);
}

/* The threshold of a verdict the dictionary took part in. */
static void
test_threshold_table(void **state)
{
	static const struct {
		double user_t, shared_t, w, want;
	} c[] = {
	    {0.995, 0.98, 0.0, 0.98},    /* new: the dictionary's */
	    {0.995, 0.98, 1.0, 0.995},   /* mature: the user's */
	    {0.995, 0.98, 2.0, 0.995},
	    {0.995, 0.0, 0.3, 0.995},    /* 0: the user's throughout */
	    /* halfway on the logit scale: logistic((ln 199 + ln 49) / 2) */
	    {0.995, 0.98, 0.5, 0.9899746511},
	    {0.9, 0.9, 0.37, 0.9},
	    {1.0, 0.98, 0.5, 0.99},      /* an end of the range: linear */
	    {0.995, 1.0, 0.5, 0.9975},
	    {0.995, 0.98, -1.0, 0.98},
	};
	size_t k;
	int bad = 0;

	(void)state;
	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		double got = cls_shared_threshold(c[k].user_t, c[k].shared_t,
		    c[k].w);

		if (got - c[k].want > 1e-9 || c[k].want - got > 1e-9) {
			printf("case %zu (%g, %g, w %g): got %.10f, want %.10f\n",
			    k, c[k].user_t, c[k].shared_t, c[k].w, got,
			    c[k].want);
			bad = 1;
		}
	}
	assert_int_equal(bad, 0);
}

/* The weight the threshold is blended with after corrected false
 * positives: max(w, 1 - 1 / (1 + k fp)). */
static void
test_threshold_weight_table(void **state)
{
	static const struct {
		double w;
		uint64_t fp;
		double k, want;
	} c[] = {
	    {0.1, 0, 0.5, 0.1},                  /* no false positive */
	    {0.1, 1, 0.5, 1.0 / 3},              /* a third after one */
	    {0.1, 2, 0.5, 0.5},                  /* half after two */
	    {0.0, 1, 1.0, 0.5},
	    {0.6, 1, 0.5, 0.6},                  /* never below w */
	    {0.2, 3, 0.0, 0.2},                  /* k 0: off */
	    {0.2, 3, -1.0, 0.2},
	    {0.0, UINT64_MAX, 0.5, 1.0},         /* tends to 1, never past */
	    {0.0, 1, 100.0, 100.0 / 101},
	};
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		double got = cls_shared_threshold_weight(c[i].w, c[i].fp,
		    c[i].k);

		if (got - c[i].want > 1e-9 || c[i].want - got > 1e-9 ||
		    got > 1.0) {
			printf("case %zu (w %g, fp %llu, k %g): got %.10f, "
			       "want %.10f\n",
			    i, c[i].w, (unsigned long long)c[i].fp, c[i].k, got,
			    c[i].want);
			bad = 1;
		}
	}
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_table),
		cmocka_unit_test(test_user_share_is_maturity),
		cmocka_unit_test(test_threshold_table),
		cmocka_unit_test(test_threshold_weight_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
