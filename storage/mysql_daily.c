/*
 * mysql_daily.c - the "mysql" driver's daily counts (store.h, "Daily
 * counts") in edgespam_daily, keyed by (uid, day), day being days since
 * the epoch (UTC): the upsert that adds a delta, the listing, and the
 * purge rule daily (called from mysql_purge.c).
 *
 * The upsert adds each count and clamps it at zero in one statement
 * (INSERT ... ON DUPLICATE KEY UPDATE c = GREATEST(c + ?, 0)), so two
 * milters never lose a count; the counts are signed BIGINT so a
 * negative delta never leaves the column's range.
 *
 * Errors and retries as mysql_conn.c. One thread per handle.
 */
#include "mysql_int.h"

#include <stdint.h>
#include <string.h>

#include <mysql.h>

#include "es_err.h"

int
my_daily_add(struct store *st, uint32_t uid, int32_t day,
    const struct store_daily *d)
{
	const int64_t *v[5] = {&d->spam, &d->innocent, &d->whitelisted,
	    &d->missed_spam, &d->false_positives};
	int64_t dd = day;
	MYSQL_BIND in[12];

	b_u32(&in[0], &uid);
	b_i64(&in[1], &dd);
	for (size_t i = 0; i < 5; i++) {
		b_i64(&in[2 + i], v[i]);
		b_i64(&in[7 + i], v[i]);
	}
	return my_simple(st, M_DAILY_ADD, in, "daily counts");
}

struct md_list {
	uint32_t uid;
	int64_t since;
	store_daily_fn *fn;
	void *arg;
};

static int
step_list(struct store *st, void *ctx)
{
	struct md_list *c = ctx;
	int64_t col[6];
	MYSQL_BIND in[2], out[6];
	MYSQL_STMT *q;
	int rc;

	b_u32(&in[0], &c->uid);
	b_i64(&in[1], &c->since);
	for (size_t i = 0; i < 6; i++)
		b_i64(&out[i], &col[i]);
	if ((rc = my_fixed(st, M_DAILY_LIST, &q)) != 0 ||
	    (rc = my_run(st, q, in, "daily counts")) != 0)
		return rc;
	if (mysql_stmt_bind_result(q, out) != 0)
		rc = my_fail_stmt(st, q, "daily counts");
	while (rc == 0 && (rc = my_fetch(st, q, "daily counts")) == 1) {
		struct store_daily r = {
			.uid = c->uid,
			.day = (int32_t)col[0],
			.spam = col[1],
			.innocent = col[2],
			.whitelisted = col[3],
			.missed_spam = col[4],
			.false_positives = col[5],
		};

		rc = 0;
		if (c->fn(&r, c->arg) != 0)
			break;
	}
	mysql_stmt_free_result(q);
	return rc;
}

int
my_daily_list(struct store *st, uint32_t uid, int32_t since,
    store_daily_fn *fn, void *arg)
{
	struct md_list c = {uid, since, fn, arg};

	return my_with_retry(st, step_list, &c);
}

struct md_purge {
	int64_t cutoff;
	uint64_t want;
	uint64_t gone;
};

static int
step_purge(struct store *st, void *ctx)
{
	struct md_purge *c = ctx;
	MYSQL_BIND in[2];
	MYSQL_STMT *q;
	int rc;

	b_i64(&in[0], &c->cutoff);
	b_u64(&in[1], &c->want);
	if ((rc = my_fixed(st, M_DAILY_PURGE, &q)) != 0 ||
	    (rc = my_run(st, q, in, "purge daily counts")) != 0)
		return rc;
	c->gone = mysql_stmt_affected_rows(q);
	return 0;
}

int
my_daily_purge(struct store *st, int32_t cutoff, size_t batch,
    uint64_t *deleted)
{
	struct md_purge c = {cutoff, batch, 0};
	int rc;

	if ((rc = my_with_retry(st, step_purge, &c)) != 0)
		return rc;
	*deleted = c.gone;
	return 0;
}
