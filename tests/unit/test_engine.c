/*
 * test_engine.c - the engine against the memory store: verdicts after
 * training, what each mode learns, corrections through the signature
 * (counts restored exactly), signatures bound to their user, and
 * allocation failures that leave the store untouched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cls_engine.h"
#include "es_alloc.h"
#include "es_err.h"
#include "store.h"

#define MAXT 512

struct fx {
	struct store *st;
	struct cls_engine *e;
	struct cls_engine_cfg cfg;
	uint32_t bob, carol;
};

static char ham_buf[2048], spam_buf[2048];

static const char *
ham(int i)
{
	snprintf(ham_buf, sizeof(ham_buf),
	    "From: alice%d@example.org\nTo: bob@example.net\n"
	    "Subject: meeting notes %d\n\n"
	    "Hello Bob, the quarterly planning meeting moved to Thursday.\n"
	    "Please review the budget spreadsheet and timeline. Regards %d\n",
	    i, i, i);
	return ham_buf;
}

static const char *
spam(int i)
{
	snprintf(spam_buf, sizeof(spam_buf),
	    "From: promo%d@pills.biz\nTo: bob@example.net\n"
	    "Subject: CHEAP viagra discount %d\n\n"
	    "Buy cheap viagra pills now! Huge discount offer, casino bonus.\n"
	    "Click http://pills.biz/order?id=%d for free credits\n",
	    i, i, i);
	return spam_buf;
}

static const unsigned char rnd1[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
    12, 13, 14, 15, 16};

static struct fx *
fx_new(enum cls_algo algo, enum cls_mode mode)
{
	struct store_params p = {.driver = "memory"};
	struct fx *f = test_calloc(1, sizeof(*f));
	char err[256];

	assert_int_equal(store_open(&p, &f->st, err, sizeof(err)), 0);
	assert_int_equal(store_user_uid(f->st, "bob", true, &f->bob), 0);
	assert_int_equal(store_user_uid(f->st, "carol", true, &f->carol), 0);
	assert_non_null(f->e = cls_engine_new());
	cls_engine_cfg_default(&f->cfg);
	cls_score_opts_default(&f->cfg.score, algo);
	f->cfg.mode = mode;
	return f;
}

static void
fx_free(struct fx *f)
{
	cls_engine_free(f->e);
	store_close(f->st);
	test_free(f);
}

static void
train(struct fx *f, uint32_t uid, const char *m, enum cls_class c)
{
	struct cls_engine_result r;
	char err[256];

	assert_int_equal(cls_engine_train(f->e, f->st, uid, &f->cfg, m,
	    strlen(m), c, CLS_SRC_CORPUS, 1000000, &r, err, sizeof(err)), 0);
}

static void
train_some(struct fx *f, uint32_t uid, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		train(f, uid, ham(i), CLS_CLASS_INNOCENT);
		train(f, uid, spam(i), CLS_CLASS_SPAM);
	}
}

/* snapshot - the counts and weights of the tokens of m for uid (no
 * sender token: the calls without a client make none). */
static size_t
snapshot(struct fx *f, uint32_t uid, const char *m, struct store_token *out)
{
	struct cls_tset *set = cls_tset_new(MAXT, false);
	struct cls_msg *msg = NULL;
	size_t n, i;

	assert_non_null(set);
	assert_int_equal(cls_msg_parse(m, strlen(m), &f->cfg.lim, &msg), 0);
	assert_int_equal(cls_tokenize(msg, &f->cfg.tok, set), 0);
	cls_tset_sort(set);
	n = cls_tset_len(set);
	assert_true(n > 0 && n <= MAXT);
	for (i = 0; i < n; i++)
		out[i].token = cls_tset_items(set)[i].id;
	assert_int_equal(store_tokens_get(f->st, uid, out, n), 0);
	cls_tset_free(set);
	cls_msg_free(msg);
	return n;
}

/* same_tokens - field by field (the struct has padding). */
static void
same_tokens(const struct store_token *a, const struct store_token *b,
    size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i].token != b[i].token ||
		    a[i].spam_hits != b[i].spam_hits ||
		    a[i].innocent_hits != b[i].innocent_hits ||
		    a[i].last_hit != b[i].last_hit ||
		    a[i].weight != b[i].weight)
			fail_msg("token %zu changed: %llu/%llu w %g -> "
			         "%llu/%llu w %g", i,
			    (unsigned long long)a[i].spam_hits,
			    (unsigned long long)a[i].innocent_hits, a[i].weight,
			    (unsigned long long)b[i].spam_hits,
			    (unsigned long long)b[i].innocent_hits, b[i].weight);
}

static enum cls_result
process(struct fx *f, uint32_t uid, const char *m, struct cls_engine_result *r)
{
	char err[256];

	assert_int_equal(cls_engine_process(f->e, f->st, uid, &f->cfg,
	    CLS_ENGINE_PROCESS, m, strlen(m), rnd1, 1000000, r, err,
	    sizeof(err)), 0);
	return r->result;
}

