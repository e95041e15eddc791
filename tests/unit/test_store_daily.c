/*
 * test_store_daily.c - the daily counts of store.h (edgespam_daily) and
 * what a correction reports of its history row (store_history_correct_was),
 * for every driver: memory, sqlite (a private file under $TMPDIR), and
 * mysql when the caller names a server as for test_store_contract.c
 * (ES_TEST_MYSQL_SOCKET, ES_TEST_MYSQL_DB, ES_TEST_MYSQL_USER,
 * ES_TEST_MYSQL_PASSWORD_FILE; tests/sh/test_mariadb.sh runs it so).
 * The fixture (one fresh store per test; for mysql the tables dropped
 * or emptied first) is the store contract suite's (store_contract/
 * fixture.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "es_err.h"
#include "store.h"
#include "store_contract/store_contract.h"

/* A listing kept: up to 8 rows as "day:s/i/w/m/f". */
struct got {
	size_t n, stop;
	char row[8][96];
};

static int
on_row(const struct store_daily *r, void *arg)
{
	struct got *g = arg;

	if (g->n < 8)
		snprintf(g->row[g->n], sizeof(g->row[0]),
		    "%ld:%lld/%lld/%lld/%lld/%lld", (long)r->day,
		    (long long)r->spam, (long long)r->innocent,
		    (long long)r->whitelisted, (long long)r->missed_spam,
		    (long long)r->false_positives);
	g->n++;
	return g->stop != 0 && g->n == g->stop;
}

/* want - uid's rows since `since` are exactly the n texts given. */
static void
want(struct store *st, uint32_t uid, time_t since, size_t n, ...)
{
	struct got g;
	va_list ap;

	memset(&g, 0, sizeof(g));
	assert_int_equal(store_daily_list(st, uid, since, on_row, &g), 0);
	assert_int_equal(g.n, n);
	va_start(ap, n);
	for (size_t i = 0; i < n && i < 8; i++)
		assert_string_equal(g.row[i], va_arg(ap, const char *));
	va_end(ap);
}

static time_t
at(int32_t day, int secs)
{
	return (time_t)day * DAY + secs;
}

static void
test_add_list(void **state)
{
	struct store *st = sc_S(state);
	uint32_t a = sc_user(st, "a@example.org");
	uint32_t b = sc_user(st, "b@example.org");
	struct store_daily spam = {.spam = 1}, inn = {.innocent = 2},
			   mix = {.whitelisted = 1, .missed_spam = 1,
			       .false_positives = 3};
	struct got g;

	want(st, a, 0, 0);
	/* two additions on one day sum; times of one UTC day share it */
	assert_int_equal(store_daily_add(st, a, at(TODAY, 10), &spam), 0);
	assert_int_equal(store_daily_add(st, a, at(TODAY, DAY - 1), &inn), 0);
	assert_int_equal(store_daily_add(st, a, at(TODAY - 3, 0), &mix), 0);
	assert_int_equal(store_daily_add(st, a, at(TODAY - 3, 5), &spam), 0);
	assert_int_equal(store_daily_add(st, b, at(TODAY, 0), &inn), 0);
	/* oldest first; per user; since cuts by day */
	want(st, a, 0, 2, "19997:1/0/1/1/3", "20000:1/2/0/0/0");
	want(st, b, 0, 1, "20000:0/2/0/0/0");
	want(st, a, at(TODAY - 2, 0), 1, "20000:1/2/0/0/0");
	want(st, a, at(TODAY - 3, 100), 2, "19997:1/0/1/1/3",
	    "20000:1/2/0/0/0");
	want(st, a, at(TODAY + 1, 0), 0);
	/* a callback's non-zero stops the listing */
	memset(&g, 0, sizeof(g));
	g.stop = 1;
	assert_int_equal(store_daily_list(st, a, 0, on_row, &g), 0);
	assert_int_equal(g.n, 1);
}

