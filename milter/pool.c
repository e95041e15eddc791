/*
 * pool.c - store handles shared by the milter's connection threads.
 *
 * libmilter runs one thread per SMTP connection, but a store handle is
 * used by one thread at a time and the store serialises writers anyway,
 * so a small pool of handles (store_pool_size) serves any number of
 * connections. A thread holds a slot only for the store work of one
 * callback, never across callbacks. Handles are opened on first use; a
 * handle that failed permanently is closed and reopened by its next
 * user, so the milter recovers by itself when the store comes back.
 *
 * Writers take the pool's write lock before their transaction: the
 * store admits one writer at a time anyway, and waiting on a mutex is
 * fair and immediate where SQLite's busy handler would poll with
 * growing sleeps. The lock comes with the pool's one writer handle: a
 * commit invalidates the page cache of every other handle on the
 * database, so with writes spread over the slots each write began with
 * a cold cache; the writer handle's stays warm. Reads (scoring) use the
 * slots' handles, in parallel and outside the lock. Housekeeping (SQLite's WAL checkpoint) runs in a
 * thread of its own with its own handle, never inside a message.
 *
 * A database file deleted or replaced under the milter (SQLite): every
 * handle moves to the file now at the path (store.h says how the driver
 * does it). A slot's handle is checked each time a thread takes it, the
 * writer before each transaction, and the housekeeping thread checks its
 * own handle, the writer and every idle slot each second, so that no
 * handle keeps the old file open. The first handle to report a move to a
 * file logs it; the others moving to the same file do not. A message
 * whose reads came from one file while the writer has moved to another
 * is not written (its uid, its tokens, may not be the new file's): it
 * fails with ES_ETRANSIENT and takes on_error's action, as when the
 * store is down.
 *
 * History (history = yes): a message's history row is written by the
 * same writer in the same transaction as its learning, after it, so the
 * row carries the signature just stored; a row without learning (a
 * message a sender list decided) goes the same way on its own, and on
 * SQLite shares the group's commit. Only changing a row's action later
 * (the MTA refused our header change) is a write of its own. The row's
 * verdict is counted in the daily counts (edgespam_daily) in the same
 * transaction, on the row's day.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "es_alloc.h"
#include "es_err.h"
#include "es_log.h"
#include "milter.h"
#include "store_retry.h"

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cv;
static struct mlt_slot *slots;
static struct store_file *slot_file; /* each slot's file when taken */
static size_t nslots;
static struct store_params params;
static char *param_driver, *param_path;
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;
static struct store *writer_st; /* guarded by write_lock */

/*
 * Group commit. A message's learning is queued; one thread at a time is
 * the leader: it takes up to GROUP_MAX queued messages, writes them all
 * in one transaction of the writer handle under the write lock, commits
 * once and wakes their threads. Pages that several messages touch (the
 * common tokens) are then written once per commit rather than once per
 * message. When the group transaction fails, each of its messages is
 * written again alone, so one message's failure is its own. A leader
 * whose own message is done hands over to a waiting thread.
 *
 * Only for SQLite, where the database admits one writer at a time. A
 * MySQL transaction locks rows instead, and rows of several messages in
 * one transaction are no longer in one ascending order, so two MX
 * hosts' groups could deadlock each other. There each message is its
 * own transaction on its slot's own connection, in ascending token
 * order, in parallel with the others (learn_own).
 */
#define GROUP_MAX 32
static size_t group_max = 1;
static bool row_locks; /* the database locks rows, not the whole file */

struct learn_req {
	struct cls_engine *eng;
	bool learn;             /* the engine's plan; else history only */
	struct store_history *hist; /* the row to add after it, or NULL */
	const unsigned char *rnd;
	time_t now;
	struct store_file file; /* the file the message was read from */
	struct cls_engine_result *res;
	char *err;
	size_t errlen;
	int rc;
	bool taken; /* a leader is writing it: it can no longer leave */
	bool done;
	struct learn_req *next;
};

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cv;
static struct learn_req *q_head, **q_tail = &q_head;
static bool q_leader;

