/*
 * store_daily.c - the front end of the daily counts of store.h
 * (edgespam_daily): argument checks, times to UTC days, and the
 * implicit write transaction of store_daily_add().
 *
 * What it guarantees to the drivers, beyond store.c's rules:
 *  - daily_add gets a day of 1970..9999 and a delta that is not all
 *    zero (an all-zero delta returns 0 without a write).
 *  - daily_list gets since >= 0 (a time before the epoch lists all).
 *
 * A store without daily counts (a driver leaving daily_add NULL) gives
 * ES_EINVAL with a message. Ownership: nothing is kept. Thread safety
 * as store.h.
 */
#include "store.h"

#include <string.h>

#include "es_err.h"
#include "store_int.h"

/* no_daily - ES_EINVAL when st's driver keeps no daily counts. */
static int
no_daily(struct store *st)
{
	if (st->st_ops->daily_add != NULL && st->st_ops->daily_list != NULL)
		return 0;
	store_seterr(st, "%s: no daily counts", st->st_ops->name);
	return ES_EINVAL;
}

int
store_daily_add(struct store *st, uint32_t uid, time_t when,
    const struct store_daily *delta)
{
	struct store_daily d;
	bool implicit;
	int32_t day;
	int rc;

	if (delta == NULL)
		return ES_EINVAL;
	if ((rc = no_daily(st)) != 0 ||
	    (rc = store_now_day(st, when, &day)) != 0)
		return rc;
	d = *delta;
	d.uid = uid;
	d.day = day;
	if (d.spam == 0 && d.innocent == 0 && d.whitelisted == 0 &&
	    d.missed_spam == 0 && d.false_positives == 0)
		return 0;
	if ((rc = store_write_begin(st, &implicit)) != 0)
		return rc;
	rc = st->st_ops->daily_add(st, uid, day, &d);
	return store_write_end(st, implicit, rc);
}

int
store_daily_list(struct store *st, uint32_t uid, time_t since,
    store_daily_fn *fn, void *arg)
{
	int32_t day = 0;
	int rc;

	if (fn == NULL)
		return ES_EINVAL;
	if ((rc = no_daily(st)) != 0)
		return rc;
	if (since > 0 && (rc = store_now_day(st, since, &day)) != 0)
		return rc;
	return st->st_ops->daily_list(st, uid, day, fn, arg);
}