static void
test_verdicts(void **state)
{
	static const enum cls_algo algos[] = {CLS_ALGO_GRAHAM,
	    CLS_ALGO_BURTON, CLS_ALGO_ROBINSON, CLS_ALGO_CHI_SQUARE,
	    CLS_ALGO_HYBRID};
	size_t a;

	(void)state;
	for (a = 0; a < sizeof(algos) / sizeof(algos[0]); a++) {
		struct fx *f = fx_new(algos[a], CLS_MODE_TEFT);
		struct cls_engine_result r;
		char err[256];

		/* too little training: never Spam */
		train_some(f, f->bob, 3);
		assert_int_equal(cls_engine_process(f->e, f->st, f->bob,
		    &f->cfg, CLS_ENGINE_CLASSIFY, spam(99), strlen(spam(99)),
		    rnd1, 1000000, &r, err, sizeof(err)), 0);
		if (r.result == CLS_SPAM)
			fail_msg("algo %s: Spam before min_training",
			    cls_algo_name(algos[a]));
		train_some(f, f->bob, 12);
		assert_int_equal(cls_engine_process(f->e, f->st, f->bob,
		    &f->cfg, CLS_ENGINE_CLASSIFY, spam(99), strlen(spam(99)),
		    rnd1, 1000000, &r, err, sizeof(err)), 0);
		if (r.result != CLS_SPAM)
			fail_msg("algo %s: spam got %s p=%f",
			    cls_algo_name(algos[a]), cls_result_name(r.result),
			    r.probability);
		assert_string_equal(r.sig, "");
		assert_int_equal(cls_engine_process(f->e, f->st, f->bob,
		    &f->cfg, CLS_ENGINE_CLASSIFY, ham(99), strlen(ham(99)),
		    rnd1, 1000000, &r, err, sizeof(err)), 0);
		if (r.result != CLS_INNOCENT)
			fail_msg("algo %s: ham got %s p=%f",
			    cls_algo_name(algos[a]), cls_result_name(r.result),
			    r.probability);
		/* carol learned nothing: bob's training is not hers */
		assert_int_equal(cls_engine_process(f->e, f->st, f->carol,
		    &f->cfg, CLS_ENGINE_CLASSIFY, spam(99), strlen(spam(99)),
		    rnd1, 1000000, &r, err, sizeof(err)), 0);
		assert_int_equal(r.result, CLS_INNOCENT);
		fx_free(f);
	}
}

static void
test_classify_learns_nothing(void **state)
{
	struct fx *f = fx_new(CLS_ALGO_HYBRID, CLS_MODE_TEFT);
	struct store_token a[MAXT], b[MAXT];
	struct store_totals t0, t1;
	struct cls_engine_result r;
	char err[256];
	size_t n;

	(void)state;
	train_some(f, f->bob, 12);
	n = snapshot(f, f->bob, spam(50), a);
	assert_int_equal(store_totals_get(f->st, f->bob, &t0), 0);
	assert_int_equal(cls_engine_process(f->e, f->st, f->bob, &f->cfg,
	    CLS_ENGINE_CLASSIFY, spam(50), strlen(spam(50)), rnd1, 1000000,
	    &r, err, sizeof(err)), 0);
	assert_int_equal(snapshot(f, f->bob, spam(50), b), n);
	same_tokens(a, b, n);
	assert_int_equal(store_totals_get(f->st, f->bob, &t1), 0);
	assert_memory_equal(&t0, &t1, sizeof(t0));
	fx_free(f);
}

/* The two halves (tokenize, then the store work) give what one call
 * gives; the second half needs the first. */
static void
test_tokenize_then_process(void **state)
{
	struct fx *f = fx_new(CLS_ALGO_HYBRID, CLS_MODE_TEFT);
	struct cls_engine_result r1, r2;
	char err[256];

	(void)state;
	train_some(f, f->bob, 12);
	assert_int_equal(cls_engine_process(f->e, f->st, f->bob, &f->cfg,
	    CLS_ENGINE_CLASSIFY, spam(51), strlen(spam(51)), rnd1, 1000000,
	    &r1, err, sizeof(err)), 0);
	assert_int_equal(cls_engine_tokenize(f->e, &f->cfg, NULL, spam(51),
	    strlen(spam(51)), &r2, err, sizeof(err)), 0);
	assert_int_equal(cls_engine_process_tokenized(f->e, f->st, f->bob,
	    &f->cfg, CLS_ENGINE_CLASSIFY, rnd1, 1000000, &r2, err,
	    sizeof(err)), 0);
	assert_int_equal(r1.result, r2.result);
	assert_true(r1.probability == r2.probability);
	assert_int_equal(r1.ntokens, r2.ntokens);
	/* consumed: a second store step without tokenizing is refused */
	assert_int_equal(cls_engine_process_tokenized(f->e, f->st, f->bob,
	    &f->cfg, CLS_ENGINE_CLASSIFY, rnd1, 1000000, &r2, err,
	    sizeof(err)), ES_EINVAL);
	fx_free(f);
}

/* Scoring in a read transaction and learning in a write transaction
 * (the milter's split) leave exactly what one process call leaves: same
 * verdict, token counts and weights, totals, and a stored signature.
 * Each step needs the one before it. */
static void
test_score_then_learn(void **state)
{
	struct fx *a = fx_new(CLS_ALGO_HYBRID, CLS_MODE_TEFT);
	struct fx *b = fx_new(CLS_ALGO_HYBRID, CLS_MODE_TEFT);
	struct store_token ta[MAXT], tb[MAXT];
	struct store_totals t0, t1, t2;
	struct cls_engine_result r1, r2;
	void *data = NULL;
	size_t n, len;
	char err[256];

	(void)state;
	train_some(a, a->bob, 12);
	train_some(b, b->bob, 12);
	assert_int_equal(store_totals_get(a->st, a->bob, &t0), 0);
	assert_int_equal(cls_engine_process(a->e, a->st, a->bob, &a->cfg,
	    CLS_ENGINE_PROCESS, spam(51), strlen(spam(51)), rnd1, 1000000,
	    &r1, err, sizeof(err)), 0);
	assert_int_equal(cls_engine_learn_scored(b->e, b->st, rnd1, 1000000,
	    &r2, err, sizeof(err)), ES_EINVAL);
	assert_int_equal(cls_engine_score_tokenized(b->e, b->st, b->bob,
	    &b->cfg, &r2, err, sizeof(err)), ES_EINVAL);
	assert_int_equal(cls_engine_tokenize(b->e, &b->cfg, NULL, spam(51),
	    strlen(spam(51)), &r2, err, sizeof(err)), 0);
	assert_int_equal(cls_engine_score_tokenized(b->e, b->st, b->bob,
	    &b->cfg, &r2, err, sizeof(err)), 0);
	/* scoring wrote nothing: b still has what a had before */
	assert_int_equal(store_totals_get(b->st, b->bob, &t2), 0);
	assert_memory_equal(&t0, &t2, sizeof(t0));
	assert_int_equal(cls_engine_learn_scored(b->e, b->st, rnd1, 1000000,
	    &r2, err, sizeof(err)), 0);
	assert_int_equal(r1.result, r2.result);
	assert_true(r1.probability == r2.probability);
	assert_int_equal(r1.learned, r2.learned);
	assert_string_equal(r1.sig, r2.sig);
	n = snapshot(a, a->bob, spam(51), ta);
	assert_int_equal(snapshot(b, b->bob, spam(51), tb), n);
	same_tokens(ta, tb, n);
	assert_int_equal(store_totals_get(a->st, a->bob, &t1), 0);
	assert_int_equal(store_totals_get(b->st, b->bob, &t2), 0);
	assert_memory_equal(&t1, &t2, sizeof(t1));
	assert_int_equal(store_sig_get(b->st, b->bob, r2.sig, &data, &len), 0);
	es_free(data);
	/* the plan is consumed */
	assert_int_equal(cls_engine_learn_scored(b->e, b->st, rnd1, 1000000,
	    &r2, err, sizeof(err)), ES_EINVAL);
	fx_free(a);
	fx_free(b);
}

