/*
 * cls_shared.c - the shared dictionary's merge rule (see cls_shared.h
 * for the rule itself; this file only computes it).
 *
 * Every product is formed in double and capped at CLS_SHARED_MAX before
 * it becomes an integer, so hostile or corrupt counts (a token row with
 * 2^64 - 1 hits) give a capped count, never undefined behaviour.
 *
 * Pure code: no I/O, no globals, no allocation; thread-safe.
 */
#include "cls_shared.h"

#include <math.h>
#include <string.h>

/* ratio - a / b capped to [0, 1]; a minimum of 0 is always reached. */
static double
ratio(uint64_t have, uint64_t min)
{
	if (min == 0 || have >= min)
		return 1.0;
	return (double)have / (double)min;
}

double
cls_shared_maturity(const struct cls_shared_opts *o,
    const struct cls_totals *user)
{
	double s = ratio(user->spam_learned, o->spam_min);
	double i = ratio(user->innocent_learned, o->innocent_min);

	return s < i ? s : i;
}

/* capped - x as a count, at most CLS_SHARED_MAX, rounded to nearest. */
static uint64_t
capped(double x)
{
	if (!(x > 0))
		return 0;
	if (x >= (double)CLS_SHARED_MAX)
		return CLS_SHARED_MAX;
	return (uint64_t)(x + 0.5);
}

/* prior - the dictionary's worth in messages of one class: at most
 * (1 - w) * min, never more than it has learned. */
static double
prior(uint64_t have, uint64_t min, double w)
{
	double p = (1.0 - w) * (double)min;

	return p < (double)have ? p : (double)have;
}

void
cls_shared_plan(const struct cls_shared_opts *o,
    const struct cls_totals *user, const struct cls_totals *shared,
    struct cls_merge *m)
{
	double w = cls_shared_maturity(o, user), ps, pi, ts, ti, f;

	memset(m, 0, sizeof(*m));
	m->user_weight = w;
	m->ku_s = m->ku_i = 1.0;
	m->kr_s = m->kr_i = 1.0;
	m->tot = *user;
	if (w >= 1.0 || shared->spam_learned == 0 ||
	    shared->innocent_learned == 0)
		return;
	ps = prior(shared->spam_learned, o->spam_min, w);
	pi = prior(shared->innocent_learned, o->innocent_min, w);
	/* w < 1 means some minimum is above its count, so (1 - w) * min is
	 * positive for it; for a class whose minimum is 0 the prior is 0
	 * and that class is the user's alone */
	m->kg_s = ps > 0 ? 1.0 : 0.0;
	m->kg_i = pi > 0 ? 1.0 : 0.0;
	m->ku_s = ps > 0 ? (double)shared->spam_learned / ps : 1.0;
	m->ku_i = pi > 0 ? (double)shared->innocent_learned / pi : 1.0;
	ts = (double)user->spam_learned * m->ku_s +
	    (double)shared->spam_learned * m->kg_s;
	ti = (double)user->innocent_learned * m->ku_i +
	    (double)shared->innocent_learned * m->kg_i;
	/* one common factor per class keeps its ratios */
	if (ts > (double)CLS_SHARED_MAX) {
		f = (double)CLS_SHARED_MAX / ts;
		m->ku_s *= f;
		m->kg_s *= f;
		ts = (double)CLS_SHARED_MAX;
	}
	if (ti > (double)CLS_SHARED_MAX) {
		f = (double)CLS_SHARED_MAX / ti;
		m->ku_i *= f;
		m->kg_i *= f;
		ti = (double)CLS_SHARED_MAX;
	}
	m->tot.spam_learned = capped(ts);
	m->tot.innocent_learned = capped(ti);
	m->kr_s = user->spam_learned > 0 ?
	    (double)m->tot.spam_learned / (double)user->spam_learned : 1.0;
	m->kr_i = user->innocent_learned > 0 ?
	    (double)m->tot.innocent_learned / (double)user->innocent_learned :
	    1.0;
	m->active = true;
}

void
cls_shared_token(const struct cls_merge *m, struct cls_stat *t, uint64_t gs,
    uint64_t gi)
{
	if (!m->active || (t->flags & CLS_TF_SENDER))
		return;
	if (t->flags & CLS_TF_ROUTE) {
		t->spam_hits = capped((double)t->spam_hits * m->kr_s);
		t->innocent_hits = capped((double)t->innocent_hits * m->kr_i);
		return;
	}
	t->spam_hits = capped((double)t->spam_hits * m->ku_s +
	    (double)gs * m->kg_s);
	t->innocent_hits = capped((double)t->innocent_hits * m->ku_i +
	    (double)gi * m->kg_i);
}

double
cls_shared_threshold(double user_t, double shared_t, double w)
{
	if (shared_t <= 0 || w >= 1)
		return user_t;
	if (w < 0)
		w = 0;
	/* a blend of logits needs both inside (0, 1) */
	if (user_t <= 0 || user_t >= 1 || shared_t >= 1)
		return w * user_t + (1 - w) * shared_t;
	return 1.0 / (1.0 + exp(-(w * log(user_t / (1 - user_t)) +
	    (1 - w) * log(shared_t / (1 - shared_t)))));
}

double
cls_shared_threshold_weight(double w, uint64_t fp, double k)
{
	double m;

	if (!(k > 0) || fp == 0)
		return w;
	m = 1.0 - 1.0 / (1.0 + k * (double)fp);
	return m > w ? m : w;
}
