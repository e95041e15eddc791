/*
 * store_pace.c - the pacing of store_purge(): how long to rest between
 * two purge batches so that mail keeps its latency while a big purge
 * runs (issue 17: the milter's p99 on MariaDB went from 44.5 to 84 ms
 * during a 5-million-row purge with a fixed 10 ms pause).
 *
 * Two rules, both on times the purge observes itself:
 *  - Proportional rest. After a batch that took b ms, rest ratio * b ms
 *    (at least purge_pause_ms): the purge then holds the server for at
 *    most 1 / (1 + ratio) of its time, whatever the batch size, and a
 *    batch slowed by a busy server (mail traffic, the server's own
 *    background purge of deleted rows, I/O) makes the rest longer by
 *    itself.
 *  - Latency probe. Before its first batch the purge times a few reads
 *    of the kind every message starts with (store.c: a user's totals,
 *    on the purge's own connection) and keeps their median as the
 *    baseline; after each rest it probes once more, and while the probe
 *    is more than slack percent above the baseline it waits again,
 *    doubling the wait, so the deferred work of its deletes drains
 *    before the next batch adds more. The waits after one batch are
 *    bounded (STORE_PACE_WAIT_MAX_MS, or STORE_PACE_WAIT_PAUSES rests):
 *    when the mail load itself is higher than at the start, the purge
 *    goes slower but still ends.
 *
 * Pure arithmetic: the caller measures and sleeps. Not thread-safe per
 * object; objects are independent.
 */
#include "store_pace.h"

#include <stdlib.h>
#include <string.h>

void
store_pace_init(struct store_pace *p, unsigned ratio, unsigned min_ms,
    unsigned slack_pct)
{
	memset(p, 0, sizeof(*p));
	p->sp_ratio = ratio;
	p->sp_min_ms = min_ms;
	p->sp_slack_pct = slack_pct;
}

/* cmp_ms - qsort order of doubles. */
static int
cmp_ms(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void
store_pace_base(struct store_pace *p, double *ms, size_t n)
{
	p->sp_base_ms = 0;
	if (n == 0 || p->sp_slack_pct == 0)
		return;
	qsort(ms, n, sizeof(ms[0]), cmp_ms);
	p->sp_base_ms = n % 2 == 1 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
}

double
store_pace_batch(struct store_pace *p, double batch_ms, bool last)
{
	double pause;

	if (batch_ms < 0) /* a clock that stepped back */
		batch_ms = 0;
	if (last) {
		p->sp_work_ms += batch_ms;
		p->sp_pause_ms = 0;
		return 0;
	}
	pause = (double)p->sp_ratio * batch_ms;
	if (pause < p->sp_min_ms)
		pause = p->sp_min_ms;
	p->sp_work_ms += batch_ms;
	p->sp_rest_ms += pause;
	p->sp_pause_ms = pause;
	p->sp_waited_ms = 0;
	/* the first wait for the probe: the pause again, at least 1 ms */
	p->sp_step_ms = pause < 1 ? 1 : pause;
	return pause;
}

double
store_pace_probe(struct store_pace *p, double probe_ms)
{
	double limit, wait;

	if (p->sp_base_ms <= 0 ||
	    probe_ms <= p->sp_base_ms * (100.0 + p->sp_slack_pct) / 100.0)
		return 0;
	limit = p->sp_pause_ms * STORE_PACE_WAIT_PAUSES;
	if (limit > STORE_PACE_WAIT_MAX_MS)
		limit = STORE_PACE_WAIT_MAX_MS;
	if (limit < p->sp_pause_ms)
		limit = p->sp_pause_ms;
	if (p->sp_waited_ms >= limit)
		return 0;
	wait = p->sp_step_ms;
	if (wait > limit - p->sp_waited_ms)
		wait = limit - p->sp_waited_ms;
	p->sp_waited_ms += wait;
	p->sp_step_ms *= 2;
	p->sp_rest_ms += wait;
	p->sp_waits++;
	return wait;
}
