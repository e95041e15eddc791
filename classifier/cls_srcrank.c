/*
 * cls_srcrank.c - the worst spam sources (see cls_srcrank.h).
 */
#include "cls_srcrank.h"

#include <string.h>

#include "es_alloc.h"
#include "es_err.h"

/* capped - a count capped at 2^61, so that sums below cannot wrap. */
static long long
capped(uint64_t v)
{
	const uint64_t cap = (uint64_t)1 << 61;

	return (long long)(v < cap ? v : cap);
}

long long
cls_srcrank_score(const struct store_source *r)
{
	return capped(r->spam) + capped(r->spam_corrections) -
	       capped(r->innocent_corrections);
}

double
cls_srcrank_ratio(const struct store_source *r)
{
	double all = (double)r->spam + (double)r->innocent;

	return all > 0 ? (double)r->spam / all : 0;
}

/* worse - order of the listing: negative when a ranks above b. */
static int
worse(const struct store_source *a, const struct store_source *b)
{
	long long sa = cls_srcrank_score(a), sb = cls_srcrank_score(b);
	double ra = cls_srcrank_ratio(a), rb = cls_srcrank_ratio(b);

	if (sa != sb)
		return sa > sb ? -1 : 1;
	if (ra != rb)
		return ra > rb ? -1 : 1;
	if (a->last_seen != b->last_seen)
		return a->last_seen > b->last_seen ? -1 : 1;
	return strcmp(a->source, b->source);
}

int
cls_srcrank_init(struct cls_srcrank *t, size_t max)
{
	t->n = 0;
	t->max = max > 0 ? max : 1;
	t->rows = es_calloc(t->max, sizeof(*t->rows));
	return t->rows != NULL ? 0 : ES_ENOMEM;
}

void
cls_srcrank_free(struct cls_srcrank *t)
{
	es_free(t->rows);
	t->rows = NULL;
	t->n = 0;
}

int
cls_srcrank_keep(const struct store_source *r, void *arg)
{
	struct cls_srcrank *t = arg;
	size_t lo = 0, hi = t->n;

	if (t->n == t->max && worse(r, &t->rows[t->n - 1]) >= 0)
		return 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (worse(r, &t->rows[mid]) < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (t->n < t->max)
		t->n++;
	memmove(&t->rows[lo + 1], &t->rows[lo],
	    (t->n - 1 - lo) * sizeof(t->rows[0]));
	t->rows[lo] = *r;
	return 0;
}
