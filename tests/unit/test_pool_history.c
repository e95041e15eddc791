/*
 * test_pool_history.c - the milter pool's history writes (pool.c) on a
 * SQLite store in a private directory: a message's row goes in with its
 * learning and carries the signature just stored; a row without
 * learning (a sender list's verdict) goes alone; an action changes in a
 * write of its own, for the row's owner only; several threads' rows
 * share the group writer and each gets its own id. Each row's verdict
 * is counted in the daily counts in the same write, and a correction
 * (cls_engine_correct) on the day of the message it corrects.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cls_engine.h"
#include "es_alloc.h"
#include "es_err.h"
#include "milter.h"
#include "store.h"

struct fix {
	char dir[256];
	char path[300];
	struct store_params p;
	struct store *st; /* the test's own handle, for checks */
	uint32_t uid;
};

static const unsigned char rnd[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
    12, 13, 14, 15, 16};

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	char err[256];

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/es-poolh-XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/es.db", f->dir);
	f->p.driver = "sqlite";
	f->p.path = f->path;
	f->p.busy_timeout_ms = 2000;
	if (store_open(&f->p, &f->st, err, sizeof(err)) != 0 ||
	    store_user_uid(f->st, "bob@example.org", true, &f->uid) != 0)
		return -1;
	if (mlt_pool_init(&f->p, 4, err, sizeof(err)) != 0) {
		print_error("pool: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;
	char p[400];

	mlt_pool_destroy();
	store_close(f->st);
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", f->path,
		    i == 0 ? "" : i == 1 ? "-wal" : "-shm");
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s-purge", f->path);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* row - a history row for uid (texts are literals). */
static struct store_history
row(uint32_t uid, const char *subject)
{
	struct store_history h = {.uid = uid, .time = 1800000000,
	    .queue_id = "Q1", .client = "192.0.2.7", .sender = "a@example.net",
	    .from = "A <a@example.net>", .subject = subject,
	    .verdict = STORE_VERDICT_SPAM, .probability = 1.0,
	    .action = STORE_ACTION_TAGGED};

	return h;
}

struct got {
	size_t n;
	int64_t id;
	char subject[64];
	char sig[40];
	enum store_action action;
};

static int
on_row(const struct store_history *r, void *arg)
{
	struct got *g = arg;

	if (g->n++ == 0) {
		g->id = r->id;
		strlcpy(g->subject, r->subject, sizeof(g->subject));
		strlcpy(g->sig, r->signature, sizeof(g->sig));
		g->action = r->action;
	}
	return 0;
}

/* get - the row of id in the fix's own handle. */
static struct got
get(struct fix *f, int64_t id)
{
	struct store_history_query q = {.id = id};
	struct got g = {0};

	assert_int_equal(store_history_list(f->st, f->uid, &q, on_row, &g),
	    0);
	return g;
}

/* daily - the fix user's daily counts: the number of rows, the first. */
static int
on_daily(const struct store_daily *r, void *arg)
{
	struct store_daily *d = arg;

	if (d->uid++ == 0) {
		d->day = r->day;
		d->spam = r->spam;
		d->innocent = r->innocent;
		d->whitelisted = r->whitelisted;
		d->missed_spam = r->missed_spam;
		d->false_positives = r->false_positives;
	}
	return 0;
}

static void
want_daily(struct fix *f, int32_t day, int64_t spam, int64_t missed,
    int64_t fp)
{
	struct store_daily d = {0};

	assert_int_equal(store_daily_list(f->st, f->uid, 0, on_daily, &d), 0);
	assert_int_equal(d.uid, 1); /* rows */
	assert_int_equal(d.day, day);
	assert_int_equal(d.spam, spam);
	assert_int_equal(d.innocent + d.whitelisted, 0);
	assert_int_equal(d.missed_spam, missed);
	assert_int_equal(d.false_positives, fp);
}

#define ROW_DAY (1800000000 / 86400)

static const char msg[] =
    "From: promo@cheap-pills.biz\r\nSubject: cheap pills\r\n\r\n"
    "Buy cheap pills now, huge discount, casino bonus credits.\r\n";

/* A scored message's row is written with its learning, signature set. */
static void
test_learn_with_row(void **state)
{
	struct fix *f = *state;
	struct cls_engine_result res;
	struct cls_engine_cfg cfg;
	struct store_history h = row(f->uid, "learned");
	struct timespec dl;
	struct mlt_slot *s;
	char err[256] = "";
	void *data = NULL;
	size_t len = 0;
	struct got g;

	cls_engine_cfg_default(&cfg);
	mlt_deadline_in(5000, &dl);
	assert_int_equal(mlt_pool_get(&dl, &s, err, sizeof(err)), 0);
	assert_int_equal(cls_engine_tokenize(s->eng, &cfg, NULL, msg,
			     strlen(msg), &res, err, sizeof(err)), 0);
	assert_int_equal(cls_engine_score_tokenized(s->eng, s->st, f->uid,
			     &cfg, &res, err, sizeof(err)), 0);
	h.id = -1;
	if (mlt_pool_learn(s, rnd, 1800000000, &dl, &res, &h, err,
		sizeof(err)) != 0)
		fail_msg("learn: %s", err);
	mlt_pool_put(s, false);
	assert_true(h.id > 0);
	assert_true(res.sig[0] != '\0');
	g = get(f, h.id);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.subject, "learned");
	assert_string_equal(g.sig, res.sig); /* the signature just stored */
	assert_int_equal(store_sig_get(f->st, f->uid, res.sig, &data, &len),
	    0);
	es_free(data);
	want_daily(f, ROW_DAY, 1, 0, 0);

	/* the action changes later, for the owner only */
	assert_int_equal(mlt_pool_history_action(f->uid, h.id,
			     STORE_ACTION_TEMPFAILED, &dl, err, sizeof(err)),
	    0);
	assert_int_equal(get(f, h.id).action, STORE_ACTION_TEMPFAILED);
	assert_int_equal(mlt_pool_history_action(f->uid + 1, h.id,
			     STORE_ACTION_REJECTED, &dl, err, sizeof(err)),
	    ES_ENOTFOUND);
	assert_int_equal(get(f, h.id).action, STORE_ACTION_TEMPFAILED);
}

