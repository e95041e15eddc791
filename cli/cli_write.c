/*
 * cli_write.c - the CLI's writes run again after a conflict with
 * another writer, as the milter's are.
 *
 * A deadlock, or on a Galera cluster a certification failure, rolls the
 * whole transaction back (store_conflict()); running it again is
 * expected to succeed. The alias pipes (retrain, addspam,
 * falsepositive), training, merge and the user, preference, list and
 * domain changes therefore run each write again (CLI_RETRY in cli.h),
 * with the pauses the milter uses (classifier/store_retry.c), for at
 * most message_timeout_ms. Only when that is spent do they fail with
 * ES_ETRANSIENT, so the command exits 75 and the MTA retries later; the
 * line on stderr says it was a conflict and how many tries it took.
 * Other failures are not retried here (a server that is down is the
 * MTA's to retry). train's batches of several messages in one
 * transaction are not run again whole: cli_train.c writes the messages
 * of a batch that a conflict rolled back again one by one.
 *
 * Not thread-safe (the CLI has one thread).
 */
#include "cli.h"

#include <stdio.h>

#include "conf.h"
#include "es_log.h"

void
cli_retry_start(const struct cli *c, struct store_retry *r)
{
	long long ms = conf_int(c->cf, "message_timeout_ms");

	store_retry_start(r, ms > 0 ? (unsigned)ms : 0);
}

bool
cli_retry_again(const struct cli *c, struct store_retry *r, int rc)
{
	if (store_retry_again(c->st, r, rc)) {
		if (r->sr_tries == 1)
			es_log_info("store: a write conflicted with another "
			    "writer, writing it again: %s",
			    store_errmsg(c->st));
		return true;
	}
	if (store_conflict(c->st))
		fprintf(stderr, "edgespam: gave up after %u tries within "
		    "message_timeout_ms (%lld ms): each was rolled back by a "
		    "conflict with another writer (a deadlock, or a Galera "
		    "certification failure); the MTA will retry\n",
		    r->sr_tries, conf_int(c->cf, "message_timeout_ms"));
	return false;
}
