/*
 * mysql_tokens.c - the "mysql" driver's token reads and writes, and the
 * per-user totals.
 *
 * Token reads ask for up to TOK_CHUNK ids per statement
 * ("uid = ? AND token IN (?, ...)", one statement per power of two of
 * ids, unused places repeating an id); token writes send up to TOK_CHUNK
 * deltas as one INSERT ... SELECT ... ON DUPLICATE KEY UPDATE over a
 * derived table of the deltas, in ascending token order (so concurrent
 * writers lock rows in one order), counts clamped at zero with GREATEST
 * (the raw deltas are needed in the UPDATE part, which is why they come
 * from a derived table and not from VALUES()); padding places repeat the
 * last delta with zero counts, which changes nothing.
 */
#include "mysql_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>

#include "es_alloc.h"

/* time_day - a DATE as days since the epoch (0 when unreadable). */
static int32_t
time_day(const MYSQL_TIME *t, bool isnull)
{
	char iso[32];
	int32_t day;

	if (isnull)
		return 0;
	snprintf(iso, sizeof(iso), "%04u-%02u-%02u", t->year % 10000,
	    t->month % 100, t->day % 100);
	return store_iso_day(iso, &day) == 0 ? day : 0;
}

/* A row of a token read. */
struct my_tokrow {
	uint64_t id, spam, inno;
	MYSQL_TIME last;
	double weight;
	my_bool nul[5];
	unsigned long len[5];
};

/* bind_tokrow - out[0..4] receive a token row's columns (token,
 * spam_hits, innocent_hits, last_hit, weight) into r. */
static void
bind_tokrow(MYSQL_BIND out[5], struct my_tokrow *r)
{
	memset(r, 0, sizeof(*r));
	b_out(&out[0], MYSQL_TYPE_LONGLONG, &r->id, 0, &r->len[0], &r->nul[0]);
	b_out(&out[1], MYSQL_TYPE_LONGLONG, &r->spam, 0, &r->len[1],
	    &r->nul[1]);
	b_out(&out[2], MYSQL_TYPE_LONGLONG, &r->inno, 0, &r->len[2],
	    &r->nul[2]);
	b_out(&out[3], MYSQL_TYPE_DATE, &r->last, sizeof(r->last), &r->len[3],
	    &r->nul[3]);
	b_out(&out[4], MYSQL_TYPE_DOUBLE, &r->weight, 0, &r->len[4],
	    &r->nul[4]);
	for (int i = 0; i < 3; i++)
		out[i].is_unsigned = 1;
}

/* fill - copy row r into every toks[] entry of its id. */
static void
fill(const struct my_tokrow *r, struct store_token *toks, size_t n,
    bool sorted)
{
	size_t lo = 0, hi = n;
	int32_t day = time_day(&r->last, r->nul[3]);

	if (sorted) {
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (toks[mid].token < r->id)
				lo = mid + 1;
			else
				hi = mid;
		}
		hi = n;
	}
	for (size_t i = lo; i < hi; i++) {
		if (toks[i].token != r->id) {
			if (sorted)
				break;
			continue;
		}
		toks[i].spam_hits = r->nul[1] ? 0 : r->spam;
		toks[i].innocent_hits = r->nul[2] ? 0 : r->inno;
		toks[i].last_hit = day;
		toks[i].weight = r->nul[4] ? 0.0 : r->weight;
	}
}

struct my_get {
	uint32_t uid;
	struct store_token *toks;
	size_t n;
};

static int
step_get(struct store *st, void *ctx)
{
	struct my_get *c = ctx;
	struct my_store *m = drv(st);
	int level = my_level_of(c->n);
	size_t places = (size_t)1 << level;
	struct my_tokrow r;
	MYSQL_BIND out[5];
	MYSQL_STMT *q;
	bool sorted = true;
	int rc;

	if ((rc = my_dyn_stmt(st, D_GET, level, &q)) != 0)
		return rc;
	for (size_t i = 1; i < c->n && sorted; i++)
		sorted = c->toks[i - 1].token <= c->toks[i].token;
	b_u32(&m->bind[0], &c->uid);
	for (size_t i = 0; i < places; i++)
		b_tok(m, &m->bind[1 + i], i,
		    c->toks[i < c->n ? i : c->n - 1].token);
	if ((rc = my_run(st, q, m->bind, "token read")) != 0)
		return rc;
	bind_tokrow(out, &r);
	if (mysql_stmt_bind_result(q, out) != 0)
		rc = my_fail_stmt(st, q, "token read");
	while (rc == 0 && (rc = my_fetch(st, q, "token read")) == 1) {
		rc = 0;
		fill(&r, c->toks, c->n, sorted);
	}
	mysql_stmt_free_result(q);
	return rc;
}

