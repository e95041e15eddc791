/*
 * tokens.c - store contract: open/close and errors, users, tokens (put,
 * get, list, last hit, unsorted and large batches), isolation between
 * users, totals.
 */
#include "store_contract.h"

/* ---- open, close, errors ---- */

void
test_open_close(void **state)
{
	struct fix *f = *state;
	struct store_params bad = {.driver = "nosuch", .path = "x"};
	struct store *st = (struct store *)&bad;
	char err[256] = "";

	assert_string_equal(store_driver_name(f->st), f->driver);
	assert_string_equal(store_errmsg(f->st), "");
	store_close(NULL);
	assert_int_equal(store_open(&bad, &st, err, sizeof(err)), ES_EINVAL);
	assert_null(st);
	assert_non_null(strstr(err, "nosuch"));
	assert_non_null(strstr(err, "sqlite"));
	assert_non_null(strstr(err, "memory"));
	/* A second handle of the same kind opens and closes on its own. */
	assert_int_equal(store_open(&f->params, &st, err, sizeof(err)), 0);
	store_close(st);
}

/* ---- users ---- */

struct ulist {
	uint32_t uid[8];
	char name[8][32];
	size_t n;
	size_t stop_after;
};

static int
collect_user(uint32_t uid, const char *name, void *arg)
{
	struct ulist *l = arg;

	if (l->n < 8) {
		l->uid[l->n] = uid;
		strlcpy(l->name[l->n], name, sizeof(l->name[0]));
	}
	l->n++;
	return l->stop_after != 0 && l->n >= l->stop_after;
}

void
test_users(void **state)
{
	struct store *st = sc_S(state);
	char longname[130];
	uint32_t a, b, c, x = 77;
	struct ulist l = {0};

	a = sc_user(st, "alice@example.org");
	b = sc_user(st, "bob@example.org");
	c = sc_user(st, "Alice@example.org"); /* exact bytes: another user */
	assert_true(a != b && b != c && a != c);
	assert_true(a > 0);
	assert_int_equal(store_user_uid(st, "alice@example.org", false, &x), 0);
	assert_int_equal(x, a);
	assert_int_equal(sc_user(st, "bob@example.org"), b);
	assert_int_equal(store_user_uid(st, "carol", false, &x),
	    ES_ENOTFOUND);
	assert_int_equal(store_user_uid(st, "", true, &x), ES_EINVAL);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(store_user_uid(st, longname, true, &x), ES_EINVAL);
	longname[128] = '\0'; /* exactly 128 bytes is allowed */
	assert_int_equal(store_user_uid(st, longname, true, &x), 0);

	assert_int_equal(store_users(st, collect_user, &l), 0);
	assert_int_equal(l.n, 4);
	for (size_t i = 1; i < 4; i++)
		assert_true(l.uid[i - 1] < l.uid[i]);
	assert_int_equal(l.uid[0], a);
	assert_string_equal(l.name[0], "alice@example.org");
	assert_int_equal(l.uid[1], b);
	assert_string_equal(l.name[2], "Alice@example.org");

	memset(&l, 0, sizeof(l));
	l.stop_after = 2;
	assert_int_equal(store_users(st, collect_user, &l), 0);
	assert_int_equal(l.n, 2);
}

/* ---- tokens ---- */

void
test_tokens_unknown(void **state)
{
	struct store *st = sc_S(state);
	uint32_t uid = sc_user(st, "u");
	struct store_token t = sc_get1(st, uid, 12345);

	sc_want_tok("unknown", t, 0, 0, 0);
	assert_true(t.weight == 0.0);
	/* n = 0 does nothing; a NULL array with n > 0 is refused. */
	assert_int_equal(store_tokens_get(st, uid, NULL, 0), 0);
	assert_int_equal(store_tokens_get(st, uid, NULL, 1), ES_EINVAL);
	assert_int_equal(store_tokens_put(st, uid, NULL, 1, DAY), ES_EINVAL);
}