/*
 * A correction restores the counts exactly: process (TEFT: learned as
 * its verdict) then correct must leave the same token counts as
 * training the message as the right class from the state before.
 */
static void
check_correction(enum cls_mode mode, bool fp)
{
	struct fx *f = fx_new(CLS_ALGO_HYBRID, mode);
	struct fx *g = fx_new(CLS_ALGO_HYBRID, mode);
	struct store_token a[MAXT], b[MAXT];
	struct cls_engine_result r;
	/* a spammy ham (fp) or a hammy spam (fn) */
	char m[4096], err[256];
	enum cls_class want = fp ? CLS_CLASS_INNOCENT : CLS_CLASS_SPAM;
	size_t n, i;

	if (fp)
		snprintf(m, sizeof(m), "%sThe quarterly meeting is fine.\n",
		    spam(77));
	else
		snprintf(m, sizeof(m), "%sviagra\n", ham(77));
	/* TOE trains like TEFT until 100 innocent messages are learned */
	train_some(f, f->bob, mode == CLS_MODE_TOE ? 100 : 12);
	train_some(g, g->bob, mode == CLS_MODE_TOE ? 100 : 12);
	process(f, f->bob, m, &r);
	assert_int_equal(r.result, fp ? CLS_SPAM : CLS_INNOCENT);
	assert_int_equal(strlen(r.sig), CLS_SIG_ID_LEN);
	/* another user cannot use bob's signature */
	{
		char sig[CLS_SIG_ID_LEN + 1];
		int rc;

		strlcpy(sig, r.sig, sizeof(sig));
		rc = cls_engine_correct(f->e, f->st, f->carol, &f->cfg, sig,
		    want, 1000000, &r, err, sizeof(err));
		if (rc != ES_ENOTFOUND)
			fail_msg("carol's correction: %d %s", rc, err);
	}
	process(f, f->bob, m, &r);
	{
		char sig[CLS_SIG_ID_LEN + 1];

		strlcpy(sig, r.sig, sizeof(sig));
		assert_int_equal(cls_engine_correct(f->e, f->st, f->bob,
		    &f->cfg, sig, want, 1000000, &r, err, sizeof(err)), 0);
		assert_true(r.changed);
		/* the signature corrects once */
		assert_int_equal(cls_engine_correct(f->e, f->st, f->bob,
		    &f->cfg, sig, want, 1000000, &r, err, sizeof(err)),
		    ES_ENOTFOUND);
	}
	(void)r;
	/* reference: g trained m's history the same way (the first process
	 * above learned once in TEFT, as its verdict) */
	if (mode == CLS_MODE_TEFT)
		train(g, g->bob, m, fp ? CLS_CLASS_SPAM : CLS_CLASS_INNOCENT);
	train(g, g->bob, m, want);
	n = snapshot(f, f->bob, m, a);
	assert_int_equal(snapshot(g, g->bob, m, b), n);
	for (i = 0; i < n; i++) {
		if (a[i].spam_hits != b[i].spam_hits ||
		    a[i].innocent_hits != b[i].innocent_hits)
			fail_msg("token %zu: got %llu/%llu, want %llu/%llu", i,
			    (unsigned long long)a[i].spam_hits,
			    (unsigned long long)a[i].innocent_hits,
			    (unsigned long long)b[i].spam_hits,
			    (unsigned long long)b[i].innocent_hits);
	}
	fx_free(f);
	fx_free(g);
}

static void
test_correct_fp_teft(void **state)
{
	(void)state;
	check_correction(CLS_MODE_TEFT, true);
}

static void
test_correct_fn_teft(void **state)
{
	(void)state;
	check_correction(CLS_MODE_TEFT, false);
}

static void
test_correct_toe(void **state)
{
	(void)state;
	check_correction(CLS_MODE_TOE, true);
}

static void
test_toe_learns_only_errors(void **state)
{
	struct fx *f = fx_new(CLS_ALGO_HYBRID, CLS_MODE_TOE);
	struct store_token a[MAXT], b[MAXT];
	struct cls_engine_result r;
	size_t n;

	(void)state;
	train_some(f, f->bob, 100); /* past TOE's warm-up */
	n = snapshot(f, f->bob, spam(60), a);
	process(f, f->bob, spam(60), &r);
	assert_int_equal(r.result, CLS_SPAM);
	assert_int_equal(snapshot(f, f->bob, spam(60), b), n);
	same_tokens(a, b, n);
	fx_free(f);
}

/* header_value - the value of field name in h, or NULL. */
static const char *
header_value(const struct cls_engine_headers *h, const char *name)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (strcmp(h->name[i], name) == 0)
			return cls_engine_header_value(h, i);
	return NULL;
}

/* shared_fx - a fixture with a trained shared dictionary "@global". */
static struct fx *
shared_fx(uint32_t *guid)
{
	struct fx *f = fx_new(CLS_ALGO_HYBRID, CLS_MODE_TEFT);

	assert_int_equal(store_user_uid(f->st, "@global", true, guid), 0);
	train_some(f, *guid, 12);
	return f;
}

/*
 * A new user is protected from its first message by the shared
 * dictionary, which classification reads but never writes (whole
 * process, and the milter's split of score and learn); the result and
 * the headers say so. Without the dictionary the same user gets no Spam
 * verdict (min_training) and no such header.
 */