int
my_tokens_get(struct store *st, uint32_t uid, struct store_token *toks,
    size_t n)
{
	int rc;

	for (size_t off = 0; off < n; off += TOK_CHUNK) {
		struct my_get c = {uid, toks + off,
		    n - off < TOK_CHUNK ? n - off : TOK_CHUNK};

		if ((rc = my_with_retry(st, step_get, &c)) != 0)
			return rc;
	}
	return 0;
}

/* The rows of a listing, gathered before the caller sees any. */
struct my_listtok {
	uint32_t uid;
	struct store_token *v;
	size_t n, cap;
};

/* listtok_order - qsort order by id. */
static int
listtok_order(const void *a, const void *b)
{
	uint64_t x = ((const struct store_token *)a)->token;
	uint64_t y = ((const struct store_token *)b)->token;

	return x < y ? -1 : x > y;
}

/*
 * step_list - read every row of uid. A CHAR token column (DSPAM's)
 * would sort as text, so the rows are sorted here, not by the server;
 * the whole listing is read before the callback sees a row, which also
 * makes the step safe to repeat after a reconnect.
 */
static int
step_list(struct store *st, void *ctx)
{
	static const char sql[] = "SELECT token, spam_hits, innocent_hits, "
	    "last_hit, weight FROM dspam_token_data WHERE uid = ?";
	struct my_listtok *c = ctx;
	MYSQL_STMT *q = NULL;
	struct my_tokrow r;
	MYSQL_BIND in[1], out[5];
	int rc;

	c->n = 0;
	if ((rc = my_prep(st, &q, sql)) != 0)
		return rc;
	b_u32(&in[0], &c->uid);
	if ((rc = my_run(st, q, in, "token list")) != 0)
		goto out;
	bind_tokrow(out, &r);
	if (mysql_stmt_bind_result(q, out) != 0)
		rc = my_fail_stmt(st, q, "token list");
	while (rc == 0 && (rc = my_fetch(st, q, "token list")) == 1) {
		rc = 0;
		if (c->n == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 4096;
			void *p = es_reallocarray(c->v, cap, sizeof(*c->v));

			if (p == NULL) {
				rc = my_nomem(st, "token list");
				break;
			}
			c->v = p;
			c->cap = cap;
		}
		c->v[c->n].token = r.id;
		c->v[c->n].spam_hits = r.nul[1] ? 0 : r.spam;
		c->v[c->n].innocent_hits = r.nul[2] ? 0 : r.inno;
		c->v[c->n].last_hit = time_day(&r.last, r.nul[3]);
		c->v[c->n].weight = r.nul[4] ? 0.0 : r.weight;
		c->n++;
	}
	mysql_stmt_free_result(q);
out:
	mysql_stmt_close(q);
	return rc;
}

int
my_tokens_list(struct store *st, uint32_t uid, store_token_fn *fn,
    void *arg)
{
	struct my_listtok c = {uid, NULL, 0, 0};
	int rc;

	if ((rc = my_with_retry(st, step_list, &c)) == 0) {
		if (c.n > 0)
			qsort(c.v, c.n, sizeof(*c.v), listtok_order);
		for (size_t i = 0; i < c.n; i++)
			if (fn(&c.v[i], arg) != 0)
				break;
	}
	es_free(c.v);
	return rc;
}

struct my_put {
	uint32_t uid;
	const struct store_delta *d;
	size_t n;
	char date[11];
};