void
test_tokens_put_get(void **state)
{
	static const struct {
		const char *name;
		uint64_t token;
		int32_t d[3][2]; /* successive (spam, innocent) deltas */
		double w[3];
		uint64_t spam, innocent;
		double weight;
	} c[] = {
		{"new row", 1, {{1, 0}, {0, 0}, {0, 0}}, {0, 0, 0}, 1, 0, 0},
		{"adds up", 2, {{1, 2}, {3, 4}, {0, 1}}, {0, 0, 0}, 4, 7, 0},
		{"new row clamps", 3, {{-3, -2}, {0, 0}, {0, 0}}, {0, 0, 0}, 0,
		    0, 0},
		{"new row mixed", 4, {{-1, 2}, {0, 0}, {0, 0}}, {0, 0, 0}, 0, 2,
		    0},
		{"clamp then add", 5, {{2, 1}, {-5, -5}, {1, 0}}, {0, 0, 0}, 1,
		    0, 0},
		{"undo to zero", 6, {{1, 1}, {-1, -1}, {0, 0}}, {0, 0, 0}, 0, 0,
		    0},
		{"weight adds", 7, {{0, 0}, {0, 0}, {0, 0}}, {0.5, -0.25, 2.0},
		    0, 0, 2.25},
		{"weight negative", 8, {{1, 0}, {0, 0}, {0, 0}}, {-1.5, 0, 0},
		    1, 0, -1.5},
		{"big id", 0xfedcba9876543210ULL, {{7, 0}, {0, 9}, {0, 0}},
		    {0.125, 0, 0}, 7, 9, 0.125},
		{"max id", UINT64_MAX, {{1, 1}, {0, 0}, {0, 0}}, {0, 0, 0}, 1,
		    1, 0},
		{"zero id", 0, {{0, 3}, {0, 0}, {0, 0}}, {0, 0, 0}, 0, 3, 0},
		{"large delta", 9, {{INT32_MAX, 0}, {INT32_MAX, 0}, {0, 0}},
		    {0, 0, 0}, 2ULL * INT32_MAX, 0, 0},
		/* a column clamped at zero, then a same-day delta for that
		 * column alone: the other column stays exactly as it was */
		{"spam clamped, then spam only", 10, {{2, 5}, {-5, 0}, {3, 0}},
		    {0.5, 0, 0}, 3, 5, 0.5},
		{"innocent clamped, then innocent only", 11,
		    {{5, 2}, {0, -5}, {0, 3}}, {0, 0, 0.25}, 5, 3, 0.25},
	};
	struct store *st = sc_S(state);
	uint32_t uid = sc_user(st, "u");

	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct store_token t;

		for (int j = 0; j < 3; j++)
			sc_put1(st, uid, c[k].token, c[k].d[j][0], c[k].d[j][1],
			    c[k].w[j], (time_t)TODAY * DAY);
		t = sc_get1(st, uid, c[k].token);
		sc_want_tok(c[k].name, t, c[k].spam, c[k].innocent, TODAY);
		if (t.weight != c[k].weight)
			fail_msg("case %s: got weight %g, want %g", c[k].name,
			    t.weight, c[k].weight);
	}
}

/* list_rows - collects what store_tokens_list() hands over. */
struct list_rows {
	uint64_t token[8];
	uint64_t spam[8];
	size_t n;
	size_t stop_after; /* return non-zero after this many (0: never) */
};

static int
list_row(const struct store_token *t, void *arg)
{
	struct list_rows *l = arg;

	if (l->n < 8) {
		l->token[l->n] = t->token;
		l->spam[l->n] = t->spam_hits;
	}
	l->n++;
	return l->stop_after != 0 && l->n == l->stop_after;
}

/* store_tokens_list: one user's rows only, in unsigned id order (ids at
 * and above 2^63 last), and the callback may stop it. */
void
test_tokens_list(void **state)
{
	static const uint64_t ids[] = {UINT64_MAX, 5, 0x8000000000000000ULL,
	    0, 0x7fffffffffffffffULL};
	static const uint64_t want[] = {0, 5, 0x7fffffffffffffffULL,
	    0x8000000000000000ULL, UINT64_MAX};
	struct store *st = sc_S(state);
	uint32_t a = sc_user(st, "lister"), b = sc_user(st, "other");
	struct list_rows l;

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		sc_put1(
		    st, a, ids[i], (int32_t)i + 1, 0, 0, (time_t)TODAY * DAY);
	sc_put1(st, b, 6, 1, 1, 0, (time_t)TODAY * DAY);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_tokens_list(st, a, list_row, &l), 0);
	assert_int_equal(l.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (l.token[i] != want[i])
			fail_msg("row %zu: got token %llu, want %llu", i,
			    (unsigned long long)l.token[i],
			    (unsigned long long)want[i]);
	}
	assert_int_equal(l.spam[0], 4); /* id 0 was the fourth put */
	memset(&l, 0, sizeof(l));
	l.stop_after = 2;
	assert_int_equal(store_tokens_list(st, a, list_row, &l), 0);
	assert_int_equal(l.n, 2);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_tokens_list(st, sc_user(st, "empty"), list_row,
			     &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(store_tokens_list(st, a, NULL, NULL), ES_EINVAL);
}