/* A correction counts on the message's day, three days later; one that
 * replaces an earlier correction undoes the earlier one's count. */
static void
test_correction_counted(void **state)
{
	struct fix *f = *state;
	struct cls_engine_result res, cr;
	struct cls_engine_cfg cfg;
	struct store_history h = row(f->uid, "to correct");
	struct store_daily earlier = {0};
	struct cls_engine *e = cls_engine_new();
	bool to_spam;
	struct timespec dl;
	struct mlt_slot *s;
	char err[256] = "";

	assert_non_null(e);
	cls_engine_cfg_default(&cfg);
	mlt_deadline_in(5000, &dl);
	assert_int_equal(mlt_pool_get(&dl, &s, err, sizeof(err)), 0);
	assert_int_equal(cls_engine_tokenize(s->eng, &cfg, NULL, msg,
			     strlen(msg), &res, err, sizeof(err)), 0);
	assert_int_equal(cls_engine_score_tokenized(s->eng, s->st, f->uid,
			     &cfg, &res, err, sizeof(err)), 0);
	if (mlt_pool_learn(s, rnd, 1800000000, &dl, &res, &h, err,
		sizeof(err)) != 0)
		fail_msg("learn: %s", err);
	mlt_pool_put(s, false);
	want_daily(f, ROW_DAY, 1, 0, 0);
	/* as if corrected before to the verdict's class (counted then) */
	to_spam = res.result != CLS_SPAM;
	if (to_spam)
		earlier.false_positives = 1;
	else
		earlier.missed_spam = 1;
	assert_int_equal(store_history_correct(f->st, f->uid, res.sig,
			     to_spam ? STORE_CORRECTION_INNOCENT
				     : STORE_CORRECTION_SPAM,
			     1800000000 + 3600), 0);
	assert_int_equal(store_daily_add(f->st, f->uid, 1800000000, &earlier),
	    0);
	want_daily(f, ROW_DAY, 1, !to_spam, to_spam);
	if (cls_engine_correct(e, f->st, f->uid, &cfg, res.sig,
		to_spam ? CLS_CLASS_SPAM : CLS_CLASS_INNOCENT,
		1800000000 + 3 * 86400, &cr, err, sizeof(err)) != 0)
		fail_msg("correct: %s", err);
	cls_engine_free(e);
	assert_true(cr.changed);
	/* the earlier one undone, this one on the message's day */
	want_daily(f, ROW_DAY, 1, to_spam, !to_spam);
}