/* Places beyond n repeat the last id with zero deltas: no change. */
static int
step_put(struct store *st, void *ctx)
{
	struct my_put *c = ctx;
	struct my_store *m = drv(st);
	struct my_rows *r = m->rows;
	int level = my_level_of(c->n);
	size_t places = (size_t)1 << level;
	MYSQL_BIND *b = m->bind;
	MYSQL_STMT *q;
	int rc;

	if ((rc = my_dyn_stmt(st, D_PUT, level, &q)) != 0)
		return rc;
	b_u32(&b[0], &c->uid);
	b_str(&b[1], c->date);
	for (size_t i = 0; i < places; i++) {
		const struct store_delta *d = &c->d[i < c->n ? i : c->n - 1];

		r->tok[i] = d->token;
		r->spam[i] = i < c->n ? d->spam : 0;
		r->inno[i] = i < c->n ? d->innocent : 0;
		r->weight[i] = i < c->n ? d->weight : 0.0;
		b_u64(&b[2 + 4 * i], &r->tok[i]);
		b_i64(&b[3 + 4 * i], &r->spam[i]);
		b_i64(&b[4 + 4 * i], &r->inno[i]);
		b_dbl(&b[5 + 4 * i], &r->weight[i]);
	}
	return my_run(st, q, b, "token write");
}

int
my_tokens_put(struct store *st, uint32_t uid, const struct store_delta *d,
    size_t n, int32_t day)
{
	struct my_put c;
	int rc;

	c.uid = uid;
	store_day_iso(day, c.date);
	for (size_t off = 0; off < n; off += TOK_CHUNK) {
		c.d = d + off;
		c.n = n - off < TOK_CHUNK ? n - off : TOK_CHUNK;
		if ((rc = my_with_retry(st, step_put, &c)) != 0)
			return rc;
	}
	return 0;
}

/* ---- totals ---- */

struct my_tot {
	uint32_t uid;
	struct store_totals *t;
};

static int
step_tot_get(struct store *st, void *ctx)
{
	struct my_tot *c = ctx;
	int64_t *f[8] = {&c->t->spam_learned, &c->t->innocent_learned,
	    &c->t->spam_misclassified, &c->t->innocent_misclassified,
	    &c->t->spam_corpusfed, &c->t->innocent_corpusfed,
	    &c->t->spam_classified, &c->t->innocent_classified};
	MYSQL_BIND in, out[8];
	my_bool nul[8];
	unsigned long len[8];
	MYSQL_STMT *q;
	int rc;

	memset(c->t, 0, sizeof(*c->t));
	b_u32(&in, &c->uid);
	if ((rc = my_fixed(st, M_TOT_GET, &q)) != 0 ||
	    (rc = my_run(st, q, &in, "totals read")) != 0)
		return rc;
	for (int i = 0; i < 8; i++)
		b_out(&out[i], MYSQL_TYPE_LONGLONG, f[i], 0, &len[i], &nul[i]);
	if (mysql_stmt_bind_result(q, out) != 0)
		rc = my_fail_stmt(st, q, "totals read");
	else if ((rc = my_fetch(st, q, "totals read")) == 1)
		for (int i = 0; i < 8; i++)
			if (nul[i] || *f[i] < 0)
				*f[i] = 0;
	mysql_stmt_free_result(q);
	return rc < 0 ? rc : 0;
}

int
my_totals_get(struct store *st, uint32_t uid, struct store_totals *t)
{
	struct my_tot c = {uid, t};

	return my_with_retry(st, step_tot_get, &c);
}

int
my_totals_add(struct store *st, uint32_t uid, const struct store_totals *d)
{
	const int64_t v[8] = {d->spam_learned, d->innocent_learned,
	    d->spam_misclassified, d->innocent_misclassified,
	    d->spam_corpusfed, d->innocent_corpusfed, d->spam_classified,
	    d->innocent_classified};
	MYSQL_BIND in[17];

	b_u32(&in[0], &uid);
	for (int i = 0; i < 8; i++) {
		b_i64(&in[1 + i], &v[i]);  /* the new row's value */
		b_i64(&in[9 + i], &v[i]);  /* added to an existing row */
	}
	return my_simple(st, M_TOT_ADD, in, "totals write");
}