static pthread_t maint_thread;
static bool maint_running, maint_stop;
static pthread_mutex_t maint_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t maint_cv;
static unsigned maint_ms;

static pthread_mutex_t reopen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct store_file reopen_logged; /* the last file a move went to */

/*
 * note_reopen - log a move of st to a new database file, once per file:
 * every handle reports its own move, and they all go to the same file.
 */
static void
note_reopen(struct store *st)
{
	struct store_reopen r;
	bool first;

	if (st == NULL || !store_reopened(st, &r))
		return;
	pthread_mutex_lock(&reopen_lock);
	first = r.now.dev != reopen_logged.dev ||
	    r.now.ino != reopen_logged.ino;
	reopen_logged = r.now;
	pthread_mutex_unlock(&reopen_lock);
	if (first)
		es_log_warning("store: %s", r.msg);
}

/* same_file - a and b are one file. */
static bool
same_file(const struct store_file *a, const struct store_file *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

void
mlt_deadline_in(unsigned ms, struct timespec *ts)
{
	store_retry_deadline(ms, ts);
}

int
mlt_pool_init(const struct store_params *p, size_t n, char *err,
    size_t errlen)
{
	pthread_condattr_t ca;

	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&pool_cv, &ca) != 0) {
		snprintf(err, errlen, "cannot set up the store pool");
		return ES_EINTERNAL;
	}
	if (pthread_cond_init(&q_cv, &ca) != 0) {
		snprintf(err, errlen, "cannot set up the store pool");
		return ES_EINTERNAL;
	}
	pthread_condattr_destroy(&ca);
	params = *p;
	if ((param_driver = es_strdup(p->driver ? p->driver : "")) == NULL ||
	    (param_path = es_strdup(p->path ? p->path : "")) == NULL ||
	    (slots = es_calloc(n, sizeof(*slots))) == NULL ||
	    (slot_file = es_calloc(n, sizeof(*slot_file))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return ES_ENOMEM;
	}
	params.driver = param_driver;
	params.path = param_path;
	params.own_maintenance = true;
	group_max = strcmp(params.driver, "sqlite") == 0 ? GROUP_MAX : 1;
	row_locks = strcmp(params.driver, "mysql") == 0;
	nslots = n;
	return 0;
}

/* open_slot - give s a store and a work area (called without the lock). */
static int
open_slot(struct mlt_slot *s, char *err, size_t errlen)
{
	int rc;

	if (s->eng == NULL && (s->eng = cls_engine_new()) == NULL) {
		snprintf(err, errlen, "out of memory for an engine work area");
		return ES_ENOMEM;
	}
	if (s->st != NULL)
		return 0;
	if ((rc = store_open(&params, &s->st, err, errlen)) != 0) {
		s->st = NULL;
		/* Whatever the reason, the store is not usable now: the
		 * caller treats it as a store that is down. */
		return rc == ES_ENOMEM ? rc : ES_ETRANSIENT;
	}
	return 0;
}

int
mlt_pool_lock_write(struct mlt_slot *s, const struct timespec *deadline,
    char *err, size_t errlen)
{
	int rc;

	if (s->writer)
		return 0;
	if ((rc = pthread_mutex_clocklock(&write_lock, CLOCK_MONOTONIC,
		 deadline)) != 0) {
		snprintf(err, errlen, "%s",
		    rc == ETIMEDOUT ? "other messages held the store's write "
		                      "lock for the whole time budget"
		                    : "cannot take the write lock");
		return ES_ETRANSIENT;
	}
	if (writer_st == NULL &&
	    (rc = store_open(&params, &writer_st, err, errlen)) != 0) {
		writer_st = NULL;
		pthread_mutex_unlock(&write_lock);
		return rc == ES_ENOMEM ? rc : ES_ETRANSIENT;
	}
	s->writer = true;
	s->wst = writer_st;
	return 0;
}