static void
test_shared_day_one(void **state)
{
	struct store_token a[MAXT], b[MAXT];
	struct store_totals t0, t1;
	struct cls_engine_headers h;
	struct cls_engine_result r;
	struct fx *f;
	uint32_t g;
	char err[256];
	size_t n;

	(void)state;
	f = shared_fx(&g);
	n = snapshot(f, g, spam(99), a);
	assert_int_equal(store_totals_get(f->st, g, &t0), 0);
	assert_int_equal(process(f, f->carol, spam(99), &r), CLS_SPAM);
	assert_true(r.shared);
	assert_true(r.user_weight == 0.0);
	assert_int_equal(cls_engine_headers(&r, 1000000, &h), 0);
	assert_non_null(header_value(&h, "X-DSPAM-Dictionary"));
	assert_string_equal(header_value(&h, "X-DSPAM-Dictionary"),
	    "shared; user-weight=0.00");
	assert_string_equal(header_value(&h, "X-DSPAM-Result"), "Spam");
	es_buf_release(&h.buf);
	assert_int_equal(process(f, f->carol, ham(99), &r), CLS_INNOCENT);
	assert_true(r.shared);
	/* the milter's split path */
	assert_int_equal(cls_engine_tokenize(f->e, &f->cfg, NULL, spam(98),
	    strlen(spam(98)), &r, err, sizeof(err)), 0);
	assert_int_equal(cls_engine_score_tokenized(f->e, f->st, f->carol,
	    &f->cfg, &r, err, sizeof(err)), 0);
	assert_int_equal(r.result, CLS_SPAM);
	assert_true(r.shared);
	assert_int_equal(cls_engine_learn_scored(f->e, f->st, rnd1, 1000000,
	    &r, err, sizeof(err)), 0);
	assert_true(r.shared);
	/* the dictionary is as it was; carol learned her three messages */
	assert_int_equal(snapshot(f, g, spam(99), b), n);
	same_tokens(a, b, n);
	assert_int_equal(store_totals_get(f->st, g, &t1), 0);
	assert_memory_equal(&t0, &t1, sizeof(t0));
	assert_int_equal(store_totals_get(f->st, f->carol, &t1), 0);
	assert_int_equal(t1.spam_learned, 2);
	assert_int_equal(t1.innocent_learned, 1);
	/* its verdicts use the blended threshold (cls_shared_threshold) */
	f->cfg.score.spam_threshold = 1.0;
	f->cfg.shared.spam_threshold = 0;
	assert_int_equal(cls_engine_process(f->e, f->st, f->carol, &f->cfg,
	    CLS_ENGINE_CLASSIFY, spam(96), strlen(spam(96)), rnd1, 1000000, &r,
	    err, sizeof(err)), 0);
	assert_int_equal(r.result, CLS_INNOCENT);
	f->cfg.shared.spam_threshold = 0.5;
	assert_int_equal(cls_engine_process(f->e, f->st, f->carol, &f->cfg,
	    CLS_ENGINE_CLASSIFY, spam(96), strlen(spam(96)), rnd1, 1000000, &r,
	    err, sizeof(err)), 0);
	assert_int_equal(r.result, CLS_SPAM);
	assert_true(r.shared);
	cls_engine_cfg_default(&f->cfg);
	/* the dictionary off: min_training holds, no header */
	f->cfg.shared.name[0] = '\0';
	assert_int_equal(process(f, f->bob, spam(97), &r), CLS_INNOCENT);
	assert_false(r.shared);
	assert_int_equal(cls_engine_headers(&r, 1000000, &h), 0);
	assert_null(header_value(&h, "X-DSPAM-Dictionary"));
	es_buf_release(&h.buf);
	fx_free(f);
}

/* The user's weight follows its maturity, and at both minimums the
 * dictionary takes no part; the dictionary itself never merges with
 * itself. */
static void
test_shared_maturity(void **state)
{
	static const struct {
		unsigned spam_min, innocent_min;
		bool shared;
		double w;
	} c[] = {
	    {100, 100, true, 0.12},  /* 12 of each learned */
	    {24, 48, true, 0.25},    /* innocent at a quarter */
	    {12, 100, true, 0.12},   /* mature in spam only */
	    {12, 12, false, 1.0},    /* mature */
	    {10, 5, false, 1.0},     /* beyond */
	};
	struct cls_engine_result r;
	struct fx *f;
	uint32_t g;
	char err[256];
	size_t k;

	(void)state;
	f = shared_fx(&g);
	train_some(f, f->bob, 12);
	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		f->cfg.shared.opts.spam_min = c[k].spam_min;
		f->cfg.shared.opts.innocent_min = c[k].innocent_min;
		assert_int_equal(cls_engine_process(f->e, f->st, f->bob, &f->cfg,
		    CLS_ENGINE_CLASSIFY, spam(90), strlen(spam(90)), rnd1,
		    1000000, &r, err, sizeof(err)), 0);
		if (r.shared != c[k].shared ||
		    (r.shared && (r.user_weight < c[k].w - 1e-9 ||
				     r.user_weight > c[k].w + 1e-9)))
			fail_msg("case %u/%u: got shared %d w %.4f, want %d "
			         "%.4f", c[k].spam_min, c[k].innocent_min,
			    r.shared, r.user_weight, c[k].shared, c[k].w);
	}
	/* the dictionary classifying for itself reads only itself */
	f->cfg.shared.opts.spam_min = f->cfg.shared.opts.innocent_min = 1000;
	assert_int_equal(cls_engine_process(f->e, f->st, g, &f->cfg,
	    CLS_ENGINE_CLASSIFY, spam(90), strlen(spam(90)), rnd1, 1000000, &r,
	    err, sizeof(err)), 0);
	assert_false(r.shared);
	fx_free(f);
}

/*
 * Corrections train the dictionary (as corpus) only when configured:
 * through a signature and by --source=error training; corpus training
 * of a user never does.
 */
