/*
 * mysql_purge.c - the "mysql" driver's purge rules.
 *
 * Purge: each batch selects at most PURGE_CHUNK keys at a time by an
 * index range (ORDER BY last_hit or created_on, LIMIT, FOR UPDATE so
 * the rows cannot change before they go) and deletes exactly those by
 * primary key, until `batch` rows are gone or the range is empty (the
 * sources rule, whose key is one column, is a single DELETE ... ORDER BY
 * last_seen LIMIT batch over its index instead); the
 * control token is never selected. Each batch first renews the purge
 * lock when it is due (mysql_lock.c), in the batch's transaction.
 */
#include "mysql_int.h"

#include <string.h>

#include <mysql.h>

#include "es_err.h"

/* ---- purge ---- */

struct my_purge {
	enum store_purge_rule rule;
	char date[11];
	uint64_t want;  /* keys to select */
	size_t got;     /* keys selected */
	uint64_t gone;  /* rows deleted */
};

/* purge_select - up to c->want keys of the rule into m->rows. */
static int
purge_select(struct store *st, struct my_purge *c)
{
	static const enum my_stmt which[] = {
		[STORE_PURGE_SIGNATURES] = M_PSEL_SIG,
		[STORE_PURGE_UNUSED] = M_PSEL_UNUSED,
		[STORE_PURGE_RARE] = M_PSEL_RARE,
		[STORE_PURGE_SINGLE] = M_PSEL_SINGLE,
	};
	struct my_store *m = drv(st);
	struct my_rows *r = m->rows;
	bool sig = c->rule == STORE_PURGE_SIGNATURES;
	MYSQL_BIND in[3], out[2];
	uint32_t uid = 0;
	uint64_t tok = 0;
	char id[STORE_SIG_ID_MAX + 1];
	unsigned long len[2] = {0, 0};
	my_bool nul[2];
	MYSQL_STMT *q;
	int rc;

	c->got = 0;
	b_str(&in[0], c->date);
	if (sig) {
		b_u64(&in[1], &c->want);
	} else {
		b_tok(m, &in[1], 0, STORE_CONTROL_TOKEN);
		b_u64(&in[2], &c->want);
	}
	if ((rc = my_fixed(st, which[c->rule], &q)) != 0 ||
	    (rc = my_run(st, q, in, "purge select")) != 0)
		return rc;
	b_out(&out[0], MYSQL_TYPE_LONG, &uid, 0, &len[0], &nul[0]);
	out[0].is_unsigned = 1;
	if (sig)
		b_out(&out[1], MYSQL_TYPE_BLOB, id, STORE_SIG_ID_MAX, &len[1],
		    &nul[1]);
	else
		b_out(&out[1], MYSQL_TYPE_LONGLONG, &tok, 0, &len[1], &nul[1]);
	out[1].is_unsigned = 1;
	if (mysql_stmt_bind_result(q, out) != 0)
		rc = my_fail_stmt(st, q, "purge select");
	while (rc == 0 && c->got < PURGE_CHUNK &&
	    (rc = my_fetch(st, q, "purge select")) == 1) {
		rc = 0;
		r->uid[c->got] = uid;
		if (sig) {
			/* a longer id (not ours) cannot be deleted by key */
			if (len[1] > STORE_SIG_ID_MAX)
				continue;
			memcpy(r->sig[c->got], id, len[1]);
			r->len[c->got] = len[1];
		} else {
			r->tok[c->got] = tok;
		}
		c->got++;
	}
	mysql_stmt_free_result(q);
	return rc < 0 ? rc : 0;
}

/* purge_delete - delete the c->got selected keys. */
static int
purge_delete(struct store *st, struct my_purge *c)
{
	struct my_store *m = drv(st);
	struct my_rows *r = m->rows;
	bool sig = c->rule == STORE_PURGE_SIGNATURES;
	int level = my_level_of(c->got);
	MYSQL_STMT *q;
	int rc;

	if ((rc = my_dyn_stmt(st, sig ? D_DEL_SIG : D_DEL_TOK, level, &q)) != 0)
		return rc;
	/* places beyond got repeat the last key: deleted once */
	for (size_t i = 0; i < ((size_t)1 << level); i++) {
		size_t k = i < c->got ? i : c->got - 1;

		b_u32(&m->bind[2 * i], &r->uid[k]);
		if (sig)
			b_bytes(&m->bind[2 * i + 1], MYSQL_TYPE_STRING,
			    r->sig[k], r->len[k]);
		else
			b_tok(m, &m->bind[2 * i + 1], i, r->tok[k]);
	}
	if ((rc = my_run(st, q, m->bind, "purge delete")) != 0)
		return rc;
	c->gone = mysql_stmt_affected_rows(q);
	return 0;
}

static int
step_purge(struct store *st, void *ctx)
{
	struct my_purge *c = ctx;
	int rc;

	c->gone = 0;
	if ((rc = purge_select(st, c)) != 0 || c->got == 0)
		return rc;
	return purge_delete(st, c);
}

static int src_purge(struct store *st, int32_t cutoff, size_t batch,
    uint64_t *deleted);

int
my_purge_batch(struct store *st, enum store_purge_rule rule, int32_t cutoff,
    size_t batch, uint64_t *deleted)
{
	struct my_purge c;
	int rc;

	*deleted = 0;
	if ((rc = my_purge_renew(st)) != 0)
		return rc;
	if (rule == STORE_PURGE_SOURCES)
		return src_purge(st, cutoff, batch, deleted);
	if (rule == STORE_PURGE_HISTORY)
		return my_history_purge(st, cutoff, batch, deleted);
	if (rule == STORE_PURGE_DAILY)
		return my_daily_purge(st, cutoff, batch, deleted);
	c.rule = rule;
	store_day_iso(cutoff, c.date);
	while (*deleted < batch) {
		c.want = batch - *deleted < PURGE_CHUNK ? batch - *deleted :
							  PURGE_CHUNK;
		if ((rc = my_with_retry(st, step_purge, &c)) != 0)
			return rc;
		*deleted += c.gone;
		if (c.got < c.want)
			break;
	}
	return 0;
}

struct my_srcpurge {
	int64_t limit;
	uint64_t want;
	uint64_t gone;
};

static int
step_src_purge(struct store *st, void *ctx)
{
	struct my_srcpurge *c = ctx;
	MYSQL_BIND in[2];
	MYSQL_STMT *q;
	int rc;

	b_i64(&in[0], &c->limit);
	b_u64(&in[1], &c->want);
	if ((rc = my_fixed(st, M_SRC_PURGE, &q)) != 0 ||
	    (rc = my_run(st, q, in, "purge sources")) != 0)
		return rc;
	c->gone = mysql_stmt_affected_rows(q);
	return 0;
}

/* src_purge - one batch of the sources rule: an index range of
 * last_seen, deleted in one statement. */
static int
src_purge(struct store *st, int32_t cutoff, size_t batch, uint64_t *deleted)
{
	struct my_srcpurge c = {(int64_t)cutoff * 86400, batch, 0};
	int rc;

	if ((rc = my_with_retry(st, step_src_purge, &c)) != 0)
		return rc;
	*deleted = c.gone;
	return 0;
}
