/*
 * history.c - store contract: history rows (list, misuse, corrections,
 * purge).
 */
#include "store_contract.h"

/* ---- history ---- */

/* The rows a history listing saw (copies of their texts). */
struct hseen {
	size_t n;
	int64_t id[16];
	int64_t time[16];
	char subject[16][64];
	char sig[16][40];
	enum store_verdict verdict[16];
	enum store_action action[16];
	enum store_correction corr[16];
	int64_t corrected[16];
	size_t stop; /* stop after this many (0: never) */
};

static int
on_history(const struct store_history *r, void *arg)
{
	struct hseen *s = arg;

	if (s->n < 16) {
		s->id[s->n] = r->id;
		s->time[s->n] = r->time;
		strlcpy(s->subject[s->n], r->subject, sizeof(s->subject[0]));
		strlcpy(s->sig[s->n], r->signature, sizeof(s->sig[0]));
		s->verdict[s->n] = r->verdict;
		s->action[s->n] = r->action;
		s->corr[s->n] = r->correction;
		s->corrected[s->n] = r->corrected;
	}
	s->n++;
	return s->stop != 0 && s->n >= s->stop;
}

/* hist_add - add a row for uid; its id. */
static int64_t
hist_add(struct store *st, uint32_t uid, int64_t t, enum store_verdict v,
    const char *subject, const char *sig)
{
	struct store_history r = {.time = t, .queue_id = "4XyZ1", .client =
	    "192.0.2.7", .sender = "bounce@example.org", .from =
	    "Alice <alice@example.org>", .subject = subject, .verdict = v,
	    .probability = v == STORE_VERDICT_SPAM ? 0.99 : 0.01,
	    .signature = sig, .action = STORE_ACTION_TAGGED};
	int64_t id = 0;
	int rc = store_history_add(st, uid, &r, &id);

	if (rc != 0 || id <= 0)
		fail_msg("history add %s: %d %s", subject, rc,
		    store_errmsg(st));
	return id;
}

/* hist_list - the subjects q lists for uid, comma-separated, into out. */
static void
want_hist(struct store *st, uint32_t uid, const char *name,
    const struct store_history_query *q, const char *want)
{
	struct hseen s = {0};
	char got[512] = "";
	uint64_t n = 99;
	int rc = store_history_list(st, uid, q, on_history, &s);

	if (rc != 0)
		fail_msg("case %s: list %d %s", name, rc, store_errmsg(st));
	for (size_t i = 0; i < s.n && i < 16; i++) {
		if (i > 0)
			strlcat(got, ",", sizeof(got));
		strlcat(got, s.subject[i], sizeof(got));
	}
	if (strcmp(got, want) != 0)
		fail_msg("case %s: got \"%s\", want \"%s\"", name, got, want);
	/* the count ignores limit and offset */
	if (q == NULL || (q->limit == 0 && q->offset == 0)) {
		assert_int_equal(store_history_count(st, uid, q, &n), 0);
		if (n != s.n)
			fail_msg("case %s: count %llu, listed %zu", name,
			    (unsigned long long)n, s.n);
	}
}

