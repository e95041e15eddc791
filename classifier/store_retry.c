/*
 * store_retry.c - writing again after a conflict with another writer.
 *
 * A deadlock, or on a Galera cluster a certification failure (another
 * node committed a write to the same rows first), rolls the whole
 * transaction back: store_conflict() is then true, and running the
 * transaction again is expected to succeed. On a cluster whose nodes all
 * take writes this is routine (every message of a user writes the
 * user's totals row), so a writer retries a conflict for as long as it
 * can wait: the milter until the message's time is up
 * (message_timeout_ms), the CLI's writes likewise. Any other failure
 * (a server that is down, a lock wait that ran out) is not retried here:
 * the callers have their own few quick tries for those, or give up.
 *
 * The pause doubles from 2 ms up to STORE_RETRY_PAUSE_MAX_MS; its upper
 * half is random (from the clock's nanoseconds: no seed to manage), so
 * that two writers that collided do not collide again in step.
 *
 * This module reads the monotonic clock and sleeps; it keeps no state.
 * Thread-safe.
 */
#include "store_retry.h"

#include "es_err.h"

void
store_retry_deadline(unsigned ms, struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

bool
store_retry_past(const struct timespec *deadline, unsigned ms)
{
	struct timespec t;

	store_retry_deadline(ms, &t);
	return t.tv_sec > deadline->tv_sec ||
	    (t.tv_sec == deadline->tv_sec && t.tv_nsec >= deadline->tv_nsec);
}

bool
store_retry_pause(struct store *st, int rc, unsigned tries,
    const struct timespec *deadline)
{
	unsigned pause_ms = 2u << (tries < 6 ? tries - 1 : 5);
	struct timespec t;

	if (rc != ES_ETRANSIENT || !store_conflict(st) || tries == 0 ||
	    store_retry_past(deadline, pause_ms))
		return false;
	clock_gettime(CLOCK_MONOTONIC, &t);
	pause_ms = pause_ms / 2 +
	    (unsigned)(t.tv_nsec / 1000) % (pause_ms / 2 + 1);
	t.tv_sec = pause_ms / 1000;
	t.tv_nsec = (long)(pause_ms % 1000) * 1000000L;
	nanosleep(&t, NULL);
	return true;
}

void
store_retry_start(struct store_retry *r, unsigned budget_ms)
{
	store_retry_deadline(budget_ms, &r->sr_deadline);
	r->sr_tries = 0;
}

bool
store_retry_again(struct store *st, struct store_retry *r, int rc)
{
	return store_retry_pause(st, rc, ++r->sr_tries, &r->sr_deadline);
}

int
store_retry_run(struct store *st, unsigned budget_ms, store_write_fn *fn,
    void *arg, unsigned *tries)
{
	struct store_retry r;
	int rc;

	store_retry_start(&r, budget_ms);
	do
		rc = fn(st, arg);
	while (rc != 0 && store_retry_again(st, &r, rc));
	if (tries != NULL)
		*tries = rc == 0 ? r.sr_tries + 1 : r.sr_tries;
	return rc;
}