void
test_tokens_last_hit(void **state)
{
	static const struct {
		const char *name;
		time_t now;
		int32_t day;
	} c[] = {
		{"epoch", 0, 0},
		{"end of first day", DAY - 1, 0},
		{"2023-11-14", 1700000000, 19675},
		{"2024-02-29 leap day", 1709208000, 19782},
		{"2100-01-01", 4102444800LL, 47482},
		{"9999-12-31", 253402300799LL, 2932896},
		{"back in time", (time_t)TODAY * DAY + 5, TODAY},
	};
	struct store *st = sc_S(state);
	uint32_t uid = sc_user(st, "u");

	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		sc_put1(st, uid, 99, 1, 0, 0, c[k].now);
		sc_want_tok(
		    c[k].name, sc_get1(st, uid, 99), k + 1, 0, c[k].day);
	}
	{
		struct store_delta d = {99, 1, 0, 0};

		assert_int_equal(store_tokens_put(st, uid, &d, 1, -1),
		    ES_EINVAL);
		assert_int_equal(store_tokens_put(st, uid, &d, 1,
				     253402300800LL),
		    ES_EINVAL);
	}
}

void
test_tokens_unsorted(void **state)
{
	static const struct {
		const char *name;
		uint64_t a, b, c;
	} c[] = {
		{"descending", 5, 3, 9},
		{"duplicate", 5, 5, 9},
		{"last out of order", 5, 9, 7},
		{"high bit order", 0x8000000000000000ULL, 1, 2},
	};
	struct store *st = sc_S(state);
	uint32_t uid = sc_user(st, "u");

	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct store_delta d[3] = {{c[k].a, 1, 0, 0}, {c[k].b, 1, 0, 0},
		    {c[k].c, 1, 0, 0}};
		int rc = store_tokens_put(st, uid, d, 3, (time_t)TODAY * DAY);

		if (rc != ES_EINVAL)
			fail_msg("case %s: got %d, want %d", c[k].name, rc,
			    ES_EINVAL);
		for (int j = 0; j < 3; j++)
			sc_want_tok(
			    c[k].name, sc_get1(st, uid, d[j].token), 0, 0, 0);
	}
}

#define NBIG 1000

/* big_id - ids spread over the whole 64-bit range, ascending. */
static uint64_t
big_id(size_t i)
{
	return i == NBIG - 1 ? UINT64_MAX : (uint64_t)i * (UINT64_MAX / NBIG);
}

void
test_tokens_large_batch(void **state)
{
	struct store *st = sc_S(state);
	uint32_t uid = sc_user(st, "u");
	struct store_delta *d = calloc(NBIG, sizeof(*d));
	struct store_token *t = calloc(NBIG + 3, sizeof(*t));
	size_t above = 0;

	assert_non_null(d);
	assert_non_null(t);
	for (size_t i = 0; i < NBIG; i++) {
		d[i].token = big_id(i);
		d[i].spam = (int32_t)(i % 7);
		d[i].innocent = (int32_t)(i % 3);
		d[i].weight = (double)i * 0.25;
		above += d[i].token > (uint64_t)INT64_MAX;
	}
	assert_true(above > NBIG / 3);
	assert_int_equal(store_tokens_put(st, uid, d, NBIG,
			     (time_t)TODAY * DAY),
	    0);
	/* Read back in a scrambled order, with unknown ids and a duplicate
	 * mixed in, so matching cannot rely on position. */
	for (size_t i = 0; i < NBIG; i++)
		t[i].token = big_id((i * 7919) % NBIG);
	t[NBIG].token = 3;
	t[NBIG + 1].token = big_id(500);
	t[NBIG + 2].token = UINT64_MAX - 1;
	assert_int_equal(store_tokens_get(st, uid, t, NBIG + 3), 0);
	for (size_t i = 0; i < NBIG + 3; i++) {
		size_t j = i < NBIG ? (i * 7919) % NBIG : i == NBIG + 1 ? 500 :
									 SIZE_MAX;
		char name[32];

		snprintf(name, sizeof(name), "scrambled %zu", i);
		if (j == SIZE_MAX) {
			sc_want_tok(name, t[i], 0, 0, 0);
			continue;
		}
		sc_want_tok(name, t[i], j % 7, j % 3, TODAY);
		if (t[i].weight != (double)j * 0.25)
			fail_msg("case %s: got weight %g, want %g", name,
			    t[i].weight, (double)j * 0.25);
	}
	/* and in ascending order, as the engine asks */
	for (size_t i = 0; i < NBIG; i++)
		t[i].token = big_id(i);
	assert_int_equal(store_tokens_get(st, uid, t, NBIG), 0);
	for (size_t i = 0; i < NBIG; i++) {
		char name[32];

		snprintf(name, sizeof(name), "sorted %zu", i);
		sc_want_tok(name, t[i], i % 7, i % 3, TODAY);
	}
	free(d);
	free(t);
}