void
test_history_list(void **state)
{
	struct store *st = sc_S(state);
	const time_t t0 = (time_t)TODAY * DAY;
	uint32_t u = sc_user(st, "u"), v = sc_user(st, "v");
	struct store_history_query q;
	struct store_history full = {.time = t0 + 5, .queue_id = "QID9",
	    .client = "2001:db8::1", .sender = "s@example.net",
	    .from = "\"B\xc3\xa4r\" <b@example.net>",
	    .subject = "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 100% _off_",
	    .verdict = STORE_VERDICT_WHITELISTED, .probability = 0.25,
	    .signature = "0123456789abcdef0123456789abcdef",
	    .action = STORE_ACTION_REJECTED, .correction =
	    STORE_CORRECTION_SPAM, .corrected = 77};
	struct check {
		int64_t id;
		struct store_history r;
		bool seen;
	} c = {0};
	int64_t a, b, last;

	a = hist_add(st, u, t0 - 3 * DAY, STORE_VERDICT_INNOCENT, "old", "");
	b = hist_add(st, u, t0 - DAY, STORE_VERDICT_SPAM, "Cheap PILLS", "s1");
	if (b <= a)
		fail_msg("ids: got %lld then %lld, want rising", (long long)a,
		    (long long)b);
	hist_add(st, v, t0, STORE_VERDICT_SPAM, "not yours", "s1");
	assert_int_equal(store_history_add(st, u, &full, &last), 0);
	hist_add(st, u, t0, STORE_VERDICT_INNOCENT, "50x off", "s3");

	/* every field as given; correction and corrected start empty */
	memset(&q, 0, sizeof(q));
	q.id = last;
	{
		struct hseen s = {0};

		assert_int_equal(store_history_list(st, u, &q, on_history, &s),
		    0);
		assert_int_equal(s.n, 1);
		assert_true(s.id[0] == last && s.time[0] == t0 + 5);
		assert_string_equal(s.subject[0], full.subject);
		assert_string_equal(s.sig[0], full.signature);
		assert_int_equal(s.verdict[0], STORE_VERDICT_WHITELISTED);
		assert_int_equal(s.action[0], STORE_ACTION_REJECTED);
		assert_int_equal(s.corr[0], STORE_CORRECTION_NONE);
		assert_true(s.corrected[0] == 0);
	}
	(void)c;

	want_hist(st, u, "all, newest first", NULL,
	    "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 100% _off_,50x off,Cheap PILLS,old");
	want_hist(st, v, "other user", NULL, "not yours");
	want_hist(st, 12345, "no rows", NULL, "");
	memset(&q, 0, sizeof(q));
	q.since = t0 - DAY;
	want_hist(st, u, "since", &q,
	    "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 100% _off_,50x off,Cheap PILLS");
	q.until = t0;
	want_hist(st, u, "since until", &q, "Cheap PILLS");
	memset(&q, 0, sizeof(q));
	q.verdict = STORE_VERDICT_INNOCENT;
	want_hist(st, u, "verdict", &q, "50x off,old");
	q.verdict = STORE_VERDICT_WHITELISTED;
	want_hist(st, u, "whitelisted", &q,
	    "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 100% _off_");
	memset(&q, 0, sizeof(q));
	q.search = "pIlLs";
	want_hist(st, u, "search, any case", &q, "Cheap PILLS");
	q.search = "0% ";
	want_hist(st, u, "percent is a character", &q,
	    "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 100% _off_");
	q.search = "_o";
	want_hist(st, u, "underscore is a character", &q,
	    "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 100% _off_");
	q.search = "s@EXAMPLE.net";
	want_hist(st, u, "search the sender", &q,
	    "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 100% _off_");
	q.search = "B\xc3\xa4r";
	want_hist(st, u, "search From:, UTF-8", &q,
	    "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 100% _off_");
	q.search = "alice@";
	q.verdict = STORE_VERDICT_SPAM;
	want_hist(st, u, "search and verdict", &q, "Cheap PILLS");
	q.search = "";
	q.verdict = STORE_VERDICT_ANY;
	want_hist(st, u, "empty search", &q,
	    "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 100% _off_,50x off,Cheap PILLS,old");
	memset(&q, 0, sizeof(q));
	q.limit = 2;
	want_hist(st, u, "limit", &q,
	    "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 100% _off_,50x off");
	q.offset = 2;
	want_hist(st, u, "limit offset", &q, "Cheap PILLS,old");
	q.offset = 3;
	q.limit = 0;
	want_hist(st, u, "offset", &q, "old");
	q.offset = 9;
	want_hist(st, u, "offset past the end", &q, "");
	memset(&q, 0, sizeof(q));
	q.id = b;
	want_hist(st, u, "by id", &q, "Cheap PILLS");
	want_hist(st, v, "by id, other user", &q, "");
	{
		struct hseen s = {.stop = 1};

		assert_int_equal(store_history_list(st, u, NULL, on_history,
				     &s), 0);
		assert_int_equal(s.n, 1);
	}
}

