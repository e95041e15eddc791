/*
 * purge.c - store contract: the purge rules of token and signature rows
 * (unused, rare, single, signatures, batches, all rules at once).
 */
#include "store_contract.h"

/* ---- purge ---- */

void
sc_on_progress(const char *rule, uint64_t rows, void *arg)
{
	struct progress *p = arg;

	if (p->n < 16) {
		strlcpy(p->rule[p->n], rule, sizeof(p->rule[0]));
		p->rows[p->n] = rows;
	}
	p->n++;
}

/* A token row for the purge cases: counts and how many days ago. */
struct prow {
	uint64_t token;
	int32_t spam, innocent;
	int ago;
	bool kept;
};

static void
purge_case(void **state, const char *name, const struct prow *rows,
    size_t n, struct store_purge_rules r, uint64_t want_deleted)
{
	struct store *st = sc_S(state);
	uint32_t a = sc_user(st, "a"), b = sc_user(st, "b");
	struct store_purge_stats ps;
	struct progress pg = {0};
	uint64_t got;

	for (size_t i = 0; i < n; i++) {
		sc_put1(st, a, rows[i].token, rows[i].spam, rows[i].innocent, 0,
		    (time_t)(TODAY - rows[i].ago) * DAY);
		sc_put1(st, b, rows[i].token, rows[i].spam, rows[i].innocent, 0,
		    (time_t)(TODAY - rows[i].ago) * DAY + DAY - 1);
	}
	assert_int_equal(store_purge(st, &r, (time_t)TODAY * DAY + 3600,
			     sc_on_progress, &pg, &ps),
	    0);
	got = ps.signatures + ps.unused + ps.rare + ps.single;
	if (got != 2 * want_deleted)
		fail_msg("case %s: got %llu deleted, want %llu", name,
		    (unsigned long long)got,
		    (unsigned long long)(2 * want_deleted));
	for (size_t i = 0; i < n; i++)
		for (int u = 0; u < 2; u++) {
			struct store_token t = sc_get1(st, u ? b : a,
			    rows[i].token);
			bool kept = t.last_hit != 0;

			if (kept != rows[i].kept)
				fail_msg("case %s row %zu (uid %d): got kept "
					 "%d, want %d",
				    name, i, u, kept, rows[i].kept);
		}
	assert_true(pg.n >= 1);
	assert_int_equal(pg.rows[pg.n - 1], 2 * want_deleted);
}

void
test_purge_unused(void **state)
{
	static const struct prow rows[] = {
		{1, 50, 50, 11, false}, /* one day past the limit */
		{2, 50, 50, 10, true},  /* exactly at the limit */
		{3, 1, 0, 9, true},
		{4, 0, 0, 400, false},
		{5, 0, 1, 0, true},
		{CONTROL, 3, 3, 400, true},
	};
	struct store_purge_rules r = {.unused_days = 10, .batch = 100};

	purge_case(state, "unused", rows, 6, r, 2);
}

void
test_purge_rare(void **state)
{
	static const struct prow rows[] = {
		{1, 4, 0, 11, false}, /* 2*0 + 4 = 4 < 5 */
		{2, 0, 2, 11, false}, /* 2*2 + 0 = 4 */
		{3, 5, 0, 11, true},  /* 5 */
		{4, 1, 2, 11, true},  /* 5 */
		{5, 3, 1, 11, true},  /* 5 */
		{6, 0, 0, 11, false},
		{7, 1, 0, 10, true},  /* rare but not old enough */
		{8, 0, 3, 11, true},  /* 6 */
		{CONTROL, 1, 0, 400, true},
	};
	struct store_purge_rules r = {.rare_days = 10, .batch = 100};

	purge_case(state, "rare", rows, 9, r, 3);
}