void
mlt_pool_unlock_write(struct mlt_slot *s)
{
	if (!s->writer)
		return;
	note_reopen(writer_st);
	s->writer = false;
	s->wst = NULL;
	pthread_mutex_unlock(&write_lock);
}

int
mlt_pool_get(const struct timespec *deadline, struct mlt_slot **out,
    char *err, size_t errlen)
{
	struct mlt_slot *s = NULL;
	size_t i;
	int rc = 0;

	*out = NULL;
	pthread_mutex_lock(&pool_lock);
	for (;;) {
		/* prefer a slot with an open handle */
		for (i = 0; i < nslots; i++)
			if (!slots[i].busy && slots[i].st != NULL) {
				s = &slots[i];
				break;
			}
		for (i = 0; s == NULL && i < nslots; i++)
			if (!slots[i].busy)
				s = &slots[i];
		if (s != NULL)
			break;
		rc = pthread_cond_timedwait(&pool_cv, &pool_lock, deadline);
		if (rc == ETIMEDOUT) {
			pthread_mutex_unlock(&pool_lock);
			snprintf(err, errlen,
			    "no store handle came free within the time budget");
			return ES_ETRANSIENT;
		}
	}
	s->busy = true;
	pthread_mutex_unlock(&pool_lock);
	if ((rc = open_slot(s, err, errlen)) != 0) {
		mlt_pool_put(s, false);
		return rc;
	}
	/* the file at the path, for the whole callback */
	if ((rc = store_refresh(s->st)) != 0) {
		snprintf(err, errlen, "%s", store_errmsg(s->st));
		mlt_pool_put(s, true);
		return rc == ES_ENOMEM ? rc : ES_ETRANSIENT;
	}
	note_reopen(s->st);
	store_file_id(s->st, &slot_file[s - slots]);
	*out = s;
	return 0;
}

void
mlt_pool_put(struct mlt_slot *s, bool broken)
{
	if (s == NULL)
		return;
	note_reopen(s->st);
	if (broken && s->st != NULL) {
		store_close(s->st);
		s->st = NULL;
	}
	if (s->writer) {
		note_reopen(writer_st);
		if (broken) {
			store_close(writer_st);
			writer_st = NULL;
		}
		s->writer = false;
		s->wst = NULL;
		pthread_mutex_unlock(&write_lock);
	}
	pthread_mutex_lock(&pool_lock);
	s->busy = false;
	pthread_cond_signal(&pool_cv);
	pthread_mutex_unlock(&pool_lock);
}

/* count_daily - +1 to the verdict's daily count on hist's day. */
static int
count_daily(struct store *st, const struct store_history *hist)
{
	struct store_daily d = {0};

	if (hist->verdict == STORE_VERDICT_SPAM)
		d.spam = 1;
	else if (hist->verdict == STORE_VERDICT_WHITELISTED)
		d.whitelisted = 1;
	else
		d.innocent = 1;
	return store_daily_add(st, hist->uid, (time_t)hist->time, &d);
}

/*
 * stage_history - add hist (when not NULL) in st's open transaction,
 * with the signature the learning just stored; hist->id gets its id.
 */
static int
stage_history(struct store *st, bool learned, struct store_history *hist,
    const struct cls_engine_result *res, char *err, size_t errlen)
{
	int rc;

	if (hist == NULL)
		return 0;
	hist->id = 0;
	hist->signature = learned ? res->sig : "";
	if ((rc = store_history_add(st, hist->uid, hist, &hist->id)) != 0) {
		snprintf(err, errlen, "history: %s", store_errmsg(st));
		return rc;
	}
	if ((rc = count_daily(st, hist)) != 0)
		snprintf(err, errlen, "daily counts: %s", store_errmsg(st));
	return rc;
}

