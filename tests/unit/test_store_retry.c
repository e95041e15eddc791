/*
 * test_store_retry.c - store_retry_run() and store_retry_pause()
 * (classifier/store_retry.c), the retry of a write that a conflict with
 * another writer rolled back, on a test double: the memory driver whose
 * commit fails the first N times, with a conflict (store_conflict(), as
 * a MariaDB deadlock or a Galera certification failure) or with another
 * transient failure (a server gone), as the case says.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "es_err.h"
#include "store.h"
#include "store_drivers.h"
#include "store_int.h"
#include "store_retry.h"

/* The double: store_mem_ops with a commit that fails fails_left times. */
static struct store_ops flaky_ops;
static unsigned fails_left;
static bool fail_as_conflict;

static int
flaky_commit(struct store *st)
{
	if (fails_left == 0)
		return store_mem_ops.commit(st);
	fails_left--;
	/* the server rolled the transaction back */
	store_mem_ops.rollback(st);
	if (fail_as_conflict) {
		store_seterr(st, "flaky: commit: Deadlock found (1213)");
		store_set_conflict(st);
	} else {
		store_seterr(st, "flaky: commit: server has gone away (2006)");
	}
	return ES_ETRANSIENT;
}

/* One whole write: +1 spam hit on token 7 of uid 1, in a transaction. */
static int
write_one(struct store *st, void *arg)
{
	struct store_delta d = {7, 1, 0, 0};
	int rc;

	(*(unsigned *)arg)++;
	if ((rc = store_begin(st, true)) != 0)
		return rc;
	if ((rc = store_tokens_put(st, 1, &d, 1, 20000 * 86400)) != 0 ||
	    (rc = store_commit(st)) != 0)
		store_rollback(st);
	return rc;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static const struct tcase {
	const char *name;
	unsigned fails;
	bool conflict;
	unsigned budget_ms;
	int want_rc;
	unsigned want_tries_min, want_tries_max;
	uint64_t want_hits; /* on token 7 afterwards: nothing counted twice */
} cases[] = {
	{"no failure", 0, true, 1000, 0, 1, 1, 1},
	{"one conflict", 1, true, 1000, 0, 2, 2, 1},
	{"five conflicts", 5, true, 1000, 0, 6, 6, 1},
	{"twelve conflicts (pauses at their longest)", 12, true, 5000, 0, 13,
	    13, 1},
	/* a server that is gone is not a conflict: no retry here */
	{"not a conflict", 3, false, 1000, ES_ETRANSIENT, 1, 1, 0},
	/* conflicts for ever: given up when the budget is spent, 2+4+8+16+
	 * 32 ms of pauses at most before 100 ms */
	{"budget spent", 1000000, true, 100, ES_ETRANSIENT, 3, 40, 0},
	{"no budget", 1000000, true, 0, ES_ETRANSIENT, 1, 1, 0},
};

static void
test_retry_cases(void **state)
{
	(void)state;
	flaky_ops = store_mem_ops;
	flaky_ops.commit = flaky_commit;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];
		struct store_params p = {.driver = "memory"};
		struct store_token t = {.token = 7};
		struct store *st = NULL;
		unsigned calls = 0, tries = 0;
		char err[256];
		double t0, took;
		int rc;

		fails_left = c->fails;
		fail_as_conflict = c->conflict;
		assert_int_equal(store_open_ops(&flaky_ops, &p, &st, err,
				     sizeof(err)),
		    0);
		t0 = now_ms();
		rc = store_retry_run(st, c->budget_ms, write_one, &calls,
		    &tries);
		took = now_ms() - t0;
		if (rc != c->want_rc || tries != calls ||
		    tries < c->want_tries_min || tries > c->want_tries_max)
			fail_msg("case %s: got rc %d after %u tries (%u calls), "
				 "want rc %d after %u..%u tries",
			    c->name, rc, tries, calls, c->want_rc,
			    c->want_tries_min, c->want_tries_max);
		if (rc != 0 && c->conflict && !store_conflict(st))
			fail_msg("case %s: the conflict is not reported", c->name);
		if (took > c->budget_ms + 100.0)
			fail_msg("case %s: took %.0f ms, budget %u ms", c->name,
			    took, c->budget_ms);
		assert_int_equal(store_tokens_get(st, 1, &t, 1), 0);
		if (t.spam_hits != c->want_hits)
			fail_msg("case %s: token 7 has %llu spam hits, want %llu",
			    c->name, (unsigned long long)t.spam_hits,
			    (unsigned long long)c->want_hits);
		store_close(st);
	}
}

/* The pause: only after a conflict, never past the deadline, growing. */
static void
test_pause(void **state)
{
	struct store_params p = {.driver = "memory"};
	struct timespec far, near;
	struct store *st = NULL;
	char err[256];
	double t0, took;

	(void)state;
	flaky_ops = store_mem_ops;
	flaky_ops.commit = flaky_commit;
	assert_int_equal(store_open_ops(&flaky_ops, &p, &st, err, sizeof(err)),
	    0);
	store_retry_deadline(10000, &far);
	store_retry_deadline(0, &near);
	store_seterr(st, "not a conflict");
	assert_false(store_retry_pause(st, ES_ETRANSIENT, 1, &far));
	store_set_conflict(st);
	assert_false(store_retry_pause(st, ES_ESTORE, 1, &far));
	assert_false(store_retry_pause(st, ES_ETRANSIENT, 1, &near));
	/* try 6 and later: 32..64 ms */
	t0 = now_ms();
	assert_true(store_retry_pause(st, ES_ETRANSIENT, 9, &far));
	took = now_ms() - t0;
	if (took < 31.0 || took > 200.0)
		fail_msg("pause after try 9: %.1f ms, want 32..64", took);
	store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_cases),
		cmocka_unit_test(test_pause),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