void
test_history_misuse(void **state)
{
	struct store *st = sc_S(state);
	const time_t t0 = (time_t)TODAY * DAY;
	uint32_t u = sc_user(st, "u");
	char big[STORE_HISTORY_TEXT_MAX + 2];
	struct store_history r = {.time = t0, .verdict = STORE_VERDICT_SPAM,
	    .probability = 1.0, .action = STORE_ACTION_TAGGED};
	struct store_history_query q = {0};
	uint64_t n;
	int64_t id = 5;

	/* NULL texts are "" */
	assert_int_equal(store_history_add(st, u, &r, &id), 0);
	assert_true(id > 0);
	want_hist(st, u, "empty texts", NULL, "");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	r.subject = big; /* 801 bytes: never cut by the store */
	assert_int_equal(store_history_add(st, u, &r, &id), ES_EINVAL);
	assert_true(id == 0);
	big[STORE_HISTORY_TEXT_MAX] = '\0';
	assert_int_equal(store_history_add(st, u, &r, NULL), 0);
	r.subject = "";
	r.signature = "0123456789abcdef0123456789abcdef0";
	assert_int_equal(store_history_add(st, u, &r, NULL), ES_EINVAL);
	r.signature = "";
	r.queue_id = big;
	assert_int_equal(store_history_add(st, u, &r, NULL), ES_EINVAL);
	r.queue_id = "";
	r.verdict = STORE_VERDICT_ANY;
	assert_int_equal(store_history_add(st, u, &r, NULL), ES_EINVAL);
	r.verdict = 9;
	assert_int_equal(store_history_add(st, u, &r, NULL), ES_EINVAL);
	r.verdict = STORE_VERDICT_SPAM;
	r.action = STORE_ACTION_NONE;
	assert_int_equal(store_history_add(st, u, &r, NULL), ES_EINVAL);
	r.action = STORE_ACTION_TAGGED;
	r.probability = 1.5;
	assert_int_equal(store_history_add(st, u, &r, NULL), ES_EINVAL);
	r.probability = 0.5;
	r.time = -1;
	assert_int_equal(store_history_add(st, u, &r, NULL), ES_EINVAL);
	assert_int_equal(store_history_add(st, u, NULL, NULL), ES_EINVAL);
	assert_int_equal(store_history_count(st, u, NULL, &n), 0);
	assert_int_equal(n, 2);

	assert_int_equal(store_history_list(st, u, NULL, NULL, NULL),
	    ES_EINVAL);
	q.search = big;
	assert_int_equal(store_history_count(st, u, &q, &n), ES_EINVAL);
	q.search = NULL;
	q.verdict = 7;
	assert_int_equal(store_history_count(st, u, &q, &n), ES_EINVAL);
	assert_int_equal(store_history_correct(st, u, "", 
			     STORE_CORRECTION_SPAM, t0), ES_EINVAL);
	assert_int_equal(store_history_correct(st, u, "abc", 5, t0),
	    ES_EINVAL);
	assert_int_equal(store_history_set_action(st, u, 0,
			     STORE_ACTION_TAGGED), ES_EINVAL);
	assert_int_equal(store_history_set_action(st, u, id,
			     STORE_ACTION_NONE), ES_EINVAL);

	/* the texts of the columns */
	assert_string_equal(store_verdict_text(STORE_VERDICT_WHITELISTED),
	    "whitelisted");
	assert_null(store_verdict_text(STORE_VERDICT_ANY));
	assert_string_equal(store_action_text(STORE_ACTION_TEMPFAILED),
	    "tempfailed");
	assert_string_equal(store_correction_text(STORE_CORRECTION_NONE), "");
	assert_int_equal(store_verdict_of("spam"), STORE_VERDICT_SPAM);
	assert_int_equal(store_verdict_of("Spam"), STORE_VERDICT_ANY);
	assert_int_equal(store_action_of("rejected"), STORE_ACTION_REJECTED);
	assert_int_equal(store_correction_of("innocent"),
	    STORE_CORRECTION_INNOCENT);
	assert_int_equal(store_correction_of(""), STORE_CORRECTION_NONE);
}