/*
 * write_one - stage r in the open transaction of writer_st, unless the
 * writer has moved to another database file since r was read.
 */
static int
write_one(struct learn_req *r)
{
	struct store_file f;
	int rc;

	store_file_id(writer_st, &f);
	if (!same_file(&f, &r->file)) {
		snprintf(r->err, r->errlen, "the database file was deleted "
		    "or replaced while the message was read; not written");
		return ES_ETRANSIENT;
	}
	if (r->learn && (rc = cls_engine_stage_scored(r->eng, writer_st,
			     r->rnd, r->now, r->res, r->err, r->errlen)) != 0)
		return rc;
	return stage_history(writer_st, r->learn, r->hist, r->res, r->err,
	    r->errlen);
}

/*
 * write_alone - r in a transaction of its own (after its group's
 * transaction failed). Called with the write lock held.
 */
static int
write_alone(struct learn_req *r)
{
	int rc;

	if ((rc = store_begin(writer_st, true)) != 0) {
		snprintf(r->err, r->errlen, "%s", store_errmsg(writer_st));
		return rc;
	}
	if ((rc = write_one(r)) == 0 &&
	    (rc = store_commit(writer_st)) != 0) {
		snprintf(r->err, r->errlen, "commit: %s",
		    store_errmsg(writer_st));
		r->res->sig[0] = '\0';
	}
	if (rc != 0)
		store_rollback(writer_st);
	return rc;
}

/* fail_all - the same failure for each of the n requests of g. */
static void
fail_all(struct learn_req **g, size_t n, int rc, const char *what,
    const char *msg)
{
	for (size_t i = 0; i < n; i++) {
		snprintf(g[i]->err, g[i]->errlen, "%s: %s", what, msg);
		g[i]->res->sig[0] = '\0';
		g[i]->rc = rc;
	}
}

/*
 * write_group - write the n requests of g (write lock held) in one
 * transaction. When the store refuses the transaction itself (begin or
 * commit: busy, down), every request gets that answer; when staging one
 * of them fails, each is written again in a transaction of its own, so
 * only the message at fault fails. Sets each rc.
 */
