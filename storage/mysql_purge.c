/*
 * mysql_purge.c - the "mysql" driver's purge rules.
 *
 * Purge: a batch of the signatures, unused, rare and single rules is
 * one statement, DELETE ... WHERE <rule> ORDER BY <date>, <primary key>
 * LIMIT batch, which the server runs over the rule's date index
 * (last_hit, created_on) in the index's own order; the control token is
 * never deleted. Its WHERE is evaluated on each row as it is deleted
 * (READ COMMITTED), so a token the mail just touched stays. The order is
 * total (the index's own), so which rows a batch takes does not depend
 * on the server's plan.
 * (The purge used to select the keys FOR UPDATE and delete them by a
 * list of 256 keys per statement: measured on MariaDB 10.11 without mail
 * load, that cost the server about 2.3 times the CPU per deleted row,
 * 50 against 22 microseconds with the default pacing, 76-85 against
 * 33-40 unpaced; the server's CPU is what the mail waits for while a
 * purge runs.) The sources rule, whose key is one column, is the same
 * kind of statement over last_seen; history and daily are in their own
 * files. Each batch first renews the purge lock when it is due
 * (mysql_lock.c), in the batch's transaction.
 */
#include "mysql_int.h"

#include <string.h>

#include <mysql.h>

#include "es_err.h"

/* ---- purge ---- */

struct my_purge {
	enum store_purge_rule rule;
	char date[11];
	uint64_t want;  /* rows to delete at most */
	uint64_t gone;  /* rows deleted */
};

/* step_purge - one DELETE of at most c->want rows of the rule. */
static int
step_purge(struct store *st, void *ctx)
{
	static const enum my_stmt which[] = {
		[STORE_PURGE_SIGNATURES] = M_PDEL_SIG,
		[STORE_PURGE_UNUSED] = M_PDEL_UNUSED,
		[STORE_PURGE_RARE] = M_PDEL_RARE,
		[STORE_PURGE_SINGLE] = M_PDEL_SINGLE,
	};
	struct my_purge *c = ctx;
	struct my_store *m = drv(st);
	MYSQL_BIND in[3];
	MYSQL_STMT *q;
	int rc;

	c->gone = 0;
	b_str(&in[0], c->date);
	if (c->rule == STORE_PURGE_SIGNATURES) {
		b_u64(&in[1], &c->want);
	} else {
		b_tok(m, &in[1], 0, STORE_CONTROL_TOKEN);
		b_u64(&in[2], &c->want);
	}
	if ((rc = my_fixed(st, which[c->rule], &q)) != 0 ||
	    (rc = my_run(st, q, in, "purge delete")) != 0)
		return rc;
	c->gone = mysql_stmt_affected_rows(q);
	return 0;
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
	c.want = batch;
	if ((rc = my_with_retry(st, step_purge, &c)) != 0)
		return rc;
	*deleted = c.gone;
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