void
test_history_correct(void **state)
{
	struct store *st = sc_S(state);
	const time_t t0 = (time_t)TODAY * DAY;
	uint32_t u = sc_user(st, "u"), v = sc_user(st, "v");
	struct store_history_query q = {0};
	struct hseen s = {0};
	int64_t a, vid;

	a = hist_add(st, u, t0, STORE_VERDICT_INNOCENT, "a", "sigA");
	hist_add(st, u, t0 + 1, STORE_VERDICT_SPAM, "b", "sigB");
	vid = hist_add(st, v, t0, STORE_VERDICT_INNOCENT, "va", "sigA");

	assert_int_equal(store_history_correct(st, u, "sigA",
			     STORE_CORRECTION_SPAM, t0 + 60), 0);
	assert_int_equal(store_history_list(st, u, NULL, on_history, &s), 0);
	assert_int_equal(s.n, 2);
	if (s.corr[1] != STORE_CORRECTION_SPAM || s.corrected[1] != t0 + 60 ||
	    s.corr[0] != STORE_CORRECTION_NONE || s.corrected[0] != 0)
		fail_msg("corrected: got %d at %lld and %d, want spam at %lld "
			 "and none",
		    s.corr[1], (long long)s.corrected[1], s.corr[0],
		    (long long)(t0 + 60));
	/* another user's row of the same signature id is untouched */
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_history_list(st, v, NULL, on_history, &s), 0);
	assert_int_equal(s.corr[0], STORE_CORRECTION_NONE);
	assert_int_equal(store_history_correct(st, u, "nosuch",
			     STORE_CORRECTION_SPAM, t0), ES_ENOTFOUND);
	assert_int_equal(store_history_correct(st, 999, "sigA",
			     STORE_CORRECTION_SPAM, t0), ES_ENOTFOUND);
	/* corrected back, then cleared */
	assert_int_equal(store_history_correct(st, u, "sigA",
			     STORE_CORRECTION_INNOCENT, t0 + 90), 0);
	memset(&s, 0, sizeof(s));
	q.id = a;
	assert_int_equal(store_history_list(st, u, &q, on_history, &s), 0);
	assert_true(s.corr[0] == STORE_CORRECTION_INNOCENT &&
	    s.corrected[0] == t0 + 90);
	assert_int_equal(store_history_correct(st, u, "sigA",
			     STORE_CORRECTION_NONE, t0 + 99), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_history_list(st, u, &q, on_history, &s), 0);
	assert_true(s.corr[0] == STORE_CORRECTION_NONE && s.corrected[0] == 0);

	/* the action of one row, the owner's only */
	assert_int_equal(store_history_set_action(st, u, a,
			     STORE_ACTION_TEMPFAILED), 0);
	assert_int_equal(store_history_set_action(st, u, vid,
			     STORE_ACTION_TEMPFAILED), ES_ENOTFOUND);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_history_list(st, u, &q, on_history, &s), 0);
	assert_int_equal(s.action[0], STORE_ACTION_TEMPFAILED);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_history_list(st, v, NULL, on_history, &s), 0);
	assert_int_equal(s.action[0], STORE_ACTION_TAGGED);

	/* inside a transaction: a rollback takes the row and the change */
	assert_int_equal(store_begin(st, true), 0);
	hist_add(st, u, t0 + 2, STORE_VERDICT_SPAM, "gone", "sigC");
	assert_int_equal(store_history_correct(st, u, "sigB",
			     STORE_CORRECTION_INNOCENT, t0 + 100), 0);
	store_rollback(st);
	want_hist(st, u, "rolled back", NULL, "b,a");
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_history_list(st, u, NULL, on_history, &s), 0);
	assert_int_equal(s.corr[0], STORE_CORRECTION_NONE);
	/* and a commit keeps them */
	assert_int_equal(store_begin(st, true), 0);
	hist_add(st, u, t0 + 2, STORE_VERDICT_SPAM, "kept", "sigC");
	assert_int_equal(store_commit(st), 0);
	want_hist(st, u, "committed", NULL, "kept,b,a");
}

void
test_purge_history(void **state)
{
	static const struct {
		const char *subject;
		int ago;   /* days */
		int extra; /* seconds past that day's start */
		bool kept;
	} c[] = {
		{"h1", 15, 0, false}, {"h2", 15, 86399, false},
		{"h3", 14, 0, true},  {"h4", 2, 0, true},
		{"h5", 400, 5, false}, {"h6", 0, 0, true},
		{"h7", 20, 0, false},
	};
	struct store *st = sc_S(state);
	uint32_t u = sc_user(st, "u"), v = sc_user(st, "v");
	struct store_purge_rules r = {.history_days = 14, .batch = 2};
	struct store_purge_stats ps;
	struct progress pg = {0};
	struct hseen s = {0};
	size_t kept = 0;

	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++)
		hist_add(st, k % 2 ? u : v,
		    (time_t)(TODAY - c[k].ago) * DAY + c[k].extra,
		    STORE_VERDICT_SPAM, c[k].subject, "");
	sc_src_add(
	    st, "192.0.2.1", 1, 0, 0, 0, false, (time_t)(TODAY - 90) * DAY);
	assert_int_equal(store_purge(st, &r, (time_t)TODAY * DAY + 600,
			     sc_on_progress, &pg, &ps),
	    0);
	assert_int_equal(ps.history, 4);
	assert_int_equal(ps.signatures + ps.unused + ps.rare + ps.single +
	    ps.sources, 0);
	assert_int_equal(pg.n, 3); /* 2 + 2 + 0 */
	assert_string_equal(pg.rule[0], "history");
	assert_int_equal(store_history_list(st, u, NULL, on_history, &s), 0);
	assert_int_equal(store_history_list(st, v, NULL, on_history, &s), 0);
	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		bool found = false;

		for (size_t i = 0; i < s.n && i < 16; i++)
			found |= strcmp(s.subject[i], c[k].subject) == 0;
		if (found != c[k].kept)
			fail_msg("case %s: got kept %d, want %d",
			    c[k].subject, found, c[k].kept);
		kept += c[k].kept;
	}
	assert_int_equal(s.n, kept);
	assert_int_equal(sc_src_get(st, "192.0.2.1").spam, 1);
}