static void
test_undo_clamps(void **state)
{
	struct store *st = sc_S(state);
	uint32_t a = sc_user(st, "a@example.org");
	struct store_daily two = {.spam = 2, .missed_spam = 1},
			   back = {.spam = -1, .missed_spam = -1,
			       .false_positives = 1},
			   under = {.spam = -5, .innocent = -1};

	assert_int_equal(store_daily_add(st, a, at(TODAY, 0), &two), 0);
	assert_int_equal(store_daily_add(st, a, at(TODAY, 0), &back), 0);
	want(st, a, 0, 1, "20000:1/0/0/0/1");
	/* below zero stays at zero, on an old row and on a new one */
	assert_int_equal(store_daily_add(st, a, at(TODAY, 0), &under), 0);
	assert_int_equal(store_daily_add(st, a, at(TODAY - 1, 0), &under), 0);
	want(st, a, 0, 2, "19999:0/0/0/0/0", "20000:0/0/0/0/1");
}

static void
test_transaction(void **state)
{
	struct store *st = sc_S(state);
	uint32_t a = sc_user(st, "a@example.org");
	struct store_daily one = {.innocent = 1};

	assert_int_equal(store_begin(st, true), 0);
	assert_int_equal(store_daily_add(st, a, at(TODAY, 0), &one), 0);
	store_rollback(st);
	want(st, a, 0, 0);
	assert_int_equal(store_begin(st, true), 0);
	assert_int_equal(store_daily_add(st, a, at(TODAY, 0), &one), 0);
	assert_int_equal(store_daily_add(st, a, at(TODAY, 0), &one), 0);
	assert_int_equal(store_commit(st), 0);
	want(st, a, 0, 1, "20000:0/2/0/0/0");
}

static void
test_misuse(void **state)
{
	struct store *st = sc_S(state);
	uint32_t a = sc_user(st, "a@example.org");
	struct store_daily zero = {0}, one = {.spam = 1};
	struct got g;

	assert_int_equal(store_daily_add(st, a, at(TODAY, 0), NULL),
	    ES_EINVAL);
	assert_int_equal(store_daily_list(st, a, 0, NULL, &g), ES_EINVAL);
	assert_int_equal(store_daily_add(st, a, (time_t)-DAY, &one),
	    ES_EINVAL);
	/* an all-zero delta writes no row */
	assert_int_equal(store_daily_add(st, a, at(TODAY, 0), &zero), 0);
	want(st, a, 0, 0);
}

/* hist - a history row of signature sig at time t. */
static void
hist(struct store *st, uint32_t uid, const char *sig, time_t t)
{
	struct store_history r = {.time = t, .verdict = STORE_VERDICT_SPAM,
	    .probability = 0.9, .signature = sig,
	    .action = STORE_ACTION_TAGGED};

	assert_int_equal(store_history_add(st, uid, &r, NULL), 0);
}

static void
test_correct_was(void **state)
{
	struct store *st = sc_S(state);
	uint32_t a = sc_user(st, "a@example.org");
	struct store_history_was w;

	hist(st, a, "sig1", at(TODAY - 5, 7));
	hist(st, a, "sig2", at(TODAY - 1, 0));
	assert_int_equal(store_history_correct_was(st, a, "sig1",
			     STORE_CORRECTION_INNOCENT, at(TODAY, 0), &w),
	    0);
	assert_int_equal(w.time, at(TODAY - 5, 7));
	assert_int_equal(w.correction, STORE_CORRECTION_NONE);
	/* moved back: the former correction is reported */
	assert_int_equal(store_history_correct_was(st, a, "sig1",
			     STORE_CORRECTION_SPAM, at(TODAY, 9), &w),
	    0);
	assert_int_equal(w.time, at(TODAY - 5, 7));
	assert_int_equal(w.correction, STORE_CORRECTION_INNOCENT);
	/* no row: not found, *was zero */
	w.time = 1;
	assert_int_equal(store_history_correct_was(st, a, "nosuch",
			     STORE_CORRECTION_SPAM, at(TODAY, 0), &w),
	    ES_ENOTFOUND);
	assert_int_equal(w.time, 0);
	assert_int_equal(w.correction, STORE_CORRECTION_NONE);
	/* another user's row is not this user's */
	assert_int_equal(store_history_correct_was(st, sc_user(st, "b"), "sig2",
			     STORE_CORRECTION_SPAM, at(TODAY, 0), NULL),
	    ES_ENOTFOUND);
}