static void
test_shared_corrections(void **state)
{
	struct store_token a[MAXT], b[MAXT];
	struct store_totals t0, t1;
	struct cls_engine_result r;
	struct fx *f;
	uint32_t g;
	char err[256], sig[CLS_SIG_ID_LEN + 1];
	size_t n, i;

	(void)state;
	f = shared_fx(&g);
	/* off (the default): a false positive corrected, the dictionary as
	 * it was */
	n = snapshot(f, g, spam(80), a);
	assert_int_equal(store_totals_get(f->st, g, &t0), 0);
	assert_int_equal(process(f, f->carol, spam(80), &r), CLS_SPAM);
	strlcpy(sig, r.sig, sizeof(sig));
	assert_int_equal(cls_engine_correct(f->e, f->st, f->carol, &f->cfg,
	    sig, CLS_CLASS_INNOCENT, 1000000, &r, err, sizeof(err)), 0);
	assert_true(r.changed);
	train(f, f->carol, spam(80), CLS_CLASS_SPAM);
	assert_int_equal(snapshot(f, g, spam(80), b), n);
	same_tokens(a, b, n);
	assert_int_equal(store_totals_get(f->st, g, &t1), 0);
	assert_memory_equal(&t0, &t1, sizeof(t0));
	/* on: the corrected message's every token gains one innocent hit */
	f->cfg.shared.learn_corrections = true;
	n = snapshot(f, g, spam(81), a);
	assert_int_equal(process(f, f->bob, spam(81), &r), CLS_SPAM);
	strlcpy(sig, r.sig, sizeof(sig));
	assert_int_equal(snapshot(f, g, spam(81), b), n);
	same_tokens(a, b, n); /* classification: still nothing */
	/* the correction comes later (another process, another message in
	 * this engine): what it trains comes from the signature alone */
	assert_int_equal(cls_engine_process(f->e, f->st, f->bob, &f->cfg,
	    CLS_ENGINE_CLASSIFY, ham(84), strlen(ham(84)), rnd1, 1000000, &r,
	    err, sizeof(err)), 0);
	assert_int_equal(cls_engine_correct(f->e, f->st, f->bob, &f->cfg, sig,
	    CLS_CLASS_INNOCENT, 1000000, &r, err, sizeof(err)), 0);
	assert_int_equal(snapshot(f, g, spam(81), b), n);
	for (i = 0; i < n; i++)
		if (b[i].innocent_hits != a[i].innocent_hits + 1 ||
		    b[i].spam_hits != a[i].spam_hits)
			fail_msg("token %zu: %llu/%llu -> %llu/%llu", i,
			    (unsigned long long)a[i].spam_hits,
			    (unsigned long long)a[i].innocent_hits,
			    (unsigned long long)b[i].spam_hits,
			    (unsigned long long)b[i].innocent_hits);
	assert_int_equal(store_totals_get(f->st, g, &t1), 0);
	assert_int_equal(t1.innocent_learned, t0.innocent_learned + 1);
	assert_int_equal(t1.innocent_corpusfed, t0.innocent_corpusfed + 1);
	assert_int_equal(t1.spam_learned, t0.spam_learned);
	/* --source=error without a signature: one spam hit more */
	n = snapshot(f, g, ham(82), a);
	assert_int_equal(cls_engine_train(f->e, f->st, f->bob, &f->cfg,
	    ham(82), strlen(ham(82)), CLS_CLASS_SPAM, CLS_SRC_ERROR, 1000000,
	    &r, err, sizeof(err)), 0);
	assert_int_equal(snapshot(f, g, ham(82), b), n);
	for (i = 0; i < n; i++)
		if (b[i].spam_hits != a[i].spam_hits + 1)
			fail_msg("error training: token %zu not learned", i);
	/* corpus training of a user: the dictionary untouched */
	n = snapshot(f, g, ham(83), a);
	train(f, f->bob, ham(83), CLS_CLASS_INNOCENT);
	assert_int_equal(snapshot(f, g, ham(83), b), n);
	same_tokens(a, b, n);
	/* nor inoculation: a sample, not a correction */
	n = snapshot(f, g, spam(85), a);
	assert_int_equal(cls_engine_train(f->e, f->st, f->bob, &f->cfg,
	    spam(85), strlen(spam(85)), CLS_CLASS_SPAM, CLS_SRC_INOCULATION,
	    1000000, &r, err, sizeof(err)), 0);
	assert_int_equal(snapshot(f, g, spam(85), b), n);
	same_tokens(a, b, n);
	fx_free(f);
}

/*
 * TUM with the dictionary: "mature" is the user's own count of a token,
 * not the merged count the scorer saw. A young user whose message's
 * tokens the dictionary has seen 60 times still learns every one of
 * them once.
 */
static void
test_shared_tum(void **state)
{
	struct fx *f = fx_new(CLS_ALGO_HYBRID, CLS_MODE_TUM);
	struct store_token b[MAXT];
	struct cls_engine_result r;
	uint32_t g;
	size_t n, i;

	(void)state;
	assert_int_equal(store_user_uid(f->st, "@global", true, &g), 0);
	train_some(f, g, 60);
	(void)process(f, f->carol, spam(5), &r);
	assert_true(r.shared);
	n = snapshot(f, f->carol, spam(5), b);
	assert_true(n > 0);
	for (i = 0; i < n; i++)
		if (b[i].spam_hits + b[i].innocent_hits != 1)
			fail_msg("token %zu: %llu/%llu, want one hit", i,
			    (unsigned long long)b[i].spam_hits,
			    (unsigned long long)b[i].innocent_hits);
	fx_free(f);
}

/* Every allocation failing in turn: ES_ENOMEM, and the store unchanged. */
static const unsigned char rnd2[16] = {2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
    12, 13, 14, 15, 16};

/* src - the row of source in f's store. */
static struct store_source
src(struct fx *f, const char *source)
{
	struct store_source r;

	strlcpy(r.source, source, sizeof(r.source));
	assert_int_equal(store_sources_get(f->st, &r, 1), 0);
	return r;
}