void
test_purge_single(void **state)
{
	static const struct prow rows[] = {
		{1, 1, 0, 11, false},
		{2, 0, 1, 11, false},
		{3, 1, 1, 11, true},
		{4, 2, 0, 11, true},
		{5, 0, 2, 11, true},
		{6, 0, 0, 11, true},
		{7, 1, 0, 10, true},
		{8, 0, 1, 9, true},
		{CONTROL, 1, 0, 400, true},
	};
	struct store_purge_rules r = {.single_days = 10, .batch = 100};

	purge_case(state, "single", rows, 9, r, 2);
}

void
test_purge_signatures(void **state)
{
	static const struct {
		const char *id;
		int ago;
		bool kept;
	} c[] = {
		{"old", 15, false}, {"limit", 14, true}, {"young", 13, true},
		{"today", 0, true}, {"ancient", 5000, false},
	};
	struct store *st = sc_S(state);
	uint32_t a = sc_user(st, "a"), b = sc_user(st, "b");
	struct store_purge_rules r = {.sig_days = 14, .batch = 1000};
	struct store_purge_stats ps;

	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		assert_int_equal(store_sig_put(st, a, c[k].id, "d", 1,
				     (time_t)(TODAY - c[k].ago) * DAY),
		    0);
		assert_int_equal(store_sig_put(st, b, c[k].id, "d", 1,
				     (time_t)(TODAY - c[k].ago) * DAY + 7),
		    0);
	}
	sc_put1(st, a, 1, 1, 0, 0, (time_t)(TODAY - 5000) * DAY);
	assert_int_equal(store_purge(st, &r, (time_t)TODAY * DAY, NULL, NULL,
			     &ps),
	    0);
	assert_int_equal(ps.signatures, 4);
	assert_int_equal(ps.unused + ps.rare + ps.single, 0);
	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++)
		for (int u = 0; u < 2; u++) {
			void *data = NULL;
			size_t len;
			int rc = store_sig_get(st, u ? b : a, c[k].id, &data,
			    &len);

			if ((rc == 0) != c[k].kept)
				fail_msg("case %s (uid %d): got %d, want "
					 "kept %d",
				    c[k].id, u, rc, c[k].kept);
			es_free(data);
		}
	sc_want_tok("token untouched by sig rule", sc_get1(st, a, 1), 1, 0,
	    TODAY - 5000);
}

void
test_purge_batches(void **state)
{
	static const struct {
		const char *name;
		size_t rows, batch;
		size_t calls;
		unsigned pace, slack; /* paced: the same rows go */
	} c[] = {
		{"partial last batch", 25, 10, 3, 0, 0},
		{"exact multiple", 20, 10, 3, 0, 0},
		{"one batch", 5, 10, 1, 0, 0},
		{"batch of one", 3, 1, 4, 0, 0},
		{"paced", 25, 10, 3, 2, 20},
		/* a 1% slack makes the probe wait after most batches */
		{"paced, probe waits", 7, 2, 4, 1, 1},
	};
	struct store *st = sc_S(state);
	uint32_t uid = sc_user(st, "u");

	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct store_purge_rules r = {.unused_days = 30,
		    .batch = c[k].batch, .pause_ms = k == 0 ? 1 : 0,
		    .pace = c[k].pace, .slack_pct = c[k].slack};
		struct store_purge_stats ps;
		struct progress pg = {0};

		for (size_t i = 0; i < c[k].rows; i++)
			sc_put1(st, uid, 1000 * (k + 1) + i, 1, 1, 0,
			    (time_t)(TODAY - 31 - (int)i) * DAY);
		sc_put1(st, uid, 1000 * (k + 1) + 999, 1, 1, 0,
		    (time_t)TODAY * DAY);
		assert_int_equal(store_purge(st, &r, (time_t)TODAY * DAY,
				     sc_on_progress, &pg, &ps),
		    0);
		if (ps.unused != c[k].rows || pg.n != c[k].calls)
			fail_msg("case %s: got %llu rows in %zu calls, want "
				 "%zu in %zu",
			    c[k].name, (unsigned long long)ps.unused, pg.n,
			    c[k].rows, c[k].calls);
		for (size_t i = 0; i < pg.n && i < 16; i++) {
			uint64_t want = (i + 1) * c[k].batch;

			if (want > c[k].rows)
				want = c[k].rows;
			assert_string_equal(pg.rule[i], "unused");
			if (pg.rows[i] != want)
				fail_msg("case %s call %zu: got %llu, want "
					 "%llu",
				    c[k].name, i,
				    (unsigned long long)pg.rows[i],
				    (unsigned long long)want);
		}
		sc_want_tok(c[k].name, sc_get1(st, uid, 1000 * (k + 1) + 999),
		    1, 1, TODAY);
		/* the pacer's figures: a baseline only when probing, rests
		 * between batches only when there were several */
		if ((c[k].slack > 0) != (ps.probe_base_ms > 0) ||
		    ps.work_s <= 0 || (c[k].pace > 0 && ps.rest_s <= 0) ||
		    (c[k].slack == 0 && ps.waits != 0))
			fail_msg("case %s: probe %.3f ms, work %.6f s, rest "
				 "%.6f s, %llu waits",
			    c[k].name, ps.probe_base_ms, ps.work_s, ps.rest_s,
			    (unsigned long long)ps.waits);
	}
}

