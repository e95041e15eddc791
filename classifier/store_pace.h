/*
 * store_pace.h - how long store_purge() rests between two batches (see
 * store_pace.c). Pure arithmetic on times the caller measured: no clock,
 * no sleep, so a test drives it with made-up times.
 */
#ifndef STORE_PACE_H
#define STORE_PACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Probes taken before the first batch for the baseline. */
#define STORE_PACE_BASE_PROBES 7
/* A wait for the probe to come down never exceeds this in total... */
#define STORE_PACE_WAIT_MAX_MS 2000.0
/* ...nor this many times the batch's own pause. */
#define STORE_PACE_WAIT_PAUSES 16

struct store_pace {
	unsigned sp_ratio;     /* rest ratio times as long as a batch took */
	unsigned sp_min_ms;    /* and at least this long */
	unsigned sp_slack_pct; /* probe may be this much above its base */
	double sp_base_ms;     /* the probe's baseline; 0 = not probing */
	double sp_pause_ms;    /* the pause after the last batch */
	double sp_waited_ms;   /* waited for the probe since that pause */
	double sp_step_ms;     /* the next wait for the probe */
	/* totals, for the summary */
	double sp_work_ms;     /* in batches */
	double sp_rest_ms;     /* in pauses and waits */
	uint64_t sp_waits;     /* waits for the probe to come down */
};

/*
 * store_pace_init - a pacer that rests ratio times the batch's time, at
 * least min_ms, after each batch, and then, when slack_pct > 0, waits
 * while the probe is more than slack_pct percent above its baseline.
 */
void store_pace_init(struct store_pace *p, unsigned ratio, unsigned min_ms,
    unsigned slack_pct);

/*
 * store_pace_base - set the baseline from n probe times (ms): their
 * median. n = 0, or slack 0, leaves probing off.
 */
void store_pace_base(struct store_pace *p, double *ms, size_t n);

/*
 * store_pace_batch - a batch took batch_ms: the pause (ms) to take now;
 * 0 after the last batch (last: none follows), which is only counted.
 */
double store_pace_batch(struct store_pace *p, double batch_ms, bool last);

/*
 * store_pace_probe - after the pause, the probe took probe_ms: 0 when
 * the next batch may start, else the time (ms) to wait before probing
 * again. Waits double from the pause on, and end (0) once they add up
 * to the lesser of STORE_PACE_WAIT_MAX_MS and STORE_PACE_WAIT_PAUSES
 * pauses (at least the pause itself): a load that stays high without the
 * purge slows it, never stops it.
 */
double store_pace_probe(struct store_pace *p, double probe_ms);

#endif