/* same_src - rows a and b hold the same counts and times. */
static void
same_src(struct store_source a, struct store_source b)
{
	if (strcmp(a.source, b.source) != 0 || a.spam != b.spam ||
	    a.innocent != b.innocent ||
	    a.spam_corrections != b.spam_corrections ||
	    a.innocent_corrections != b.innocent_corrections ||
	    a.spam_streak != b.spam_streak || a.first_seen != b.first_seen ||
	    a.last_seen != b.last_seen || a.last_spam != b.last_spam)
		fail_msg("source %s changed: spam %llu -> %llu, innocent "
			 "%llu -> %llu, last_seen %lld -> %lld",
		    a.source, (unsigned long long)a.spam,
		    (unsigned long long)b.spam, (unsigned long long)a.innocent,
		    (unsigned long long)b.innocent, (long long)a.last_seen,
		    (long long)b.last_seen);
}

/* A message from a known client counts for its address and network in
 * its own transaction; a correction counts against that source; a
 * message without a client, or a classification only, counts nothing. */
static void
test_sources(void **state)
{
	struct fx *f = fx_new(CLS_ALGO_HYBRID, CLS_MODE_TEFT);
	struct cls_engine_result r, c;
	struct store_source a, n;
	char err[256];

	(void)state;
	train_some(f, f->bob, 12);
	/* spam from 192.0.2.7 through score + stage, in the caller's tx */
	assert_int_equal(cls_engine_tokenize(f->e, &f->cfg, "::ffff:192.0.2.7",
	    spam(60), strlen(spam(60)), &r, err, sizeof(err)), 0);
	cls_engine_count_source(f->e);
	assert_int_equal(cls_engine_score_tokenized(f->e, f->st, f->bob,
	    &f->cfg, &r, err, sizeof(err)), 0);
	assert_int_equal(store_begin(f->st, true), 0);
	assert_int_equal(cls_engine_stage_scored(f->e, f->st, rnd1, 1000000,
	    &r, err, sizeof(err)), 0);
	assert_int_equal(store_commit(f->st), 0);
	cls_engine_scored_done(f->e);
	assert_int_equal(r.result, CLS_SPAM);
	a = src(f, "192.0.2.7");
	n = src(f, "192.0.2.0/24");
	assert_true(a.spam == 1 && a.innocent == 0 && a.spam_streak == 1);
	assert_true(n.spam == 1 && n.spam_streak == 1 &&
	    n.last_seen == 1000000);
	/* ham from 192.0.2.8: innocent, the network's streak ends */
	assert_int_equal(cls_engine_tokenize(f->e, &f->cfg, "192.0.2.8",
	    ham(60), strlen(ham(60)), &c, err, sizeof(err)), 0);
	cls_engine_count_source(f->e);
	assert_int_equal(cls_engine_process_tokenized(f->e, f->st, f->bob,
	    &f->cfg, CLS_ENGINE_PROCESS, rnd2, 1000100, &c, err, sizeof(err)),
	    0);
	assert_int_equal(c.result, CLS_INNOCENT);
	n = src(f, "192.0.2.0/24");
	assert_true(n.spam == 1 && n.innocent == 1 && n.spam_streak == 0);
	assert_true(src(f, "192.0.2.8").innocent == 1);
	/* the spam was a false positive: counted against 192.0.2.7 */
	assert_int_equal(cls_engine_correct(f->e, f->st, f->bob, &f->cfg, r.sig,
	    CLS_CLASS_INNOCENT, 1000200, &c, err, sizeof(err)), 0);
	assert_true(c.changed);
	a = src(f, "192.0.2.7");
	assert_true(a.spam == 1 && a.innocent_corrections == 1 &&
	    a.spam_corrections == 0 && a.spam_streak == 0 &&
	    a.last_seen == 1000200);
	assert_true(src(f, "192.0.2.0/24").innocent_corrections == 1);
	/* tokenize forgets the counting; a client not asked to be
	 * counted, classify-only, and a client that is no address count
	 * nothing (and fail nothing) */
	a = src(f, "192.0.2.8");
	n = src(f, "192.0.2.0/24");
	assert_int_equal(cls_engine_tokenize(f->e, &f->cfg, "192.0.2.8",
	    spam(61), strlen(spam(61)), &c, err, sizeof(err)), 0);
	assert_int_equal(cls_engine_process_tokenized(f->e, f->st, f->bob,
	    &f->cfg, CLS_ENGINE_PROCESS, rnd2, 1000300, &c, err, sizeof(err)),
	    0);
	assert_int_equal(cls_engine_tokenize(f->e, &f->cfg, "192.0.2.8",
	    spam(62), strlen(spam(62)), &c, err, sizeof(err)), 0);
	cls_engine_count_source(f->e);
	assert_int_equal(cls_engine_process_tokenized(f->e, f->st, f->bob,
	    &f->cfg, CLS_ENGINE_CLASSIFY, rnd1, 1000400, &c, err, sizeof(err)),
	    0);
	assert_int_equal(cls_engine_tokenize(f->e, &f->cfg, "unknown",
	    spam(63), strlen(spam(63)), &c, err, sizeof(err)), 0);
	cls_engine_count_source(f->e);
	assert_int_equal(cls_engine_process_tokenized(f->e, f->st, f->bob,
	    &f->cfg, CLS_ENGINE_PROCESS, rnd1, 1000500, &c, err, sizeof(err)),
	    0);
	assert_true(c.sig[0] != '\0');
	same_src(a, src(f, "192.0.2.8"));
	same_src(n, src(f, "192.0.2.0/24"));
	assert_true(src(f, "192.0.2.7").spam == 1);
	/* ham from 198.51.100.0, whose address sorts before its network
	 * ("198.51.100.0" < "198.51.100.0/24"), then reported as missed
	 * spam: a spam correction, the streak kept */
	assert_int_equal(cls_engine_tokenize(f->e, &f->cfg, "198.51.100.0",
	    ham(64), strlen(ham(64)), &c, err, sizeof(err)), 0);
	cls_engine_count_source(f->e);
	assert_int_equal(cls_engine_process_tokenized(f->e, f->st, f->bob,
	    &f->cfg, CLS_ENGINE_PROCESS, rnd2, 1000600, &c, err, sizeof(err)),
	    0);
	assert_int_equal(c.result, CLS_INNOCENT);
	assert_true(src(f, "198.51.100.0").innocent == 1);
	assert_true(src(f, "198.51.100.0/24").innocent == 1);
	strlcpy(r.sig, c.sig, sizeof(r.sig));
	assert_int_equal(cls_engine_correct(f->e, f->st, f->bob, &f->cfg, r.sig,
	    CLS_CLASS_SPAM, 1000700, &c, err, sizeof(err)), 0);
	assert_true(c.changed);
	a = src(f, "198.51.100.0");
	assert_true(a.spam_corrections == 1 && a.innocent_corrections == 0 &&
	    a.innocent == 1 && a.spam == 0 && a.last_seen == 1000700);
	assert_true(src(f, "198.51.100.0/24").spam_corrections == 1);
	fx_free(f);
}

