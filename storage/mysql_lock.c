/*
 * mysql_lock.c - the "mysql" driver's purge lock: only one edgespam
 * purge runs on a database at a time, whether its clients reach one
 * MariaDB server or the nodes of a Galera cluster.
 *
 * Why a row. MariaDB's GET_LOCK() is a lock of the server it runs on: a
 * Galera node does not replicate it, so two purges through two nodes
 * both got it and ran side by side (and one then failed on the other's
 * deletes at certification). MariaDB's Galera documentation lists
 * GET_LOCK among the unsupported explicit locks and points at
 * transactions instead. So the lock is a row of edgespam_lock (name
 * 'purge'), written by an UPDATE in a transaction: on one server the row
 * lock orders two takers and the second finds the lock taken; on a
 * cluster, two nodes taking it at once both write the row and Galera's
 * certification lets only the first commit (the other gets 1213 and
 * tries again, and then finds it taken).
 *
 * Life. A row outlives its holder's connection, so it carries an expiry
 * (the server's UNIX_TIMESTAMP() plus lock_s, mysql_purge_lock_s):
 * taking it succeeds when it is free, expired or already ours; the
 * purge renews it inside a batch's transaction once a third of lock_s
 * has passed since the last renewal; release sets the expiry to 0. A
 * purge that was killed therefore blocks the next one for at most
 * lock_s. The nodes' clocks must agree to well within lock_s. A purge
 * that rested longer than lock_s may find its lock taken by another:
 * its next batch stops with ES_EBUSY, deleting nothing more. A lost
 * connection does not release the lock (the next statement reconnects
 * and the renewal carries on).
 *
 * Holder: "host pid N (handle K)" (gethostname, getpid, the handle's
 * number in the process), named in the refusal.
 * Errors: ES_EBUSY when another holds the lock (the message names it,
 * when it was taken and how long it has left), else the driver's.
 * One thread per handle.
 */
#include "mysql_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>

#include "es_err.h"

/* The name of the purge's row in edgespam_lock. */
#define LOCK_PURGE "purge"
/* Tries of taking the lock when a conflict (1213) ends the transaction:
 * a conflict means another is taking it now; the next try sees it. */
#define LOCK_TRIES 20

/* Handles opened by this process, so that two handles of one process
 * (threads, or a test) are two holders. */
static unsigned my_handles;

