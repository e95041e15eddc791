/*
 * store_retry.h - writing again after a conflict with another writer
 * (see store_retry.c): the pause policy the milter and the CLI share,
 * and a loop that runs one write until it succeeds, fails otherwise, or
 * its time budget is spent.
 */
#ifndef STORE_RETRY_H
#define STORE_RETRY_H

#include <stdbool.h>
#include <time.h>

#include "store.h"

/* The longest pause between two tries, in ms. */
#define STORE_RETRY_PAUSE_MAX_MS 64

/* store_retry_deadline - ts = CLOCK_MONOTONIC now + ms. */
void store_retry_deadline(unsigned ms, struct timespec *ts);
/* store_retry_past - deadline has come, or will have in ms milliseconds. */
bool store_retry_past(const struct timespec *deadline, unsigned ms);

/*
 * store_retry_pause - after try number tries (1 for the first) of a
 * write on st failed with rc: when it was a conflict with another
 * writer (rc ES_ETRANSIENT and store_conflict(st)) and deadline leaves
 * time for the pause, sleep a pause (2 ms doubling up to
 * STORE_RETRY_PAUSE_MAX_MS, half of it random, so that two writers that
 * collided do not collide again in step) and return true: try again.
 * Else false.
 */
bool store_retry_pause(struct store *st, int rc, unsigned tries,
    const struct timespec *deadline);

/*
 * The tries of one write: start, then after each failed try ask again.
 *
 *   store_retry_start(&r, budget_ms);
 *   do
 *           rc = one_whole_try();
 *   while (rc != 0 && store_retry_again(st, &r, rc));
 *
 * store_retry_again counts the try (sr_tries) and pauses and returns
 * true when store_retry_pause says so (a conflict, time left).
 */
struct store_retry {
	struct timespec sr_deadline;
	unsigned sr_tries; /* tries that failed so far */
};

void store_retry_start(struct store_retry *r, unsigned budget_ms);
bool store_retry_again(struct store *st, struct store_retry *r, int rc);

/*
 * One whole try of a write: it opens and ends its own transaction (or
 * runs store operations with implicit ones) and leaves nothing behind
 * when it fails, so that running it again is safe. 0 or an es_err code.
 */
typedef int store_write_fn(struct store *st, void *arg);

/*
 * store_retry_run - fn(st, arg), again after each conflict
 * (store_retry_pause) until it succeeds, fails otherwise, or budget_ms
 * from now is spent; fn's last code. *tries (may be NULL) gets the
 * number of tries.
 */
int store_retry_run(struct store *st, unsigned budget_ms, store_write_fn *fn,
    void *arg, unsigned *tries);

#endif /* STORE_RETRY_H */