/*
 * A message with more distinct tokens than max_tokens: every tokenizer
 * fills the set, and the sender token still gets its place (issue 13:
 * with osb, 11 corpus messages failed "tokenize: not found" because the
 * full set refused the sender token and flagging it then found none).
 */
static void
test_full_token_set(void **state)
{
	static const struct {
		const char *name;
		enum cls_tokenizer kind;
	} cases[] = {
	    {"word", CLS_TOK_WORD},
	    {"chain", CLS_TOK_CHAIN},
	    {"osb", CLS_TOK_OSB},
	    {"edgespam", CLS_TOK_EDGESPAM},
	};
	static char m[8192];
	size_t i, o;
	int w;

	(void)state;
	o = (size_t)snprintf(m, sizeof(m),
	    "From: Friend <friend@example.org>\nSubject: words\n\n");
	for (w = 0; w < 400 && o + 16 < sizeof(m); w++)
		o += (size_t)snprintf(m + o, sizeof(m) - o, "wrd%04d ", w);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fx *f = fx_new(CLS_ALGO_HYBRID, CLS_MODE_TEFT);
		struct cls_engine_result r;
		struct store_token t = {0};
		struct cls_msg *msg = NULL;
		char err[256] = "";
		int rc;

		f->cfg.lim.max_tokens = 100;
		cls_tok_opts_default(&f->cfg.tok, cases[i].kind);
		rc = cls_engine_tokenize(f->e, &f->cfg, "192.0.2.7", m,
		    strlen(m), &r, err, sizeof(err));
		if (rc == 0)
			rc = cls_engine_process_tokenized(f->e, f->st, f->bob,
			    &f->cfg, CLS_ENGINE_PROCESS, rnd1, 1000000, &r,
			    err, sizeof(err));
		if (rc != 0)
			fail_msg("case %s: got %s (%s), want 0", cases[i].name,
			    es_strerror(rc), err);
		if (r.ntokens != 100)
			fail_msg("case %s: got %zu tokens, want 100 (a full set)",
			    cases[i].name, r.ntokens);
		assert_int_equal(cls_msg_parse(m, strlen(m), &f->cfg.lim, &msg),
		    0);
		assert_int_equal(
		    cls_sender_token(msg, "192.0.2.0/24", &t.token), 0);
		cls_msg_free(msg);
		assert_int_equal(store_tokens_get(f->st, f->bob, &t, 1), 0);
		if (t.innocent_hits != 1 || t.spam_hits != 0)
			fail_msg("case %s: sender token got %llu/%llu, want 0/1",
			    cases[i].name, (unsigned long long)t.spam_hits,
			    (unsigned long long)t.innocent_hits);
		fx_free(f);
	}
}

/* bland - an innocuous notice From: service@bank.test, spelled two ways. */
static const char *
bland(int i)
{
	static char b[512];

	snprintf(b, sizeof(b),
	    "From: %s\nTo: carol@example.net\nSubject: account notice %d\n\n"
	    "Your monthly statement %d is ready. Kind regards.\n",
	    i % 2 ? "\"Your Bank\" <Service@BANK.test>" : "service@bank.test",
	    i, i);
	return b;
}

/*
 * Automatic whitelisting is earned per From: address and client network:
 * a From: forged from many networks never whitelists (DSPAM's token, the
 * From: text alone, did at the twelfth message), nor does mail without a
 * known client (the CLI); the same address from one /24 does once its
 * token has more than whitelist_threshold (10) innocent hits, and that
 * whitelisting is not a forger's to use from another network. The
 * steps run in order on one user.
 */
static void
test_awl_network(void **state)
{
	static const struct {
		const char *name;
		const char *pre, *post; /* message i's client: pre, i + 1,
		                           post; pre NULL: no client */
		int n;
		int whitelisted_from; /* the first Whitelisted i; -1 never */
	} steps[] = {
	    {"forged, 30 IPv4 networks", "198.51.", ".7", 30, -1},
	    {"forged, 30 IPv6 networks", "2001:db8:", "::25", 30, -1},
	    {"no client", NULL, NULL, 30, -1},
	    {"one correspondent's /24", "192.0.2.", "", 12, 11},
	    {"another host of that /24", "192.0.2.", "0", 3, 0},
	    {"the same, IPv4-mapped", "::ffff:192.0.2.", "", 1, 0},
	    {"a forger elsewhere after it", "203.0.113.", "", 3, -1},
	    {"a forger's neighbouring /24", "192.0.3.", "", 3, -1},
	};
	struct fx *f = fx_new(CLS_ALGO_HYBRID, CLS_MODE_TEFT);
	size_t k;
	int i;

	(void)state;
	assert_int_equal(f->cfg.score.whitelist_threshold, 10);
	for (k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
		for (i = 0; i < steps[k].n; i++) {
			struct cls_engine_result r;
			enum cls_result want = CLS_INNOCENT;
			char client[64], err[256];
			const char *m = bland(i);

			snprintf(client, sizeof(client), "%s%d%s",
			    steps[k].pre ? steps[k].pre : "", i + 1,
			    steps[k].post ? steps[k].post : "");
			assert_int_equal(cls_engine_tokenize(f->e, &f->cfg,
			    steps[k].pre ? client : NULL, m, strlen(m), &r,
			    err, sizeof(err)), 0);
			assert_int_equal(cls_engine_process_tokenized(f->e,
			    f->st, f->carol, &f->cfg, CLS_ENGINE_PROCESS, rnd1,
			    1000000, &r, err, sizeof(err)), 0);
			if (steps[k].whitelisted_from >= 0 &&
			    i >= steps[k].whitelisted_from)
				want = CLS_WHITELISTED;
			if (r.result != want)
				fail_msg("case %s: message %d from %s: got %s, "
				         "want %s", steps[k].name, i + 1,
				    steps[k].pre ? client : "no client",
				    cls_result_name(r.result),
				    cls_result_name(want));
		}
	}
	fx_free(f);
}