void
my_holder_name(char *buf, size_t len)
{
	char host[256];
	unsigned n = __atomic_add_fetch(&my_handles, 1, __ATOMIC_RELAXED);

	if (gethostname(host, sizeof(host)) != 0)
		strlcpy(host, "unknown-host", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	snprintf(buf, len, "%.200s pid %ld (handle %u)", host, (long)getpid(),
	    n);
}

/* mono_s - a monotonic clock in seconds. */
static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The row as read. */
struct lock_row {
	char holder[MY_HOLDER_MAX + 1];
	int64_t taken; /* seconds since the epoch */
	int64_t left;  /* seconds until it expires (<= 0: free) */
	bool found;
};

/* step_read - the purge lock's row into ctx (a struct lock_row). */
static int
step_read(struct store *st, void *ctx)
{
	struct lock_row *r = ctx;
	MYSQL_BIND in, out[3];
	unsigned long len[3] = {0, 0, 0};
	my_bool nul[3] = {0, 0, 0};
	MYSQL_STMT *q;
	int rc;

	memset(r, 0, sizeof(*r));
	b_str(&in, LOCK_PURGE);
	if ((rc = my_fixed(st, M_LOCK_READ, &q)) != 0 ||
	    (rc = my_run(st, q, &in, "purge lock")) != 0)
		return rc;
	b_out(&out[0], MYSQL_TYPE_STRING, r->holder, MY_HOLDER_MAX, &len[0],
	    &nul[0]);
	b_out(&out[1], MYSQL_TYPE_LONGLONG, &r->taken, 0, &len[1], &nul[1]);
	b_out(&out[2], MYSQL_TYPE_LONGLONG, &r->left, 0, &len[2], &nul[2]);
	if (mysql_stmt_bind_result(q, out) != 0)
		rc = my_fail_stmt(st, q, "purge lock");
	else if ((rc = my_fetch(st, q, "purge lock")) == 1) {
		rc = 0;
		r->found = true;
		cut(r->holder, sizeof(r->holder), len[0]);
	}
	mysql_stmt_free_result(q);
	return rc;
}

/* busy - ES_EBUSY with a message naming the holder of r. */
static int
busy(struct store *st, const struct lock_row *r, const char *what)
{
	char when[32] = "?";
	time_t t = (time_t)r->taken;
	struct tm tm;

	if (gmtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	store_seterr(st, "mysql: %s: another purge is running: %s holds the "
	    "purge lock (edgespam_lock) since %s; it expires in %lld s unless "
	    "renewed", what, r->holder[0] != '\0' ? r->holder : "(unknown)",
	    when, (long long)r->left);
	return ES_EBUSY;
}

/* take_once - one transaction: make the row (the first purge ever),
 * take it when it is free, expired or ours, and read it back. */
static int
take_once(struct store *st, struct lock_row *row)
{
	struct my_store *m = drv(st);
	int64_t life = m->lock_s;
	MYSQL_BIND in[4];
	int rc;

	if ((rc = my_begin(st, true)) != 0)
		return rc;
	b_str(&in[0], LOCK_PURGE);
	if ((rc = my_simple(st, M_LOCK_ROW, in, "purge lock")) == 0) {
		b_str(&in[0], m->holder);
		b_i64(&in[1], &life);
		b_str(&in[2], LOCK_PURGE);
		b_str(&in[3], m->holder);
		rc = my_simple(st, M_LOCK_TAKE, in, "purge lock");
	}
	if (rc == 0)
		rc = my_with_retry(st, step_read, row);
	if (rc != 0) {
		my_rollback(st);
		return rc;
	}
	return my_commit(st);
}

int
my_purge_lock(struct store *st)
{
	struct my_store *m = drv(st);
	struct lock_row row;
	int rc = 0;

	for (unsigned n = 0; n < LOCK_TRIES; n++) {
		struct timespec ts = {0, 10000000L * (long)(n < 10 ? n + 1 : 10)};

		if ((rc = take_once(st, &row)) == 0 || !store_conflict(st))
			break;
		nanosleep(&ts, NULL);
	}
	if (rc != 0)
		return rc;
	if (!row.found) {
		store_seterr(st, "mysql: purge lock: the row of edgespam_lock "
		    "is missing after it was made");
		return ES_ESTORE;
	}
	if (strcmp(row.holder, m->holder) != 0)
		return busy(st, &row, "purge lock");
	m->purge_locked = true;
	m->lock_renewed = mono_s();
	return 0;
}

int
my_purge_renew(struct store *st)
{
	struct my_store *m = drv(st);
	struct lock_row row;
	int64_t life = m->lock_s;
	MYSQL_BIND in[3];
	double now = mono_s();
	int rc;

	if (!m->purge_locked || now - m->lock_renewed < m->lock_s / 3.0)
		return 0;
	b_i64(&in[0], &life);
	b_str(&in[1], LOCK_PURGE);
	b_str(&in[2], m->holder);
	if ((rc = my_simple(st, M_LOCK_RENEW, in, "purge lock renewal")) != 0 ||
	    (rc = my_with_retry(st, step_read, &row)) != 0)
		return rc;
	if (!row.found || strcmp(row.holder, m->holder) != 0) {
		/* it expired while we rested and another took it */
		m->purge_locked = false;
		return busy(st, &row, "purge lock lost");
	}
	m->lock_renewed = now;
	return 0;
}

/* A lock the release cannot reach (server gone) expires by itself. */
void
my_purge_unlock(struct store *st)
{
	struct my_store *m = drv(st);
	MYSQL_BIND in[2];

	if (!m->purge_locked)
		return;
	m->purge_locked = false;
	b_str(&in[0], LOCK_PURGE);
	b_str(&in[1], m->holder);
	(void)my_simple(st, M_LOCK_FREE, in, "purge lock release");
}
