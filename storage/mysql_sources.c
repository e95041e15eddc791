/*
 * mysql_sources.c - the "mysql" driver's source (client address)
 * statistics in edgespam_sources: add (one upsert per row, counts
 * clamped at zero), read by name and list. Old rows go in mysql_purge.c.
 */
#include "mysql_int.h"

#include <string.h>

#include <mysql.h>

/* ---- sources ---- */

int
my_sources_add(struct store *st, const struct store_source_delta *d,
    size_t n, int64_t now)
{
	MYSQL_BIND in[18];
	int64_t v[4], spam, reset, ins_spam;
	int rc;

	for (size_t i = 0; i < n; i++) {
		v[0] = d[i].spam;
		v[1] = d[i].innocent;
		v[2] = d[i].spam_corrections;
		v[3] = d[i].innocent_corrections;
		spam = d[i].spam;
		reset = d[i].reset_streak || d[i].innocent > 0;
		ins_spam = d[i].spam > 0 ? now : 0;
		b_str(&in[0], d[i].source);
		for (int k = 0; k < 4; k++) {
			b_i64(&in[1 + k], &v[k]); /* the new row's counts */
			b_i64(&in[9 + k], &v[k]); /* added to an old row */
		}
		b_i64(&in[5], &spam);          /* the new row's streak */
		b_i64(&in[6], &now);
		b_i64(&in[7], &now);
		b_i64(&in[8], &ins_spam);
		b_i64(&in[13], &reset);
		b_i64(&in[14], &spam);
		b_i64(&in[15], &now);
		b_i64(&in[16], &spam);
		b_i64(&in[17], &now);
		if ((rc = my_simple(st, M_SRC_ADD, in, "source write")) != 0)
			return rc;
	}
	return 0;
}

/* The columns of a source row as fetched. */
struct my_srcrow {
	char source[STORE_SOURCE_MAX + 1];
	uint64_t u[5];
	int64_t t[3];
	unsigned long len[9];
	my_bool nul[9];
	MYSQL_BIND out[9];
};

/* src_bind - bind q's result to r. */
static int
src_bind(struct store *st, MYSQL_STMT *q, struct my_srcrow *r)
{
	b_out(&r->out[0], MYSQL_TYPE_STRING, r->source, STORE_SOURCE_MAX,
	    &r->len[0], &r->nul[0]);
	for (int k = 0; k < 5; k++) {
		b_out(&r->out[1 + k], MYSQL_TYPE_LONGLONG, &r->u[k], 0,
		    &r->len[1 + k], &r->nul[1 + k]);
		r->out[1 + k].is_unsigned = 1;
	}
	for (int k = 0; k < 3; k++)
		b_out(&r->out[6 + k], MYSQL_TYPE_LONGLONG, &r->t[k], 0,
		    &r->len[6 + k], &r->nul[6 + k]);
	if (mysql_stmt_bind_result(q, r->out) != 0)
		return my_fail_stmt(st, q, "source read");
	return 0;
}

/* src_copy - the fetched row r into out. */
static void
src_copy(struct my_srcrow *r, struct store_source *out)
{
	cut(r->source, sizeof(r->source), r->len[0]);
	strlcpy(out->source, r->source, sizeof(out->source));
	out->spam = r->u[0];
	out->innocent = r->u[1];
	out->spam_corrections = r->u[2];
	out->innocent_corrections = r->u[3];
	out->spam_streak = r->u[4];
	out->first_seen = r->t[0];
	out->last_seen = r->t[1];
	out->last_spam = r->t[2];
}

struct my_srcget {
	struct store_source *rows;
	size_t n;
};

static int
step_src_get(struct store *st, void *ctx)
{
	struct my_srcget *c = ctx;
	struct my_srcrow r;
	MYSQL_BIND in;
	MYSQL_STMT *q;
	int rc;

	if ((rc = my_fixed(st, M_SRC_GET, &q)) != 0)
		return rc;
	for (size_t i = 0; i < c->n; i++) {
		b_str(&in, c->rows[i].source);
		if ((rc = my_run(st, q, &in, "source read")) != 0)
			return rc;
		if ((rc = src_bind(st, q, &r)) == 0 &&
		    (rc = my_fetch(st, q, "source read")) == 1) {
			src_copy(&r, &c->rows[i]);
			rc = 0;
		}
		mysql_stmt_free_result(q);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int
my_sources_get(struct store *st, struct store_source *rows, size_t n)
{
	struct my_srcget c = {rows, n};

	return my_with_retry(st, step_src_get, &c);
}

struct my_srclist {
	int64_t since;
	store_source_fn *fn;
	void *arg;
};

static int
step_src_list(struct store *st, void *ctx)
{
	struct my_srclist *c = ctx;
	struct store_source row;
	struct my_srcrow r;
	MYSQL_BIND in;
	MYSQL_STMT *q;
	int rc;

	b_i64(&in, &c->since);
	if ((rc = my_fixed(st, M_SRC_LIST, &q)) != 0 ||
	    (rc = my_run(st, q, &in, "source list")) != 0)
		return rc;
	rc = src_bind(st, q, &r);
	while (rc == 0 && (rc = my_fetch(st, q, "source list")) == 1) {
		rc = 0;
		memset(&row, 0, sizeof(row));
		src_copy(&r, &row);
		if (c->fn(&row, c->arg) != 0)
			break;
	}
	mysql_stmt_free_result(q);
	return rc < 0 ? rc : 0;
}

int
my_sources_list(struct store *st, int64_t since, store_source_fn *fn,
    void *arg)
{
	struct my_srclist c = {since, fn, arg};

	return my_with_retry(st, step_src_list, &c);
}