/* ---- isolation between users ---- */

static int
count_pair(const char *k, const char *v, void *arg)
{
	(void)k;
	(void)v;
	(*(size_t *)arg)++;
	return 0;
}

void
test_user_isolation(void **state)
{
	struct store *st = sc_S(state);
	uint32_t a = sc_user(st, "a"), b = sc_user(st, "b");
	struct store_totals ta = {.spam_learned = 3}, tb;
	void *data = (void *)1;
	size_t len = 7, n = 0;
	char v[16];

	sc_put1(st, a, 42, 5, 1, 0.5, (time_t)TODAY * DAY);
	assert_int_equal(store_sig_put(st, a, "abc", "xyz", 3, TODAY * DAY),
	    0);
	assert_int_equal(store_pref_set(st, a, "spamAction", "tag"), 0);
	assert_int_equal(store_totals_add(st, a, &ta), 0);

	sc_want_tok("other user's token", sc_get1(st, b, 42), 0, 0, 0);
	sc_want_tok("own token", sc_get1(st, a, 42), 5, 1, TODAY);
	assert_int_equal(store_sig_get(st, b, "abc", &data, &len),
	    ES_ENOTFOUND);
	assert_null(data);
	assert_int_equal(store_pref_get(st, b, "spamAction", v, sizeof(v)),
	    ES_ENOTFOUND);
	assert_int_equal(store_prefs(st, b, count_pair, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_totals_get(st, b, &tb), 0);
	assert_int_equal(tb.spam_learned, 0);
	/* b's writes leave a's rows alone */
	sc_put1(st, b, 42, -9, -9, 0, (time_t)TODAY * DAY);
	assert_int_equal(store_sig_delete(st, b, "abc"), 0);
	sc_want_tok("after other's write", sc_get1(st, a, 42), 5, 1, TODAY);
	assert_int_equal(store_sig_get(st, a, "abc", &data, &len), 0);
	assert_int_equal(len, 3);
	es_free(data);
}

/* ---- totals ---- */

void
test_totals(void **state)
{
	struct store *st = sc_S(state);
	uint32_t uid = sc_user(st, "u");
	struct store_totals t, d1 = {1, 2, 3, 4, 5, 6, 7, 8};
	struct store_totals d2 = {10, -1, -5, 0, -100, 6, 1, -8};
	const struct store_totals want = {11, 1, 0, 4, 0, 12, 8, 0};

	memset(&t, 0x5a, sizeof(t));
	assert_int_equal(store_totals_get(st, uid, &t), 0);
	assert_int_equal(t.spam_learned, 0);
	assert_int_equal(t.innocent_classified, 0);
	assert_int_equal(store_totals_add(st, uid, &d1), 0);
	assert_int_equal(store_totals_add(st, uid, &d2), 0);
	assert_int_equal(store_totals_get(st, uid, &t), 0);
	if (memcmp(&t, &want, sizeof(t)) != 0)
		fail_msg("totals: got %lld %lld %lld %lld %lld %lld %lld %lld, "
			 "want 11 1 0 4 0 12 8 0",
		    (long long)t.spam_learned, (long long)t.innocent_learned,
		    (long long)t.spam_misclassified,
		    (long long)t.innocent_misclassified,
		    (long long)t.spam_corpusfed, (long long)t.innocent_corpusfed,
		    (long long)t.spam_classified,
		    (long long)t.innocent_classified);
	/* a first add that is negative clamps a new row at zero */
	{
		uint32_t v = sc_user(st, "v");
		struct store_totals neg = {-1, -1, -1, -1, -1, -1, -1, -1};

		assert_int_equal(store_totals_add(st, v, &neg), 0);
		assert_int_equal(store_totals_get(st, v, &t), 0);
		assert_int_equal(t.spam_learned, 0);
		assert_int_equal(t.innocent_classified, 0);
	}
}
