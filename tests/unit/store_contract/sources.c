/*
 * sources.c - store contract: source reputation rows (add, get, list,
 * purge).
 */
#include "store_contract.h"

/* ---- sources ---- */

/* sc_src_get - the row of source (zero when there is none). */
struct store_source
sc_src_get(struct store *st, const char *source)
{
	struct store_source r;

	memset(&r, 0xa5, sizeof(r));
	strlcpy(r.source, source, sizeof(r.source));
	assert_int_equal(store_sources_get(st, &r, 1), 0);
	assert_string_equal(r.source, source);
	return r;
}

/* want_src - r has these counts and times. */
static void
want_src(const char *name, struct store_source r, uint64_t spam,
    uint64_t inno, uint64_t sc, uint64_t ic, uint64_t streak, int64_t first,
    int64_t last, int64_t last_spam)
{
	if (r.spam != spam || r.innocent != inno || r.spam_corrections != sc ||
	    r.innocent_corrections != ic || r.spam_streak != streak ||
	    r.first_seen != first || r.last_seen != last ||
	    r.last_spam != last_spam)
		fail_msg("case %s: got %llu %llu %llu %llu streak %llu times "
			 "%lld %lld %lld, want %llu %llu %llu %llu streak "
			 "%llu times %lld %lld %lld",
		    name, (unsigned long long)r.spam,
		    (unsigned long long)r.innocent,
		    (unsigned long long)r.spam_corrections,
		    (unsigned long long)r.innocent_corrections,
		    (unsigned long long)r.spam_streak, (long long)r.first_seen,
		    (long long)r.last_seen, (long long)r.last_spam,
		    (unsigned long long)spam, (unsigned long long)inno,
		    (unsigned long long)sc, (unsigned long long)ic,
		    (unsigned long long)streak, (long long)first,
		    (long long)last, (long long)last_spam);
}

/* sc_src_add - one delta. */
void
sc_src_add(struct store *st, const char *source, int32_t spam, int32_t inno,
    int32_t sc, int32_t ic, bool reset, time_t now)
{
	struct store_source_delta d = {source, spam, inno, sc, ic, reset};
	int rc = store_sources_add(st, &d, 1, now);

	if (rc != 0)
		fail_msg("add %s: %d %s", source, rc, store_errmsg(st));
}

void
test_sources(void **state)
{
	struct store *st = sc_S(state);
	const time_t t0 = (time_t)TODAY * DAY;
	struct store_source_delta two[2] = {{"192.0.2.0/24", 1, 0, 0, 0, false},
	    {"192.0.2.7", 1, 0, 0, 0, false}};
	struct store_source rows[3];

	want_src(
	    "unknown", sc_src_get(st, "192.0.2.7"), 0, 0, 0, 0, 0, 0, 0, 0);
	/* a message's two keys in one call, in order */
	assert_int_equal(store_sources_add(st, two, 2, t0), 0);
	want_src("first spam", sc_src_get(st, "192.0.2.7"), 1, 0, 0, 0, 1, t0,
	    t0, t0);
	want_src("first spam net", sc_src_get(st, "192.0.2.0/24"), 1, 0, 0, 0,
	    1, t0, t0, t0);
	/* the streak grows with spam, restarts on an innocent verdict */
	sc_src_add(st, "192.0.2.7", 2, 0, 0, 0, false, t0 + 10);
	want_src("streak", sc_src_get(st, "192.0.2.7"), 3, 0, 0, 0, 3, t0,
	    t0 + 10, t0 + 10);
	sc_src_add(st, "192.0.2.7", 0, 1, 0, 0, false, t0 + 20);
	want_src("innocent", sc_src_get(st, "192.0.2.7"), 3, 1, 0, 0, 0, t0,
	    t0 + 20, t0 + 10);
	sc_src_add(st, "192.0.2.7", 1, 0, 0, 0, false, t0 + 30);
	/* a missed spam keeps the streak, a false positive ends it */
	sc_src_add(st, "192.0.2.7", 0, 0, 1, 0, false, t0 + 40);
	want_src("missed", sc_src_get(st, "192.0.2.7"), 4, 1, 1, 0, 1, t0,
	    t0 + 40, t0 + 30);
	sc_src_add(st, "192.0.2.7", 0, 0, 0, 1, true, t0 + 50);
	want_src("false positive", sc_src_get(st, "192.0.2.7"), 4, 1, 1, 1, 0,
	    t0, t0 + 50, t0 + 30);
	/* counts never below zero */
	sc_src_add(st, "192.0.2.7", -10, -10, -10, -10, false, t0 + 60);
	want_src("clamped", sc_src_get(st, "192.0.2.7"), 0, 0, 0, 0, 0, t0,
	    t0 + 60, t0 + 30);
	/* a correction may be the first the store hears of a source */
	sc_src_add(st, "2001:db8::/64", 0, 0, 0, 1, true, t0 + 70);
	want_src("correction first", sc_src_get(st, "2001:db8::/64"), 0, 0, 0,
	    1, 0, t0 + 70, t0 + 70, 0);

	/* several rows in one read */
	strlcpy(rows[0].source, "2001:db8::/64", sizeof(rows[0].source));
	strlcpy(rows[1].source, "198.51.100.1", sizeof(rows[1].source));
	strlcpy(rows[2].source, "192.0.2.0/24", sizeof(rows[2].source));
	assert_int_equal(store_sources_get(st, rows, 3), 0);
	want_src("get 0", rows[0], 0, 0, 0, 1, 0, t0 + 70, t0 + 70, 0);
	want_src("get 1", rows[1], 0, 0, 0, 0, 0, 0, 0, 0);
	want_src("get 2", rows[2], 1, 0, 0, 0, 1, t0, t0, t0);

	/* misuse: order, empty or long names, too many rows */
	two[0].source = "192.0.2.8";
	assert_int_equal(store_sources_add(st, two, 2, t0), ES_EINVAL);
	two[0].source = "192.0.2.7";
	assert_int_equal(store_sources_add(st, two, 2, t0), ES_EINVAL);
	two[0].source = "";
	assert_int_equal(store_sources_add(st, two, 1, t0), ES_EINVAL);
	two[0].source = "0123456789012345678901234567890123456789"
			"01234567890123456789012345";
	assert_int_equal(store_sources_add(st, two, 1, t0), ES_EINVAL);
	rows[0].source[0] = '\0';
	assert_int_equal(store_sources_get(st, rows, 1), ES_EINVAL);
	assert_int_equal(store_sources_get(st, rows, STORE_SOURCES_GET_MAX + 1),
	    ES_EINVAL);
	want_src("after misuse", sc_src_get(st, "192.0.2.7"), 0, 0, 0, 0, 0, t0,
	    t0 + 60, t0 + 30);

	/* a rolled back transaction leaves no trace */
	assert_int_equal(store_begin(st, true), 0);
	sc_src_add(st, "203.0.113.9", 5, 0, 0, 0, false, t0);
	sc_src_add(st, "192.0.2.7", 5, 0, 0, 0, false, t0 + 90);
	store_rollback(st);
	want_src("rolled back new", sc_src_get(st, "203.0.113.9"), 0, 0, 0, 0,
	    0, 0, 0, 0);
	want_src("rolled back old", sc_src_get(st, "192.0.2.7"), 0, 0, 0, 0, 0,
	    t0, t0 + 60, t0 + 30);
}