static void
write_group(struct learn_req **g, size_t n)
{
	char err[256];
	size_t i;
	int rc;

	if (writer_st == NULL &&
	    (rc = store_open(&params, &writer_st, err, sizeof(err))) != 0) {
		writer_st = NULL;
		fail_all(g, n, rc == ES_ENOMEM ? rc : ES_ETRANSIENT, "open",
		    err);
		return;
	}
	if ((rc = store_begin(writer_st, true)) != 0) {
		fail_all(g, n, rc, "begin", store_errmsg(writer_st));
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((rc = write_one(g[i])) != 0)
			break;
	if (i == n) {
		if ((rc = store_commit(writer_st)) != 0)
			fail_all(g, n, rc, "commit", store_errmsg(writer_st));
		else
			for (i = 0; i < n; i++)
				g[i]->rc = 0;
		goto out;
	}
	store_rollback(writer_st);
	if (n == 1) {
		g[0]->rc = rc;
		goto out;
	}
	for (i = 0; i < n; i++) {
		g[i]->err[0] = '\0';
		g[i]->rc = write_alone(g[i]);
		if (g[i]->rc == ES_ESTORE)
			rc = ES_ESTORE;
	}
out:
	/* a permanent failure: reopen the writer handle next time */
	for (i = 0; i < n; i++)
		if (g[i]->rc == ES_ESTORE)
			rc = ES_ESTORE;
	if (rc == ES_ESTORE) {
		store_close(writer_st);
		writer_st = NULL;
	}
}

/* lead - write queued groups until our own request r is done. */
static void
lead(struct learn_req *r)
{
	struct learn_req *g[GROUP_MAX];
	size_t n;

	/* called and returns with q_lock held */
	while (!r->done && q_head != NULL) {
		for (n = 0; n < group_max && q_head != NULL; n++) {
			g[n] = q_head;
			g[n]->taken = true;
			if ((q_head = q_head->next) == NULL)
				q_tail = &q_head;
		}
		pthread_mutex_unlock(&q_lock);
		pthread_mutex_lock(&write_lock);
		write_group(g, n);
		note_reopen(writer_st);
		pthread_mutex_unlock(&write_lock);
		pthread_mutex_lock(&q_lock);
		for (size_t i = 0; i < n; i++) {
			if (g[i]->learn)
				cls_engine_scored_done(g[i]->eng);
			g[i]->done = true;
		}
		pthread_cond_broadcast(&q_cv);
	}
}

#define LEARN_TRIES 6
/* The longest pause between two tries after a conflict, in ms. */
#define LEARN_PAUSE_MAX_MS 64

/*
 * learn_own - s's message in a transaction of s's own handle (databases
 * with row locks). A deadlock or lock wait timeout rolls the whole
 * transaction back, as does a lost connection: ES_ETRANSIENT, and the
 * message is written again after a growing pause with a random part,
 * so two writers that collided do not collide again in step. A
 * conflict with another writer (store_conflict(): a deadlock, or a
 * Galera certification failure, which on a cluster with several
 * writing nodes is routine: every message of a user writes the user's
 * totals row) is retried until the deadline, the pause doubling from
 * 2 ms up to LEARN_PAUSE_MAX_MS; anything else, such as a server that
 * is down, gets LEARN_TRIES quick tries (some 60 ms in all), not the
 * whole time budget, and the message then takes on_error's action at
 * once. A message written after a retry is logged (info) with the
 * number of tries and the first failure, so that a site sees how
 * often its writers collide. One case stays ambiguous: a connection lost after
 * the server committed but before its answer arrived. Writing the
 * message again then counts its tokens twice (one message's worth, and
 * only when the connection fails in that instant); not writing it would
 * lose it whenever the commit had not happened, which is the likelier.
 */
static int
learn_own(struct mlt_slot *s, bool learn, const unsigned char rnd[16],
    time_t now, const struct timespec *deadline, struct cls_engine_result *res,
    struct store_history *hist, char *err, size_t errlen)
{
	unsigned pause_ms = 2, tries = 0;
	char first[256] = "";
	int rc;

	for (;;) {
		err[0] = '\0';
		tries++;
		if ((rc = store_begin(s->st, true)) != 0)
			snprintf(err, errlen, "begin: %s", store_errmsg(s->st));
		else if ((!learn || (rc = cls_engine_stage_scored(s->eng, s->st,
				      rnd, now, res, err, errlen)) == 0) &&
		    (rc = stage_history(s->st, learn, hist, res, err,
			 errlen)) == 0 &&
		    (rc = store_commit(s->st)) != 0)
			snprintf(err, errlen, "commit: %s",
			    store_errmsg(s->st));
		if (rc == 0)
			break;
		store_rollback(s->st);
		res->sig[0] = '\0';
		if (tries == 1)
			snprintf(first, sizeof(first), "%s", err);
		if (rc != ES_ETRANSIENT || store_retry_past(deadline, pause_ms) ||
		    (tries >= LEARN_TRIES && !store_conflict(s->st)))
			break;
		{
			unsigned ms = pause_ms / 2 + (unsigned)rnd[tries % 16] %
			    (pause_ms / 2 + 1);
			struct timespec ts = {ms / 1000,
			    (long)(ms % 1000) * 1000000L};

			nanosleep(&ts, NULL);
		}
		if (pause_ms < LEARN_PAUSE_MAX_MS)
			pause_ms *= 2;
	}
	if (rc == 0 && tries > 1)
		es_log_info("store: a message written after %u tries; the "
		    "first failed: %s", tries, first);
	if (rc != 0 && hist != NULL)
		hist->id = 0;
	if (learn)
		cls_engine_scored_done(s->eng);
	return rc;
}

/* The pause policy is the store's own (classifier/store_retry.c), which
 * the CLI's writes share. */
bool
mlt_pool_conflict_pause(struct store *st, int rc, unsigned tries,
    const struct timespec *deadline)
{
	return store_retry_pause(st, rc, tries, deadline);
}

/*
 * pool_write - r through the writer: on MySQL in a transaction of the
 * slot's own (learn_own), else queued for the group writer.
 */
static int
pool_write(struct mlt_slot *s, bool learn, const unsigned char rnd[16],
    time_t now, const struct timespec *deadline,
    struct cls_engine_result *res, struct store_history *hist, char *err,
    size_t errlen)
{
	struct learn_req r = {.eng = s->eng, .learn = learn, .hist = hist,
	    .rnd = rnd, .now = now, .file = slot_file[s - slots], .res = res,
	    .err = err, .errlen = errlen, .rc = ES_EINTERNAL};
	int rc;

	err[0] = '\0';
	if (row_locks)
		return learn_own(s, learn, rnd, now, deadline, res, hist, err,
		    errlen);
	pthread_mutex_lock(&q_lock);
	*q_tail = &r;
	q_tail = &r.next;
	while (!r.done) {
		if (!q_leader) {
			q_leader = true;
			lead(&r);
			q_leader = false;
			pthread_cond_broadcast(&q_cv);
			continue;
		}
		if (r.taken) { /* being written: wait for the end */
			pthread_cond_wait(&q_cv, &q_lock);
			continue;
		}
		rc = pthread_cond_timedwait(&q_cv, &q_lock, deadline);
		if (rc == ETIMEDOUT && !r.taken && !r.done) {
			/* still queued: leave the queue */
			struct learn_req **pp = &q_head;

			while (*pp != &r)
				pp = &(*pp)->next;
			if ((*pp = r.next) == NULL)
				q_tail = pp;
			pthread_mutex_unlock(&q_lock);
			if (learn)
				cls_engine_scored_done(s->eng);
			res->sig[0] = '\0';
			if (hist != NULL)
				hist->id = 0;
			snprintf(err, errlen, "other messages held the store's "
			    "writer for the whole time budget");
			return ES_ETRANSIENT;
		}
	}
	pthread_mutex_unlock(&q_lock);
	if (r.rc != 0 && hist != NULL)
		hist->id = 0;
	return r.rc;
}

int
mlt_pool_learn(struct mlt_slot *s, const unsigned char rnd[16], time_t now,
    const struct timespec *deadline, struct cls_engine_result *res,
    struct store_history *hist, char *err, size_t errlen)
{
	return pool_write(s, true, rnd, now, deadline, res, hist, err, errlen);
}

int
mlt_pool_history(struct mlt_slot *s, const struct timespec *deadline,
    struct store_history *hist, char *err, size_t errlen)
{
	static const unsigned char none[16];
	struct cls_engine_result res;

	memset(&res, 0, sizeof(res));
	return pool_write(s, false, none, (time_t)hist->time, deadline, &res,
	    hist, err, errlen);
}

int
mlt_pool_history_action(uint32_t uid, int64_t id, enum store_action action,
    const struct timespec *deadline, char *err, size_t errlen)
{
	struct mlt_slot *s;
	int rc;

	if ((rc = mlt_pool_get(deadline, &s, err, errlen)) != 0)
		return rc;
	if ((rc = mlt_pool_lock_write(s, deadline, err, errlen)) != 0) {
		mlt_pool_put(s, false);
		return rc;
	}
	if ((rc = store_history_set_action(s->wst, uid, id, action)) != 0)
		snprintf(err, errlen, "%s", store_errmsg(s->wst));
	mlt_pool_put(s, rc == ES_ESTORE);
	return rc;
}

void
mlt_pool_destroy(void)
{
	size_t i;

	pthread_mutex_lock(&pool_lock);
	for (i = 0; i < nslots; i++) {
		if (slots[i].st != NULL)
			store_close(slots[i].st);
		cls_engine_free(slots[i].eng);
	}
	es_free(slots);
	slots = NULL;
	es_free(slot_file);
	slot_file = NULL;
	nslots = 0;
	pthread_mutex_unlock(&pool_lock);
	pthread_mutex_lock(&write_lock);
	store_close(writer_st);
	writer_st = NULL;
	pthread_mutex_unlock(&write_lock);
	es_free(param_driver);
	es_free(param_path);
	param_driver = param_path = NULL;
}

/*
 * refresh_idle - move every idle slot's handle to the file at the path
 * (a handle that cannot is closed: the next user opens it anew), so that
 * none keeps a deleted file open while no message needs it.
 */
static void
refresh_idle(void)
{
	struct mlt_slot *s;

	for (size_t i = 0;; i++) {
		pthread_mutex_lock(&pool_lock);
		if (i >= nslots) {
			pthread_mutex_unlock(&pool_lock);
			return;
		}
		s = &slots[i];
		if (s->busy || s->st == NULL) {
			pthread_mutex_unlock(&pool_lock);
			continue;
		}
		s->busy = true;
		pthread_mutex_unlock(&pool_lock);
		if (store_refresh(s->st) != 0) {
			store_close(s->st);
			s->st = NULL;
		}
		note_reopen(s->st);
		pthread_mutex_lock(&pool_lock);
		s->busy = false;
		pthread_cond_signal(&pool_cv);
		pthread_mutex_unlock(&pool_lock);
	}
}

/*
 * maintain - a pass that does not stop writers, then a short one
 * holding the write lock (so no message's writer is in a transaction)
 * that lets the store reset its log and moves the writer to the file at
 * the path; then the idle slots.
 */
static int
maintain(struct store *st)
{
	int rc;

	if ((rc = store_maintain(st, false)) != 0)
		return rc;
	note_reopen(st);
	pthread_mutex_lock(&write_lock);
	rc = store_maintain(st, true);
	if (writer_st != NULL && store_refresh(writer_st) != 0) {
		store_close(writer_st);
		writer_st = NULL;
	}
	note_reopen(writer_st);
	pthread_mutex_unlock(&write_lock);
	refresh_idle();
	return rc;
}

/* maint_main - store housekeeping every maint_ms, on its own handle. */
static void *
maint_main(void *arg)
{
	struct store *st = NULL;
	struct timespec ts;
	char err[256];

	(void)arg;
	pthread_mutex_lock(&maint_lock);
	while (!maint_stop) {
		mlt_deadline_in(maint_ms, &ts);
		pthread_cond_timedwait(&maint_cv, &maint_lock, &ts);
		if (maint_stop)
			break;
		pthread_mutex_unlock(&maint_lock);
		if (st == NULL && store_open(&params, &st, err, sizeof(err)) != 0)
			st = NULL; /* the store is down: messages report it */
		if (st != NULL && maintain(st) != 0) {
			store_close(st);
			st = NULL;
		}
		pthread_mutex_lock(&maint_lock);
	}
	pthread_mutex_unlock(&maint_lock);
	store_close(st);
	return NULL;
}

int
mlt_pool_maintain_start(unsigned interval_ms)
{
	pthread_condattr_t ca;

	maint_ms = interval_ms;
	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&maint_cv, &ca) != 0)
		return ES_EINTERNAL;
	pthread_condattr_destroy(&ca);
	if (pthread_create(&maint_thread, NULL, maint_main, NULL) != 0)
		return ES_EINTERNAL;
	maint_running = true;
	return 0;
}

void
mlt_pool_maintain_stop(void)
{
	if (!maint_running)
		return;
	pthread_mutex_lock(&maint_lock);
	maint_stop = true;
	pthread_cond_signal(&maint_cv);
	pthread_mutex_unlock(&maint_lock);
	pthread_join(maint_thread, NULL);
	maint_running = false;
}