static void
check_enomem(bool shared)
{
	struct fx *f = fx_new(CLS_ALGO_HYBRID, CLS_MODE_TEFT);
	struct store_token a[MAXT], b[MAXT];
	struct cls_engine_result r;
	char err[256];
	size_t n, k;
	uint32_t g;
	int rc = -1;

	if (shared) { /* bob young, reading a trained dictionary */
		assert_int_equal(store_user_uid(f->st, "@global", true, &g), 0);
		train_some(f, g, 12);
	} else {
		train_some(f, f->bob, 12);
	}
	n = snapshot(f, f->bob, spam(70), a);
	for (k = 0; k < 10000 && rc != 0; k++) {
		struct cls_engine *e = cls_engine_new();

		assert_non_null(e);
		es_alloc_fail_after((long)k);
		rc = cls_engine_process(e, f->st, f->bob, &f->cfg,
		    CLS_ENGINE_PROCESS, spam(70), strlen(spam(70)), rnd1,
		    1000000, &r, err, sizeof(err));
		es_alloc_fail_after(-1);
		cls_engine_free(e);
		if (rc != 0) {
			assert_int_equal(rc, ES_ENOMEM);
			assert_int_equal(snapshot(f, f->bob, spam(70), b), n);
			same_tokens(a, b, n);
		}
	}
	assert_int_equal(rc, 0);
	assert_int_equal(r.shared, shared);
	fx_free(f);
}

static void
test_enomem(void **state)
{
	(void)state;
	check_enomem(false);
}

static void
test_enomem_shared(void **state)
{
	(void)state;
	check_enomem(true);
}

/* One preference value as the engine takes it (cls_engine_pref_apply),
 * and the order of cls_engine_user_cfg(): uid 0's, then the user's, an
 * unusable value ignored. "edgespam user U show" names its sources by
 * these rules. */
static void
test_prefs(void **state)
{
	static const struct {
		const char *key, *val;
		int rc;
	} c[] = {
	    {"trainingMode", "toe", 0}, {"trainingMode", "TUM", 0},
	    {"trainingMode", "always", ES_EINVAL},
	    {"spamThreshold", "0.9", 0}, {"spamThreshold", "1.5", ES_EINVAL},
	    {"spamThreshold", "x", ES_EINVAL}, {"spamThreshold", "", ES_EINVAL},
	    {"whitelistThreshold", "0", 0},
	    {"whitelistThreshold", "1000001", ES_EINVAL},
	    {"minTraining", "5", 0}, {"minTraining", "-1", ES_EINVAL},
	    {"spamAction", "reject", ES_ENOTFOUND},
	    {"optIn", "on", ES_ENOTFOUND},
	};
	struct cls_engine_cfg base, cfg;
	struct fx *f = fx_new(CLS_ALGO_HYBRID, CLS_MODE_TEFT);
	size_t i, n;

	(void)state;
	cls_engine_cfg_default(&base);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int rc;

		cfg = base;
		rc = cls_engine_pref_apply(&cfg, c[i].key, c[i].val);
		if (rc != c[i].rc)
			fail_msg("case %s = %s: got %d, want %d", c[i].key,
			    c[i].val, rc, c[i].rc);
		if (rc != 0 && memcmp(&cfg, &base, sizeof(cfg)) != 0)
			fail_msg("case %s = %s: refused but changed", c[i].key,
			    c[i].val);
	}
	for (n = 0; cls_engine_pref_key(n) != NULL; n++)
		;
	assert_int_equal(n, 4);
	assert_int_equal(store_pref_set(f->st, 0, "spamThreshold", "0.9"), 0);
	assert_int_equal(store_pref_set(f->st, 0, "minTraining", "3"), 0);
	assert_int_equal(store_pref_set(f->st, f->bob, "spamThreshold", "0.8"),
	    0);
	assert_int_equal(store_pref_set(f->st, f->bob, "minTraining", "many"),
	    0);
	assert_int_equal(cls_engine_user_cfg(f->st, f->bob, &base, &cfg), 0);
	assert_true(cfg.score.spam_threshold == 0.8);    /* the user's */
	assert_int_equal(cfg.score.min_training, 3);      /* uid 0's */
	assert_int_equal(cfg.mode, base.mode);            /* the base */
	assert_int_equal(cls_engine_user_cfg(f->st, f->carol, &base, &cfg), 0);
	assert_true(cfg.score.spam_threshold == 0.9);
	fx_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_verdicts),
	    cmocka_unit_test(test_classify_learns_nothing),
		cmocka_unit_test(test_tokenize_then_process),
		cmocka_unit_test(test_score_then_learn),
	    cmocka_unit_test(test_correct_fp_teft),
	    cmocka_unit_test(test_correct_fn_teft),
	    cmocka_unit_test(test_correct_toe),
	    cmocka_unit_test(test_toe_learns_only_errors),
	    cmocka_unit_test(test_sources),
	    cmocka_unit_test(test_full_token_set),
	    cmocka_unit_test(test_awl_network),
	    cmocka_unit_test(test_enomem),
	    cmocka_unit_test(test_shared_day_one),
	    cmocka_unit_test(test_shared_maturity),
	    cmocka_unit_test(test_shared_corrections),
	    cmocka_unit_test(test_shared_tum),
	    cmocka_unit_test(test_enomem_shared),
	    cmocka_unit_test(test_prefs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