/* The rows a listing saw. */
struct seen {
	size_t n;
	char src[8][STORE_SOURCE_MAX + 1];
	uint64_t spam[8];
	size_t stop; /* stop after this many (0: never) */
};

static int
on_source(const struct store_source *r, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8) {
		strlcpy(s->src[s->n], r->source, sizeof(s->src[0]));
		s->spam[s->n] = r->spam;
	}
	s->n++;
	return s->stop != 0 && s->n >= s->stop;
}

void
test_sources_list(void **state)
{
	struct store *st = sc_S(state);
	const time_t t0 = (time_t)TODAY * DAY;
	struct seen s = {0};

	sc_src_add(st, "b", 2, 0, 0, 0, false, t0 - 5 * DAY);
	sc_src_add(st, "a", 1, 0, 0, 0, false, t0);
	sc_src_add(st, "c", 3, 0, 0, 0, false, t0 - 1);
	assert_int_equal(store_sources_list(st, 0, on_source, &s), 0);
	if (s.n != 3 || strcmp(s.src[0], "a") != 0 ||
	    strcmp(s.src[1], "b") != 0 || strcmp(s.src[2], "c") != 0 ||
	    s.spam[0] != 1 || s.spam[1] != 2 || s.spam[2] != 3)
		fail_msg("all: got %zu rows, first %s", s.n, s.src[0]);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_sources_list(st, t0 - 1, on_source, &s), 0);
	if (s.n != 2 || strcmp(s.src[0], "a") != 0 ||
	    strcmp(s.src[1], "c") != 0)
		fail_msg("since: got %zu rows (%s, %s), want a, c", s.n,
		    s.src[0], s.src[1]);
	memset(&s, 0, sizeof(s));
	s.stop = 1;
	assert_int_equal(store_sources_list(st, 0, on_source, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(store_sources_list(st, 0, NULL, NULL), ES_EINVAL);
}

void
test_purge_sources(void **state)
{
	static const struct {
		const char *src;
		int ago;   /* days since last seen */
		int extra; /* seconds past that day's start */
		bool kept;
	} c[] = {
		{"10.0.0.1", 31, 0, false}, {"10.0.0.2", 31, 86399, false},
		{"10.0.0.3", 30, 0, true},  {"10.0.0.4", 2, 0, true},
		{"10.0.0.5", 400, 5, false}, {"10.0.0.6", 0, 0, true},
		{"10.0.0.7", 45, 0, false},
	};
	struct store *st = sc_S(state);
	uint32_t uid = sc_user(st, "u");
	struct store_purge_rules r = {.source_days = 30, .batch = 2};
	struct store_purge_stats ps;
	struct progress pg = {0};

	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++)
		sc_src_add(st, c[k].src, 1, 0, 0, 0, false,
		    (time_t)(TODAY - c[k].ago) * DAY + c[k].extra);
	sc_put1(st, uid, 1, 1, 0, 0, (time_t)(TODAY - 5000) * DAY);
	assert_int_equal(store_purge(st, &r, (time_t)TODAY * DAY + 600,
			     sc_on_progress, &pg, &ps),
	    0);
	assert_int_equal(ps.sources, 4);
	assert_int_equal(ps.signatures + ps.unused + ps.rare + ps.single, 0);
	assert_int_equal(pg.n, 3); /* 2 + 2 + 0 */
	assert_string_equal(pg.rule[0], "sources");
	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct store_source row = sc_src_get(st, c[k].src);

		if ((row.spam == 1) != c[k].kept)
			fail_msg("case %s: got kept %d, want %d", c[k].src,
			    row.spam == 1, c[k].kept);
	}
	sc_want_tok("token untouched by sources rule", sc_get1(st, uid, 1), 1,
	    0, TODAY - 5000);
}