static void
test_purge(void **state)
{
	struct store *st = sc_S(state);
	uint32_t a = sc_user(st, "a@example.org");
	struct store_daily one = {.spam = 1};
	struct store_purge_rules r = {.batch = 2, .daily_days = 400};
	struct store_purge_stats ps;

	assert_int_equal(store_daily_add(st, a, at(TODAY - 500, 0), &one), 0);
	assert_int_equal(store_daily_add(st, a, at(TODAY - 401, 0), &one), 0);
	assert_int_equal(store_daily_add(st, a, at(TODAY - 401, 0), &one), 0);
	assert_int_equal(store_daily_add(st, sc_user(st, "b"),
			     at(TODAY - 402, 0), &one),
	    0);
	assert_int_equal(store_daily_add(st, a, at(TODAY - 400, 0), &one), 0);
	assert_int_equal(store_daily_add(st, a, at(TODAY, 0), &one), 0);
	/* the rule off: nothing goes */
	r.daily_days = 0;
	assert_int_equal(store_purge(st, &r, at(TODAY, 0), NULL, NULL, &ps),
	    0);
	assert_int_equal(ps.daily, 0);
	want(st, a, 0, 4, "19500:1/0/0/0/0", "19599:2/0/0/0/0",
	    "19600:1/0/0/0/0", "20000:1/0/0/0/0");
	/* 400 days: days before today - 400 go, in batches of 2 */
	r.daily_days = 400;
	assert_int_equal(store_purge(st, &r, at(TODAY, 0), NULL, NULL, &ps),
	    0);
	assert_int_equal(ps.daily, 3);
	assert_int_equal(ps.history, 0);
	want(st, a, 0, 2, "19600:1/0/0/0/0", "20000:1/0/0/0/0");
	want(st, sc_user(st, "b"), 0, 0);
}

#define T(f) cmocka_unit_test(f)
static const struct CMUnitTest tests[] = {
	T(test_add_list),
	T(test_undo_clamps),
	T(test_transaction),
	T(test_misuse),
	T(test_correct_was),
	T(test_purge),
};
#define NT (sizeof(tests) / sizeof(tests[0]))

int
main(void)
{
	static const struct {
		const char *name;
		CMFixtureFunction setup;
	} drv[] = {
		{"memory", sc_setup_memory},
		{"sqlite", sc_setup_sqlite},
		{"mysql", sc_setup_mysql},
	};
	struct CMUnitTest t[NT];
	char group[64];
	int failed = 0;

	for (size_t d = 0; d < sizeof(drv) / sizeof(drv[0]); d++) {
		if (strcmp(drv[d].name, "mysql") == 0 &&
		    getenv("ES_TEST_MYSQL_SOCKET") == NULL) {
			printf("[  SKIPPED ] store daily: mysql (set "
			       "ES_TEST_MYSQL_SOCKET as for the store "
			       "contract)\n");
			continue;
		}
		for (size_t i = 0; i < NT; i++) {
			t[i] = tests[i];
			t[i].setup_func = drv[d].setup;
			t[i].teardown_func = sc_teardown_driver;
		}
		snprintf(group, sizeof(group), "store daily: %s",
		    drv[d].name);
		failed += _cmocka_run_group_tests(group, t, NT, NULL, NULL);
	}
	return failed != 0;
}
