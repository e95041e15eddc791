/*
 * test_pace.c - the purge's pacing (classifier/store_pace.c) on made-up
 * times: the rest after a batch, the probe's baseline, and the waits
 * while the probe stays slow, bounded so that a purge always ends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "store_pace.h"

/* near - a and b equal to a microsecond. */
static int
near(double a, double b)
{
	return a - b < 1e-3 && b - a < 1e-3;
}

static void
test_rest(void **state)
{
	static const struct {
		const char *name;
		unsigned ratio, min_ms;
		double batch_ms, want;
	} cases[] = {
		{"ratio times the batch", 4, 10, 50, 200},
		{"at least the minimum", 4, 10, 1, 10},
		{"ratio 0: the fixed pause", 0, 10, 500, 10},
		{"ratio 0, no pause", 0, 0, 500, 0},
		{"a clock that stepped back", 4, 5, -3, 5},
		{"a slow batch rests longer", 3, 10, 400, 1200},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct store_pace p;
		double got;

		store_pace_init(&p, cases[i].ratio, cases[i].min_ms, 20);
		got = store_pace_batch(&p, cases[i].batch_ms, false);
		if (!near(got, cases[i].want))
			fail_msg("case %s: got %.3f ms, want %.3f ms",
			    cases[i].name, got, cases[i].want);
		/* no baseline: the probe never holds the purge */
		if (store_pace_probe(&p, 1e9) != 0)
			fail_msg("case %s: waited without a baseline",
			    cases[i].name);
	}
}

static void
test_base(void **state)
{
	static const struct {
		const char *name;
		unsigned slack;
		double ms[7];
		size_t n;
		double want;
	} cases[] = {
		{"median of odd", 20, {5, 1, 3, 90, 2, 4, 3}, 7, 3},
		{"median of even", 20, {4, 1, 3, 2}, 4, 2.5},
		{"one probe", 20, {7}, 1, 7},
		{"no probe succeeded", 20, {0}, 0, 0},
		{"slack 0: no probing", 0, {1, 2, 3}, 3, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct store_pace p;
		double ms[7];

		memcpy(ms, cases[i].ms, sizeof(ms));
		store_pace_init(&p, 4, 10, cases[i].slack);
		store_pace_base(&p, ms, cases[i].n);
		if (!near(p.sp_base_ms, cases[i].want))
			fail_msg("case %s: got %.3f ms, want %.3f ms",
			    cases[i].name, p.sp_base_ms, cases[i].want);
	}
}

/*
 * The waits after one batch: probes given in turn (a negative probe is
 * a failed read), the waits wanted in turn; a 0 ends the batch's waits.
 */
static void
test_waits(void **state)
{
	static const struct {
		const char *name;
		double batch_ms;    /* ratio 4, minimum 10 ms, base 2 ms */
		double probe[8];
		double want[8];
		size_t n;
	} cases[] = {
		{"probe at base: go on", 50, {2}, {0}, 1},
		{"within the slack (20%)", 50, {2.4}, {0}, 1},
		{"slow, then recovered", 50, {5, 5, 2.1}, {200, 400, 0}, 3},
		{"a failed probe does not wait", 50, {-1}, {0}, 1},
		/* 16 pauses of 10 ms bound the waits: 10+20+40+80, then 10 */
		{"bounded by 16 pauses", 1, {9, 9, 9, 9, 9, 9},
		    {10, 20, 40, 80, 10, 0}, 6},
		/* 2 s bound the waits: 200 + 400 + 800, then 600 */
		{"bounded by 2 s", 50, {9, 9, 9, 9, 9},
		    {200, 400, 800, 600, 0}, 5},
		/* a rest over 2 s: one wait of the rest itself at most */
		{"a long rest waits once", 1000, {9, 9}, {4000, 0}, 2},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct store_pace p;
		double base[1] = {2};
		double waited = 0;

		store_pace_init(&p, 4, 10, 20);
		store_pace_base(&p, base, 1);
		store_pace_batch(&p, cases[i].batch_ms, false);
		for (size_t k = 0; k < cases[i].n; k++) {
			double got = store_pace_probe(&p, cases[i].probe[k]);

			if (!near(got, cases[i].want[k]))
				fail_msg("case %s, probe %zu: got %.3f ms, "
					 "want %.3f ms",
				    cases[i].name, k, got, cases[i].want[k]);
			waited += got;
		}
		if (p.sp_waits != 0 && !near(p.sp_waited_ms, waited))
			fail_msg("case %s: waited %.3f ms, counted %.3f",
			    cases[i].name, waited, p.sp_waited_ms);
		/* the next batch starts the waits afresh */
		store_pace_batch(&p, cases[i].batch_ms, false);
		if (!near(p.sp_waited_ms, 0))
			fail_msg("case %s: waits not reset", cases[i].name);
	}
}

/* The totals the summary prints: work, rest, waits. */
static void
test_totals(void **state)
{
	struct store_pace p;
	double base[3] = {1, 1, 1};

	(void)state;
	store_pace_init(&p, 2, 5, 50);
	store_pace_base(&p, base, 3);
	store_pace_batch(&p, 10, false);                     /* rest 20 */
	assert_true(near(store_pace_probe(&p, 3), 20)); /* wait 20 */
	assert_true(near(store_pace_probe(&p, 1.4), 0));
	store_pace_batch(&p, 1, false);                      /* rest 5 */
	assert_true(near(store_pace_batch(&p, 4, true), 0)); /* the last */
	assert_true(near(store_pace_probe(&p, 99), 0));
	assert_true(near(p.sp_work_ms, 15));
	assert_true(near(p.sp_rest_ms, 45));
	assert_int_equal(p.sp_waits, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rest),
		cmocka_unit_test(test_base),
		cmocka_unit_test(test_waits),
		cmocka_unit_test(test_totals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