void
test_purge_all_rules(void **state)
{
	struct store *st = sc_S(state);
	uint32_t uid = sc_user(st, "u");
	struct store_purge_rules r = {14, 90, 30, 15, 2, 0, 0, 0, 0, 0, 0};
	struct store_purge_rules off = {0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0};
	struct store_purge_stats ps;
	struct progress pg = {0};

	/* unused (100 days), rare (40 days), single (20 days), kept ones */
	sc_put1(st, uid, 1, 50, 50, 0, (time_t)(TODAY - 100) * DAY);
	sc_put1(st, uid, 2, 2, 1, 0, (time_t)(TODAY - 40) * DAY);
	sc_put1(st, uid, 3, 0, 1, 0, (time_t)(TODAY - 20) * DAY);
	sc_put1(st, uid, 4, 0, 1, 0, (time_t)(TODAY - 10) * DAY);
	sc_put1(st, uid, 5, 2, 1, 0, (time_t)(TODAY - 20) * DAY);
	sc_put1(st, uid, CONTROL, 1, 0, 0, (time_t)(TODAY - 1000) * DAY);
	assert_int_equal(store_sig_put(st, uid, "s", "x", 1,
			     (time_t)(TODAY - 20) * DAY),
	    0);
	/* all rules off: nothing goes */
	assert_int_equal(store_purge(st, &off, (time_t)TODAY * DAY,
			     sc_on_progress, &pg, &ps),
	    0);
	assert_int_equal(pg.n, 0);
	assert_int_equal(ps.signatures + ps.unused + ps.rare + ps.single, 0);
	assert_int_equal(
	    store_purge(st, &r, (time_t)TODAY * DAY, sc_on_progress, &pg, &ps),
	    0);
	assert_int_equal(ps.signatures, 1);
	assert_int_equal(ps.unused, 1);
	assert_int_equal(ps.rare, 1);
	assert_int_equal(ps.single, 1);
	assert_int_equal(pg.n, 4);
	assert_string_equal(pg.rule[0], "signatures");
	assert_string_equal(pg.rule[1], "unused");
	assert_string_equal(pg.rule[2], "rare");
	assert_string_equal(pg.rule[3], "single");
	sc_want_tok("control", sc_get1(st, uid, CONTROL), 1, 0, TODAY - 1000);
	sc_want_tok("young single", sc_get1(st, uid, 4), 0, 1, TODAY - 10);
	sc_want_tok("common", sc_get1(st, uid, 5), 2, 1, TODAY - 20);

	/* misuse */
	r.batch = 0;
	assert_int_equal(store_purge(st, &r, (time_t)TODAY * DAY, NULL, NULL,
			     &ps),
	    ES_EINVAL);
	r.batch = 10;
	assert_int_equal(store_begin(st, true), 0);
	assert_int_equal(store_purge(st, &r, (time_t)TODAY * DAY, NULL, NULL,
			     &ps),
	    ES_EINVAL);
	store_rollback(st);
}