/* A row without learning goes through the writer alone, no signature. */
static void
test_row_alone(void **state)
{
	struct fix *f = *state;
	struct store_history h = row(f->uid, "listed");
	struct timespec dl;
	struct mlt_slot *s;
	char err[256] = "";
	struct got g;

	h.signature = "stale"; /* the pool sets it: none */
	mlt_deadline_in(5000, &dl);
	assert_int_equal(mlt_pool_get(&dl, &s, err, sizeof(err)), 0);
	if (mlt_pool_history(s, &dl, &h, err, sizeof(err)) != 0)
		fail_msg("history: %s", err);
	mlt_pool_put(s, false);
	assert_true(h.id > 0);
	g = get(f, h.id);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.subject, "listed");
	assert_string_equal(g.sig, "");
	/* a row the store refuses fails, with the store's reason */
	h = row(f->uid, "bad");
	h.verdict = STORE_VERDICT_ANY;
	assert_int_equal(mlt_pool_get(&dl, &s, err, sizeof(err)), 0);
	assert_int_equal(mlt_pool_history(s, &dl, &h, err, sizeof(err)),
	    ES_EINVAL);
	mlt_pool_put(s, false);
	assert_true(h.id == 0);
	if (strstr(err, "history") == NULL)
		fail_msg("no reason: \"%s\"", err);
	want_daily(f, ROW_DAY, 1, 0, 0); /* the refused row not counted */
}

#define THREADS 4
#define ROWS 25

struct worker {
	uint32_t uid;
	int64_t ids[ROWS];
	int rc;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct timespec dl;
	struct mlt_slot *s;
	char err[256];

	for (int i = 0; i < ROWS && w->rc == 0; i++) {
		struct store_history h = row(w->uid, "threaded");

		mlt_deadline_in(10000, &dl);
		if ((w->rc = mlt_pool_get(&dl, &s, err, sizeof(err))) != 0)
			break;
		w->rc = mlt_pool_history(s, &dl, &h, err, sizeof(err));
		mlt_pool_put(s, false);
		w->ids[i] = h.id;
	}
	return NULL;
}

/* Threads' rows share the group writer; every row is there once. */
static void
test_threads(void **state)
{
	struct fix *f = *state;
	struct worker w[THREADS];
	pthread_t t[THREADS];
	uint64_t n = 0;

	for (int i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].uid = f->uid;
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].rc, 0);
	}
	assert_int_equal(store_history_count(f->st, f->uid, NULL, &n), 0);
	assert_int_equal(n, THREADS * ROWS);
	want_daily(f, ROW_DAY, THREADS * ROWS, 0, 0);
	for (int i = 0; i < THREADS; i++)
		for (int k = 0; k < ROWS; k++) {
			assert_true(w[i].ids[k] > 0);
			for (int j = 0; j < THREADS; j++)
				for (int m = 0; m < ROWS; m++)
					if ((j != i || m != k) &&
					    w[j].ids[m] == w[i].ids[k])
						fail_msg("id %lld given twice",
						    (long long)w[i].ids[k]);
		}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_learn_with_row, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_row_alone, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_correction_counted, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
